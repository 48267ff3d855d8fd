"""Handle one delivered event: exactly one effect however often it arrives.

The inbox row (the event id) is written in the same transaction as the handler's effect,
so a redelivered event finds its id and does nothing. An unknown type or version, or a
payload that fails its schema, goes straight to the dead letters with the reason; a
handler that keeps failing goes there after its last try.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
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
    try:
        envelope, payload = parse_event(raw)
    except UnknownEventError as exc:
        dead_letter(engine, service, raw, f"unknown event: {exc}", attempt)
        return Outcome.DEAD_LETTERED
    except (ValidationError, ValueError) as exc:
        dead_letter(engine, service, raw, f"invalid event: {exc}", attempt)
        return Outcome.DEAD_LETTERED

    handler = handlers.get(type(payload))
    if handler is None:
        dead_letter(
            engine, service, raw, f"{service} has no handler for {envelope.type} version {envelope.version}", attempt
        )
        return Outcome.DEAD_LETTERED

    token = correlation_id_var.set(envelope.correlation_id)
    structlog.contextvars.bind_contextvars(event_id=str(envelope.event_id), event_type=envelope.type)
    started = time.perf_counter()
    # A span in the emitter's trace (a no-op while tracing is off), current while the handler runs.
    with handling(service, envelope) as span:
        span.set_attribute("prb.attempt", attempt)
        try:
            outcome = _handle_once(engine, service, envelope, payload, handler, clock)
            count_consumed(service, envelope.type, outcome.value, time.perf_counter() - started)
            span.set_attribute("prb.outcome", outcome.value)
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
        finally:
            structlog.contextvars.unbind_contextvars("event_id", "event_type")
            correlation_id_var.reset(token)


def _handle_once(
    engine: Engine, service: str, envelope: Envelope, payload: Payload, handler: EventHandler, clock: Clock
) -> Outcome:
    inbox = bus_tables(service).inbox
    with UnitOfWork(
        engine, service, correlation_id=envelope.correlation_id, causation_id=str(envelope.event_id), clock=clock
    ) as uow:
        try:
            # Claim the event first: a concurrent duplicate blocks here, then fails the key.
            uow.session.execute(
                sa.insert(inbox).values(
                    event_id=str(envelope.event_id),
                    event_type=envelope.type,
                    handled_at=clock.now(),
                )
            )
        except IntegrityError:
            log.info("event.duplicate_ignored", service=service)
            return Outcome.DUPLICATE
        except DBAPIError as exc:
            # A dropped connection (PostgreSQL restarted, pg_terminate_backend): this try fails, the
            # retry gets a fresh connection (pool_pre_ping) like any other failed try.
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
    log.info("event.handled", service=service)
    return Outcome.HANDLED


def _already_handled(engine: Engine, service: str, event_id: str) -> bool:
    inbox = bus_tables(service).inbox
    with engine.connect() as conn:
        return conn.execute(sa.select(inbox.c.event_id).where(inbox.c.event_id == event_id)).first() is not None
