"""Intake's reactions to other services' events, and the table that routes them.

Intake is where the trajectory starts; it hears back only when the budget refuses a change.
"""

from __future__ import annotations

from sqlmodel import select

from contracts.events import PlanChangeRefusedV1
from services.intake import repository
from services.intake.audited import audited_plan
from services.intake.domain.plan import ChangeStatus
from services.intake.models import ChangeRequest, Plan
from shared import audit
from shared.bus.consumer import EventHandlers
from shared.events import Envelope
from shared.uow import UnitOfWork


def restore_grants_on_plan_change_refused(uow: UnitOfWork, refused: PlanChangeRefusedV1, event: Envelope) -> None:
    """The budget could not carry out an approved change: the plan's grants go back to what they were."""
    change = uow.session.get(ChangeRequest, refused.change_id)
    row = uow.session.exec(select(Plan).where(Plan.id == refused.plan_id).with_for_update()).first()
    if change is None or row is None or change.status != ChangeStatus.APPROVED:
        return
    before = {**audited_plan(row), "change.status": change.status}
    change.status, change.refusal_reason = ChangeStatus.REFUSED_BY_BUDGET, refused.reason_code
    plan = repository.plan_aggregate(row)
    plan.restore_grants(change.previous_granted)
    uow.session.add(change)
    repository.store_plan(uow.session, row, plan, uow.clock.now())
    after = {**audited_plan(row), "change_id": change.id, "change.status": change.status}
    who = audit.system_principal("intake", row.municipality)
    audit.record_change(uow, who, row.client_id, audit.AuditAction.UPDATE, old=before, new=after)


EVENT_HANDLERS: EventHandlers = {PlanChangeRefusedV1: restore_grants_on_plan_change_refused}
