"""Outcomes, durability checks, aftercare check-ins and the client's voice: the commands (authorise,
load the trajectory under its lock, ask the domain, store, emit, commit) and the reads.

Every outcome or durability check derives the trajectory's outcome state again from all of them
(Trajectory.follow_outcomes, domain/outcomes.py derive_state) and writes it to the trajectory row;
each outcome row's `durable` is re-evaluated at the same time. Work found plans its follow-ups
(follow_ups.schedule): the durability check six months after the start, aftercare after 1 and 3
months.

For the benchmark: `client_voice_per_trajectory()` is a subquery (plan_id, responses, score_sum,
average_score) to join on the trajectory; `client_voice_average(session, plan_id)` one trajectory's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from services.monitoring import audited, follow_ups, repository
from services.monitoring.domain.follow_up import FollowUpKind
from services.monitoring.domain.outcomes import (
    WORKING,
    DurabilityCheck,
    KindOfWork,
    Outcome,
    OutcomeKind,
    check_aftercare,
    check_answers_the_question,
    check_client_voice,
    check_durability_check,
    follow_ups_for_work,
    is_final,
    observed_durable,
)
from services.monitoring.domain.trajectory import Trajectory, TrajectoryStatus
from services.monitoring.models import Outcome as OutcomeRow
from services.monitoring.models import TrajectoryLine
from services.monitoring.models_outcomes import (
    AftercareCheckIn,
    AftercareCreate,
    AftercarePublic,
    ClientVoice,
    ClientVoiceCreate,
    ClientVoicePublic,
    DurabilityCheckCreate,
    DurabilityCheckPublic,
    OutcomeCreate,
    OutcomePublic,
    OutcomeStatePublic,
)
from services.monitoring.models_outcomes import DurabilityCheck as DurabilityCheckRow
from services.monitoring.permissions import Action, authorize
from shared import audit
from shared.auth import Principal
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

TITLES = {
    FollowUpKind.DURABILITY_CHECK: "Werkt de klant nog, zes maanden na de start van het werk? (duurzaamheid)",
    FollowUpKind.AFTERCARE: "Nazorg na de plaatsing",
}


# --- rows <-> domain -----------------------------------------------------------------------------


def _outcome(row: OutcomeRow) -> Outcome:
    return Outcome(
        id=row.id,
        plan_id=row.plan_id,
        client_id=row.client_id,
        municipality=row.municipality,
        outcome=OutcomeKind(row.outcome),
        kind_of_work=KindOfWork(row.kind_of_work) if row.kind_of_work else None,
        working_since=row.working_since,
        hours_per_week=row.hours_per_week,
        durable=row.durable,
        registered_by=row.registered_by,
        registered_at=row.registered_at,
        on=row.found_on,
        registered_on=row.registered_on,
    )


def _check(row: DurabilityCheckRow) -> DurabilityCheck:
    return DurabilityCheck(
        id=row.id,
        plan_id=row.plan_id,
        outcome_id=row.outcome_id,
        checked_on=row.checked_on,
        still_working=row.still_working,
        recorded_at=row.recorded_at,
    )


def _outcome_rows(session: Session, plan_id: str) -> list[OutcomeRow]:
    return list(session.exec(select(OutcomeRow).where(OutcomeRow.plan_id == plan_id)))


def _checks(session: Session, plan_id: str) -> list[DurabilityCheck]:
    query = select(DurabilityCheckRow).where(DurabilityCheckRow.plan_id == plan_id)
    return [_check(row) for row in session.exec(query)]


def _outcome_public(row: OutcomeRow, closed_on: Any) -> OutcomePublic:
    return OutcomePublic(
        id=row.id,
        plan_id=row.plan_id,
        client_id=row.client_id,
        outcome=row.outcome,
        on=row.found_on,
        kind_of_work=row.kind_of_work,
        working_since=row.working_since,
        hours_per_week=row.hours_per_week,
        durable=row.durable,
        final=is_final(_outcome(row), closed_on),
        registered_at=row.registered_at,
    )


def _follow(
    session: Session, trajectory: Trajectory, rows: Sequence[OutcomeRow], checks: Sequence[DurabilityCheck]
) -> None:
    """The outcome state again (on the trajectory), and each outcome row's `durable` with it."""
    outcomes = [_outcome(row) for row in rows]
    trajectory.follow_outcomes(outcomes, checks)
    for row, outcome in zip(rows, outcomes, strict=True):
        durable = observed_durable(outcome, checks)
        if row.durable != durable:
            row.durable = durable
            session.add(row)
    repository.save(session, trajectory)


