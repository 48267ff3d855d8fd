"""Handle one delivered event: exactly one effect however often it arrives.

The inbox row (the event id) is written in the same transaction as the handler's effect,
so a redelivered event finds its id and does nothing. An unknown type or version, or a
payload that fails its schema, goes straight to the dead letters with the reason; a
handler that keeps failing goes there after its last try.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
import structlog
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared.bus.tables import bus_tables
from shared.clock import SYSTEM_CLOCK, Clock
from shared.db import insert_ignoring_duplicates
from shared.events import Envelope, Payload, UnknownEventError, parse_event
from shared.logging import correlation_id_var
from shared.metrics import count_consumed, known_type
from shared.tracing import failed, handling
from shared.uow import UnitOfWork

log = structlog.get_logger("bus.consumer")

# A handler gets the unit of work, the typed payload (validated once, here) and its envelope.
EventHandler = Callable[[UnitOfWork, Any, Envelope], None]
# A service's handler table: keyed by the payload class it handles (one class per type and version).
EventHandlers = Mapping[type[Payload], EventHandler]


class Outcome(StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


class ConsumedTally:
    """What a worker handled, as one INFO line per interval instead of a line per event: at a few
    hundred events a second the per-event lines through the redaction chain cost the workers a
    large share of their CPU (docs/performance.md). Each event's own line is at DEBUG; the counters
    of shared.metrics are exact. The line is written on the first event after the interval."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self.counts: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()
        self.since = time.monotonic()

    def add(self, service: str, outcome: str) -> None:
        with self.lock:
            self.counts[(service, outcome)] += 1
            now = time.monotonic()
            if now - self.since < self.seconds:
                return
            counts, self.counts, since, self.since = self.counts, Counter(), self.since, now
        for svc in sorted({svc for svc, _ in counts}):
            outcomes = {outcome: n for (s, outcome), n in sorted(counts.items()) if s == svc}
            log.info("events.consumed", service=svc, seconds=round(now - since, 1), **outcomes)


tally = ConsumedTally()


