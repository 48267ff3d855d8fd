"""The outbox relay: moves committed events from each service's outbox to their consumers.

Distributed: rows are locked (FOR UPDATE SKIP LOCKED, so several relays can run), sent
through Celery to each subscriber's queue, and marked published in the same transaction.
If Redis is down nothing is marked and the rows wait; consumers dedupe what was sent twice.
Embedded: rows are read, handled in-process, then marked published (and delivered).
PostgreSQL NOTIFY (sent on commit by the unit of work) wakes the relay at once.

Published is not delivered: a message can still be lost in the broker (a Redis restart
without persistence, a worker killed between taking a message and recording it). Every few
seconds the loop runs the delivery sweeper (shared/bus/sweeper.py), which publishes again
to each subscriber whose inbox lacks an event after `redeliver_after_seconds`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol, cast

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from shared.bus.routing import routing, subscribers
from shared.bus.tables import bus_tables
from shared.db import is_sqlite
from shared.metrics import count_published
from shared.tracing import end_spans, start_publish
from shared.uow import NOTIFY_CHANNEL, outbox_written

if TYPE_CHECKING:
    from shared.bus.sweeper import SweepResult

log = structlog.get_logger("bus.relay")


class Publisher(Protocol):
    def publish(self, service: str, event_type: str, envelope_json: str) -> None: ...


class BatchPublisher(Publisher, Protocol):
    def publish_batch(self, service: str, items: list[tuple[str, str]]) -> None: ...


# Events per broker message when the publisher can batch; at low rates a batch holds one.
DELIVERY_BATCH = 50


# Event types that go to at least one service; any other event is delivered once it is published.


class BrokerUnavailable(Exception):
    pass


def _settles_on_publish(publisher: Publisher) -> bool:
    """In-process delivery returns only once the consumer's inbox or dead letters have the event."""
    return bool(getattr(publisher, "settles_on_publish", False))


def _published_values(outbox: sa.Table, publisher: Publisher, now: datetime, redeliver_after: float) -> dict:
    """What one UPDATE sets on the rows that went out: still one statement for the whole batch."""
    delivered = (
        now
        if _settles_on_publish(publisher)
        else sa.case(
            (outbox.c.event_type.in_(routing().routed_types()), sa.null()),
            else_=sa.literal(now, outbox.c.delivered_at.type),
        )
    )
    return {"published_at": now, "delivered_at": delivered, "next_check_at": now + timedelta(seconds=redeliver_after)}


def relay_batch(
    engine: Engine, service: str, publisher: Publisher, batch_size: int = 500, redeliver_after: float = 60.0
) -> int:
    """Publish up to `batch_size` unpublished events of one service. Returns how many moved."""
    outbox = bus_tables(service).outbox
    query = (
        sa.select(outbox.c.id, outbox.c.event_type, outbox.c.envelope, outbox.c.created_at)
        .where(outbox.c.published_at.is_(None))
        .order_by(outbox.c.id)
        .limit(batch_size)
    )
    if is_sqlite(engine):
        # Single in-process relay; handling opens its own transactions, so read, deliver, mark.
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        done = _deliver_rows(rows, service, publisher)
        _mark_published(engine, outbox, done, publisher, redeliver_after)
        count_published(service, ((row.event_type, row.created_at) for row in rows[: len(done)]))
        if len(done) < len(rows):
            raise BrokerUnavailable("in-process delivery stopped")
        return len(done)

    with engine.begin() as conn:
        rows = conn.execute(query.with_for_update(skip_locked=True)).all()
        if not rows:
            return 0
        done = _deliver_rows(rows, service, publisher)
        now = datetime.now(UTC)
        if done:
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id.in_(done))
                .values(**_published_values(outbox, publisher, now, redeliver_after))
            )
        if len(done) < len(rows):
            failed = rows[len(done)].id
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == failed)
                .values(publish_attempts=outbox.c.publish_attempts + 1, last_error="broker unavailable")
            )
            # Commit what went out, then tell the loop to back off.
            conn.commit()
            count_published(service, ((row.event_type, row.created_at) for row in rows[: len(done)]))
            raise BrokerUnavailable(f"{service}: {len(rows) - len(done)} events wait in the outbox")
    count_published(service, ((row.event_type, row.created_at) for row in rows[: len(done)]))
    return len(done)


