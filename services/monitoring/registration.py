"""The case manager's registration form and the costs outside the budget: commands and reads.

The form's answers are kept on the trajectory row (they are what the benchmark counts, without
a join); who judged what is not personal history anyone needs, so a new form replaces the old.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from services.monitoring import audited, repository
from services.monitoring.domain.registration import (
    PROVISIONS,
    SOFT_CHARACTERISTICS,
    ContactHours,
    CostEntry,
    CostKind,
    Registration,
    Relative,
)
from services.monitoring.domain.trajectory import Trajectory
from services.monitoring.models import CostEntry as CostEntryRow
from services.monitoring.models_registration import (
    CostCreate,
    CostPublic,
    Provisions,
    RegistrationForm,
    SoftCharacteristics,
)
from services.monitoring.permissions import Action, authorize
from shared import audit
from shared.auth import Principal
from shared.money import Money
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork


def _form_of(trajectory: Trajectory) -> RegistrationForm:
    soft = {name: getattr(trajectory, name) for name in SOFT_CHARACTERISTICS}
    provisions = (
        Provisions(**{name: getattr(trajectory, name) for name in PROVISIONS})
        if trajectory.provisions_recorded
        else None
    )
    return RegistrationForm(
        soft_characteristics=SoftCharacteristics(**soft), provisions=provisions, contact_hours=trajectory.contact_hours
    )


def put_registration(uow: UnitOfWork, who: Principal, plan_id: str, form: RegistrationForm) -> RegistrationForm:
    authorize(who, Action.RECORD_REGISTRATION)
    trajectory = repository.visible_trajectory(uow.session, who, plan_id, lock=True)
    soft: dict[str, Relative | None] = {name: getattr(form.soft_characteristics, name) for name in SOFT_CHARACTERISTICS}
    used = None if form.provisions is None else frozenset(n for n in PROVISIONS if getattr(form.provisions, n))
    contact = ContactHours(form.contact_hours) if form.contact_hours else None
    before = _audited_form(trajectory)
    trajectory.record_registration(Registration(soft=soft, provisions=used, contact_hours=contact))
    repository.save(uow.session, trajectory)
    audited.record(
        uow,
        who,
        trajectory,
        audit.AuditAction.UPDATE,
        old=before,
        new=_audited_form(trajectory),
        secret=audited.REGISTRATION_SECRET,
    )
    uow.commit()
    return _form_of(trajectory)


def _audited_form(trajectory: Trajectory) -> dict[str, object]:
    """The form as its audit record compares it; the provisions masked (audited.REGISTRATION_SECRET)."""
    fields: dict[str, object] = {"plan_id": trajectory.plan_id}
    fields |= {f"registration.{name}": getattr(trajectory, name) for name in SOFT_CHARACTERISTICS}
    fields |= {f"registration.provisions.{name}": getattr(trajectory, name) for name in PROVISIONS}
    fields["registration.provisions_recorded"] = trajectory.provisions_recorded
    fields["registration.contact_hours"] = trajectory.contact_hours
    return fields


def get_registration(session: Session, who: Principal, plan_id: str) -> RegistrationForm:
    authorize(who, Action.READ_REGISTRATION)
    return _form_of(repository.visible_trajectory(session, who, plan_id))


def _cost_public(row: CostEntryRow) -> CostPublic:
    return CostPublic(
        id=row.id,
        plan_id=row.plan_id,
        kind=CostKind(row.kind),
        amount=Money(row.amount_cents).decimal,
        incurred_on=row.incurred_on,
        note=row.note,
        recorded_at=row.recorded_at,
    )


def add_cost(uow: UnitOfWork, who: Principal, plan_id: str, data: CostCreate) -> CostPublic:
    authorize(who, Action.RECORD_COST)
    trajectory = repository.visible_trajectory(uow.session, who, plan_id, lock=True)
    cost = CostEntry(
        id=str(uuid.uuid4()),
        plan_id=plan_id,
        municipality=trajectory.municipality,
        kind=data.kind,
        amount_cents=Money.euros(data.amount).cents,
        incurred_on=data.incurred_on,
        note=data.note,
        recorded_by=who.subject,
    )
    trajectory.add_cost(cost, uow.clock.today())
    row = CostEntryRow(
        id=cost.id,
        municipality=cost.municipality,
        plan_id=cost.plan_id,
        kind=cost.kind.value,
        amount_cents=cost.amount_cents,
        incurred_on=cost.incurred_on,
        note=cost.note,
        recorded_by=cost.recorded_by,
        recorded_at=uow.clock.now(),
    )
    uow.session.add(row)
    repository.save(uow.session, trajectory)
    uow.commit()
    return _cost_public(row)


def list_costs(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[CostPublic]:
    authorize(who, Action.READ_REGISTRATION)
    repository.visible_trajectory(session, who, plan_id)
    query = select(CostEntryRow).where(CostEntryRow.plan_id == plan_id)
    query = query.order_by(col(CostEntryRow.incurred_on), col(CostEntryRow.id))
    return page_of(session, query, page).map(_cost_public)