def _emit_recorded(uow: UnitOfWork, trajectory: Trajectory) -> None:
    for payload in trajectory.events:
        uow.emit(payload=payload, tenant=trajectory.municipality, subject=trajectory.plan_id)
    trajectory.events.clear()


# --- commands ------------------------------------------------------------------------------------


def register_outcome(uow: UnitOfWork, who: Principal, plan_id: str, data: OutcomeCreate) -> OutcomePublic:
    authorize(who, Action.REGISTER_OUTCOME)
    session, today = uow.session, uow.clock.today()
    trajectory = repository.visible_trajectory(session, who, plan_id, lock=True)
    rows, checks = _outcome_rows(session, plan_id), _checks(session, plan_id)
    before = audited.audited_trajectory(trajectory)
    outcome = trajectory.register_outcome(
        outcome_id=str(uuid.uuid4()),
        outcome=data.outcome,
        kind_of_work=data.kind_of_work,
        working_since=data.working_since,
        hours_per_week=data.hours_per_week,
        by=who.subject,
        at=uow.clock.now(),
        today=today,
        on=data.on,
        earlier=[_outcome(row) for row in rows],
        checks=checks,
    )
    row = repository.add_outcome(session, outcome)
    _follow(session, trajectory, [*rows, row], checks)
    if trajectory.outcome_category not in WORKING:
        # The latest outcome says the work ended (or none is found): no six-month question is left.
        follow_ups.cancel_open(uow, plan_id=plan_id, kind=FollowUpKind.DURABILITY_CHECK)
    for kind, due_on in follow_ups_for_work(outcome, today):
        follow_ups.schedule(
            session,
            trajectory,
            kind=kind,
            due_on=due_on,
            # A durability check asks about this work; aftercare is done in date order, whichever work.
            ref_id=outcome.id if kind == FollowUpKind.DURABILITY_CHECK else None,
            title=TITLES[kind],
        )
    _emit_recorded(uow, trajectory)
    fields = ("outcome", "kind_of_work", "working_since", "hours_per_week")
    after = {**audited.audited_trajectory(trajectory), "outcome_id": row.id, "outcome.on": row.found_on}
    after |= {f"outcome.{name}": getattr(row, name) for name in fields}
    audited.record(uow, who, trajectory, audit.AuditAction.CREATE, old=before, new=after)
    uow.commit()
    return _outcome_public(row, trajectory.closed_on)


def record_durability_check(
    uow: UnitOfWork, who: Principal, plan_id: str, data: DurabilityCheckCreate
) -> DurabilityCheckPublic:
    """Whether the person still works; re-derives durability; a check that settles the six-month
    question completes its follow-up."""
    authorize(who, Action.REGISTER_OUTCOME)
    session = uow.session
    trajectory = repository.visible_trajectory(session, who, plan_id, lock=True)
    rows, checks = _outcome_rows(session, plan_id), _checks(session, plan_id)
    outcome = next((_outcome(row) for row in rows if row.id == data.outcome_id), None)
    check_durability_check(outcome, checked_on=data.checked_on, today=uow.clock.today())
    assert outcome is not None  # check_durability_check refused otherwise
    before = audited.audited_trajectory(trajectory)
    row = DurabilityCheckRow(
        id=str(uuid.uuid4()),
        municipality=trajectory.municipality,
        plan_id=plan_id,
        outcome_id=outcome.id,
        checked_on=data.checked_on,
        still_working=data.still_working,
        note=data.note,
        recorded_by=who.subject,
        recorded_at=uow.clock.now(),
    )
    session.add(row)
    _follow(session, trajectory, rows, [*checks, _check(row)])
    if check_answers_the_question(outcome, data.checked_on, data.still_working):
        follow_ups.complete(
            uow, plan_id=plan_id, kind=FollowUpKind.DURABILITY_CHECK, ref_id=outcome.id, on=data.checked_on
        )
    after = {**audited.audited_trajectory(trajectory), "outcome_id": outcome.id, "durability_check_id": row.id}
    after |= {"check.checked_on": row.checked_on, "check.still_working": row.still_working, "check.note": row.note}
    audited.record(uow, who, trajectory, audit.AuditAction.CREATE, old=before, new=after)
    uow.commit()
    return DurabilityCheckPublic.model_validate(row, from_attributes=True)


