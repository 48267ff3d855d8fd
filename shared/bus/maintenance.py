"""Housekeeping for the bus tables: delivered outbox rows and old inbox ids are pruned.

An inbox id must outlive any redelivery of its event (Redis visibility timeout, retries,
the sweeper's checks, a replayed dead letter), so both are kept for `keep_days` (30 by
default). An outbox row is pruned only once it is delivered (every subscriber recorded
it); the sweeper's longest wait between checks (`redeliver_max_seconds`, an hour) is far
below `keep_days`, so it never looks for an inbox id that was already pruned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.bus.tables import bus_tables
from shared.uow import UnitOfWork

KEEP_DAYS = 30


def prune_bus_tables(
    engine: Engine, service: str, *, keep_days: int = KEEP_DAYS, now: datetime | None = None
) -> tuple[int, int]:
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    tables = bus_tables(service)
    with engine.begin() as conn:
        # Only delivered rows: an undelivered one is still watched by the sweeper, however old.
        outbox = conn.execute(
            sa.delete(tables.outbox).where(
                tables.outbox.c.delivered_at.is_not(None), tables.outbox.c.published_at < cutoff
            )
        ).rowcount
        inbox = conn.execute(sa.delete(tables.inbox).where(tables.inbox.c.handled_at < cutoff)).rowcount
    return outbox, inbox


def prune_job(uow: UnitOfWork) -> int:
    """The daily job every service runs on its own bus tables."""
    outbox, inbox = prune_bus_tables(uow.engine, uow.service, now=uow.clock.now())
    return outbox + inbox
