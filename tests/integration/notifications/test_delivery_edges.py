"""Delivery's edges: an address the mail server refuses is bounced (not retried), a text that looks
like a BSN is never sent, embedded mode's local mailbox and the page-ready route that lists it, and
which senders the settings choose."""

from __future__ import annotations

import uuid

import pytest

from services.notifications import delivery
from services.notifications.channels import MailboxSender, MessageBirdSender, SmsSink, SmtpSender
from services.notifications.delivery import outlets_from, send_due_mail
from services.notifications.domain.messages import Message, RecipientKind
from shared.config import Settings
from tests.integration.monitoring.support import frozen_world
from tests.integration.notifications.delivery_support import LoopbackSmtp, deliveries_of_client, outlets
from tests.support.auth import auth
from tests.support.world import make_case

KM = auth("case_manager", "0014")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("edges"), request.param) as world:
        yield world


def test_an_address_the_server_refuses_is_bounced_at_once(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 610, email="bounce610@example.nl")
    smtp = LoopbackSmtp()
    smtp.catcher.refuse.add("bounce610@example.nl")
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, outlets(runtime, http, smtp))
    finally:
        smtp.stop()
    (mail,) = deliveries_of_client(runtime, case.client_id, "email", template="plan_approved")
    assert mail.status == "bounced" and mail.attempts == 1 and mail.next_attempt_at is None
    assert mail.last_error == "SMTP refused the recipient (550)"
    listed = http.get("/notifications/v1/deliveries", headers=KM, params={"status": "bounced"}).json()
    assert mail.id in {d["id"] for d in listed}


def test_a_text_that_looks_like_a_bsn_is_never_sent(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 620, email="klant620@example.nl", approve=False)
    message = Message.about(
        message_id=str(uuid.uuid4()),
        municipality="0014",
        template="plan_received",
        client_id=case.client_id,
        recipient_kind=RecipientKind.CLIENT,
        params={"plan_id": "p-620", "plan_version": "123456782"},
        cause_event_id=str(uuid.uuid4()),
        at=clock.now(),
    )
    with runtime.uow("notifications") as uow:
        delivery.add_and_queue(uow, message)
        uow.commit()
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, outlets(runtime, http, smtp))
    finally:
        smtp.stop()
    (mail,) = [d for d in deliveries_of_client(runtime, case.client_id, "email") if d.message_id == message.id]
    assert mail.status == "failed" and mail.last_error == "withheld: the text looks like personal data"
    assert b"123456782" not in b"".join(smtp.catcher.raw)


def test_a_template_with_a_missing_variable_fails_the_delivery_and_sends_nothing(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 640, email="klant640@example.nl", approve=False)
    message = Message.about(
        message_id=str(uuid.uuid4()),
        municipality="0014",
        template="invoice_rejected",
        client_id=case.client_id,
        recipient_kind=RecipientKind.CLIENT,
        params={},
        cause_event_id=str(uuid.uuid4()),
        at=clock.now(),
    )
    with runtime.uow("notifications") as uow:
        delivery.add_and_queue(uow, message)
        uow.commit()
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, outlets(runtime, http, smtp))
    finally:
        smtp.stop()
    (mail,) = [d for d in deliveries_of_client(runtime, case.client_id, "email") if d.message_id == message.id]
    assert mail.status == "failed" and mail.last_error == "the template failed: UndefinedError"
    assert not [m for m in smtp.catcher.mails() if m["To"] == "klant640@example.nl"]


@pytest.fixture(scope="module")
def embedded(request, tmp_path_factory):
    """The local mailbox is embedded mode's (SQLite, PRB_DATA_DIR)."""
    with frozen_world(request, tmp_path_factory.mktemp("mailbox"), "sqlite") as world:
        yield world


def test_embedded_mode_writes_the_local_mailbox_and_staff_can_list_it(embedded):
    runtime, http, _clock = embedded
    case = make_case(http, runtime, "0014", 630, email="klant630@example.nl")
    folder = runtime.settings.data_dir / "mailbox"
    sender = outlets(runtime, http, LoopbackSmtp())
    sender.mail = MailboxSender(folder, "Eigen Regie <noreply@eigenregie.test>")
    with runtime.uow("notifications") as uow:
        assert send_due_mail(uow, sender) >= 1
    assert list(folder.glob("*.eml")) and not list(folder.glob(".*.tmp"))
    r = http.get("/notifications/v1/mailbox", headers=KM)
    assert r.status_code == 200, r.text
    ours = [m for m in r.json() if m["to"] == "klant630@example.nl"]
    subjects = {m["subject"]: m for m in ours}
    assert {"Wij hebben uw plan ontvangen", "Uw plan is goedgekeurd", "Bevestig een rekening"} == set(subjects)
    assert "Log in" in subjects["Uw plan is goedgekeurd"]["text"]
    assert http.get("/notifications/v1/mailbox", headers=case.headers()).status_code == 403


def test_the_settings_choose_the_senders(tmp_path):
    embedded = outlets_from(Settings(data_dir=tmp_path, environment="test"))
    assert isinstance(embedded.mail, MailboxSender) and embedded.mail.folder == tmp_path / "mailbox"
    assert isinstance(embedded.sms, SmsSink) and embedded.login_url == "http://127.0.0.1:8000/"
    smtp = outlets_from(
        Settings(
            data_dir=tmp_path,
            environment="test",
            smtp_host="mail.example",
            smtp_port=1025,
            public_base_url="https://eigenregie.example.nl",
            sms_provider="messagebird",
            sms_access_key="k",
        )
    )
    assert isinstance(smtp.mail, SmtpSender) and (smtp.mail.host, smtp.mail.port) == ("mail.example", 1025)
    assert isinstance(smtp.sms, MessageBirdSender) and smtp.login_url == "https://eigenregie.example.nl/"
