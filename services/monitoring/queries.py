"""Monitoring's reads, shaped for their callers: trajectories (progress reports: progress.py;
outcomes: outcomes.py). Every list is paged in SQL (shared.pagination)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, col, select

from services.monitoring import repository
from services.monitoring.domain.trajectory import Trajectory as TrajectoryAggregate
from services.monitoring.domain.trajectory import TrajectoryKind, TrajectoryStatus
from services.monitoring.models import (
    Trajectory,
    TrajectoryProfile,
    TrajectoryPublic,
)
from services.monitoring.permissions import Action, authorize
from shared.auth import Principal
from shared.money import Money
from shared.pagination import Page, PageRequest, page_of


def trajectory_public(t: TrajectoryAggregate | Trajectory) -> TrajectoryPublic:
    paid = t.paid_incl_vat_cents if isinstance(t, TrajectoryAggregate) else t.spent_cents
    return TrajectoryPublic(
        plan_id=t.plan_id,
        kind=t.kind,
        municipality=t.municipality,
        client_id=t.client_id,
        scheme=t.scheme,
        budget_id=t.budget_id,
        granted=Money(t.granted_cents).decimal,
        paid_incl_vat=Money(paid).decimal,
        spent=Money(paid).decimal,
        started_on=t.started_on,
        execution_deadline=t.execution_deadline,
        last_report_at=t.last_report_at,
        report_overdue=t.report_overdue,
        status=t.status,
        closed_on=t.closed_on,
        close_reason=t.close_reason,
        profile=TrajectoryProfile(
            benefit=t.benefit,
            gender=t.gender,
            age_band=t.age_band,
            benefit_duration=t.benefit_duration,
            education=t.education,
        ),
    )


def get_trajectory(session: Session, who: Principal, plan_id: str) -> TrajectoryPublic:
    authorize(who, Action.READ_TRAJECTORY)
    return trajectory_public(repository.visible_trajectory(session, who, plan_id))


def list_trajectories(
    session: Session,
    who: Principal,
    page: PageRequest,
    *,
    overdue: bool | None = None,
    kind: TrajectoryKind | None = None,
    status: TrajectoryStatus | None = None,
    client_ids: list[str] | None = None,
) -> Page[TrajectoryPublic]:
    authorize(who, Action.READ_TRAJECTORY)
    query = select(Trajectory).where(Trajectory.municipality == who.municipality)
    if who.is_client_side():
        query = query.where(Trajectory.client_id == who.client_id)
    if overdue is not None:
        query = query.where(Trajectory.report_overdue == overdue)
    if kind is not None:
        query = query.where(Trajectory.kind == kind)
    if status is not None:
        query = query.where(Trajectory.status == status)
    if client_ids:
        query = query.where(col(Trajectory.client_id).in_(client_ids))
    query = query.order_by(col(Trajectory.started_on), col(Trajectory.plan_id))
    return page_of(session, query, page).map(trajectory_public)


def clients_of(session: Session, municipality: str, refs: Mapping[str, set[str]]) -> set[str]:
    """The audit trail's resolver: the clients whose trajectories a read named (shared.audit_http)."""
    plan_ids = refs.get("plan_id")
    if not plan_ids:
        return set()
    found = session.exec(
        select(Trajectory.client_id).where(
            Trajectory.municipality == municipality, col(Trajectory.plan_id).in_(plan_ids)
        )
    )
    return set(found.all())
