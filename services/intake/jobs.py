"""Scheduled work of the intake service. Every job is `(uow) -> int`: the number of things it did.

All jobs are daily: what they look at changes with the date, not within a day. An execution
deadline is a date, and so is an Awb decision term: it is counted in weeks from the day of
submission and its warning date is a day too, so one run a day (at the configured hour, on the
Dutch calendar day of the unit of work's clock) warns on the warning date itself, which is
all the term needs; running every hour only looked 23 more times at the same date.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from services.intake import repository
from services.intake.audited import audited_plan
from services.intake.commands import emit_all
from services.intake.domain.client import OrientationStatus
from services.intake.domain.plan import UNDER_REVIEW, PlanStatus
from services.intake.models import Orientation, Plan, Review
from shared import audit
from shared.config import get_settings
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
        before = audited_plan(row)
        if plan.expire(today):
            repository.store_plan(uow.session, row, plan, now)
            emit_all(uow, plan.events, tenant=row.municipality, subject=row.id)
            who = audit.system_principal("intake", row.municipality)
            audit.record_change(uow, who, row.client_id, audit.AuditAction.UPDATE, old=before, new=audited_plan(row))
            closed += 1
    running = uow.session.exec(
        select(Orientation).where(Orientation.status == OrientationStatus.RUNNING, col(Orientation.ends_on) < today)
    ).all()
    for orientation in running:
        phase = repository.orientation_phase(orientation)
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


def remind_orientations_ending(uow: UnitOfWork) -> int:
    """Daily: say OrientationEndingSoon once for each running orientation phase that ends within
    Settings reminder_orientation_days (14; today included) while no plan of the client has been
    submitted since the phase started. Reads only running phases not reminded of, through the
    partial index ix_intake_orientation_to_remind, from today to the lead time; locked, so a scan
    racing this one skips what this one reminded of. Returns how many it reminded of."""
    today, now, reminded = uow.clock.today(), uow.clock.now(), 0
    days = get_settings().reminder_orientation_days
    submitted = (
        sa.select(col(Plan.id))
        .where(
            col(Plan.client_id) == col(Orientation.client_id),
            col(Plan.municipality) == col(Orientation.municipality),
            col(Plan.submitted_at) >= col(Orientation.created_at),
        )
        .exists()
    )
    due = uow.session.exec(
        select(Orientation)
        .where(
            # Literals, so that every plan can prove the partial index's condition.
            col(Orientation.status) == sa.literal_column(f"'{OrientationStatus.RUNNING.value}'"),
            col(Orientation.reminded_at).is_(None),
            col(Orientation.ends_on) >= today,
            col(Orientation.ends_on) <= today + timedelta(days=days),
            ~submitted,
        )
        .order_by(col(Orientation.ends_on), col(Orientation.id))
        .with_for_update()
    ).all()
    for orientation in due:
        phase = repository.orientation_phase(orientation)
        if phase.remind_if_ending(today, days, plan_submitted=False):
            orientation.reminded_at = now
            uow.session.add(orientation)
            emit_all(uow, phase.events, tenant=orientation.municipality, subject=orientation.id)
            reminded += 1
    uow.commit()
    return reminded
