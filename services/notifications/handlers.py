"""Notifications' reactions to other services' events: each becomes a message for a person (ids,
codes and dates only; the text is rendered in the reader's language when read or sent), and the
table that routes them here. The consumer's unit of work commits each with the event's inbox row.

Never twice: a message is unique per cause and template. An event's cause is its id; a reminder's
is its item and occasion (`reminder_cause`), so two scans that both say "due soon" for the same
item make one message, and one delivery per recipient and channel. A reminder is about its
item (`item`): when the owning service says the item is done, what has not gone out is cancelled."""

from __future__ import annotations

import uuid
from typing import Any

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
    InvoiceRejectedV1,
    InvoiceRejectedV2,
    OrientationEndingSoonV1,
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
from services.notifications import delivery, webhooks
from services.notifications.domain.messages import Message, RecipientKind
from services.notifications.domain.reminders import (
    follow_up_item,
    follow_up_recipient,
    invoice_item,
    orientation_item,
    provider_ref,
    reminder_cause,
    trajectory_end_item,
)
from services.notifications.webhook_delivery import with_fan_out
from shared import revocation
from shared.bus.consumer import EventHandlers
from shared.events import Envelope, Payload
from shared.uow import UnitOfWork


def _record(
    uow: UnitOfWork,
    event: Envelope,
    template: str,
    *,
    client_id: str | None,
    recipient_kind: RecipientKind = RecipientKind.CLIENT,
    params: dict[str, Any] | None = None,
    item: str | None = None,
    cause: str | None = None,
    recipient_ref: str | None = None,
) -> None:
    if item is not None and delivery.closed_before(uow.session, event.tenant, item, event.occurred_at):
        return  # a reminder said before its item was done, handled after: too late
    message = Message.about(
        message_id=str(uuid.uuid4()),
        municipality=event.tenant,
        template=template,
        client_id=client_id,
        recipient_kind=recipient_kind,
        params=params or {},
        cause_event_id=cause or str(event.event_id),
        at=uow.clock.now(),
        item=item,
        recipient_ref=recipient_ref,
    )
    # Not when this cause made this message before (a second scan, a redelivery).
    delivery.add_and_queue(uow, message)  # in the app at once; e-mail and SMS queued for the sender job


def _params(payload: Payload, *names: str) -> dict[str, Any]:
    data = payload.model_dump(mode="json")
    return {name: data[name] for name in names}


# --- plans --------------------------------------------------------------------------------------


def message_client_and_team_on_plan_submitted(uow: UnitOfWork, plan: PlanSubmittedV1, event: Envelope) -> None:
    """The client hears the plan arrived; the case team that a plan waits for review. A reminder
    that the orientation phase ends stops: the plan is in."""
    params = _params(plan, "plan_id", "plan_version")
    _record(uow, event, "plan_received", client_id=plan.client_id, params=params)
    _record(
        uow, event, "plan_to_review", client_id=plan.client_id, recipient_kind=RecipientKind.CASE_TEAM, params=params
    )
    delivery.cancel_waiting(uow, event.tenant, orientation_item(plan.client_id), closed_at=event.occurred_at)


def message_client_on_plan_approved(uow: UnitOfWork, plan: PlanApprovedV1, event: Envelope) -> None:
    _record(
        uow,
        event,
        "plan_approved",
        client_id=plan.client_id,
        params=_params(plan, "granted_cents", "execution_deadline"),
    )


def message_client_on_plan_rejected(uow: UnitOfWork, plan: PlanRejectedV1, event: Envelope) -> None:
    _record(uow, event, "plan_rejected", client_id=plan.client_id)


def message_client_on_plan_returned(uow: UnitOfWork, plan: PlanReturnedV1, event: Envelope) -> None:
    _record(uow, event, "plan_returned", client_id=plan.client_id)


def message_case_team_on_decision_due_soon(uow: UnitOfWork, due: DecisionDueSoonV1, event: Envelope) -> None:
    _record(
        uow,
        event,
        "decision_due_soon",
        client_id=due.client_id,
        recipient_kind=RecipientKind.CASE_TEAM,
        params=_params(due, "plan_id", "due_on", "case_manager"),
    )


# --- invoices and money -------------------------------------------------------------------------


def message_client_on_invoice_awaiting_confirmation(
    uow: UnitOfWork, waiting: InvoiceAwaitingConfirmationV1, event: Envelope
) -> None:
    _record(
        uow,
        event,
        "invoice_to_confirm",
        client_id=waiting.client_id,
        params=_params(waiting, "invoice_id", "amount_cents"),
        item=invoice_item(waiting.invoice_id),
    )


