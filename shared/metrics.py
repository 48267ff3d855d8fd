"""Prometheus metrics of every process (prometheus-client): HTTP requests per route, events
published, handled and dead-lettered per type, the outbox backlog and its oldest age, the relay's
lag, and the work people notice (payment runs, messages, webhooks).

Labels are route templates, service names, event types and fixed outcome words: never an id, a
path with ids in it, or anything about a person, so the label sets stay small and say nothing
personal. APIs answer GET /metrics on the root app; processes without HTTP (worker, relay, beat)
serve it on `PRB_METRICS_PORT` when that is set (`serve_metrics`). A Celery worker with the
prefork pool needs PROMETHEUS_MULTIPROC_DIR set before it starts (prometheus-client's multiprocess
mode); the default threads pool is one process and needs nothing.
"""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger("metrics")

# Seconds: API answers are mostly 5-100 ms; uploads and payment files take longer.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Relay lag (commit to published): milliseconds when healthy, minutes when the broker is away.
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0)
UNMATCHED_ROUTE = "unmatched"  # a path no route matched (404s of scanners): one label, not thousands

HTTP_REQUESTS = Counter(
    "prb_http_requests",
    "HTTP requests answered, per route template and status.",
    ["service", "route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "prb_http_request_duration_seconds",
    "Time from request to the last byte of the answer, per route template.",
    ["service", "route", "method"],
    buckets=_LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "prb_events_published",
    "Events the relay handed to the broker (or in-process bus), per type.",
    ["service", "event_type"],
)
RELAY_LAG = Histogram(
    "prb_relay_lag_seconds",
    "Time from an event's commit to its publication by the relay.",
    ["service"],
    buckets=_LAG_BUCKETS,
)
EVENTS_CONSUMED = Counter(
    "prb_events_consumed",
    "Deliveries a consumer took, per type and outcome (handled, duplicate, retried, dead_lettered).",
    ["service", "event_type", "outcome"],
)
EVENT_HANDLING = Histogram(
    "prb_event_handling_seconds",
    "Time to handle one delivered event (the handler and its commit).",
    ["service", "event_type"],
    buckets=_LATENCY_BUCKETS,
)
PAYMENT_RUNS = Counter("prb_payment_runs", "Payment runs, per outcome (created, confirmed, failed).", ["outcome"])
PAYMENT_RUN_INVOICES = Counter("prb_payment_run_invoices", "Invoices put into a payment run.")
MESSAGES = Counter(
    "prb_messages",
    "Messages to people (reminders, notices), per channel and outcome (sent, failed).",
    ["channel", "outcome"],
)
WEBHOOKS = Counter(
    "prb_webhook_deliveries", "Webhook deliveries to partners, per outcome (delivered, failed, gave_up).", ["outcome"]
)


def count_payment_run(outcome: str, invoices: int = 0) -> None:
    PAYMENT_RUNS.labels(outcome).inc()
    if invoices:
        PAYMENT_RUN_INVOICES.inc(invoices)


def count_message(channel: str, outcome: str) -> None:
    MESSAGES.labels(channel, outcome).inc()


def count_webhook(outcome: str) -> None:
    WEBHOOKS.labels(outcome).inc()


def count_published(service: str, rows: Iterable[tuple[str, datetime | None]]) -> None:
    """After the relay marked rows published: (event_type, created_at) per row."""
    now = datetime.now(UTC)
    lag = RELAY_LAG.labels(service)
    for event_type, created_at in rows:
        EVENTS_PUBLISHED.labels(service, event_type).inc()
        if created_at is not None:
            if created_at.tzinfo is None:  # SQLite gives naive UTC
                created_at = created_at.replace(tzinfo=UTC)
            lag.observe(max((now - created_at).total_seconds(), 0.0))


def known_type(event_type: str | None) -> str:
    """The event type as a label, or "unknown" for one no contract declares (a label set stays bounded)."""
    from shared.events import EVENT_SCHEMAS

    return event_type if event_type and any(t == event_type for t, _ in EVENT_SCHEMAS) else "unknown"


def count_consumed(service: str, event_type: str, outcome: str, seconds: float | None = None) -> None:
    EVENTS_CONSUMED.labels(service, event_type, outcome).inc()
    if seconds is not None:
        EVENT_HANDLING.labels(service, event_type).observe(seconds)


class OutboxCollector(Collector):
    """Read at scrape time, from the database: per service, the events waiting for the relay, the
    age of the oldest, and the dead letters not yet replayed. One small indexed query per table.
    It reads the runtime this process watches last (a process runs one; tests make many)."""

    def __init__(self) -> None:
        self.target: tuple[weakref.ref[Engine], tuple[str, ...]] | None = None

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # nothing to check at registration: the names are fixed and this collector is the only one

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from shared.bus.tables import bus_tables

        engine = self.target[0]() if self.target else None
        if engine is None or self.target is None:
            return
        services = self.target[1]
        backlog = GaugeMetricFamily("prb_outbox_backlog", "Events committed but not yet published.", labels=["service"])
        oldest = GaugeMetricFamily(
            "prb_outbox_oldest_age_seconds",
            "Age of the oldest event waiting for the relay (0: none).",
            labels=["service"],
        )
        letters = GaugeMetricFamily("prb_dead_letters_open", "Dead letters not yet replayed.", labels=["service"])
        up = GaugeMetricFamily("prb_database_up", "1 when the scrape could read the database.", labels=[])
        now = datetime.now(UTC)
        try:
            with engine.connect() as conn:
                for service in services:
                    tables = bus_tables(service)
                    outbox, dead = tables.outbox, tables.dead_letter
                    waiting = sa.select(sa.func.count(), sa.func.min(outbox.c.created_at))
                    count, first = conn.execute(waiting.where(outbox.c.published_at.is_(None))).one()
                    if first is not None and first.tzinfo is None:
                        first = first.replace(tzinfo=UTC)
                    backlog.add_metric([service], count)
                    oldest.add_metric([service], max((now - first).total_seconds(), 0.0) if first else 0.0)
                    open_letters = sa.select(sa.func.count()).select_from(dead).where(dead.c.replayed_at.is_(None))
                    letters.add_metric([service], conn.execute(open_letters).scalar_one())
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 - a scrape reports a failing database, never raises
            log.warning("metrics.database_unreadable", error=type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        yield from (backlog, oldest, letters, up)


_OUTBOXES = OutboxCollector()
REGISTRY.register(_OUTBOXES)


def watch_outboxes(engine: Engine, services: Sequence[str]) -> None:
    """Report the outbox gauges of these services (this process's runtime) at each scrape."""
    _OUTBOXES.target = (weakref.ref(engine), tuple(services))


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(_OUTBOXES)
        return registry
    return REGISTRY


def exposition() -> tuple[bytes, str]:
    """The text format Prometheus scrapes, and its content type."""
    return generate_latest(_registry()), CONTENT_TYPE_LATEST


def serve_metrics(port: int | None, host: str = "0.0.0.0") -> None:
    """For processes without HTTP: /metrics on its own port in a thread (no-op without a port)."""
    if port:
        start_http_server(port, addr=host, registry=_registry())
        log.info("metrics.serving", port=port)


def _service_and_route(scope: Scope) -> tuple[str, str]:
    """The service (first path segment) and the route template: the matched path with each path
    parameter's segment put back as `{name}` (the router's own template omits include prefixes)."""
    path: str = scope.get("path", "")
    parts = path.split("/", 2)
    service = parts[1] if len(parts) > 2 and parts[1] else "root"
    route = scope.get("route")
    if route is None or isinstance(route, Mount):
        return service, UNMATCHED_ROUTE  # no route, or a service app that matched none of its own
    names = {str(value): name for name, value in (scope.get("path_params") or {}).items()}
    segments = [f"{{{names[segment]}}}" if segment in names else segment for segment in path.split("/")]
    return service, "/".join(segments)


class MetricsMiddleware:
    """Counts every answer and its time by route template (set by the router once a route matched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            service, route = _service_and_route(scope)
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(service, route, method, str(status)).inc()
            HTTP_LATENCY.labels(service, route, method).observe(time.perf_counter() - started)
