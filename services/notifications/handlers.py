"""Notifications: turn events into messages for people; show them in their language."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from services.notifications.domain.templates import render
from services.notifications.models import Message, MessagePublic
from shared.auth import Principal, Role, require_role
from shared.bus.consumer import EventHandler
from shared.events import Envelope
from shared.uow import UnitOfWork


def _record(uow: UnitOfWork, event: Envelope, template: str, *, client_id: str | None,
            recipient_kind: str = "client", params: dict[str, Any] | None = None) -> None:
    uow.session.add(Message(municipality=event.tenant, recipient_kind=recipient_kind, client_id=client_id,
                            template=template, params=params or {}, cause_event_id=str(event.event_id)))


def message_client_on_plan_approved(event: Envelope, uow: UnitOfWork) -> None:
    p = event.payload
    _record(uow, event, "plan_approved", client_id=p["client_id"],
            params={"granted_cents": p["granted_cents"], "execution_deadline": p["execution_deadline"]})


def message_client_on_plan_rejected(event: Envelope, uow: UnitOfWork) -> None:
    _record(uow, event, "plan_rejected", client_id=event.payload["client_id"])


def message_client_on_invoice_paid(event: Envelope, uow: UnitOfWork) -> None:
    p = event.payload
    _record(uow, event, "invoice_paid", client_id=p["client_id"],
            params={"amount_cents": p["amount_cents"], "paid_on": p["paid_on"]})


def message_case_team_on_progress_reported(event: Envelope, uow: UnitOfWork) -> None:
    p = event.payload
    _record(uow, event, "progress_reported", client_id=p["client_id"], recipient_kind="case_team",
            params={"on_track": p["on_track"], "plan_id": p["plan_id"]})


def message_client_on_plan_returned(event: Envelope, uow: UnitOfWork) -> None:
    _record(uow, event, "plan_returned", client_id=event.payload["client_id"])


def message_client_on_invoice_rejected(event: Envelope, uow: UnitOfWork) -> None:
    p = event.payload
    if p.get("client_id"):  # an invoice that matched no budget has no client to tell
        _record(uow, event, "invoice_rejected", client_id=p["client_id"], params={"reason_code": p["reason_code"]})


def message_client_on_budget_threshold(event: Envelope, uow: UnitOfWork) -> None:
    p = event.payload
    _record(uow, event, "budget_threshold", client_id=p["client_id"], params={
        "percent": p["percent"], "used_cents": p["used_cents"], "granted_cents": p["granted_cents"]})


def message_case_team_on_decision_due_soon(event: Envelope, uow: UnitOfWork) -> None:
    p = event.payload
    _record(uow, event, "decision_due_soon", client_id=p["client_id"], recipient_kind="case_team",
            params={"plan_id": p["plan_id"], "due_on": p["due_on"], "case_manager": p["case_manager"]})


EVENT_HANDLERS: dict[str, EventHandler] = {
    "DecisionDueSoon": message_case_team_on_decision_due_soon,
    "PlanReturned": message_client_on_plan_returned,
    "InvoiceRejected": message_client_on_invoice_rejected,
    "BudgetThresholdReached": message_client_on_budget_threshold,
    "PlanApproved": message_client_on_plan_approved,
    "PlanRejected": message_client_on_plan_rejected,
    "InvoicePaid": message_client_on_invoice_paid,
    "ProgressReported": message_case_team_on_progress_reported,
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
