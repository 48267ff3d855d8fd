"""Notifications: turn events into messages for people; show them in their language."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from services.notifications.domain.templates import render
from services.notifications.models import Message, MessagePublic
from shared.auth import Principal, Role, require_role
from shared.bus.consumer import EventHandlers
from contracts.events import (
    BudgetThresholdReachedV1,
    DecisionDueSoonV1,
    InvoicePaidV1,
    InvoiceRejectedV1,
    PlanApprovedV1,
    PlanRejectedV1,
    PlanReturnedV1,
    ProgressReportedV1,
)
from shared.events import Envelope, Payload
from shared.uow import UnitOfWork


def _record(uow: UnitOfWork, event: Envelope, template: str, *, client_id: str | None,
            recipient_kind: str = "client", params: dict[str, Any] | None = None) -> None:
    uow.session.add(Message(municipality=event.tenant, recipient_kind=recipient_kind, client_id=client_id,
                            template=template, params=params or {}, cause_event_id=str(event.event_id)))


def _params(payload: Payload, *names: str) -> dict[str, Any]:
    data = payload.model_dump(mode="json")
    return {name: data[name] for name in names}


def message_client_on_plan_approved(uow: UnitOfWork, plan: PlanApprovedV1, event: Envelope) -> None:
    _record(uow, event, "plan_approved", client_id=plan.client_id,
            params=_params(plan, "granted_cents", "execution_deadline"))


def message_client_on_plan_rejected(uow: UnitOfWork, plan: PlanRejectedV1, event: Envelope) -> None:
    _record(uow, event, "plan_rejected", client_id=plan.client_id)


def message_client_on_invoice_paid(uow: UnitOfWork, paid: InvoicePaidV1, event: Envelope) -> None:
    _record(uow, event, "invoice_paid", client_id=paid.client_id, params=_params(paid, "amount_cents", "paid_on"))


def message_case_team_on_progress_reported(uow: UnitOfWork, report: ProgressReportedV1, event: Envelope) -> None:
    _record(uow, event, "progress_reported", client_id=report.client_id, recipient_kind="case_team",
            params=_params(report, "on_track", "plan_id"))


def message_client_on_plan_returned(uow: UnitOfWork, plan: PlanReturnedV1, event: Envelope) -> None:
    _record(uow, event, "plan_returned", client_id=plan.client_id)


def message_client_on_invoice_rejected(uow: UnitOfWork, rejected: InvoiceRejectedV1, event: Envelope) -> None:
    if rejected.client_id:  # an invoice that matched no budget has no client to tell
        _record(uow, event, "invoice_rejected", client_id=rejected.client_id, params=_params(rejected, "reason_code"))


def message_client_on_budget_threshold(uow: UnitOfWork, reached: BudgetThresholdReachedV1, event: Envelope) -> None:
    _record(uow, event, "budget_threshold", client_id=reached.client_id,
            params=_params(reached, "percent", "used_cents", "granted_cents"))


def message_case_team_on_decision_due_soon(uow: UnitOfWork, due: DecisionDueSoonV1, event: Envelope) -> None:
    _record(uow, event, "decision_due_soon", client_id=due.client_id, recipient_kind="case_team",
            params=_params(due, "plan_id", "due_on", "case_manager"))


EVENT_HANDLERS: EventHandlers = {
    DecisionDueSoonV1: message_case_team_on_decision_due_soon,
    PlanReturnedV1: message_client_on_plan_returned,
    InvoiceRejectedV1: message_client_on_invoice_rejected,
    BudgetThresholdReachedV1: message_client_on_budget_threshold,
    PlanApprovedV1: message_client_on_plan_approved,
    PlanRejectedV1: message_client_on_plan_rejected,
    InvoicePaidV1: message_client_on_invoice_paid,
    ProgressReportedV1: message_case_team_on_progress_reported,
}


def list_messages(session: Session, who: Principal, language: str, client_id: str | None = None) -> list[MessagePublic]:
    # In a fixed order: the 403 names them, as docs/api.md does.
    require_role(who, Role.CASE_MANAGER, Role.TEAM_LEAD, Role.CLIENT, Role.REPRESENTATIVE)
    query = select(Message).where(Message.municipality == who.municipality).order_by(Message.created_at)
    if who.is_client_side():
        query = query.where(Message.client_id == who.client_id, Message.recipient_kind == "client")
    else:
        if client_id:
            query = query.where(Message.client_id == client_id)
    result = []
    for message in session.exec(query):
        text = render(message.template, message.params, language)
        result.append(MessagePublic(id=message.id, recipient_kind=message.recipient_kind, client_id=message.client_id,
                                    template=message.template, language=text.language, subject=text.subject,
                                    body=text.body, status=message.status, created_at=message.created_at))
    return result
