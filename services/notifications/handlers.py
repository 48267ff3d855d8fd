"""Notifications' reactions to other services' events: each becomes a message for a person (ids
and amounts only; the text is rendered in the reader's language when read), and the table that
routes them here. The consumer's unit of work commits each with the event's inbox row; the
unique (event, template) pair keeps a redelivered event from making a second message."""

from __future__ import annotations

import uuid
from typing import Any

from contracts.events import (
    BudgetThresholdReachedV1,
    DecisionDueSoonV1,
    FollowUpOverdueV1,
    InvoicePaidV1,
    InvoiceRejectedV1,
    PlanApprovedV1,
    PlanRejectedV1,
    PlanReturnedV1,
    ProgressReportedV1,
)
from services.notifications import delivery, repository
from services.notifications.domain.messages import Message, RecipientKind
from services.notifications.webhook_delivery import with_fan_out
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
) -> None:
    message = Message.about(
        message_id=str(uuid.uuid4()),
        municipality=event.tenant,
        template=template,
        client_id=client_id,
        recipient_kind=recipient_kind,
        params=params or {},
        cause_event_id=str(event.event_id),
        at=uow.clock.now(),
    )
    repository.add(uow.session, message)
    delivery.queue_for(uow, message)  # in the app at once; e-mail queued for the sender job


def _params(payload: Payload, *names: str) -> dict[str, Any]:
    data = payload.model_dump(mode="json")
    return {name: data[name] for name in names}


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


def message_client_on_invoice_paid(uow: UnitOfWork, paid: InvoicePaidV1, event: Envelope) -> None:
    _record(uow, event, "invoice_paid", client_id=paid.client_id, params=_params(paid, "amount_cents", "paid_on"))


def message_case_team_on_progress_reported(uow: UnitOfWork, report: ProgressReportedV1, event: Envelope) -> None:
    _record(
        uow,
        event,
        "progress_reported",
        client_id=report.client_id,
        recipient_kind=RecipientKind.CASE_TEAM,
        params=_params(report, "on_track", "plan_id"),
    )


def message_client_on_plan_returned(uow: UnitOfWork, plan: PlanReturnedV1, event: Envelope) -> None:
    _record(uow, event, "plan_returned", client_id=plan.client_id)


def message_client_on_invoice_rejected(uow: UnitOfWork, rejected: InvoiceRejectedV1, event: Envelope) -> None:
    if rejected.client_id:  # an invoice that matched no budget has no client to tell
        _record(uow, event, "invoice_rejected", client_id=rejected.client_id, params=_params(rejected, "reason_code"))


def message_client_on_budget_threshold(uow: UnitOfWork, reached: BudgetThresholdReachedV1, event: Envelope) -> None:
    _record(
        uow,
        event,
        "budget_threshold",
        client_id=reached.client_id,
        params=_params(reached, "percent", "used_cents", "granted_cents"),
    )


def message_case_team_on_decision_due_soon(uow: UnitOfWork, due: DecisionDueSoonV1, event: Envelope) -> None:
    _record(
        uow,
        event,
        "decision_due_soon",
        client_id=due.client_id,
        recipient_kind=RecipientKind.CASE_TEAM,
        params=_params(due, "plan_id", "due_on", "case_manager"),
    )


def message_case_team_on_follow_up_overdue(uow: UnitOfWork, overdue: FollowUpOverdueV1, event: Envelope) -> None:
    """A reminder for the case team: a report, conversation, milestone or check is past its day."""
    _record(
        uow,
        event,
        "follow_up_overdue",
        client_id=overdue.client_id,
        recipient_kind=RecipientKind.CASE_TEAM,
        params=_params(overdue, "follow_up_id", "plan_id", "kind", "due_on"),
    )


EVENT_HANDLERS: EventHandlers = {
    DecisionDueSoonV1: message_case_team_on_decision_due_soon,
    PlanReturnedV1: message_client_on_plan_returned,
    InvoiceRejectedV1: message_client_on_invoice_rejected,
    BudgetThresholdReachedV1: message_client_on_budget_threshold,
    PlanApprovedV1: message_client_on_plan_approved,
    PlanRejectedV1: message_client_on_plan_rejected,
    InvoicePaidV1: message_client_on_invoice_paid,
    ProgressReportedV1: message_case_team_on_progress_reported,
    FollowUpOverdueV1: message_case_team_on_follow_up_overdue,
}
# Every event type a partner may subscribe to also fans out to webhook deliveries (webhook_delivery.py).
EVENT_HANDLERS = with_fan_out(EVENT_HANDLERS)
