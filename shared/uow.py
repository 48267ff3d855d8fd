"""Unit of work: one database transaction holding a state change and the events it causes.

Handlers change rows through `uow.session` and record events with `uow.emit(...)`; both
land in the same commit (the transactional outbox). Nothing is published before commit.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.bus.tables import bus_tables
from shared.clock import SYSTEM_CLOCK, Clock
from shared.db import is_sqlite
from shared.events import Envelope, Payload, new_event
from shared.logging import correlation_id_var, new_correlation_id

NOTIFY_CHANNEL = "prb_outbox"

# Set after each commit that wrote outbox rows, so an in-process relay wakes at once.
outbox_written = threading.Event()


class UnitOfWork:
    def __init__(
        self,
        engine: Engine,
        service: str,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.engine = engine
        self.service = service
        self.clock = clock
        self.correlation_id = correlation_id or correlation_id_var.get() or new_correlation_id()
        self.causation_id = causation_id
        self.events: list[Envelope] = []
        self.in_command = False  # set by shared.contention while a retried command runs
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self.engine, expire_on_commit=False)
        self.events = []
        return self

    def __exit__(self, *exc: Any) -> None:
        # Anything not committed explicitly is rolled back: no half-written state.
        self.session.rollback()
        self.session.close()

    def emit(self, payload: Payload, *, tenant: str, subject: str) -> Envelope:
        """Record the event a payload describes (its class names the type) in this transaction's outbox."""
        envelope = new_event(
            payload,
            tenant=tenant,
            subject=subject,
            producer=self.service,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            occurred_at=self.clock.now(),
        )
        outbox = bus_tables(self.service).outbox
        self.session.execute(
            sa.insert(outbox).values(
                event_id=str(envelope.event_id),
                event_type=envelope.type,
                envelope=envelope.model_dump_json(),
                created_at=self.clock.now(),
            )
        )
        self.events.append(envelope)
        return envelope

    def commit(self) -> None:
        if self.events and not is_sqlite(self.engine):
            # Delivered by PostgreSQL only if the transaction commits.
            self.session.execute(sa.text(f"NOTIFY {NOTIFY_CHANNEL}, '{self.service}'"))
        self.session.commit()
        if self.events:
            outbox_written.set()

    def rollback(self) -> None:
        self.session.rollback()
        self.events = []