def stop_confirmation_reminder_on_invoice_confirmed(
    uow: UnitOfWork, confirmed: InvoiceConfirmedByClientV1, event: Envelope
) -> None:
    delivery.cancel_waiting(
        uow,
        event.tenant,
        invoice_item(confirmed.invoice_id),
        closed_at=event.occurred_at,
        templates=["invoice_to_confirm"],
    )


def stop_confirmation_reminder_on_invoice_approved(
    uow: UnitOfWork, approved: InvoiceApprovedV1 | InvoiceApprovedV2, event: Envelope
) -> None:
    delivery.cancel_waiting(
        uow,
        event.tenant,
        invoice_item(approved.invoice_id),
        closed_at=event.occurred_at,
        templates=["invoice_to_confirm"],
    )


def message_client_and_provider_on_invoice_rejected(
    uow: UnitOfWork, rejected: InvoiceRejectedV1 | InvoiceRejectedV2, event: Envelope
) -> None:
    delivery.cancel_waiting(
        uow,
        event.tenant,
        invoice_item(rejected.invoice_id),
        closed_at=event.occurred_at,
        templates=["invoice_to_confirm"],
    )
    params = _params(rejected, "invoice_id", "reason_code")
    if rejected.client_id:  # an invoice that matched no budget has no client to tell
        _record(uow, event, "invoice_rejected", client_id=rejected.client_id, params=params)
    if isinstance(rejected, InvoiceRejectedV2) and (ref := provider_ref(rejected.provider_id, rejected.provider_kvk)):
        _record(
            uow,
            event,
            "invoice_rejected_provider",
            client_id=None,
            recipient_kind=RecipientKind.PROVIDER,
            recipient_ref=ref,
            params=params,
        )


def message_client_and_provider_on_invoice_paid(
    uow: UnitOfWork, paid: InvoicePaidV1 | InvoicePaidV2, event: Envelope
) -> None:
    _record(uow, event, "invoice_paid", client_id=paid.client_id, params=_params(paid, "amount_cents", "paid_on"))
    if isinstance(paid, InvoicePaidV2) and (ref := provider_ref(paid.provider_id, paid.provider_kvk)):
        _record(
            uow,
            event,
            "invoice_paid_provider",
            client_id=None,
            recipient_kind=RecipientKind.PROVIDER,
            recipient_ref=ref,
            params=_params(paid, "invoice_id", "paid_on"),
        )


def message_client_on_budget_threshold(uow: UnitOfWork, reached: BudgetThresholdReachedV1, event: Envelope) -> None:
    _record(
        uow,
        event,
        "budget_threshold",
        client_id=reached.client_id,
        params=_params(reached, "percent", "used_cents", "granted_cents"),
    )


def message_finance_on_payment_scheduled(uow: UnitOfWork, run: PaymentScheduledV1, event: Envelope) -> None:
    """Finance: a payment run is ready; its file goes to the bank and its payment is confirmed."""
    _record(
        uow,
        event,
        "payment_run_scheduled",
        client_id=None,
        recipient_kind=RecipientKind.FINANCE,
        params=_params(run, "payment_run_id", "invoice_count", "execution_date"),
    )


# --- progress and reminders ---------------------------------------------------------------------


def message_case_team_on_progress_reported(uow: UnitOfWork, report: ProgressReportedV1, event: Envelope) -> None:
    _record(
        uow,
        event,
        "progress_reported",
        client_id=report.client_id,
        recipient_kind=RecipientKind.CASE_TEAM,
        params=_params(report, "on_track", "plan_id"),
    )


def remind_on_follow_up_due_soon(uow: UnitOfWork, due: FollowUpDueSoonV1, event: Envelope) -> None:
    """A report, conversation or milestone is near: the client is reminded; a durability check or an
    aftercare check-in is the case team's to do."""
    kind = follow_up_recipient(due.kind)
    params = _params(due, "follow_up_id", "plan_id", "kind", "due_on", "conversation_kind")
    _record(
        uow,
        event,
        "follow_up_due_soon" if kind == RecipientKind.CLIENT else "follow_up_due_soon_team",
        client_id=due.client_id,
        recipient_kind=kind,
        params=params,
        item=follow_up_item(due.follow_up_id),
        cause=reminder_cause(follow_up_item(due.follow_up_id), "due_soon"),
    )


def remind_on_follow_up_overdue(uow: UnitOfWork, overdue: FollowUpOverdueV1, event: Envelope) -> None:
    """Past its day and still open: the case team is told; for a progress report the client too."""
    item = follow_up_item(overdue.follow_up_id)
    params = _params(overdue, "follow_up_id", "plan_id", "kind", "due_on")
    _record(
        uow,
        event,
        "follow_up_overdue",
        client_id=overdue.client_id,
        recipient_kind=RecipientKind.CASE_TEAM,
        params=params,
        item=item,
        cause=reminder_cause(item, "overdue"),
    )
    if follow_up_recipient(overdue.kind) == RecipientKind.CLIENT and overdue.kind == "progress_report":
        _record(
            uow,
            event,
            "report_overdue",
            client_id=overdue.client_id,
            params=params,
            item=item,
            cause=reminder_cause(item, "overdue"),
        )