def record_aftercare(uow: UnitOfWork, who: Principal, plan_id: str, data: AftercareCreate) -> AftercarePublic:
    """An aftercare check-in; it completes the earliest open aftercare follow-up, and its minutes
    count in the trajectory's case-manager minutes."""
    authorize(who, Action.REGISTER_OUTCOME)
    session = uow.session
    trajectory = repository.visible_trajectory(session, who, plan_id, lock=True)
    check_aftercare(on=data.on, started_on=trajectory.started_on, today=uow.clock.today())
    row = AftercareCheckIn(
        id=str(uuid.uuid4()),
        municipality=trajectory.municipality,
        plan_id=plan_id,
        held_on=data.on,
        note=data.note,
        still_working=data.still_working,
        minutes=data.minutes,
        recorded_by=who.subject,
        recorded_at=uow.clock.now(),
    )
    session.add(row)
    if data.minutes:
        trajectory.case_minutes += data.minutes
        repository.save(session, trajectory)
    follow_ups.complete(uow, plan_id=plan_id, kind=FollowUpKind.AFTERCARE, ref_id=None, on=data.on)
    new = {"plan_id": plan_id, "aftercare_id": row.id, "aftercare.on": row.held_on, "aftercare.note": row.note}
    new |= {"aftercare.still_working": row.still_working, "aftercare.minutes": row.minutes}
    audited.record(uow, who, trajectory, audit.AuditAction.CREATE, new=new)
    uow.commit()
    return _aftercare_public(row)


def record_client_voice(uow: UnitOfWork, who: Principal, plan_id: str, data: ClientVoiceCreate) -> ClientVoicePublic:
    """The client's own words about a step and a score; by the client side on its own trajectory,
    or by staff writing it down for them (`recorded_by_role` says which)."""
    authorize(who, Action.RECORD_CLIENT_VOICE)
    session = uow.session
    trajectory = repository.visible_trajectory(session, who, plan_id)
    line_of_plan = data.plan_line_id is not None and (
        session.exec(
            select(TrajectoryLine.plan_line_id).where(
                TrajectoryLine.plan_id == plan_id, TrajectoryLine.plan_line_id == data.plan_line_id
            )
        ).first()
        is not None
    )
    check_client_voice(step=data.step, plan_line_id=data.plan_line_id, line_of_plan=line_of_plan)
    row = ClientVoice(
        id=str(uuid.uuid4()),
        municipality=trajectory.municipality,
        plan_id=plan_id,
        step=data.step,
        plan_line_id=data.plan_line_id,
        brought=data.brought,
        score=data.score,
        recorded_by=who.subject,
        recorded_by_role=who.role.value,
        recorded_at=uow.clock.now(),
    )
    session.add(row)
    voice: dict[str, Any] = {
        "plan_id": plan_id,
        "client_voice_id": row.id,
        "client_voice.plan_line_id": row.plan_line_id,
    }
    voice |= {"client_voice.step": row.step, "client_voice.brought": row.brought, "client_voice.score": row.score}
    audited.record(uow, who, trajectory, audit.AuditAction.CREATE, new=voice)
    uow.commit()
    return ClientVoicePublic.model_validate(row, from_attributes=True)


# --- reads ---------------------------------------------------------------------------------------


