"""Intake commands: one function per thing a person does. Routes only call these."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from services.intake.domain.lifecycle import PlanStatus, ensure_transition, ensure_version, execution_deadline, grant_lines
from services.intake.models import (
    ApprovePlan,
    Client,
    ClientCreate,
    ClientPublic,
    Plan,
    PlanCreate,
    PlanLine,
    PlanLinePublic,
    PlanPublic,
    PlanVersionRef,
    RejectPlan,
)
from shared.access import ensure_visible
from shared.auth import STAFF_ROLES, Principal, Role, require_role
from shared.bus.consumer import EventHandler
from shared.errors import ConflictError, DomainError
from shared.events import GrantedLine, PlanApprovedV1, PlanRejectedV1, PlanSubmittedV1
from shared.money import Money
from shared.problems import not_found
from shared.uow import UnitOfWork

DEFAULT_EXECUTION_MONTHS = 12


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- clients ------------------------------------------------------------------------------


def register_client(uow: UnitOfWork, who: Principal, data: ClientCreate) -> ClientPublic:
    require_role(who, *STAFF_ROLES)
    client = Client(
        municipality=who.municipality,
        bsn=data.bsn,
        client_number=data.client_number,
        name=data.name,
        email=str(data.email) if data.email else None,
        phone=data.phone,
        language=data.language,
        scheme=data.scheme,
        benefit_type=data.benefit_type,
        case_manager=data.case_manager or who.subject,
    )
    uow.session.add(client)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        raise ConflictError("client.exists", "This municipality already has a client with this BSN or client number.",
                            "bsn") from exc
    uow.emit("ClientRegistered", tenant=client.municipality, subject=client.id, payload={"client_id": client.id})
    uow.commit()
    return ClientPublic.model_validate(client, from_attributes=True)


def _client_for(session: Session, who: Principal, client_id: str) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise not_found("client")
    ensure_visible(who, municipality=client.municipality, client_id=client.id, what="client")
    return client


def get_client(session: Session, who: Principal, client_id: str) -> ClientPublic:
    return ClientPublic.model_validate(_client_for(session, who, client_id), from_attributes=True)


def list_clients(session: Session, who: Principal) -> list[ClientPublic]:
    query = select(Client).where(Client.municipality == who.municipality).order_by(Client.created_at)
    if who.is_client_side():
        query = query.where(Client.id == who.client_id)
    elif who.role not in STAFF_ROLES:
        require_role(who, *STAFF_ROLES)
    return [ClientPublic.model_validate(c, from_attributes=True) for c in session.exec(query)]


# --- plans --------------------------------------------------------------------------------


def _plan_public(session: Session, plan: Plan) -> PlanPublic:
    lines = session.exec(select(PlanLine).where(PlanLine.plan_id == plan.id).order_by(PlanLine.position)).all()
    return PlanPublic(
        **plan.model_dump(exclude={"requested_cents", "granted_cents", "created_at"}),
        requested=Money(plan.requested_cents).decimal,
        granted=Money(plan.granted_cents).decimal if plan.granted_cents is not None else None,
        lines=[
            PlanLinePublic(
                id=line.id, position=line.position, description=line.description, category=line.category,
                provider_name=line.provider_name, amount=Money(line.amount_cents).decimal,
                granted=Money(line.granted_cents).decimal if line.granted_cents is not None else None,
            )
            for line in lines
        ],
    )


def _plan_for(session: Session, who: Principal, plan_id: str, *, lock: bool = False) -> Plan:
    query = select(Plan).where(Plan.id == plan_id)
    if lock:
        query = query.with_for_update()
    plan = session.exec(query).first()
    if plan is None:
        raise not_found("plan")
    ensure_visible(who, municipality=plan.municipality, client_id=plan.client_id, what="plan")
    return plan


def create_plan(uow: UnitOfWork, who: Principal, data: PlanCreate) -> PlanPublic:
    if not who.is_client_side():
        require_role(who, *STAFF_ROLES)
    client = _client_for(uow.session, who, data.client_id)
    plan = Plan(
        municipality=client.municipality, client_id=client.id, title=data.title, goal=data.goal,
        scheme=client.scheme,
        requested_cents=Money.total(Money.euros(line.amount) for line in data.lines).cents,
    )
    uow.session.add(plan)
    for position, line in enumerate(data.lines, start=1):
        amount = Money.euros(line.amount)
        if amount.cents <= 0:
            raise DomainError("plan.line_amount", "Every budget line needs an amount above zero.",
                              f"lines.{position - 1}.amount")
        uow.session.add(PlanLine(plan_id=plan.id, position=position, description=line.description,
                                 category=line.category, provider_name=line.provider_name,
                                 amount_cents=amount.cents))
    uow.session.flush()
    uow.commit()
    return _plan_public(uow.session, plan)


def get_plan(session: Session, who: Principal, plan_id: str) -> PlanPublic:
    return _plan_public(session, _plan_for(session, who, plan_id))


def list_plans(session: Session, who: Principal, status: str | None = None) -> list[PlanPublic]:
    query = select(Plan).where(Plan.municipality == who.municipality).order_by(Plan.created_at)
    if who.is_client_side():
        query = query.where(Plan.client_id == who.client_id)
    else:
        require_role(who, *STAFF_ROLES)
    if status:
        query = query.where(Plan.status == status)
    return [_plan_public(session, p) for p in session.exec(query)]


def submit_plan(uow: UnitOfWork, who: Principal, plan_id: str, ref: PlanVersionRef) -> PlanPublic:
    if not who.is_client_side():
        require_role(who, *STAFF_ROLES)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    ensure_version(plan.version, ref.plan_version)
    ensure_transition(plan.status, "submit")
    plan.status = PlanStatus.SUBMITTED
    plan.submitted_at = _now()
    plan.version += 1
    uow.session.add(plan)
    uow.emit("PlanSubmitted", tenant=plan.municipality, subject=plan.id, payload=PlanSubmittedV1(
        plan_id=plan.id, client_id=plan.client_id, plan_version=plan.version, requested_cents=plan.requested_cents))
    uow.commit()
    return _plan_public(uow.session, plan)


def approve_plan(uow: UnitOfWork, who: Principal, plan_id: str, cmd: ApprovePlan) -> PlanPublic:
    require_role(who, *STAFF_ROLES)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    ensure_version(plan.version, cmd.plan_version)
    ensure_transition(plan.status, "decide")
    lines = uow.session.exec(select(PlanLine).where(PlanLine.plan_id == plan.id).order_by(PlanLine.position)).all()
    requested = {g.line_id: Money.euros(g.granted) for g in cmd.granted_lines} if cmd.granted_lines else None
    grants = grant_lines({line.id: Money(line.amount_cents) for line in lines}, requested)
    granted_by_line = {g.line_id: g.granted for g in grants}
    for line in lines:
        line.granted_cents = granted_by_line[line.id].cents
        uow.session.add(line)
    decided = _now()
    plan.status = PlanStatus.APPROVED
    plan.granted_cents = Money.total(granted_by_line.values()).cents
    plan.execution_deadline = execution_deadline(decided.date(), DEFAULT_EXECUTION_MONTHS)
    plan.decided_at, plan.decided_by, plan.decision_note = decided, who.subject, cmd.note
    plan.version += 1
    uow.session.add(plan)
    uow.emit("PlanApproved", tenant=plan.municipality, subject=plan.id, payload=PlanApprovedV1(
        plan_id=plan.id, client_id=plan.client_id, plan_version=plan.version, scheme=plan.scheme,
        granted_cents=plan.granted_cents, execution_deadline=plan.execution_deadline,
        lines=tuple(GrantedLine(plan_line_id=line.id, category=line.category, granted_cents=line.granted_cents or 0)
                    for line in lines if line.granted_cents),
    ))
    uow.commit()
    return _plan_public(uow.session, plan)


def reject_plan(uow: UnitOfWork, who: Principal, plan_id: str, cmd: RejectPlan) -> PlanPublic:
    require_role(who, *STAFF_ROLES)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    ensure_version(plan.version, cmd.plan_version)
    ensure_transition(plan.status, "decide")
    plan.status = PlanStatus.REJECTED
    plan.decided_at, plan.decided_by, plan.decision_note = _now(), who.subject, cmd.reason
    plan.version += 1
    uow.session.add(plan)
    uow.emit("PlanRejected", tenant=plan.municipality, subject=plan.id, payload=PlanRejectedV1(
        plan_id=plan.id, client_id=plan.client_id, plan_version=plan.version))
    uow.commit()
    return _plan_public(uow.session, plan)


# Intake consumes no events in wave 1.
EVENT_HANDLERS: dict[str, EventHandler] = {}

__all__ = ["EVENT_HANDLERS", "Role"]
