"""Reminders and the recipients beyond the client, on SQLite and PostgreSQL: a due-soon reminder
from monitoring's real daily scan reaches the client once over real SMTP (aiosmtpd), however often
it is said, and stops when the report is filed; the end of a trajectory, the end of an orientation
phase and an invoice waiting for confirmation likewise stop when their item is done; a provider
hears about its own invoice at the supplier's address and reads it in its own inbox; finance and
ops read theirs and nobody else's."""

from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from contracts.events import (
    FollowUpDueSoonV1,
    OrientationEndingSoonV1,
    PaymentScheduledV1,
    PlanSubmittedV1,
    TrajectoryClosedV1,
    TrajectoryEndingSoonV1,
)
from services.monitoring import jobs as monitoring_jobs
from services.notifications.delivery import send_due_mail
from services.notifications.handlers import remind_on_follow_up_due_soon
from services.notifications.models import Message
from services.notifications.models_delivery import Delivery
from shared.events import new_event
from tests.integration.monitoring.support import frozen_world
from tests.integration.notifications.delivery_support import LoopbackSmtp, deliveries_of_client, outlets
from tests.integration.notifications.webhook_support import say
from tests.support.auth import auth
from tests.support.world import make_case

KM, LEAD, FIN = auth("case_manager", "0014"), auth("team_lead", "0014"), auth("finance", "0014")
URL = "/notifications/v1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("reminders"), request.param) as world:
        yield world


def _send(runtime, http) -> LoopbackSmtp:
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, outlets(runtime, http, smtp))
    finally:
        smtp.stop()
    return smtp


def _messages(runtime, template: str, **where: str) -> list[Message]:
    with Session(runtime.engine) as session:
        query = select(Message).where(Message.template == template)
        for name, value in where.items():
            query = query.where(getattr(Message, name) == value)
        return list(session.exec(query).all())


def test_a_report_due_soon_is_reminded_once_by_mail_and_the_reminder_stops_when_it_is_filed(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 710, email="klant710@example.nl")
    due = http.get(
        "/monitoring/v1/follow-ups", headers=KM, params={"plan_id": case.plan_id, "kind": "progress_report"}
    ).json()
    first = min(due, key=lambda f: f["due_on"])
    clock.instant = clock.instant + (date.fromisoformat(first["due_on"]) - clock.today() - timedelta(days=3))
    for _twice in range(2):  # the scheduler runs twice: one reminder
        with runtime.uow("monitoring") as uow:
            monitoring_jobs.remind_follow_ups_due_soon(uow)
        say(runtime, "monitoring", FollowUpDueSoonV1(  # and says it again with a new event id
            follow_up_id=first["id"], plan_id=case.plan_id, client_id=case.client_id, kind="progress_report",
            due_on=date.fromisoformat(first["due_on"])))
    (reminder,) = _messages(runtime, "follow_up_due_soon", client_id=case.client_id)
    assert reminder.item == f"follow_up:{first['id']}"
    inbox = http.get(f"{URL}/messages", headers=case.headers(), params={"lang": "nl"}).json()
    (shown,) = [m for m in inbox if m["template"] == "follow_up_due_soon"]
    assert shown["subject"].startswith("Herinnering: voortgang doorgeven op") and "Log in" in shown["body"]

    smtp = _send(runtime, http)
    (mail,) = [m for m in smtp.catcher.mails() if m["Subject"] == shown["subject"]]
    assert mail["To"] == "klant710@example.nl" and mail.is_multipart()
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "vertelt u hoe het gaat" in plain and "<a href=" in html
    raw = b"".join(smtp.catcher.raw)
    assert case.client_id.encode() not in raw and b"K710" not in raw

    # The next report is reminded of; the client files it before the mail goes out: it is cancelled.
    following = min(
        (f for f in due if f["due_on"] > first["due_on"]), key=lambda f: f["due_on"]
    )
    clock.instant = clock.instant + (date.fromisoformat(following["due_on"]) - clock.today() - timedelta(days=2))
    with runtime.uow("monitoring") as uow:
        monitoring_jobs.remind_follow_ups_due_soon(uow)
    r = http.post(
        f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports",
        headers=KM,
        json={"on_track": True, "summary": "Gaat goed"},
    )
    assert r.status_code == 201, r.text
    http.post(f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports", headers=KM,
              json={"on_track": True, "summary": "Weer goed"})
    say(runtime, "monitoring", PlanSubmittedV1(plan_id="unrelated", client_id=str(uuid.uuid4()), plan_version=1,
                                               requested_cents=1))  # drains monitoring's FollowUpClosed too
    (next_reminder,) = _messages(runtime, "follow_up_due_soon", item=f"follow_up:{following['id']}")
    (mail_delivery,) = [
        d for d in deliveries_of_client(runtime, case.client_id, "email") if d.message_id == next_reminder.id
    ]
    assert mail_delivery.status == "cancelled"
    sent = [m["Subject"] for m in _send(runtime, http).catcher.mails() if m["To"] == "klant710@example.nl"]
    assert not [s for s in sent if s.startswith("Herinnering: voortgang")], sent  # (a conversation may be near)