def _deliver_rows(rows: Sequence[sa.Row], service: str, publisher: Publisher) -> list[int]:
    if hasattr(publisher, "publish_batch"):
        return _deliver_in_batches(rows, service, cast(BatchPublisher, publisher))
    done: list[int] = []
    for row in rows:
        targets = subscribers(row.event_type)
        # A span in the trace the event was emitted in (None while tracing is off).
        span = start_publish(service, row.event_type, row.envelope, targets)
        try:
            for target in targets:
                publisher.publish(target, row.event_type, row.envelope)
        except Exception as exc:  # noqa: BLE001 - any broker error: stop, keep the rest waiting
            end_spans([span], exc)
            log.warning("relay.publish_failed", service=service, error=type(exc).__name__, detail=str(exc)[:200])
            break
        end_spans([span])
        done.append(row.id)
    return done


def _deliver_in_batches(rows: Sequence[sa.Row], service: str, publisher: BatchPublisher) -> list[int]:
    """One message per subscriber per DELIVERY_BATCH events. All or nothing: if one send fails no
    row counts as published, and the consumers' inboxes drop what arrives a second time."""
    by_target: dict[str, list[tuple[str, str]]] = {}
    spans = []
    for row in rows:
        targets = subscribers(row.event_type)
        for target in targets:
            by_target.setdefault(target, []).append((row.event_type, row.envelope))
        # One span per event, each in its own trace, from the first send to the last.
        spans.append(start_publish(service, row.event_type, row.envelope, targets))
    try:
        for target, items in by_target.items():
            for start in range(0, len(items), DELIVERY_BATCH):
                publisher.publish_batch(target, items[start : start + DELIVERY_BATCH])
    except Exception as exc:  # noqa: BLE001 - any broker error: keep every row waiting
        end_spans(spans, exc)
        log.warning("relay.publish_failed", service=service, error=type(exc).__name__, detail=str(exc)[:200])
        return []
    end_spans(spans)
    return [row.id for row in rows]


def _mark_published(
    engine: Engine, outbox: sa.Table, ids: list[int], publisher: Publisher, redeliver_after: float
) -> None:
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(
            sa.update(outbox)
            .where(outbox.c.id.in_(ids))
            .values(**_published_values(outbox, publisher, datetime.now(UTC), redeliver_after))
        )


def pending_count(engine: Engine, service: str) -> int:
    outbox = bus_tables(service).outbox
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        ).scalar_one()


def undelivered_count(engine: Engine, service: str) -> int:
    """Events of this service that some subscriber has not recorded yet (published or not)."""
    outbox = bus_tables(service).outbox
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))
        ).scalar_one()


