"""Follow-ups on a trajectory: schedule, complete, cancel, and the daily overdue scan.

Other areas call `schedule`, `complete` and `cancel_open` inside their own unit of work (they do
not commit). The scan reads only what is due: open items, not yet flagged, with `due_on` before
today, through the partial index `ix_monitoring_follow_up_to_flag` on (due_on, id) that holds
only those, batch after batch from where the last one ended; never a pass over every trajectory,
and an item flagged yesterday but still open is not read again. Each item is flagged once and says FollowUpOverdue.

Lock order, everywhere: the trajectory row first, then its follow-ups (commands lock the
trajectory they change; the scan locks the trajectories of a batch, sorted, before re-reading
the batch), so a report filed while the scan runs cannot deadlock with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from contracts.events import FollowUpOverdueV1
from services.monitoring.domain.follow_up import FollowUpKind, FollowUpStatus
from services.monitoring.domain.trajectory import Trajectory as TrajectoryAggregate
from services.monitoring.models import Trajectory
from services.monitoring.models_progress import FollowUp
from shared.uow import UnitOfWork

SCAN_BATCH = 500


def schedule(
    session: Session,
    trajectory: TrajectoryAggregate,
    *,
    kind: FollowUpKind,
    due_on: date,
    ref_id: str | None,
    title: str = "",
) -> str:
    """Plan a follow-up on the trajectory; idempotent on (plan_id, kind, ref_id, due_on) among items
    not cancelled (a redelivered event plans nothing twice; a cancelled item may be planned again).
    Returns its id."""
    plan_id = trajectory.plan_id
    query = select(FollowUp).where(
        FollowUp.plan_id == plan_id,
        FollowUp.kind == kind,
        FollowUp.due_on == due_on,
        FollowUp.status != FollowUpStatus.CANCELLED,
        col(FollowUp.ref_id).is_(None) if ref_id is None else FollowUp.ref_id == ref_id,
    )
    existing = session.exec(query).first()
    if existing is not None:
        return existing.id
    row = FollowUp(
        id=str(uuid.uuid4()),
        municipality=trajectory.municipality,
        plan_id=plan_id,
        client_id=trajectory.client_id,
        kind=kind,
        ref_id=ref_id,
        title=title[:200],
        due_on=due_on,
    )
    session.add(row)
    session.flush()
    return row.id


def _open(plan_id: str, kind: FollowUpKind | None, ref_id: str | None = None) -> SelectOfScalar[FollowUp]:
    query = select(FollowUp).where(FollowUp.plan_id == plan_id, FollowUp.status == FollowUpStatus.OPEN)
    if kind is not None:
        query = query.where(FollowUp.kind == kind)
    if ref_id is not None:
        query = query.where(FollowUp.ref_id == ref_id)
    return query


def complete(session: Session, *, plan_id: str, kind: FollowUpKind, ref_id: str | None, on: date) -> bool:
    """Mark the earliest open follow-up of this kind (and ref; None: whichever ref) done; False when
    none was open."""
    query = _open(plan_id, kind, ref_id).order_by(col(FollowUp.due_on), col(FollowUp.id)).limit(1)
    row = session.exec(query.with_for_update()).first()
    if row is None:
        return False
    row.status, row.done_on = FollowUpStatus.DONE, on
    session.add(row)
    session.flush()
    return True


def cancel_open(
    session: Session, *, plan_id: str, kind: FollowUpKind | None = None, due_from: date | None = None
) -> int:
    """Cancel open follow-ups (all, or of one kind; with `due_from`, only those due on or after
    it) of a trajectory, e.g. when it closes."""
    statement = sa.update(FollowUp).where(col(FollowUp.plan_id) == plan_id, col(FollowUp.status) == FollowUpStatus.OPEN)
    if kind is not None:
        statement = statement.where(col(FollowUp.kind) == kind)
    if due_from is not None:
        statement = statement.where(col(FollowUp.due_on) >= due_from)
    result = session.execute(
        statement.values(status=FollowUpStatus.CANCELLED).execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def cancel_ref(session: Session, *, plan_id: str, kind: FollowUpKind, ref_id: str) -> int:
    """Cancel the open follow-up of one conversation or milestone."""
    statement = sa.update(FollowUp).where(
        col(FollowUp.plan_id) == plan_id,
        col(FollowUp.status) == FollowUpStatus.OPEN,
        col(FollowUp.kind) == kind,
        col(FollowUp.ref_id) == ref_id,
    )
    result = session.execute(
        statement.values(status=FollowUpStatus.CANCELLED).execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def progress_report_overdue(session: Session, plan_id: str) -> bool:
    """The trajectory's `report_overdue`: a progress-report follow-up is open and flagged overdue."""
    query = _open(plan_id, FollowUpKind.PROGRESS_REPORT).where(col(FollowUp.overdue_flagged_at).is_not(None))
    return session.exec(query.limit(1)).first() is not None