def test_the_end_of_a_trajectory_is_told_to_client_and_team_and_stops_when_it_closes(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 720, email="klant720@example.nl")
    ends = clock.today() + timedelta(days=30)
    say(runtime, "monitoring", TrajectoryEndingSoonV1(plan_id=case.plan_id, client_id=case.client_id, ends_on=ends))
    say(runtime, "monitoring", TrajectoryEndingSoonV1(plan_id=case.plan_id, client_id=case.client_id, ends_on=ends))
    assert len(_messages(runtime, "trajectory_ending_soon", client_id=case.client_id)) == 1
    assert len(_messages(runtime, "trajectory_ending_soon_team", client_id=case.client_id)) == 1
    english = http.get(f"{URL}/messages", headers=case.headers(), params={"lang": "en"}).json()
    (shown,) = [m for m in english if m["template"] == "trajectory_ending_soon"]
    assert shown["subject"] == "Your plan ends soon" and ends.strftime("%B") in shown["body"]
    say(runtime, "intake", TrajectoryClosedV1(plan_id=case.plan_id, client_id=case.client_id, reason="completed",
                                              closed_on=clock.today()))
    mails = deliveries_of_client(runtime, case.client_id, "email", template="trajectory_ending_soon")
    assert [d.status for d in mails] == ["cancelled"]


def test_a_submitted_plan_stops_the_orientation_reminder(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 730, email="klant730@example.nl", approve=False)
    say(runtime, "intake", OrientationEndingSoonV1(orientation_id=str(uuid.uuid4()), client_id=case.client_id,
                                                   ends_on=clock.today() + timedelta(days=14)))
    (waiting,) = deliveries_of_client(runtime, case.client_id, "email", template="orientation_ending_soon")
    assert waiting.status == "queued"
    r = http.post(f"/intake/v1/plans/{case.plan_id}/submit", headers=KM, json={"plan_version": 1})
    assert r.status_code == 200, r.text
    say(runtime, "intake", PaymentScheduledV1(payment_run_id="drain", invoice_count=1, total_cents=1,
                                              execution_date=clock.today()))
    (stopped,) = deliveries_of_client(runtime, case.client_id, "email", template="orientation_ending_soon")
    assert stopped.status == "cancelled"
    assert deliveries_of_client(runtime, case.client_id, "email", template="plan_received")[0].status == "queued"


def test_an_invoice_to_confirm_is_reminded_and_the_reminder_stops_when_it_is_decided(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 740, email="klant740@example.nl")
    (waiting,) = deliveries_of_client(runtime, case.client_id, "email", template="invoice_to_confirm")
    assert waiting.status == "queued"
    shown = http.get(f"{URL}/messages", headers=case.headers(), params={"lang": "nl"}).json()
    assert any(m["subject"] == "Bevestig een rekening" for m in shown)
    assert http.post(f"/budget/v1/invoices/{case.invoice_id}/confirm", headers=case.headers()).status_code == 200
    r = http.post(f"/budget/v1/invoices/{case.invoice_id}/approve", headers=FIN)
    assert r.status_code == 200, r.text
    say(runtime, "budget", PaymentScheduledV1(payment_run_id="drain", invoice_count=1, total_cents=1,
                                              execution_date=date(2026, 12, 1)))
    (stopped,) = deliveries_of_client(runtime, case.client_id, "email", template="invoice_to_confirm")
    assert stopped.status == "cancelled"


def test_a_provider_hears_its_invoice_was_rejected_at_the_suppliers_address_and_only_it_reads_that(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 750, email="klant750@example.nl")
    r = http.post(f"/budget/v1/budgets/{case.budget_id}/invoices", headers=FIN, json={
        "budget_line_id": case.budget_line_id, "invoice_number": "INV-750-2", "provider_id": "coach-bv-750",
        "provider_name": "Coach BV", "provider_iban": "NL91ABNA0417164300", "amount": "50.00",
        "supplier_email": "facturen@coach750.example.nl"})
    assert r.status_code == 201, r.text
    invoice_id = r.json()["id"]
    r = http.post(f"/budget/v1/invoices/{invoice_id}/reject", headers=FIN, json={"reason": "Dubbel ingediend"})
    assert r.status_code == 200, r.text
    say(runtime, "budget", PaymentScheduledV1(payment_run_id="drain", invoice_count=1, total_cents=1,
                                              execution_date=date(2026, 12, 1)))
    provider = auth("provider", "0014", provider_id="coach-bv-750", subject="coach-750")
    mine = http.get(f"{URL}/messages", headers=provider, params={"lang": "nl"}).json()
    assert [m["template"] for m in mine] == ["invoice_rejected_provider"]
    assert invoice_id in mine[0]["body"] and "Dubbel" not in mine[0]["body"]  # the free-text reason stays inside
    assert http.get(f"{URL}/messages", headers=auth("provider", "0014", provider_id="other-bv")).json() == []
    assert http.get(f"{URL}/messages", headers=auth("provider", "0363", provider_id="coach-bv-750")).json() == []
    client_side = http.get(f"{URL}/messages", headers=case.headers()).json()
    assert "invoice_rejected_provider" not in {m["template"] for m in client_side}
    assert "invoice_rejected" in {m["template"] for m in client_side}

    smtp = _send(runtime, http)
    (mail,) = [m for m in smtp.catcher.mails() if m["To"] == "facturen@coach750.example.nl"]
    assert mail["Subject"] == "Uw rekening is niet goedgekeurd"
    assert "Dubbel" not in mail.get_body(("plain",)).get_content()


