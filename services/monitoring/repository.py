"""Rows <-> domain objects: trajectories, their progress reports and outcomes.

`get`/`lock` return the aggregate (or None), `save` writes it back to its row; a trajectory
that another delivery changes at the same moment (two InvoicePaid for one plan) is read under
a row lock. `visible_trajectory` is the read a caller's request makes: a 404 for a trajectory
outside the caller's reach (shared.access), so ids leak nothing. Nothing here decides who may
do something (permissions.py) or what may be recorded (domain/).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from contracts.events import GrantedLine
from services.monitoring.domain import trajectory as domain
from services.monitoring.models import Outcome as OutcomeRow
from services.monitoring.models import ProgressReport as ProgressReportRow
from services.monitoring.models import Trajectory as TrajectoryRow
from services.monitoring.models import TrajectoryLine
from shared.access import ensure_visible
from shared.auth import Principal
from shared.errors import NotFound

FRESH = {"populate_existing": True}

# Columns the row and the aggregate share by name and type, copied as they are.
PLAIN_COLUMNS = (
    "benefit",
    "gender",
    "age_band",
    "benefit_duration",
    "education",
    "motivation",
    "self_reliance",
    "self_awareness",
    "initiative",
    "social_skills",
    "realistic_self_image",
    "provisions_recorded",
    "debt_counselling",
    "special_assistance",
    "childcare",
    "victim_support",
    "health_provisions",
    "contact_hours",
    "outcome_category",
    "kind_of_work",
    "outflow_on",
    "durable",
    "case_minutes",
    "external_cost_cents",
    "first_plan",
)


def _to_domain(row: TrajectoryRow) -> domain.Trajectory:
    return domain.Trajectory(
        plan_id=row.plan_id,
        kind=domain.TrajectoryKind(row.kind),
        municipality=row.municipality,
        client_id=row.client_id,
        scheme=row.scheme,
        started_on=row.started_on,
        execution_deadline=row.execution_deadline,
        granted_cents=row.granted_cents,
        paid_incl_vat_cents=row.spent_cents,
        budget_id=row.budget_id,
        last_report_at=row.last_report_at,
        report_overdue=row.report_overdue,
        status=domain.TrajectoryStatus(row.status),
        closed_on=row.closed_on,
        close_reason=domain.CloseReason(row.close_reason) if row.close_reason else None,
        **{name: getattr(row, name) for name in PLAIN_COLUMNS},
    )


def _fill(row: TrajectoryRow, trajectory: domain.Trajectory) -> TrajectoryRow:
    row.kind, row.municipality, row.client_id, row.scheme = (
        trajectory.kind,
        trajectory.municipality,
        trajectory.client_id,
        trajectory.scheme,
    )
    row.started_on, row.execution_deadline = trajectory.started_on, trajectory.execution_deadline
    row.granted_cents, row.spent_cents = trajectory.granted_cents, trajectory.paid_incl_vat_cents
    row.budget_id, row.last_report_at, row.report_overdue = (
        trajectory.budget_id,
        trajectory.last_report_at,
        trajectory.report_overdue,
    )
    row.status, row.closed_on, row.close_reason = trajectory.status, trajectory.closed_on, trajectory.close_reason
    for name in PLAIN_COLUMNS:
        setattr(row, name, getattr(trajectory, name))
    return row


def exists(session: Session, plan_id: str) -> bool:
    return session.get(TrajectoryRow, plan_id) is not None


def get(session: Session, plan_id: str, *, lock: bool = False) -> domain.Trajectory | None:
    """The trajectory; with `lock`, its row locked for this transaction and read afresh."""
    if not lock:
        row = session.get(TrajectoryRow, plan_id)
    else:
        query = select(TrajectoryRow).where(TrajectoryRow.plan_id == plan_id).with_for_update()
        row = session.exec(query.execution_options(**FRESH)).first()
    return _to_domain(row) if row is not None else None


def add(session: Session, trajectory: domain.Trajectory) -> None:
    session.add(
        _fill(
            TrajectoryRow(
                plan_id=trajectory.plan_id,
                municipality=trajectory.municipality,
                client_id=trajectory.client_id,
                scheme=trajectory.scheme,
                started_on=trajectory.started_on,
                execution_deadline=trajectory.execution_deadline,
            ),
            trajectory,
        )
    )


def save(session: Session, trajectory: domain.Trajectory) -> None:
    row = session.get(TrajectoryRow, trajectory.plan_id)
    if row is None:
        raise NotFound("trajectory", "traject")
    session.add(_fill(row, trajectory))


def visible_trajectory(session: Session, who: Principal, plan_id: str, *, lock: bool = False) -> domain.Trajectory:
    trajectory = get(session, plan_id, lock=lock)
    if trajectory is None:
        raise NotFound("trajectory", "traject")
    ensure_visible(who, municipality=trajectory.municipality, client_id=trajectory.client_id, what="trajectory")
    return trajectory


def add_progress_report(session: Session, report: domain.ProgressReport) -> ProgressReportRow:
    row = ProgressReportRow(
        id=report.id,
        municipality=report.municipality,
        plan_id=report.plan_id,
        client_id=report.client_id,
        reported_by=report.reported_by,
        reported_by_role=report.reported_by_role,
        on_track=report.on_track,
        summary=report.summary,
        created_at=report.created_at,
    )
    session.add(row)
    return row


def add_outcome(session: Session, outcome: domain.Outcome) -> OutcomeRow:
    row = OutcomeRow(
        id=outcome.id,
        municipality=outcome.municipality,
        plan_id=outcome.plan_id,
        client_id=outcome.client_id,
        outcome=outcome.outcome,
        kind_of_work=outcome.kind_of_work,
        working_since=outcome.working_since,
        hours_per_week=outcome.hours_per_week,
        durable=outcome.durable,
        registered_by=outcome.registered_by,
        registered_at=outcome.registered_at,
        found_on=outcome.on,
        registered_on=outcome.registered_on,
    )
    session.add(row)
    return row


def replace_lines(session: Session, trajectory: domain.Trajectory, lines: Sequence[GrantedLine]) -> None:
    """The plan's granted lines as they are now (PlanApproved, then each PlanChanged), with the
    trajectory's start, scheme and benefit beside them for the benchmark."""
    session.execute(delete(TrajectoryLine).where(col(TrajectoryLine.plan_id) == trajectory.plan_id))
    seen: set[str] = set()
    for line in sorted(lines, key=lambda granted: granted.plan_line_id):
        session.add(
            TrajectoryLine(
                plan_line_id=line.plan_line_id,
                plan_id=trajectory.plan_id,
                municipality=trajectory.municipality,
                category=line.category,
                granted_cents=line.granted_cents,
                provider_kvk=line.provider_kvk,
                provider_name=line.provider_name,
                started_on=trajectory.started_on,
                scheme=trajectory.scheme,
                benefit=trajectory.benefit,
                first_of_category=line.category not in seen,
            )
        )
        seen.add(line.category)


def set_line_benefit(session: Session, plan_id: str, benefit: str) -> None:
    """The profile arrived: the lines carry the trajectory's benefit too."""
    session.execute(update(TrajectoryLine).where(col(TrajectoryLine.plan_id) == plan_id).values(benefit=benefit))


def has_plan_trajectory(session: Session, client_id: str, municipality: str) -> bool:
    """Whether the client already has a plan trajectory here (then a new one is not their first)."""
    query = select(TrajectoryRow.plan_id).where(
        TrajectoryRow.client_id == client_id,
        TrajectoryRow.municipality == municipality,
        TrajectoryRow.kind == domain.TrajectoryKind.PLAN,
    )
    return session.exec(query.limit(1)).first() is not None


def names_provider(session: Session, plan_id: str, provider_kvk: str | None) -> bool:
    """Whether a line of the plan names this provider (its KvK number): who may report on it."""
    if not provider_kvk:
        return False
    query = select(TrajectoryLine.plan_line_id).where(
        TrajectoryLine.plan_id == plan_id, TrajectoryLine.provider_kvk == provider_kvk
    )
    return session.exec(query).first() is not None