def stop_reminders_on_follow_up_closed(uow: UnitOfWork, closed: FollowUpClosedV1, event: Envelope) -> None:
    delivery.cancel_waiting(uow, event.tenant, follow_up_item(closed.follow_up_id), closed_at=event.occurred_at)


def remind_on_trajectory_ending_soon(uow: UnitOfWork, ending: TrajectoryEndingSoonV1, event: Envelope) -> None:
    item = trajectory_end_item(ending.plan_id)
    cause = reminder_cause(item, ending.ends_on.isoformat())
    # The deadline moved (a plan change): what was still to go out about the old date would be wrong.
    delivery.cancel_waiting(uow, event.tenant, item, closed_at=None, except_cause=cause)
    params = _params(ending, "plan_id", "ends_on")
    _record(uow, event, "trajectory_ending_soon", client_id=ending.client_id, params=params, item=item, cause=cause)
    _record(
        uow,
        event,
        "trajectory_ending_soon_team",
        client_id=ending.client_id,
        recipient_kind=RecipientKind.CASE_TEAM,
        params=params,
        item=item,
        cause=cause,
    )


def stop_reminders_on_trajectory_closed(uow: UnitOfWork, closed: TrajectoryClosedV1, event: Envelope) -> None:
    delivery.cancel_waiting(uow, event.tenant, trajectory_end_item(closed.plan_id), closed_at=event.occurred_at)


def remind_client_on_orientation_ending_soon(uow: UnitOfWork, ending: OrientationEndingSoonV1, event: Envelope) -> None:
    item = orientation_item(ending.client_id)
    _record(
        uow,
        event,
        "orientation_ending_soon",
        client_id=ending.client_id,
        params=_params(ending, "ends_on"),
        item=item,
        cause=reminder_cause(f"orientation:{ending.orientation_id}", "ending_soon"),
    )


def refuse_tokens_on_partner_credentials_revoked(
    uow: UnitOfWork, revoked: PartnerCredentialsRevokedV1, event: Envelope
) -> None:
    """A partner application revoked or its secret rotated (intake): its tokens stop here too, at once,
    and a revoked one's webhook subscriptions end."""
    revocation.refuse_tokens_on_partner_credentials_revoked(uow, revoked, event)
    if revoked.reason == "app_revoked":
        webhooks.end_subscriptions_of_revoked_app(uow, event.tenant, revoked.partner_app_id)


EVENT_HANDLERS: EventHandlers = {
    PartnerCredentialsRevokedV1: refuse_tokens_on_partner_credentials_revoked,
    PlanSubmittedV1: message_client_and_team_on_plan_submitted,
    PlanApprovedV1: message_client_on_plan_approved,
    PlanApprovedV2: message_client_on_plan_approved,
    PlanRejectedV1: message_client_on_plan_rejected,
    PlanReturnedV1: message_client_on_plan_returned,
    DecisionDueSoonV1: message_case_team_on_decision_due_soon,
    InvoiceAwaitingConfirmationV1: message_client_on_invoice_awaiting_confirmation,
    InvoiceConfirmedByClientV1: stop_confirmation_reminder_on_invoice_confirmed,
    InvoiceApprovedV1: stop_confirmation_reminder_on_invoice_approved,
    InvoiceApprovedV2: stop_confirmation_reminder_on_invoice_approved,
    InvoiceRejectedV1: message_client_and_provider_on_invoice_rejected,
    InvoiceRejectedV2: message_client_and_provider_on_invoice_rejected,
    InvoicePaidV1: message_client_and_provider_on_invoice_paid,
    InvoicePaidV2: message_client_and_provider_on_invoice_paid,
    BudgetThresholdReachedV1: message_client_on_budget_threshold,
    PaymentScheduledV1: message_finance_on_payment_scheduled,
    ProgressReportedV1: message_case_team_on_progress_reported,
    FollowUpDueSoonV1: remind_on_follow_up_due_soon,
    FollowUpOverdueV1: remind_on_follow_up_overdue,
    FollowUpClosedV1: stop_reminders_on_follow_up_closed,
    TrajectoryEndingSoonV1: remind_on_trajectory_ending_soon,
    TrajectoryClosedV1: stop_reminders_on_trajectory_closed,
    OrientationEndingSoonV1: remind_client_on_orientation_ending_soon,
}
# Every event type a partner may subscribe to also fans out to webhook deliveries (webhook_delivery.py).
EVENT_HANDLERS = with_fan_out(EVENT_HANDLERS)
