"""Issue 11 under attack (reviewer X), on SQLite and PostgreSQL: a cancelled reminder a sender had
already claimed; ids that look like a BSN to the mail's personal-data check; every handler's
message rendered in every language on every channel; another municipality's, provider's or
partner's ids on the new routes; bad mailboxes; events that must not end in the dead letters."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from contracts.events import (
    BudgetThresholdReachedV1,
    DecisionDueSoonV1,
    FollowUpClosedV1,
    FollowUpDueSoonV1,
    FollowUpOverdueV1,
    InvoiceApprovedV1,
    InvoiceApprovedV2,
    InvoiceAwaitingConfirmationV1,
    InvoiceConfirmedByClientV1,
    InvoicePaidV1,
    InvoicePaidV2,
    InvoiceReceivedV1,
    InvoiceReceivedV2,
    InvoiceRejectedV1,
    InvoiceRejectedV2,
    OrientationEndingSoonV1,
    OutcomeRegisteredV1,
    PartnerCredentialsRevokedV1,
    PaymentScheduledV1,
    PlanApprovedV1,
    PlanApprovedV2,
    PlanRejectedV1,
    PlanReturnedV1,
    PlanSubmittedV1,
    ProgressReportedV1,
    TrajectoryClosedV1,
    TrajectoryEndingSoonV1,
)
from services.notifications import delivery, preferences
from services.notifications.channels import TemporaryFailure
from services.notifications.delivery import _claim, cancel_waiting, send_one
from services.notifications.domain import channels as texts
from services.notifications.domain.messages import RecipientKind
from services.notifications.handlers import EVENT_HANDLERS
from services.notifications.models import Message
from services.notifications.models_delivery import (
    Delivery,
    MessageRead,
    MunicipalitySettings,
    MunicipalitySettingsChange,
    Preference,
    PreferencesChange,
)
from shared.auth import Principal, Role
from shared.bus.tables import bus_tables
from tests.integration.monitoring.support import frozen_world
from tests.integration.notifications.delivery_support import LoopbackSmtp, deliveries_of_client, outlets
from tests.integration.notifications.webhook_support import say
from tests.support.auth import auth
from tests.support.world import make_case

KM, LEAD, FIN = auth("case_manager", "0014"), auth("team_lead", "0014"), auth("finance", "0014")
URL = "/notifications/v1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("review11"), request.param) as world:
        yield world


def _delivery(runtime, delivery_id: str) -> Delivery:
    with Session(runtime.engine) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        session.expunge(row)
        return row


def _dead_letters(runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(bus_tables("notifications").dead_letter)).one()[0]
        )


def _due_mail(runtime, client_id: str, template: str) -> Delivery:
    (row,) = deliveries_of_client(runtime, client_id, "email", template=template)
    return row


# --- a reminder cancelled while a sender holds it -----------------------------------------------


def test_a_reminder_cancelled_after_a_sender_claimed_it_is_not_sent_and_stays_cancelled(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 910, email="klant910@example.nl")
    ends = clock.today() + timedelta(days=20)
    say(runtime, "monitoring", TrajectoryEndingSoonV1(plan_id=case.plan_id, client_id=case.client_id, ends_on=ends))
    row = _due_mail(runtime, case.client_id, "trajectory_ending_soon")
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            assert _claim(uow, row, clock.now())  # the sender has it ...
        say(
            runtime,
            "intake",
            TrajectoryClosedV1(
                plan_id=case.plan_id, client_id=case.client_id, reason="completed", closed_on=clock.today()
            ),
        )  # ... it is done
        assert _delivery(runtime, row.id).status == "cancelled"
        with runtime.uow("notifications") as uow:
            assert send_one(uow, outlets(runtime, http, smtp), row) is False
    finally:
        smtp.stop()
    assert [m for m in smtp.catcher.mails() if m["To"] == "klant910@example.nl"] == []
    assert _delivery(runtime, row.id).status == "cancelled"


class _CancelledWhileSending:
    """A mail server that is away, while the item is done during the try."""

    def __init__(self, runtime, municipality: str, item: str) -> None:
        self.runtime, self.municipality, self.item = runtime, municipality, item

    def send(self, to, cc, mail) -> None:
        with self.runtime.uow("notifications") as uow:
            cancel_waiting(uow, self.municipality, self.item)
            uow.commit()
        raise TemporaryFailure("SMTP server not reachable: ConnectionRefusedError")


def test_a_reminder_cancelled_during_a_failed_try_is_not_tried_again(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 911, email="klant911@example.nl")
    say(
        runtime,
        "monitoring",
        TrajectoryEndingSoonV1(
            plan_id=case.plan_id, client_id=case.client_id, ends_on=clock.today() + timedelta(days=21)
        ),
    )
    row = _due_mail(runtime, case.client_id, "trajectory_ending_soon")
    smtp = LoopbackSmtp()
    sender = outlets(runtime, http, smtp)
    sender.mail = _CancelledWhileSending(runtime, "0014", f"trajectory_end:{case.plan_id}")
    with runtime.uow("notifications") as uow:
        assert _claim(uow, row, clock.now())
    with runtime.uow("notifications") as uow:
        assert send_one(uow, sender, row) is False
    after = _delivery(runtime, row.id)
    assert after.status == "cancelled" and after.next_attempt_at is None


def test_a_mail_held_for_quiet_hours_and_then_cancelled_never_goes_out(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 912, email="klant912@example.nl", approve=False)
    now = clock.now()
    r = http.put(
        f"{URL}/preferences",
        headers=case.headers(),
        json={
            "email": True,
            "quiet_from": (now - timedelta(hours=1)).strftime("%H:%M"),
            "quiet_until": (now + timedelta(hours=3)).strftime("%H:%M"),
            "hold_mail": True,
        },
    )
    assert r.status_code == 200, r.text
    follow_up_id = str(uuid.uuid4())
    say(
        runtime,
        "monitoring",
        FollowUpDueSoonV1(
            follow_up_id=follow_up_id,
            plan_id=case.plan_id,
            client_id=case.client_id,
            kind="milestone",
            due_on=clock.today() + timedelta(days=5),
        ),
    )
    row = _due_mail(runtime, case.client_id, "follow_up_due_soon")
    assert row.status == "queued" and row.next_attempt_at is not None
    say(
        runtime,
        "monitoring",
        FollowUpClosedV1(
            follow_up_id=follow_up_id, plan_id=case.plan_id, client_id=case.client_id, kind="milestone", closed="done"
        ),
    )
    clock.instant = now + timedelta(hours=4)
    try:
        smtp = LoopbackSmtp()
        smtp.start()
        try:
            with runtime.uow("notifications") as uow:
                delivery.send_due_mail(uow, outlets(runtime, http, smtp))
        finally:
            smtp.stop()
    finally:
        clock.instant = now
    assert [m for m in smtp.catcher.mails() if m["To"] == "klant912@example.nl"] == []
    assert _delivery(runtime, row.id).status == "cancelled"


# --- the personal-data check and ids -------------------------------------------------------------

# A uuid4 whose last group holds nine digits in a row: about 1.5 % of uuid4 ids do.
NINE_DIGIT_UUID = "752fa9a4-5528-4c15-96f2-6f095705125f"


def test_a_uuid_holding_nine_digits_in_a_row_is_not_taken_for_a_bsn():
    params = {"invoice_id": NINE_DIGIT_UUID, "reason_code": "invoice.duplicate"}
    mail = texts.email("invoice_rejected_provider", params, "nl", "http://eigenregie.test/")
    assert NINE_DIGIT_UUID in mail.text
    assert not texts.looks_personal(mail.subject, mail.text, mail.html)
    alert = {
        "subscription_id": NINE_DIGIT_UUID,
        "delivery_id": str(uuid.uuid4()),
        "event_type": "InvoicePaid",
        "attempts": 4,
        "owner": "uwv-app",
        "paused": True,
    }
    ops = texts.email("webhook_delivery_failed", alert, "nl", "http://eigenregie.test/")
    assert not texts.looks_personal(ops.subject, ops.text, ops.html)
    # a real BSN, alone or beside an id, is still held back
    assert texts.looks_personal(f"rekening {NINE_DIGIT_UUID} van 111222333")
    assert texts.looks_personal("BSN 1112.22.333")


# --- every handler's messages render -----------------------------------------------------------


def _one_of_each(client_id: str, plan_id: str, today: date) -> list:
    ids = {name: str(uuid.uuid4()) for name in ("invoice", "budget", "line", "run", "follow_up", "report", "review")}
    provider = {"provider_id": "coach-bv-920", "provider_kvk": "12345678"}
    return [
        PlanSubmittedV1(plan_id=plan_id, client_id=client_id, plan_version=3, requested_cents=10),
        PlanApprovedV1(
            plan_id=plan_id,
            client_id=client_id,
            plan_version=1,
            scheme="s",
            granted_cents=100000,
            lines=(),
            execution_deadline=today + timedelta(days=300),
        ),
        PlanApprovedV2(
            plan_id=plan_id,
            client_id=client_id,
            plan_version=2,
            scheme="s",
            granted_cents=100000,
            lines=(),
            execution_deadline=today + timedelta(days=300),
        ),
        PlanRejectedV1(plan_id=plan_id, client_id=client_id, plan_version=1),
        PlanReturnedV1(plan_id=plan_id, client_id=client_id, plan_version=1),
        DecisionDueSoonV1(
            review_id=ids["review"], plan_id=plan_id, client_id=client_id, due_on=today, case_manager="km-1"
        ),
        InvoiceAwaitingConfirmationV1(
            invoice_id=ids["invoice"], budget_id=ids["budget"], client_id=client_id, amount_cents=12345
        ),
        InvoiceConfirmedByClientV1(invoice_id=ids["invoice"], budget_id=ids["budget"], client_id=client_id),
        InvoiceReceivedV1(
            invoice_id=ids["invoice"], budget_id=ids["budget"], budget_line_id=ids["line"], amount_cents=1
        ),
        InvoiceReceivedV2(
            invoice_id=ids["invoice"],
            budget_id=ids["budget"],
            budget_line_id=ids["line"],
            client_id=client_id,
            amount_cents=1,
            **provider,
        ),
        InvoiceApprovedV1(
            invoice_id=ids["invoice"],
            budget_id=ids["budget"],
            budget_line_id=ids["line"],
            amount_cents=1,
            remaining_cents=0,
        ),
        OutcomeRegisteredV1(
            outcome_id=str(uuid.uuid4()), plan_id=plan_id, client_id=client_id, outcome="job", durable=False
        ),
        InvoiceApprovedV2(
            invoice_id=ids["invoice"],
            budget_id=ids["budget"],
            budget_line_id=ids["line"],
            client_id=client_id,
            amount_cents=1,
            remaining_cents=0,
            **provider,
        ),
        InvoiceRejectedV1(invoice_id=str(uuid.uuid4()), budget_id=None, client_id=client_id, reason_code="x.y"),
        InvoiceRejectedV2(
            invoice_id=str(uuid.uuid4()),
            budget_id=ids["budget"],
            client_id=client_id,
            reason_code="invoice.over_budget",
            **provider,
        ),
        InvoiceRejectedV2(invoice_id=str(uuid.uuid4()), budget_id=None, client_id=None, reason_code="free text?"),
        InvoicePaidV1(
            invoice_id=str(uuid.uuid4()),
            budget_id=ids["budget"],
            plan_id=plan_id,
            client_id=client_id,
            amount_cents=5000,
            paid_on=today,
        ),
        InvoicePaidV2(
            invoice_id=str(uuid.uuid4()),
            budget_id=ids["budget"],
            plan_id=plan_id,
            client_id=client_id,
            amount_cents=5000,
            paid_on=today,
            provider_id=None,
            provider_kvk="87654321",
        ),
        BudgetThresholdReachedV1(
            budget_id=ids["budget"],
            plan_id=plan_id,
            client_id=client_id,
            percent=80,
            used_cents=80000,
            granted_cents=100000,
        ),
        PaymentScheduledV1(payment_run_id=ids["run"], invoice_count=10**12, total_cents=10**15, execution_date=today),
        ProgressReportedV1(
            report_id=ids["report"], plan_id=plan_id, client_id=client_id, reported_by_role="client", on_track=False
        ),
        *[
            FollowUpDueSoonV1(
                follow_up_id=str(uuid.uuid4()),
                plan_id=plan_id,
                client_id=client_id,
                kind=kind,
                due_on=today,
                conversation_kind=None,
            )
            for kind in ("progress_report", "conversation", "milestone", "durability_check", "aftercare")
        ],
        FollowUpDueSoonV1(
            follow_up_id=str(uuid.uuid4()),
            plan_id=plan_id,
            client_id=client_id,
            kind="conversation",
            due_on=today,
            conversation_kind="six_month_presentation",
        ),
        *[
            FollowUpOverdueV1(
                follow_up_id=str(uuid.uuid4()), plan_id=plan_id, client_id=client_id, kind=kind, due_on=today
            )
            for kind in ("progress_report", "conversation", "aftercare")
        ],
        FollowUpClosedV1(
            follow_up_id=str(uuid.uuid4()), plan_id=plan_id, client_id=client_id, kind="milestone", closed="cancelled"
        ),
        TrajectoryEndingSoonV1(plan_id=plan_id, client_id=client_id, ends_on=today + timedelta(days=30)),
        TrajectoryClosedV1(plan_id=plan_id, client_id=client_id, reason="expired", closed_on=today),
        OrientationEndingSoonV1(orientation_id=str(uuid.uuid4()), client_id=client_id, ends_on=today),
        # Makes no message: notifications refuses the application's tokens from then on (shared/revocation.py).
        PartnerCredentialsRevokedV1(
            partner_app_id=str(uuid.uuid4()), reason="app_revoked", tokens_issued_before=datetime.now(UTC)
        ),
    ]


def test_every_handler_makes_messages_that_render_in_every_language_on_every_channel(env):
    runtime, http, clock = env
    unknown_client = str(uuid.uuid4())  # intake does not know this client
    events = _one_of_each(unknown_client, str(uuid.uuid4()), clock.today())
    assert {type(e) for e in events} == set(EVENT_HANDLERS)
    dead_before = _dead_letters(runtime)
    for event in events:
        say(runtime, "budget", event)
    assert _dead_letters(runtime) == dead_before
    with Session(runtime.engine) as session:
        made = session.exec(
            select(Message).where(
                sa.or_(
                    col(Message.client_id) == unknown_client, col(Message.recipient_kind).in_(["finance", "provider"])
                )
            )
        ).all()
    templates = {m.template for m in made}
    assert {
        "plan_received",
        "plan_to_review",
        "invoice_rejected_provider",
        "invoice_paid_provider",
        "payment_run_scheduled",
        "follow_up_due_soon",
        "follow_up_due_soon_team",
        "report_overdue",
        "trajectory_ending_soon_team",
        "orientation_ending_soon",
    } <= templates
    for message in made:
        for language in ("nl", "en", "de", None):
            mail = texts.email(message.template, dict(message.params), language, "http://eigenregie.test/")
            sms = texts.sms(message.template, dict(message.params), language, "http://eigenregie.test/")
            assert mail.subject and mail.text and sms.text
            assert not texts.looks_personal(mail.subject, mail.text, mail.html, sms.text), message.template
            assert "12345678" not in mail.text + sms.text  # no KvK number either
    for headers in (KM, FIN, auth("provider", "0014", provider_id="coach-bv-920")):
        for lang in ("nl", "en"):
            r = http.get(f"{URL}/messages", headers=headers, params={"lang": lang, "limit": 200})
            assert r.status_code == 200, r.text
    # Mail to a client intake does not know fails quietly (no address), and the job goes on.
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            delivery.send_due_mail(uow, outlets(runtime, http, smtp), limit=1000)
    finally:
        smtp.stop()
    mails = deliveries_of_client(runtime, unknown_client, "email", template="orientation_ending_soon")
    assert [(d.status, d.last_error) for d in mails] == [("failed", "no e-mail address known for the recipient")]


# --- another municipality's, provider's or partner's ids ---------------------------------------


def test_nobody_reads_or_marks_another_ones_message_on_the_new_routes(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 930, email="klant930@example.nl")
    invoice = http.post(
        f"/budget/v1/budgets/{case.budget_id}/invoices",
        headers=FIN,
        json={
            "budget_line_id": case.budget_line_id,
            "invoice_number": "INV-930-2",
            "provider_id": "coach-bv-930",
            "provider_name": "Coach BV",
            "provider_iban": "NL91ABNA0417164300",
            "amount": "50.00",
            "supplier_email": "facturen@coach930.example.nl",
        },
    )
    assert invoice.status_code == 201, invoice.text
    invoice_id = invoice.json()["id"]
    assert (
        http.post(f"/budget/v1/invoices/{invoice_id}/reject", headers=FIN, json={"reason": "Dubbel"}).status_code == 200
    )
    say(
        runtime,
        "budget",
        PaymentScheduledV1(
            payment_run_id=str(uuid.uuid4()), invoice_count=1, total_cents=1, execution_date=clock.today()
        ),
    )
    with Session(runtime.engine) as session:
        provider_msg = session.exec(
            select(Message).where(
                Message.template == "invoice_rejected_provider", Message.recipient_ref == "coach-bv-930"
            )
        ).one()
        team_msg = session.exec(
            select(Message).where(
                Message.client_id == case.client_id, Message.recipient_kind == RecipientKind.CASE_TEAM
            )
        ).first()
        finance_msg = session.exec(
            select(Message).where(Message.recipient_kind == RecipientKind.FINANCE, Message.municipality == "0014")
        ).first()
    assert team_msg is not None and finance_msg is not None
    outsiders = {
        provider_msg.id: [
            auth("provider", "0014", provider_id="other-bv"),
            auth("provider", "0014"),
            auth("provider", "0363", provider_id="coach-bv-930"),
            auth("partner", "0014"),
            case.headers(),
            FIN,
            auth("ops", "0014"),
            auth("case_manager", "0363"),
        ],
        team_msg.id: [
            case.headers(),
            auth("representative", "0014", client_id=case.client_id),
            FIN,
            auth("ops", "0014"),
            auth("provider", "0014", provider_id="coach-bv-930"),
            auth("partner", "0014"),
            auth("team_lead", "0363"),
        ],
        finance_msg.id: [
            auth("finance", "0363"),
            auth("ops", "0014"),
            auth("policy", "0014"),
            auth("service", "0014"),
            case.headers(),
        ],
    }
    for message_id, callers in outsiders.items():
        for headers in callers:
            r = http.post(f"{URL}/messages/{message_id}/read", headers=headers)
            assert r.status_code in (401, 403, 404), (message_id, r.status_code, r.text)  # 401: no provider id
            r = http.get(f"{URL}/messages", headers=headers, params={"limit": 200})
            assert r.status_code in (401, 403) or message_id not in {m["id"] for m in r.json()}, r.text
    mine = auth("provider", "0014", provider_id="coach-bv-930")
    assert http.post(f"{URL}/messages/{provider_msg.id}/read", headers=mine).status_code == 200
    # supplier-contact: the supplier's address only to staff and finance of the invoice's municipality
    contact = f"/budget/v1/invoices/{invoice_id}/supplier-contact"
    assert http.get(contact, headers=FIN).json() == {"email": "facturen@coach930.example.nl"}
    for headers in (auth("finance", "0363"), auth("case_manager", "0363"), auth("service", "0363")):
        assert http.get(contact, headers=headers).status_code == 404
    for headers in (mine, case.headers(), auth("partner", "0014"), auth("ops", "0014"), auth("policy", "0014")):
        assert http.get(contact, headers=headers).status_code == 403
    assert http.get(f"/budget/v1/invoices/{uuid.uuid4()}/supplier-contact", headers=FIN).status_code == 404
    # settings: another municipality's team lead changes its own, not 0014's
    assert http.put(f"{URL}/settings", headers=LEAD, json={"team_mailbox": "team@0014.example.nl"}).status_code == 200
    assert (
        http.put(f"{URL}/settings", headers=auth("team_lead", "0363"), json={"team_mailbox": None}).status_code == 200
    )
    assert http.get(f"{URL}/settings", headers=LEAD).json()["team_mailbox"] == "team@0014.example.nl"
    for headers in (KM, FIN, auth("ops", "0014"), case.headers()):
        assert http.put(f"{URL}/settings", headers=headers, json={"team_mailbox": "x@y.nl"}).status_code == 403


def test_a_partner_reads_its_own_webhook_alerts_and_not_another_partners(env):
    runtime, http, clock = env
    alerts = []
    with runtime.uow("notifications") as uow:
        for owner in ("partner-a", "partner-b"):
            message = delivery.Message.about(
                message_id=str(uuid.uuid4()),
                municipality="0014",
                template="webhook_delivery_failed_owner",
                client_id=None,
                recipient_kind=RecipientKind.PARTNER,
                params={
                    "subscription_id": str(uuid.uuid4()),
                    "delivery_id": str(uuid.uuid4()),
                    "event_type": "InvoicePaid",
                    "attempts": 4,
                    "owner": owner,
                    "paused": False,
                },
                cause_event_id=str(uuid.uuid4()),
                at=clock.now(),
                recipient_ref=owner,
            )
            assert delivery.add_and_queue(uow, message)
            alerts.append(message.id)
        uow.commit()
    a = auth("partner", "0014", subject="partner-a")
    seen = {m["id"] for m in http.get(f"{URL}/messages", headers=a, params={"limit": 200}).json()}
    assert alerts[0] in seen and alerts[1] not in seen
    assert http.post(f"{URL}/messages/{alerts[1]}/read", headers=a).status_code == 404
    assert (
        http.post(f"{URL}/messages/{alerts[0]}/read", headers=auth("partner", "0363", subject="partner-a")).status_code
        == 404
    )
    assert http.post(f"{URL}/messages/{alerts[0]}/read", headers=a).status_code == 200


# --- bad input on the settings -----------------------------------------------------------------


@pytest.mark.parametrize(
    "mailbox",
    [
        "team\x00@gemeente.nl",
        "team@gemeente\x00.nl",
        "te\x07am@gemeente.nl",
        "a@b.nl,c@d.nl",
        "a@b.nl c@d.nl",
        "Team <team@gemeente.nl>",
        "x" * 10_000 + "@gemeente.nl",
        "team@gemeente.nl\r\nBcc: x@evil.nl",
        '"a"@b.nl"@c.nl',
        "@gemeente.nl",
        "team@",
        "team@@gemeente.nl",
    ],
)
def test_a_mailbox_that_is_not_one_plain_address_is_a_422_naming_the_field(env, mailbox):
    runtime, http, _clock = env
    r = http.put(f"{URL}/settings", headers=LEAD, json={"ops_mailbox": mailbox})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "ops_mailbox"


def test_a_unicode_mailbox_is_kept_as_given_and_trimmed(env):
    runtime, http, _clock = env
    r = http.put(f"{URL}/settings", headers=LEAD, json={"finance_mailbox": "  financiën@gemeente.nl  "})
    assert r.status_code == 200, r.text
    assert r.json()["finance_mailbox"] == "financiën@gemeente.nl"
    r = http.put(f"{URL}/settings", headers=LEAD, json={"finance_mailbox": ""})
    assert r.status_code == 200 and r.json()["finance_mailbox"] is None


# --- the supplier's e-mail stays out of events and logs ----------------------------------------


def test_the_suppliers_email_is_in_no_event_no_message_and_no_delivery_log(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 940, email="klant940@example.nl")
    r = http.post(
        f"/budget/v1/budgets/{case.budget_id}/invoices",
        headers=FIN,
        json={
            "budget_line_id": case.budget_line_id,
            "invoice_number": "INV-940-2",
            "provider_id": "coach-bv-940",
            "provider_name": "Coach BV",
            "provider_iban": "NL91ABNA0417164300",
            "amount": "50.00",
            "supplier_email": "Jan.Jansen@Coach940.example.nl",
        },
    )
    assert r.status_code == 201, r.text
    http.post(f"/budget/v1/invoices/{r.json()['id']}/reject", headers=FIN, json={"reason": "Jan Jansen ziek"})
    say(
        runtime,
        "budget",
        PaymentScheduledV1(
            payment_run_id=str(uuid.uuid4()), invoice_count=1, total_cents=1, execution_date=clock.today()
        ),
    )
    with runtime.engine.connect() as conn:
        events = [
            str(row)
            for service in runtime.service_names
            for row in conn.execute(sa.select(bus_tables(service).outbox)).all()
        ]
        stored = [
            str(row)
            for table in (Message.__table__, Delivery.__table__)
            for row in conn.execute(sa.select(table)).all()
        ]
    assert events and stored
    for text in events + stored:  # neither the supplier's address nor the free-text reason
        assert "jansen" not in text.lower() and "ziek" not in text.lower(), text
    r = http.get(f"{URL}/deliveries", headers=KM, params={"limit": 200})
    assert r.status_code == 200 and "jansen" not in r.text.lower()


# --- reminders that went stale before they went out --------------------------------------------


def test_a_moved_trajectory_end_cancels_the_waiting_reminder_of_the_old_date_and_keeps_the_new_one(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 950, email="klant950@example.nl")
    old, new = clock.today() + timedelta(days=25), clock.today() + timedelta(days=28)
    say(runtime, "monitoring", TrajectoryEndingSoonV1(plan_id=case.plan_id, client_id=case.client_id, ends_on=old))
    for _again in range(2):  # the new date said twice (a second scan, a redelivery): it stays
        say(runtime, "monitoring", TrajectoryEndingSoonV1(plan_id=case.plan_id, client_id=case.client_id, ends_on=new))
    rows = deliveries_of_client(runtime, case.client_id, "email", template="trajectory_ending_soon")
    with Session(runtime.engine) as session:
        ends = {
            m.id: m.params["ends_on"]
            for m in session.exec(
                select(Message).where(
                    Message.item == f"trajectory_end:{case.plan_id}", Message.template == "trajectory_ending_soon"
                )
            )
        }
    assert sorted((ends[d.message_id], d.status) for d in rows) == [
        (old.isoformat(), "cancelled"),
        (new.isoformat(), "queued"),
    ]


def test_an_invoice_the_client_confirmed_stops_its_waiting_confirmation_reminder(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 960, email="klant960@example.nl")
    assert _due_mail(runtime, case.client_id, "invoice_to_confirm").status == "queued"
    assert http.post(f"/budget/v1/invoices/{case.invoice_id}/confirm", headers=case.headers()).status_code == 200
    say(
        runtime,
        "budget",
        PaymentScheduledV1(
            payment_run_id=str(uuid.uuid4()), invoice_count=1, total_cents=1, execution_date=date(2026, 12, 1)
        ),
    )  # drains budget's outbox
    assert _due_mail(runtime, case.client_id, "invoice_to_confirm").status == "cancelled"


def test_two_clicks_at_once_on_mark_read_both_answer_with_the_first_read_time(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 970, email="klant970@example.nl")
    inbox = http.get(f"{URL}/messages", headers=case.headers(), params={"limit": 200}).json()
    message_id = inbox[0]["id"]
    who = Principal(subject="client-970", role=Role.CLIENT, municipality="0014", client_id=case.client_id)
    barrier, answers, errors = threading.Barrier(4), [], []

    def click() -> None:
        try:
            with runtime.uow("notifications") as uow:
                barrier.wait()
                answers.append(delivery.mark_read(uow, who, message_id))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(answers) == 4 and len(set(answers)) == 1
    with Session(runtime.engine) as session:
        reads = session.exec(select(MessageRead).where(MessageRead.message_id == message_id)).all()
    assert len(reads) == 1


def _at_once(count: int, work) -> list[Exception]:
    barrier, errors = threading.Barrier(count), []

    def run(n: int) -> None:
        try:
            work(n, barrier)
        except Exception as exc:  # noqa: BLE001 - collected and asserted by the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_first_saves_of_preferences_at_once_both_succeed_and_one_row_stays(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 980, email="klant980@example.nl", approve=False)
    who = Principal(subject="client-980", role=Role.CLIENT, municipality="0014", client_id=case.client_id)

    def save(n: int, barrier: threading.Barrier) -> None:
        with runtime.uow("notifications") as uow:
            barrier.wait()
            preferences.set_preferences(uow, who, PreferencesChange(email=True, sms=n % 2 == 0))

    assert _at_once(4, save) == []
    with Session(runtime.engine) as session:
        assert len(session.exec(select(Preference).where(Preference.client_id == case.client_id)).all()) == 1


def test_two_first_saves_of_the_settings_at_once_both_succeed(env):
    runtime, _http, _clock = env
    who = Principal(subject="lead-0599", role=Role.TEAM_LEAD, municipality="0599")

    def save(n: int, barrier: threading.Barrier) -> None:
        with runtime.uow("notifications") as uow:
            barrier.wait()
            delivery.change_settings(uow, who, MunicipalitySettingsChange(team_mailbox=f"team{n}@rotterdam.nl"))

    assert _at_once(4, save) == []
    with Session(runtime.engine) as session:
        row = session.get(MunicipalitySettings, "0599")
    assert row is not None and row.team_mailbox in {f"team{n}@rotterdam.nl" for n in range(4)}


def test_a_due_soon_reminder_handled_after_its_item_was_closed_is_not_sent(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 990, email="klant990@example.nl", approve=False)
    follow_up_id = str(uuid.uuid4())
    common = {"follow_up_id": follow_up_id, "plan_id": case.plan_id, "client_id": case.client_id, "kind": "milestone"}
    say(runtime, "monitoring", FollowUpClosedV1(**common, closed="done"))
    say(runtime, "monitoring", FollowUpDueSoonV1(**common, due_on=clock.today() + timedelta(days=3)))
    assert deliveries_of_client(runtime, case.client_id, "email", template="follow_up_due_soon") == []


@pytest.mark.parametrize(
    "supplier_email",
    ["a@b.nl,c@d.nl", "a@b.nl c@d.nl", "fa\x00cturen@b.nl", "Coach <facturen@b.nl>", "x" * 10_000 + "@b.nl", "@b.nl"],
)
def test_an_invoice_whose_supplier_email_is_not_one_address_is_a_422_naming_the_field(env, supplier_email):
    runtime, http, _clock = env
    r = http.post(
        f"/budget/v1/budgets/{uuid.uuid4()}/invoices",
        headers=FIN,
        json={
            "budget_line_id": str(uuid.uuid4()),
            "invoice_number": "INV-bad",
            "provider_name": "Coach BV",
            "provider_iban": "NL91ABNA0417164300",
            "amount": "50.00",
            "supplier_email": supplier_email,
        },
    )
    assert r.status_code == 422, r.text
    assert "supplier_email" in r.text