def open_of(session: Session, plan_id: str, kind: FollowUpKind) -> Sequence[FollowUp]:
    return session.exec(_open(plan_id, kind).order_by(col(FollowUp.due_on), col(FollowUp.id))).all()


# --- the daily scan --------------------------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    """What a scan did: follow-up rows read (candidates, then the same re-read under lock),
    trajectory rows locked, and items flagged (each said FollowUpOverdue once)."""

    follow_ups_read: int = 0
    trajectories_locked: int = 0
    flagged: int = 0

    @property
    def rows_read(self) -> int:
        return self.follow_ups_read + self.trajectories_locked


def _due(today: date, *columns: Any) -> sa.Select[Any]:
    """What is still to flag: open, not flagged, its day before today. The status is written as a
    literal so that every plan (a prepared statement's generic one too) can prove the partial
    index's condition and read ix_monitoring_follow_up_to_flag: only what is still to flag."""
    return sa.select(*columns).where(
        col(FollowUp.status) == sa.literal_column(f"'{FollowUpStatus.OPEN.value}'"),
        col(FollowUp.overdue_flagged_at).is_(None),
        col(FollowUp.due_on) < today,
    )


_FLAGGED = (
    col(FollowUp.id),
    col(FollowUp.municipality),
    col(FollowUp.plan_id),
    col(FollowUp.client_id),
    col(FollowUp.kind),
    col(FollowUp.due_on),
)


def flag_overdue(uow: UnitOfWork, *, batch: int = SCAN_BATCH) -> ScanResult:
    """Flag every open follow-up whose day has passed, once, and say FollowUpOverdue for each; a
    progress report's also sets its trajectory's `report_overdue`. Commits per batch, so a scan
    cut off halfway continues where it stopped the next time (flagged items no longer match).
    Plain column reads and one UPDATE per batch: no row objects to flush one by one."""
    session, today, now = uow.session, uow.clock.today(), uow.clock.now()
    read = locked = flagged = 0
    order = (col(FollowUp.due_on), col(FollowUp.id))
    after: tuple[date, str] | None = None
    while True:
        candidates_query = _due(today, col(FollowUp.id), col(FollowUp.plan_id), col(FollowUp.due_on))
        if after is not None:  # keyset: each batch starts past the last one, never re-reads it
            candidates_query = candidates_query.where(sa.tuple_(*order) > sa.tuple_(*after))
        candidates = session.execute(candidates_query.order_by(*order).limit(batch)).all()
        read += len(candidates)
        if not candidates:
            return ScanResult(read, locked, flagged)
        after = (candidates[-1].due_on, candidates[-1].id)
        plan_ids = sorted({c.plan_id for c in candidates})
        locked += len(
            session.execute(
                sa.select(col(Trajectory.plan_id))
                .where(col(Trajectory.plan_id).in_(plan_ids))
                .order_by(col(Trajectory.plan_id))
                .with_for_update()
            ).all()
        )
        # Re-read under lock: a report filed meanwhile has completed its follow-up.
        rows = session.execute(
            _due(today, *_FLAGGED)
            .where(col(FollowUp.id).in_([c.id for c in candidates]))
            .order_by(*order)
            .with_for_update()
        ).all()
        read += len(rows)
        if rows:
            session.execute(
                sa.update(FollowUp)
                .where(col(FollowUp.id).in_([row.id for row in rows]))
                .values(overdue_flagged_at=now)
                .execution_options(synchronize_session=False)
            )
        for row in rows:
            uow.emit(
                payload=FollowUpOverdueV1(
                    follow_up_id=row.id,
                    plan_id=row.plan_id,
                    client_id=row.client_id,
                    kind=FollowUpKind(row.kind).value,
                    due_on=row.due_on,
                ),
                tenant=row.municipality,
                subject=row.plan_id,
            )
        flagged += len(rows)
        reports = sorted({row.plan_id for row in rows if row.kind == FollowUpKind.PROGRESS_REPORT})
        if reports:
            session.execute(
                sa.update(Trajectory)
                .where(col(Trajectory.plan_id).in_(reports))
                .values(report_overdue=True)
                .execution_options(synchronize_session=False)
            )
        uow.commit()