class HandlerFailed(Exception):
    """The handler raised; the caller decides whether to retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _raw_text(raw: str | bytes | dict[str, Any]) -> str:
    if isinstance(raw, dict):
        return json.dumps(raw, default=str)
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def dead_letter(engine: Engine, service: str, raw: str | bytes | dict[str, Any], reason: str, attempts: int) -> str:
    text = _raw_text(raw)
    event_id = event_type = None
    try:
        data = json.loads(text)
        event_id, event_type = str(data.get("event_id"))[:80], str(data.get("type"))[:80]
    except (ValueError, AttributeError):
        pass
    letter_id = str(uuid.uuid4())
    table = bus_tables(service).dead_letter
    with engine.begin() as conn:
        if event_id is not None:
            # The same event delivered twice (at-least-once) and failing twice: one letter for ops.
            # Two deliveries failing at the same moment take turns here (SQLite: BEGIN IMMEDIATE).
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.select(
                        sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"dead_letter:{service}:{event_id}", 0))
                    )
                )
            open_letter = conn.execute(
                sa.select(table.c.id).where(table.c.event_id == event_id, table.c.replayed_at.is_(None))
            ).scalar()
            if open_letter is not None:
                log.warning(
                    "event.already_dead_lettered",
                    service=service,
                    dead_letter_id=open_letter,
                    event_id=event_id,
                    event_type=event_type,
                )
                return open_letter
        conn.execute(
            sa.insert(bus_tables(service).dead_letter).values(
                id=letter_id,
                event_id=event_id,
                event_type=event_type,
                envelope=text,
                reason=reason[:2000],
                attempts=attempts,
                created_at=datetime.now(UTC),
            )
        )
    count_consumed(service, known_type(event_type), Outcome.DEAD_LETTERED.value)
    log.error(
        "event.dead_lettered",
        service=service,
        dead_letter_id=letter_id,
        event_id=event_id,
        event_type=event_type,
        reason=reason[:300],
        attempts=attempts,
    )
    return letter_id


def _parsed(
    engine: Engine, service: str, raw: str | bytes | dict[str, Any], handlers: EventHandlers, attempt: int
) -> tuple[Envelope, Payload, EventHandler] | None:
    """The event and its handler, or None once it is in the dead letters (unknown, invalid, unhandled)."""
    try:
        envelope, payload = parse_event(raw)
    except UnknownEventError as exc:
        dead_letter(engine, service, raw, f"unknown event: {exc}", attempt)
        return None
    except (ValidationError, ValueError) as exc:
        dead_letter(engine, service, raw, f"invalid event: {exc}", attempt)
        return None
    handler = handlers.get(type(payload))
    if handler is None:
        dead_letter(
            engine, service, raw, f"{service} has no handler for {envelope.type} version {envelope.version}", attempt
        )
        return None
    return envelope, payload, handler


@contextmanager
def _event_context(service: str, envelope: Envelope, attempt: int) -> Iterator[Any]:
    """While one event is handled: its correlation id and ids on every log line, and its span."""
    token = correlation_id_var.set(envelope.correlation_id)
    structlog.contextvars.bind_contextvars(event_id=str(envelope.event_id), event_type=envelope.type)
    try:
        # A span in the emitter's trace (a no-op while tracing is off), current while the handler runs.
        with handling(service, envelope) as span:
            span.set_attribute("prb.attempt", attempt)
            yield span
    finally:
        structlog.contextvars.unbind_contextvars("event_id", "event_type")
        correlation_id_var.reset(token)


def consume(
    engine: Engine,
    service: str,
    raw: str | bytes | dict[str, Any],
    handlers: EventHandlers,
    *,
    attempt: int = 1,
    max_attempts: int = 5,
    clock: Clock = SYSTEM_CLOCK,
) -> Outcome:
    parsed = _parsed(engine, service, raw, handlers, attempt)
    if parsed is None:
        return Outcome.DEAD_LETTERED
    envelope, payload, handler = parsed
    started = time.perf_counter()
    with _event_context(service, envelope, attempt) as span:
        try:
            outcome = _handle_once(engine, service, envelope, payload, handler, clock)
            count_consumed(service, envelope.type, outcome.value, time.perf_counter() - started)
            span.set_attribute("prb.outcome", outcome.value)
            tally.add(service, outcome.value)
            return outcome
        except HandlerFailed as exc:
            failed(span, exc.__cause__ or exc)
            if attempt >= max_attempts:
                dead_letter(engine, service, raw, f"handler failed after {attempt} tries: {exc.reason}", attempt)
                span.set_attribute("prb.outcome", Outcome.DEAD_LETTERED.value)
                return Outcome.DEAD_LETTERED
            log.warning("event.handler_failed", service=service, attempt=attempt, reason=exc.reason[:300])
            count_consumed(service, envelope.type, "retried")
            span.set_attribute("prb.outcome", "retried")
            raise


def consume_batch(
    engine: Engine,
    service: str,
    raws: Sequence[str | bytes | dict[str, Any]],
    handlers: EventHandlers,
    *,
    max_attempts: int = 5,
    clock: Clock = SYSTEM_CLOCK,
) -> list[int]:
    """The first try of a delivered batch, in one transaction: one commit (one fsync) for the batch
    instead of a BEGIN and COMMIT per event, and no SAVEPOINT round trips. Returns the positions of
    the events that failed, for the caller to retry one by one.

    If any event's handler fails, or the batch cannot commit (a dropped connection, a conflict at
    commit), nothing of the batch stands, and each event gets its own try in its own transaction as
    a single delivery would (consume). Failures are rare, so the common case pays for none of that."""
    # Unknown and invalid events go to the dead letters first, in their own transactions.
    parsed = [(position, _parsed(engine, service, raw, handlers, attempt=1)) for position, raw in enumerate(raws)]
    events = [(position, event) for position, event in parsed if event is not None]
    if not events:
        return []
    try:
        _consume_in_one_transaction(engine, service, events, clock)
        return []
    except Exception as exc:  # noqa: BLE001 - nothing committed: one try per event, as a single delivery
        log.warning("events.batch_failed", service=service, events=len(events), error=type(exc).__name__)
    failures = []
    for position, _event in events:
        try:
            consume(engine, service, raws[position], handlers, attempt=1, max_attempts=max_attempts, clock=clock)
        except Exception:  # noqa: BLE001 - HandlerFailed, or the database gone while dead-lettering
            failures.append(position)
    return failures


def _consume_in_one_transaction(
    engine: Engine,
    service: str,
    events: Sequence[tuple[int, tuple[Envelope, Payload, EventHandler]]],
    clock: Clock,
) -> None:
    inbox = bus_tables(service).inbox
    outcomes: list[tuple[str, str, float]] = []
    with UnitOfWork(engine, service, clock=clock) as batch:
        for _position, (envelope, payload, handler) in events:
            started = time.perf_counter()
            with _event_context(service, envelope, attempt=1) as span:
                uow = batch.joined(correlation_id=envelope.correlation_id, causation_id=str(envelope.event_id))
                try:
                    claimed = _claim(uow, inbox, envelope, clock)
                    if claimed:
                        handler(uow, payload, envelope)
                except Exception as exc:
                    failed(span, exc)
                    raise
                outcome = Outcome.HANDLED if claimed else Outcome.DUPLICATE
                span.set_attribute("prb.outcome", outcome.value)
                outcomes.append((envelope.type, outcome.value, time.perf_counter() - started))
                log.debug("event.handled" if claimed else "event.duplicate_ignored", service=service)
        batch.commit()
    # Counted once they stand.
    for event_type, outcome_value, seconds in outcomes:
        count_consumed(service, event_type, outcome_value, seconds)
        tally.add(service, outcome_value)


def _claim(uow: UnitOfWork, inbox: sa.Table, envelope: Envelope, clock: Clock) -> bool:
    """Record the event in the inbox; False when it is there already (a redelivery). A concurrent
    delivery of the same event waits here until the other transaction ends."""
    row = {"event_id": str(envelope.event_id), "event_type": envelope.type, "handled_at": clock.now()}
    return insert_ignoring_duplicates(uow.session, inbox, [row]) == 1


def _handle_once(
    engine: Engine, service: str, envelope: Envelope, payload: Payload, handler: EventHandler, clock: Clock
) -> Outcome:
    inbox = bus_tables(service).inbox
    with UnitOfWork(
        engine, service, correlation_id=envelope.correlation_id, causation_id=str(envelope.event_id), clock=clock
    ) as uow:
        try:
            # Claim the event first: a concurrent duplicate waits here, then finds the key taken.
            if not _claim(uow, inbox, envelope, clock):
                log.debug("event.duplicate_ignored", service=service)
                return Outcome.DUPLICATE
        except DBAPIError as exc:
            # A dropped connection (PostgreSQL restarted, pg_terminate_backend): this try fails, the
            # retry gets a fresh connection (the pool drops the dead ones) like any other failed try.
            uow.rollback()
            raise HandlerFailed(f"{type(exc).__name__}: {str(exc.orig).strip()[:300]}") from exc
        try:
            handler(uow, payload, envelope)
            uow.commit()
        except IntegrityError as exc:
            uow.rollback()
            if _already_handled(engine, service, str(envelope.event_id)):
                return Outcome.DUPLICATE
            raise HandlerFailed(f"{type(exc).__name__}: {exc.orig}") from exc
        except Exception as exc:
            uow.rollback()
            raise HandlerFailed(f"{type(exc).__name__}: {exc}") from exc
    log.debug("event.handled", service=service)
    return Outcome.HANDLED


def _already_handled(engine: Engine, service: str, event_id: str) -> bool:
    inbox = bus_tables(service).inbox
    with engine.connect() as conn:
        return conn.execute(sa.select(inbox.c.event_id).where(inbox.c.event_id == event_id)).first() is not None