def list_outcomes(
    session: Session,
    who: Principal,
    plan_id: str,
    page: PageRequest,
    *,
    outcome: OutcomeKind | None = None,
    durable: bool | None = None,
) -> Page[OutcomePublic]:
    authorize(who, Action.READ_TRAJECTORY)
    trajectory = repository.visible_trajectory(session, who, plan_id)
    query = select(OutcomeRow).where(OutcomeRow.plan_id == plan_id)
    if outcome is not None:
        query = query.where(OutcomeRow.outcome == outcome)
    if durable is not None:
        query = query.where(OutcomeRow.durable == durable)
    query = query.order_by(col(OutcomeRow.registered_at), col(OutcomeRow.id))
    return page_of(session, query, page).map(lambda row: _outcome_public(row, trajectory.closed_on))


def outcome_state(session: Session, who: Principal, plan_id: str) -> OutcomeStatePublic:
    authorize(who, Action.READ_TRAJECTORY)
    trajectory = repository.visible_trajectory(session, who, plan_id)
    category = trajectory.outcome_category
    if category is None:
        category = OutcomeKind.NO_WORK_RUNNING if trajectory.status == TrajectoryStatus.RUNNING else OutcomeKind.UNKNOWN
    return OutcomeStatePublic(
        plan_id=plan_id,
        outcome_category=OutcomeKind(category),
        recorded=trajectory.outcome_category is not None,
        kind_of_work=KindOfWork(trajectory.kind_of_work) if trajectory.kind_of_work else None,
        outflow_on=trajectory.outflow_on,
        durable=trajectory.durable,
    )


def list_durability_checks(
    session: Session, who: Principal, plan_id: str, page: PageRequest
) -> Page[DurabilityCheckPublic]:
    authorize(who, Action.READ_OUTCOME_NOTES)
    repository.visible_trajectory(session, who, plan_id)
    query = select(DurabilityCheckRow).where(DurabilityCheckRow.plan_id == plan_id)
    query = query.order_by(col(DurabilityCheckRow.checked_on), col(DurabilityCheckRow.recorded_at))
    return page_of(session, query, page).map(lambda r: DurabilityCheckPublic.model_validate(r, from_attributes=True))


def _aftercare_public(row: AftercareCheckIn) -> AftercarePublic:
    return AftercarePublic(
        id=row.id,
        plan_id=row.plan_id,
        on=row.held_on,
        note=row.note,
        still_working=row.still_working,
        minutes=row.minutes,
        recorded_at=row.recorded_at,
    )


def list_aftercare(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[AftercarePublic]:
    authorize(who, Action.READ_OUTCOME_NOTES)
    repository.visible_trajectory(session, who, plan_id)
    query = select(AftercareCheckIn).where(AftercareCheckIn.plan_id == plan_id)
    query = query.order_by(col(AftercareCheckIn.held_on), col(AftercareCheckIn.recorded_at))
    return page_of(session, query, page).map(_aftercare_public)


def list_client_voice(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[ClientVoicePublic]:
    authorize(who, Action.READ_OUTCOME_NOTES)
    repository.visible_trajectory(session, who, plan_id)
    query = select(ClientVoice).where(ClientVoice.plan_id == plan_id)
    query = query.order_by(col(ClientVoice.recorded_at), col(ClientVoice.id))
    return page_of(session, query, page).map(lambda r: ClientVoicePublic.model_validate(r, from_attributes=True))


# --- for the benchmark ---------------------------------------------------------------------------


def client_voice_per_trajectory(municipality: str | None = None) -> Any:
    """A subquery of the client's scores per trajectory: plan_id, responses (how many), score_sum,
    average_score (a float, 1-10). Join it on trajectory.plan_id (outer: most have none). For a
    group's average over all responses, divide the summed score_sum by the summed responses."""
    query: Any = select(
        col(ClientVoice.plan_id).label("plan_id"),
        func.count().label("responses"),
        func.sum(ClientVoice.score).label("score_sum"),
        func.avg(ClientVoice.score).label("average_score"),
    )
    if municipality is not None:
        query = query.where(ClientVoice.municipality == municipality)
    return query.group_by(col(ClientVoice.plan_id)).subquery("client_voice_per_trajectory")


def client_voice_average(session: Session, plan_id: str) -> float | None:
    """One trajectory's average score (None: the client has not scored a step yet)."""
    average = session.exec(select(func.avg(ClientVoice.score)).where(ClientVoice.plan_id == plan_id)).one()
    return float(average) if average is not None else None
