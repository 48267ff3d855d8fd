"""The daily ending-soon scan: a running plan trajectory whose execution deadline is within
`reminder_trajectory_end_days` (Settings, 30 by default) says TrajectoryEndingSoon once per
deadline. `ending_reminded_for` keeps the deadline that was reminded of; a plan change that moves
the deadline re-arms it (the stored deadline is no longer the current one). A closed trajectory
and an orientation phase (intake reminds of its end) never.

The scan reads only what is still to remind of, through the partial index
ix_monitoring_trajectory_to_remind_end on (execution_deadline, plan_id) (models.TO_REMIND_END),
from today up to today plus the lead time, in keyset batches; each batch is locked, re-read under
lock (a racing scan has reminded it and it no longer matches), updated and committed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from contracts.events import TrajectoryEndingSoonV1
from services.monitoring.domain.trajectory import TrajectoryKind, TrajectoryStatus
from services.monitoring.follow_ups import SCAN_BATCH
from services.monitoring.models import Trajectory
from shared.config import get_settings
from shared.uow import UnitOfWork


def _ending(today: date, days: int, *columns: Any) -> sa.Select[Any]:
    """Running plan trajectories whose deadline (not yet reminded of) lies within `days`. Status and
    kind are literals so that every plan can prove the partial index's condition."""
    return sa.select(*columns).where(
        col(Trajectory.status) == sa.literal_column(f"'{TrajectoryStatus.RUNNING.value}'"),
        col(Trajectory.kind) == sa.literal_column(f"'{TrajectoryKind.PLAN.value}'"),
        sa.or_(
            col(Trajectory.ending_reminded_for).is_(None),
            col(Trajectory.ending_reminded_for) != col(Trajectory.execution_deadline),
        ),
        col(Trajectory.execution_deadline) >= today,
        col(Trajectory.execution_deadline) <= today + timedelta(days=days),
    )


def flag_ending_soon(uow: UnitOfWork, *, batch: int = SCAN_BATCH, days: int | None = None) -> int:
    """Say TrajectoryEndingSoon once for each running plan trajectory whose deadline is `days`
    (Settings reminder_trajectory_end_days) or fewer away and not reminded of; how many."""
    session, today = uow.session, uow.clock.today()
    days = get_settings().reminder_trajectory_end_days if days is None else days
    order = (col(Trajectory.execution_deadline), col(Trajectory.plan_id))
    after: tuple[date, str] | None = None
    reminded = 0
    while True:
        query = _ending(today, days, *order)
        if after is not None:
            query = query.where(sa.tuple_(*order) > sa.tuple_(*after))
        candidates = session.execute(query.order_by(*order).limit(batch)).all()
        if not candidates:
            return reminded
        after = (candidates[-1].execution_deadline, candidates[-1].plan_id)
        rows = session.execute(
            _ending(
                today,
                days,
                col(Trajectory.plan_id),
                col(Trajectory.municipality),
                col(Trajectory.client_id),
                col(Trajectory.execution_deadline),
            )
            .where(col(Trajectory.plan_id).in_(sorted(c.plan_id for c in candidates)))
            .order_by(col(Trajectory.plan_id))
            .with_for_update()
        ).all()
        if rows:  # one UPDATE per batch: each row keeps the deadline it was reminded of
            session.execute(
                sa.update(Trajectory)
                .where(col(Trajectory.plan_id).in_([row.plan_id for row in rows]))
                .values(ending_reminded_for=col(Trajectory.execution_deadline))
                .execution_options(synchronize_session=False)
            )
        for row in rows:
            uow.emit(
                payload=TrajectoryEndingSoonV1(
                    plan_id=row.plan_id, client_id=row.client_id, ends_on=row.execution_deadline
                ),
                tenant=row.municipality,
                subject=row.plan_id,
            )
        reminded += len(rows)
        uow.commit()
