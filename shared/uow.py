"""Unit of work: one database transaction holding a state change and the events it causes.

Handlers change rows through `uow.session` and record events with `uow.emit(...)`; both
land in the same commit (the transactional outbox). Nothing is published before commit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shared.bus.tables import bus_tables
from shared.clock import SYSTEM_CLOCK, Clock
from shared.events import Envelope, Payload, new_event
from shared.logging import correlation_id_var, new_correlation_id
from shared.tracing import current_trace_context

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
        # Outbox rows wait for commit, then go in one statement (a scan that emits 10,000 events
        # pays one round trip, not 10,000); they are in the same transaction either way.
        self._outbox_rows: list[dict[str, Any]] = []
        self.in_command = False  # set by shared.contention while a retried command runs
        self.session: Session
        self._joined = False

    def joined(self, *, correlation_id: str, causation_id: str | None) -> UnitOfWork:
        """A unit of work inside this one's transaction, with its own correlation and causation ids:
        a consumer handles a delivered batch in one transaction, each event in a savepoint. It shares
        the session and the outbox rows; only the outer unit of work commits."""
        part = UnitOfWork(
            self.engine, self.service, correlation_id=correlation_id, causation_id=causation_id, clock=self.clock
        )
        part.session, part.events, part._outbox_rows = self.session, self.events, self._outbox_rows
        part._joined = True
        return part

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self.engine, expire_on_commit=False)
        self.events, self._outbox_rows = [], []
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
            # The current span (the request's, or the handler's that emitted this): the relay and
            # the consumer continue that trace. None while tracing is off.
            trace_context=current_trace_context(),
        )
        self._outbox_rows.append(
            {
                "event_id": str(envelope.event_id),
                "event_type": envelope.type,
                "envelope": envelope.model_dump_json(),
                "created_at": self.clock.now(),
            }
        )
        self.events.append(envelope)
        return envelope

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that is undone on its own when it fails: its rows and its events."""
        events_before, rows_before = len(self.events), len(self._outbox_rows)
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            del self.events[events_before:], self._outbox_rows[rows_before:]
            raise

    def commit(self) -> None:
        if self._joined:
            raise RuntimeError("a unit of work joined to another's transaction is committed by that one")
        if self._outbox_rows:
            self.session.execute(sa.insert(bus_tables(self.service).outbox), self._outbox_rows)
            self._outbox_rows.clear()
        # On PostgreSQL the outbox's trigger has sent `NOTIFY prb_outbox, '<service>'` with the insert
        # (shared/bus/migration_steps.py); it is delivered only if the transaction commits.
        self.session.commit()
        if self.events:
            outbox_written.set()

    def rollback(self) -> None:
        if self._joined:
            raise RuntimeError("a unit of work joined to another's transaction is rolled back by that one")
        self.session.rollback()
        self.events, self._outbox_rows = [], []
