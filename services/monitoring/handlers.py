"""Monitoring: trajectories follow the plan and the money; progress reports come in."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from services.monitoring.domain.outcomes import is_durable
from services.monitoring.models import (
    Outcome,
    OutcomeCreate,
    OutcomePublic,
    ProgressReport,
    ProgressReportCreate,
    ProgressReportPublic,
    Trajectory,
    TrajectoryPublic,
)
from shared.access import ensure_visible
from shared.auth import Principal, Role, require_role
from shared.bus.consumer import EventHandlers
from shared.errors import DomainError
from contracts.events import (
    BudgetOpenedV1,
    InvoicePaidV1,
    OrientationStartedV1,
    OutcomeRegisteredV1,
    PlanApprovedV1,
    ProgressReportedV1,
    TrajectoryClosedV1,
)
from shared.events import Envelope
from shared.money import Money
from shared.errors import NotFound
from shared.uow import UnitOfWork

# A trajectory with no progress report for this long gets flagged for the case manager.
REPORT_INTERVAL = timedelta(days=60)

# Who may do what, in a fixed order (the 403 names them). docs/api.md lists the same.
STAFF = (Role.CASE_MANAGER, Role.TEAM_LEAD)
CLIENT_SIDE = (Role.CLIENT, Role.REPRESENTATIVE)
READERS = (*STAFF, Role.POLICY, *CLIENT_SIDE)  # client side: only its own trajectories
# Not the provider: monitoring does not know which provider works on which trajectory, so it
# could not keep a provider to its own clients. Not policy either: it reads, it does not report.
REPORTERS = (*STAFF, *CLIENT_SIDE)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def start_trajectory_on_plan_approved(uow: UnitOfWork, plan: PlanApprovedV1, event: Envelope) -> None:
    if uow.session.get(Trajectory, plan.plan_id):
        return
    uow.session.add(Trajectory(plan_id=plan.plan_id, municipality=event.tenant, client_id=plan.client_id,
                               scheme=plan.scheme, granted_cents=plan.granted_cents,
                               started_on=event.occurred_at.date(), execution_deadline=plan.execution_deadline))


def start_orientation_trajectory_on_orientation_started(uow: UnitOfWork, started: OrientationStartedV1, event: Envelope) -> None:
    """The orientation phase (DOMAIN.md: about three months in which the client drafts the plan) may
    have an orientation budget; budget opens it under the orientation id and says `BudgetOpened`,
    and its invoices are `InvoicePaid` like a plan's. That money is part of what the route to work
    costs, which monitoring reports (benchmark and evidence), so the phase is followed as a
    trajectory of kind "orientation" rather than ignored. Without it the `BudgetOpened` could not
    tell an orientation from a plan whose `PlanApproved` has not arrived yet, and would be retried
    into a dead letter. No progress reports are due in this phase (see `flag_overdue_reports`)."""
    if uow.session.get(Trajectory, started.orientation_id):
        return
    uow.session.add(Trajectory(plan_id=started.orientation_id, kind="orientation", municipality=event.tenant,
                               client_id=started.client_id, scheme=started.scheme,
                               granted_cents=started.budget_cents, started_on=event.occurred_at.date(),
                               execution_deadline=started.ends_on))


def link_budget_on_budget_opened(uow: UnitOfWork, opened: BudgetOpenedV1, event: Envelope) -> None:
    trajectory = uow.session.get(Trajectory, opened.plan_id)
    if trajectory is None:
        # PlanApproved (or OrientationStarted) not handled yet (queues are independent): fail so
        # the retry finds it.
        raise LookupError(f"trajectory {opened.plan_id} not known yet")
    trajectory.budget_id = opened.budget_id
    uow.session.add(trajectory)


def record_spending_on_invoice_paid(uow: UnitOfWork, paid: InvoicePaidV1, event: Envelope) -> None:
    trajectory = uow.session.exec(select(Trajectory).where(Trajectory.plan_id == paid.plan_id).with_for_update()).first()
    if trajectory is None:
        raise LookupError(f"trajectory {paid.plan_id} not known yet")
    trajectory.spent_cents += paid.amount_cents
    uow.session.add(trajectory)


def close_trajectory_on_trajectory_closed(uow: UnitOfWork, closed: TrajectoryClosedV1, event: Envelope) -> None:
    trajectory = uow.session.get(Trajectory, closed.plan_id)
    if trajectory is None:
        raise LookupError(f"trajectory {closed.plan_id} not known yet")
    trajectory.status, trajectory.closed_on, trajectory.close_reason = "closed", closed.closed_on, closed.reason
    trajectory.report_overdue = False
    uow.session.add(trajectory)


EVENT_HANDLERS: EventHandlers = {
    PlanApprovedV1: start_trajectory_on_plan_approved,
    OrientationStartedV1: start_orientation_trajectory_on_orientation_started,
    BudgetOpenedV1: link_budget_on_budget_opened,
    InvoicePaidV1: record_spending_on_invoice_paid,
    TrajectoryClosedV1: close_trajectory_on_trajectory_closed,
}


def _trajectory_for(session: Session, who: Principal, plan_id: str, roles: tuple[Role, ...] = READERS) -> Trajectory:
    require_role(who, *roles)
    trajectory = session.get(Trajectory, plan_id)
    if trajectory is None:
        raise NotFound("trajectory")
    ensure_visible(who, municipality=trajectory.municipality, client_id=trajectory.client_id, what="trajectory")
    return trajectory


def _trajectory_public(t: Trajectory) -> TrajectoryPublic:
    return TrajectoryPublic(**t.model_dump(exclude={"granted_cents", "spent_cents"}),
                            granted=Money(t.granted_cents).decimal, spent=Money(t.spent_cents).decimal)


def get_trajectory(session: Session, who: Principal, plan_id: str) -> TrajectoryPublic:
    return _trajectory_public(_trajectory_for(session, who, plan_id))


def list_trajectories(session: Session, who: Principal, overdue: bool | None = None) -> list[TrajectoryPublic]:
    query = select(Trajectory).where(Trajectory.municipality == who.municipality).order_by(Trajectory.started_on)
    require_role(who, *READERS)
    if who.is_client_side():
        query = query.where(Trajectory.client_id == who.client_id)
    if overdue is not None:
        query = query.where(Trajectory.report_overdue == overdue)
    return [_trajectory_public(t) for t in session.exec(query)]


def file_progress_report(uow: UnitOfWork, who: Principal, plan_id: str, data: ProgressReportCreate) -> ProgressReportPublic:
    trajectory = _trajectory_for(uow.session, who, plan_id, REPORTERS)
    report = ProgressReport(municipality=trajectory.municipality, plan_id=plan_id, client_id=trajectory.client_id,
                            reported_by=who.subject, reported_by_role=who.role.value, on_track=data.on_track,
                            summary=data.summary)
    uow.session.add(report)
    trajectory.last_report_at = report.created_at
    trajectory.report_overdue = False
    uow.session.add(trajectory)
    uow.emit(tenant=trajectory.municipality, subject=plan_id, payload=ProgressReportedV1(
        report_id=report.id, plan_id=plan_id, client_id=trajectory.client_id,
        reported_by_role=who.role.value, on_track=data.on_track))
    uow.commit()
    return ProgressReportPublic.model_validate(report, from_attributes=True)


def list_progress_reports(session: Session, who: Principal, plan_id: str) -> list[ProgressReportPublic]:
    _trajectory_for(session, who, plan_id)
    reports = session.exec(select(ProgressReport).where(ProgressReport.plan_id == plan_id)
                           .order_by(ProgressReport.created_at)).all()
    return [ProgressReportPublic.model_validate(r, from_attributes=True) for r in reports]


def flag_overdue_reports(uow: UnitOfWork, now: datetime | None = None) -> int:
    """Scheduled: mark running trajectories whose last report (or start) is too long ago.

    Only plans: in the orientation phase the client drafts the plan, nothing is carried out yet
    to report progress on."""
    now = now or _now()
    flagged = 0
    running = select(Trajectory).where(Trajectory.report_overdue.is_(False), Trajectory.status == "running",
                                       Trajectory.kind == "plan")
    for trajectory in uow.session.exec(running):
        last = trajectory.last_report_at or datetime.combine(trajectory.started_on, datetime.min.time(), timezone.utc)
        if last.tzinfo is None:
            last = last.replace(tzinfo=timezone.utc)
        if now - last > REPORT_INTERVAL and trajectory.execution_deadline >= now.date():
            trajectory.report_overdue = True
            uow.session.add(trajectory)
            flagged += 1
    uow.commit()
    return flagged


def register_outcome(uow: UnitOfWork, who: Principal, plan_id: str, data: OutcomeCreate) -> OutcomePublic:
    trajectory = _trajectory_for(uow.session, who, plan_id, STAFF)
    working = data.outcome in ("work_during", "work_after")
    if working and data.working_since is None:
        raise DomainError("outcome.working_since", "Say since when the client works.", "working_since")
    today = _now().date()
    if data.working_since and data.working_since > today:
        raise DomainError("outcome.future", "The start of work cannot be in the future.", "working_since")
    outcome = Outcome(municipality=trajectory.municipality, plan_id=plan_id, client_id=trajectory.client_id,
                      outcome=data.outcome, kind_of_work=data.kind_of_work, working_since=data.working_since,
                      hours_per_week=data.hours_per_week, registered_by=who.subject,
                      durable=is_durable(data.outcome, data.working_since, today))
    uow.session.add(outcome)
    uow.emit(tenant=trajectory.municipality, subject=plan_id, payload=OutcomeRegisteredV1(
        outcome_id=outcome.id, plan_id=plan_id, client_id=trajectory.client_id, outcome=data.outcome,
        durable=outcome.durable))
    uow.commit()
    return OutcomePublic.model_validate(outcome, from_attributes=True)


def list_outcomes(session: Session, who: Principal, plan_id: str) -> list[OutcomePublic]:
    _trajectory_for(session, who, plan_id)
    rows = session.exec(select(Outcome).where(Outcome.plan_id == plan_id).order_by(Outcome.registered_at)).all()
    return [OutcomePublic.model_validate(o, from_attributes=True) for o in rows]
