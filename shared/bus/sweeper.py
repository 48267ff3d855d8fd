"""Published is not delivered: publish again whatever a subscriber has not recorded.

A message the relay handed to Redis can still be lost: Redis restarted without persistence,
or a worker was killed between taking a message off its queue and recording it as unacked
(kombu's Redis transport does these in two steps), or a task failed outside the handler. So
the relay checks, per event and per subscriber (routing.subscribers), whether the
subscriber's `inbox` or `dead_letter` table holds the event id: a dead letter counts as
settled, an operator decides about it. The bus tables belong to the bus machinery, so this
is the one place that reads another service's (bus) tables.

An event is first checked `after` seconds after it was published; each time a subscriber
still lacks it, it is published again to that subscriber only, and the next check waits
twice as long, up to `cap`. Once every subscriber has it, `delivered_at` is set (one UPDATE
per sweep). Rows are locked with FOR UPDATE SKIP LOCKED, so several relays share the work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from shared.bus.relay import DELIVERY_BATCH, BrokerUnavailable, Publisher
from shared.bus.routing import subscribers
from shared.bus.tables import bus_tables
from shared.db import is_sqlite

log = structlog.get_logger("bus.sweeper")

SWEEP_BATCH = 1000


@dataclass
class SweepResult:
    delivered: int = 0  # events now recorded by every subscriber
    republished: int = 0  # (event, subscriber) pairs published again

    def __iadd__(self, other: SweepResult) -> SweepResult:
        self.delivered += other.delivered
        self.republished += other.republished
        return self

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(self.delivered + other.delivered, self.republished + other.republished)


def next_check_delay(redeliveries: int, after: float, cap: float) -> float:
    """Seconds until the check after the `redeliveries`-th republication: after, 2*after, 4*after, ... <= cap."""
    return min(after * (2**redeliveries), cap)


def sweep_undelivered(
    engine: Engine,
    service: str,
    publisher: Publisher,
    *,
    after: float = 60.0,
    cap: float = 3600.0,
    now: datetime | None = None,
    batch_size: int = SWEEP_BATCH,
) -> SweepResult:
    """One sweep of one producer's outbox, in batches until nothing due is left."""
    total = SweepResult()
    while True:
        result, full = _sweep_batch(engine, service, publisher, after, cap, now or datetime.now(UTC), batch_size)
        total += result
        if not full:
            return total


def _sweep_batch(
    engine: Engine, service: str, publisher: Publisher, after: float, cap: float, now: datetime, batch_size: int
) -> tuple[SweepResult, bool]:
    outbox = bus_tables(service).outbox
    query = (
        sa.select(outbox.c.id, outbox.c.event_id, outbox.c.event_type, outbox.c.envelope, outbox.c.redeliveries)
        .where(outbox.c.delivered_at.is_(None), outbox.c.published_at.is_not(None), outbox.c.next_check_at <= now)
        .order_by(outbox.c.next_check_at)
        .limit(batch_size)
    )
    if not is_sqlite(engine):
        query = query.with_for_update(skip_locked=True)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
        if not rows:
            return SweepResult(), False
        settled = _settled(conn, rows)
        delivered: list[int] = []
        missing: dict[str, list[sa.Row]] = defaultdict(list)
        for row in rows:
            lacking = [t for t in subscribers(row.event_type) if row.event_id not in settled.get(t, ())]
            if not lacking:
                delivered.append(row.id)
            for target in lacking:
                missing[target].append(row)
        if delivered:
            conn.execute(sa.update(outbox).where(outbox.c.id.in_(delivered)).values(delivered_at=now))
        republished = 0
        try:
            for target, target_rows in missing.items():
                _publish(publisher, target, target_rows)
                republished += len(target_rows)
        except Exception as exc:
            log.warning("sweeper.publish_failed", service=service, error=type(exc).__name__, detail=str(exc)[:200])
            conn.commit()
            raise BrokerUnavailable(f"{service}: redelivery failed") from exc
        again = {row.id: row.redeliveries for target_rows in missing.values() for row in target_rows}
        by_count: dict[int, list[int]] = defaultdict(list)
        for row_id, count in again.items():
            by_count[count].append(row_id)
        for count, ids in by_count.items():
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(
                    redeliveries=count + 1,
                    next_check_at=now + timedelta(seconds=next_check_delay(count + 1, after, cap)),
                )
            )
    if missing:
        log.warning(
            "sweeper.redelivered",
            service=service,
            events=len(again),
            to={target: len(target_rows) for target, target_rows in missing.items()},
        )
    return SweepResult(len(delivered), republished), len(rows) == batch_size


def _settled(conn: Connection, rows: Sequence[sa.Row]) -> dict[str, set[str]]:
    """Per subscriber, which of these event ids its inbox or dead letters hold."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        for target in subscribers(row.event_type):
            wanted[target].append(row.event_id)
    settled: dict[str, set[str]] = {}
    for target, ids in wanted.items():
        tables = bus_tables(target)
        query = sa.union(
            sa.select(tables.inbox.c.event_id).where(tables.inbox.c.event_id.in_(ids)),
            # A replayed dead letter is not settled: the replay itself may be lost.
            sa.select(tables.dead_letter.c.event_id).where(
                tables.dead_letter.c.event_id.in_(ids), tables.dead_letter.c.replayed_at.is_(None)
            ),
        )
        settled[target] = set(conn.execute(query).scalars())
    return settled


def _publish(publisher: Publisher, target: str, rows: Sequence[sa.Row]) -> None:
    if hasattr(publisher, "publish_batch"):
        items = [(row.event_type, row.envelope) for row in rows]
        for start in range(0, len(items), DELIVERY_BATCH):
            publisher.publish_batch(target, items[start : start + DELIVERY_BATCH])
        return
    for row in rows:
        publisher.publish(target, row.event_type, row.envelope)
