"""Scheduled work of the intake service. Every job is `(uow) -> int`: the number of things it did.

Both jobs are daily: what they look at changes with the date, not within a day. An execution
deadline is a date, and so is an Awb decision term: it is counted in weeks from the day of
submission and its warning date is a day too, so one run a day (at the configured hour, on the
Dutch calendar day of the unit of work's clock) warns on the warning date itself, which is
all the term needs; running every hour only looked 23 more times at the same date.
"""

from __future__ import annotations

from sqlmodel import col, select

from services.intake import repository
from services.intake.commands import emit_all
from services.intake.domain.client import OrientationPhase, OrientationStatus
from services.intake.domain.plan import UNDER_REVIEW, PlanStatus
from services.intake.models import Orientation, Plan, Review
from shared.uow import UnitOfWork


def close_expired_trajectories(uow: UnitOfWork) -> int:
    """Daily: approved plans past their execution deadline close as expired; orientations past
    their last day end. Returns the number of plans closed."""
    today, now, closed = uow.clock.today(), uow.clock.now(), 0
    expired = uow.session.exec(
        select(Plan).where(Plan.status == PlanStatus.APPROVED, col(Plan.execution_deadline) < today).with_for_update()
    ).all()
    for row in expired:
        plan = repository.plan_aggregate(row)
        if plan.expire(today):
            repository.store_plan(uow.session, row, plan, now)
            emit_all(uow, plan.events, tenant=row.municipality, subject=row.id)
            closed += 1
    running = uow.session.exec(
        select(Orientation).where(Orientation.status == OrientationStatus.RUNNING, col(Orientation.ends_on) < today)
    ).all()
    for orientation in running:
        phase = OrientationPhase(
            orientation.id,
            orientation.client_id,
            orientation.scheme,
            orientation.starts_on,
            orientation.ends_on,
            orientation.budget_cents,
            orientation.status,
        )
        if phase.end_if_over(today):
            orientation.status = phase.status
            uow.session.add(orientation)
    uow.commit()
    return closed


def warn_decision_deadlines(uow: UnitOfWork) -> int:
    """Daily: tell the case team once when a review reaches its warning date (Awb decision term).
    Returns the number of reviews warned about."""
    today, warned = uow.clock.today(), 0
    due = uow.session.exec(
        select(Review)
        .where(col(Review.status).in_(UNDER_REVIEW), col(Review.warned_at).is_(None), col(Review.warn_on) <= today)
        .with_for_update()
    ).all()
    for review in due:
        plan = uow.session.get(Plan, review.plan_id)
        assert plan is not None
        watch = repository.review_watch(review, plan.client_id)
        if watch.warn_if_due(today):
            review.warned_at = uow.clock.now()
            uow.session.add(review)
            emit_all(uow, watch.events, tenant=review.municipality, subject=review.plan_id)
            warned += 1
    uow.commit()
    return warned