def oldest_unpublished(engine: Engine, service: str) -> datetime | None:
    """When the oldest event still waiting for the relay was written (the rows of the unpublished index)."""
    outbox = bus_tables(service).outbox
    with engine.connect() as conn:
        created = conn.execute(
            sa.select(sa.func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
        ).scalar()
    if created is not None and created.tzinfo is None:  # SQLite returns naive UTC
        created = created.replace(tzinfo=UTC)
    return created


class OutboxRelay:
    """A loop over every service's outbox; waits for a NOTIFY (or an in-process signal).

    Nothing the database or the broker does ends the loop: any error is logged, the LISTEN
    connection is dropped and made again, and the loop goes on after a backoff (0.5 s doubling
    to `max_backoff_seconds`). Every `sweep_seconds` it also runs the delivery sweeper.
    """

    def __init__(
        self,
        engine: Engine,
        services: Iterable[str],
        publisher: Publisher,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 500,
        max_backoff_seconds: float = 10.0,
        redeliver_after_seconds: float = 60.0,
        redeliver_max_seconds: float = 3600.0,
        sweep_seconds: float = 5.0,
        linger_seconds: float = 0.0,
        heartbeat: Callable[[str | None], None] | None = None,
    ) -> None:
        self.engine = engine
        self.services = tuple(services)
        self.publisher = publisher
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.max_backoff = max_backoff_seconds
        self.redeliver_after = redeliver_after_seconds
        self.redeliver_max = redeliver_max_seconds
        self.sweep_seconds = sweep_seconds
        self.linger_seconds = linger_seconds
        # Called after every pass: None when it went well, else a one-line reason.
        self.heartbeat = heartbeat or (lambda _error: None)
        self.stop_event = threading.Event()

    def run_once(self, services: Iterable[str] | None = None) -> int:
        """One pass over the given outboxes (all of them when None)."""
        moved = 0
        for service in self.services if services is None else services:
            moved += relay_batch(self.engine, service, self.publisher, self.batch_size, self.redeliver_after)
        return moved

    def sweep_once(self, now: datetime | None = None) -> SweepResult:
        """Check every outbox's published, undelivered events that are due; publish again what is missing."""
        from shared.bus.sweeper import SweepResult, sweep_undelivered

        total = SweepResult()
        for service in self.services:
            total += sweep_undelivered(
                self.engine, service, self.publisher, after=self.redeliver_after, cap=self.redeliver_max, now=now
            )
        return total

    def run_forever(self) -> None:
        waiter: Callable[[float], set[str] | None] | None = None
        backoff = 0.5
        next_sweep = time.monotonic() + self.sweep_seconds
        # Which outboxes to look at: those a NOTIFY named, or all after a quiet poll interval.
        notified: list[str] | None = None
        log.info("relay.started", services=list(self.services))
        while not self.stop_event.is_set():
            try:
                if waiter is None:
                    waiter = self._make_waiter()
                    notified = None  # NOTIFYs sent while there was no LISTEN are lost: look everywhere
                moved = self.run_once(notified)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.sweep_seconds
                    self.sweep_once()
                backoff = 0.5
                self.heartbeat(None)
                # Go round again at once only while a batch came back full (a backlog); otherwise every
                # commit since the pass has sent a NOTIFY that ends the wait straight away.
                if moved < self.batch_size:
                    named = waiter(min(self.poll_seconds, max(next_sweep - time.monotonic(), 0.0)))
                    if named is not None and self.linger_seconds > 0:
                        # Linger a moment, so the commits right behind this one go in the same pass and
                        # the same broker message: at a steady few hundred events a second one message
                        # per event costs the consumer more than the events themselves.
                        self.stop_event.wait(self.linger_seconds)
                        named |= waiter(0.0) or set()
                    notified = [s for s in self.services if s in named] if named is not None else None
            except BrokerUnavailable as exc:
                self.heartbeat(f"broker unavailable: {exc}")
                notified = None
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception as exc:  # noqa: BLE001 - a database hiccup must not end the relay
                log.error("relay.error", error=type(exc).__name__, detail=str(exc)[:300], retry_in=backoff)
                self.heartbeat(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
                self._close(waiter)
                waiter = None
                notified = None
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
        self._close(waiter)
        log.info("relay.stopped")

    @staticmethod
    def _close(waiter: Callable[[float], set[str] | None] | None) -> None:
        owner = getattr(waiter, "__self__", None)
        if isinstance(owner, _PgNotifyWaiter):
            try:
                owner.conn.close()
            except Exception:  # noqa: BLE001 - a dead connection may refuse even to close
                pass

    def stop(self) -> None:
        self.stop_event.set()
        outbox_written.set()

    def _make_waiter(self) -> Callable[[float], set[str] | None]:
        """A wait for new outbox rows; it returns the services that wrote, or None for "look everywhere"."""
        if is_sqlite(self.engine):

            def wait_in_process(timeout: float) -> set[str] | None:
                outbox_written.wait(timeout)
                outbox_written.clear()
                return None

            return wait_in_process
        return _PgNotifyWaiter(self.engine).wait


class _PgNotifyWaiter:
    def __init__(self, engine: Engine) -> None:
        import psycopg

        url = engine.url.set(drivername="postgresql")
        self.conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5)
        self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def wait(self, timeout: float) -> set[str] | None:
        """The services named by NOTIFYs (the unit of work sends its service); None after a quiet timeout,
        so a row whose NOTIFY was missed (relay restart, dropped connection) is still found."""
        started = time.monotonic()
        named: set[str] = set()
        for notify in self.conn.notifies(timeout=timeout, stop_after=1):
            named.add(notify.payload)
        if not named:
            return None
        # Drain the burst so one wake-up serves many commits.
        if time.monotonic() - started < timeout:
            for notify in self.conn.notifies(timeout=0.0):
                named.add(notify.payload)
        return named