def test_finance_and_ops_read_their_own_messages_and_finance_gets_them_at_its_mailbox(env):
    runtime, http, clock = env
    r = http.put(f"{URL}/settings", headers=LEAD, json={"finance_mailbox": "financien@gemeente.example.nl"})
    assert r.status_code == 200 and r.json()["finance_mailbox"] == "financien@gemeente.example.nl", r.text
    bad = http.put(f"{URL}/settings", headers=LEAD, json={"ops_mailbox": "two@a.nl, three@b.nl"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "ops_mailbox"
    run_id = str(uuid.uuid4())
    say(runtime, "budget", PaymentScheduledV1(payment_run_id=run_id, invoice_count=12, total_cents=123400,
                                              execution_date=clock.today() + timedelta(days=2)))
    finance = http.get(f"{URL}/messages", headers=FIN, params={"lang": "nl"}).json()
    assert finance and {m["recipient_kind"] for m in finance} == {"finance"}
    assert any(m["subject"] == "Betaalrun klaar" and "12 rekeningen" in m["body"] for m in finance)
    assert http.get(f"{URL}/messages", headers=auth("finance", "0363")).json() == []
    assert {m["recipient_kind"] for m in http.get(f"{URL}/messages", headers=auth("ops", "0014")).json()} <= {"ops"}
    smtp = _send(runtime, http)
    assert "Betaalrun klaar" in [m["Subject"] for m in smtp.catcher.mails() if m["To"] == "financien@gemeente.example.nl"]


def test_two_workers_saying_the_same_reminder_at_once_make_one_message_and_one_mail(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 760, email="klant760@example.nl", approve=False)
    follow_up_id = str(uuid.uuid4())
    payload = FollowUpDueSoonV1(follow_up_id=follow_up_id, plan_id=case.plan_id, client_id=case.client_id,
                                kind="milestone", due_on=clock.today() + timedelta(days=5))
    barrier, errors = threading.Barrier(4), []

    def handle() -> None:
        try:
            event = new_event(  # each its own event id
                payload, tenant="0014", subject=case.plan_id, producer="monitoring", correlation_id=str(uuid.uuid4())
            )
            with runtime.uow("notifications") as uow:
                barrier.wait()
                remind_on_follow_up_due_soon(uow, payload, event)
                uow.commit()
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=handle) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # On PostgreSQL the losers meet the UNIQUE constraint and add nothing; SQLite runs them one by one.
    assert errors == []
    assert len(_messages(runtime, "follow_up_due_soon", item=f"follow_up:{follow_up_id}")) == 1
    with Session(runtime.engine) as session:
        rows = session.exec(
            select(Delivery).join(Message, col(Message.id) == col(Delivery.message_id)).where(
                Message.item == f"follow_up:{follow_up_id}")
        ).all()
    assert sorted(d.channel for d in rows) == ["email", "in_app"]


def test_an_unexpected_error_on_one_mail_does_not_stop_the_others_and_is_tried_again_later(env):
    runtime, http, _clock = env
    broken = make_case(http, runtime, "0014", 770, email="kapot770@example.nl", approve=False)
    fine = make_case(http, runtime, "0014", 780, email="klant780@example.nl", approve=False)
    for case in (broken, fine):
        assert http.post(f"/intake/v1/plans/{case.plan_id}/submit", headers=KM, json={"plan_version": 1}).status_code == 200
    say(runtime, "intake", PaymentScheduledV1(payment_run_id="drain-770", invoice_count=1, total_cents=1,
                                              execution_date=date(2026, 12, 1)))
    smtp = LoopbackSmtp()
    smtp.start()
    sender = outlets(runtime, http, smtp)
    real_send = sender.mail.send

    def send(to, cc, mail):
        if to == "kapot770@example.nl":
            raise RuntimeError("a bug")
        real_send(to, cc, mail)

    sender.mail.send = send  # type: ignore[method-assign]
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, sender, limit=500)
    finally:
        smtp.stop()
    (failed,) = deliveries_of_client(runtime, broken.client_id, "email", template="plan_received")
    assert failed.status == "deferred" and failed.last_error == "unexpected error: RuntimeError"
    assert failed.next_attempt_at is not None
    (went,) = deliveries_of_client(runtime, fine.client_id, "email", template="plan_received")
    assert went.status == "sent"
