"""Follow-ups on a trajectory: schedule, complete, cancel, and the daily overdue and due-soon scans.

Other areas call `schedule`, `complete` and `cancel_open` inside their own unit of work (they do
not commit). The scan reads only what is due: open items, not yet flagged, with `due_on` before
today, through the partial index `ix_monitoring_follow_up_to_flag` on (due_on, id) that holds
only those, batch after batch from where the last one ended; never a pass over every trajectory,
and an item flagged yesterday but still open is not read again. Each item is flagged once and says FollowUpOverdue.

The due-soon scan is built the same way over ix_monitoring_follow_up_to_remind (open, not
reminded): items due from today up to their kind's lead time (Settings reminder_lead_days_*) get
`reminded_at` and one FollowUpDueSoon. Completing or cancelling an item someone was reminded of
(due soon or overdue) says FollowUpClosed, so reminders not sent yet stop; `complete`,
`cancel_open` and `cancel_ref` take the unit of work for that.

Lock order, everywhere: the trajectory row first, then its follow-ups (commands lock the
trajectory they change; the scan locks the trajectories of a batch, sorted, before re-reading
the batch), so a report filed while the scan runs cannot deadlock with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from contracts.events import FollowUpClosedV1, FollowUpDueSoonV1, FollowUpOverdueV1
from services.monitoring.domain.follow_up import (
    FollowUpKind,
    FollowUpStatus,
    remind_until,
    was_reminded,
)
from services.monitoring.domain.progress import ConversationKind
from services.monitoring.domain.trajectory import Trajectory as TrajectoryAggregate
from services.monitoring.models import Trajectory
from services.monitoring.models_progress import Conversation, FollowUp
from shared.config import get_settings
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


def _say_closed(uow: UnitOfWork, rows: Sequence[Any], closed: FollowUpStatus) -> None:
    """FollowUpClosed for each closed item someone was reminded of (due soon or overdue)."""
    for row in rows:
        if not was_reminded(row.reminded_at, row.overdue_flagged_at):
            continue
        uow.emit(
            payload=FollowUpClosedV1(
                follow_up_id=row.id,
                plan_id=row.plan_id,
                client_id=row.client_id,
                kind=FollowUpKind(row.kind).value,
                closed="done" if closed == FollowUpStatus.DONE else "cancelled",
            ),
            tenant=row.municipality,
            subject=row.plan_id,
        )


def complete(uow: UnitOfWork, *, plan_id: str, kind: FollowUpKind, ref_id: str | None, on: date) -> bool:
    """Mark the earliest open follow-up of this kind (and ref; None: whichever ref) done; False when
    none was open. Says FollowUpClosed when it had been reminded of or flagged overdue."""
    session = uow.session
    query = _open(plan_id, kind, ref_id).order_by(col(FollowUp.due_on), col(FollowUp.id)).limit(1)
    row = session.exec(query.with_for_update()).first()
    if row is None:
        return False
    row.status, row.done_on = FollowUpStatus.DONE, on
    session.add(row)
    session.flush()
    _say_closed(uow, [row], FollowUpStatus.DONE)
    return True


_CLOSED = (
    col(FollowUp.id),
    col(FollowUp.municipality),
    col(FollowUp.plan_id),
    col(FollowUp.client_id),
    col(FollowUp.kind),
    col(FollowUp.reminded_at),
    col(FollowUp.overdue_flagged_at),
)


def _cancel(uow: UnitOfWork, *conditions: Any) -> int:
    """Cancel the open follow-ups matching `conditions`: one UPDATE ... RETURNING (both databases)
    that hands back what FollowUpClosed needs for the ones someone was reminded of."""
    statement = (
        sa.update(FollowUp)
        .where(col(FollowUp.status) == FollowUpStatus.OPEN, *conditions)
        .values(status=FollowUpStatus.CANCELLED)
        .returning(*_CLOSED)
        .execution_options(synchronize_session="fetch")
    )
    rows = uow.session.execute(statement).all()
    _say_closed(uow, rows, FollowUpStatus.CANCELLED)
    return len(rows)


def cancel_open(
    uow: UnitOfWork, *, plan_id: str, kind: FollowUpKind | None = None, due_from: date | None = None
) -> int:
    """Cancel open follow-ups (all, or of one kind; with `due_from`, only those due on or after
    it) of a trajectory, e.g. when it closes; FollowUpClosed for those reminded of."""
    conditions: list[Any] = [col(FollowUp.plan_id) == plan_id]
    if kind is not None:
        conditions.append(col(FollowUp.kind) == kind)
    if due_from is not None:
        conditions.append(col(FollowUp.due_on) >= due_from)
    return _cancel(uow, *conditions)


def cancel_ref(uow: UnitOfWork, *, plan_id: str, kind: FollowUpKind, ref_id: str) -> int:
    """Cancel the open follow-up of one conversation or milestone; FollowUpClosed if reminded of."""
    return _cancel(uow, col(FollowUp.plan_id) == plan_id, col(FollowUp.kind) == kind, col(FollowUp.ref_id) == ref_id)


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


# --- the daily due-soon scan -----------------------------------------------------------------


def lead_days() -> dict[FollowUpKind, int]:
    """How many days ahead each kind is reminded of (Settings reminder_lead_days_*)."""
    settings = get_settings()
    return {
        FollowUpKind.PROGRESS_REPORT: settings.reminder_lead_days_progress_report,
        FollowUpKind.CONVERSATION: settings.reminder_lead_days_conversation,
        FollowUpKind.MILESTONE: settings.reminder_lead_days_milestone,
        FollowUpKind.DURABILITY_CHECK: settings.reminder_lead_days_durability_check,
        FollowUpKind.AFTERCARE: settings.reminder_lead_days_aftercare,
    }


def _due_soon(today: date, leads: dict[FollowUpKind, int], *columns: Any) -> sa.Select[Any]:
    """What is still to remind of: open, not reminded, due from today up to its kind's lead time
    (the same rule as domain is_due_soon). The status is a literal, as in `_due`, so every plan can
    prove the partial index ix_monitoring_follow_up_to_remind's condition; the range on due_on
    (today .. today + the longest lead) bounds what it reads."""
    return sa.select(*columns).where(
        col(FollowUp.status) == sa.literal_column(f"'{FollowUpStatus.OPEN.value}'"),
        col(FollowUp.reminded_at).is_(None),
        col(FollowUp.due_on) >= today,
        col(FollowUp.due_on) <= remind_until(today, leads),
        sa.or_(
            *(
                sa.and_(col(FollowUp.kind) == kind, col(FollowUp.due_on) <= today + timedelta(days=days))
                for kind, days in sorted(leads.items())
            )
        ),
    )


def _conversation_kinds(session: Session, rows: Sequence[Any]) -> dict[str, str]:
    """The kind of each conversation a conversation follow-up refers to (ref_id)."""
    refs = sorted({row.ref_id for row in rows if row.kind == FollowUpKind.CONVERSATION and row.ref_id})
    if not refs:
        return {}
    found = session.execute(
        sa.select(col(Conversation.id), col(Conversation.kind)).where(col(Conversation.id).in_(refs))
    ).all()
    return {c.id: ConversationKind(c.kind).value for c in found}


def flag_due_soon(
    uow: UnitOfWork, *, batch: int = SCAN_BATCH, leads: dict[FollowUpKind, int] | None = None
) -> ScanResult:
    """Mark every open follow-up due within its kind's lead time, once (reminded_at), and say
    FollowUpDueSoon for each (with the conversation's kind for a conversation). Never for an item
    already overdue or closed. Same shape as flag_overdue: keyset batches over the partial index,
    the batch's trajectories locked (sorted), the batch re-read under lock (a racing scan has
    reminded it: it no longer matches), one UPDATE and a commit per batch."""
    session, today, now = uow.session, uow.clock.today(), uow.clock.now()
    leads = lead_days() if leads is None else leads
    read = locked = reminded = 0
    order = (col(FollowUp.due_on), col(FollowUp.id))
    after: tuple[date, str] | None = None
    while True:
        candidates_query = _due_soon(today, leads, col(FollowUp.id), col(FollowUp.plan_id), col(FollowUp.due_on))
        if after is not None:
            candidates_query = candidates_query.where(sa.tuple_(*order) > sa.tuple_(*after))
        candidates = session.execute(candidates_query.order_by(*order).limit(batch)).all()
        read += len(candidates)
        if not candidates:
            return ScanResult(read, locked, reminded)
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
        rows = session.execute(
            _due_soon(today, leads, *_FLAGGED, col(FollowUp.ref_id))
            .where(col(FollowUp.id).in_([c.id for c in candidates]))
            .order_by(*order)
            .with_for_update()
        ).all()
        read += len(rows)
        if rows:
            session.execute(
                sa.update(FollowUp)
                .where(col(FollowUp.id).in_([row.id for row in rows]))
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            )
        conversations = _conversation_kinds(session, rows)
        for row in rows:
            uow.emit(
                payload=FollowUpDueSoonV1(
                    follow_up_id=row.id,
                    plan_id=row.plan_id,
                    client_id=row.client_id,
                    kind=FollowUpKind(row.kind).value,
                    due_on=row.due_on,
                    conversation_kind=conversations.get(row.ref_id or ""),
                ),
                tenant=row.municipality,
                subject=row.plan_id,
            )
        reminded += len(rows)
        uow.commit()
