"""OpenTelemetry traces, off by default: one trace from the HTTP request through the outbox and the
broker to the handler, exported over OTLP/HTTP.

On when `PRB_OTLP_ENDPOINT` is set (docs/operations.md, "Traces"). Off, nothing here does more
than look at one module attribute: no provider, no spans, the FastAPI apps' native telemetry
stays disabled and the envelopes are written as before (no `trace_context` key).

- HTTP: FastAPI's native telemetry (`FastAPI(telemetry=...)`, see `fastapi_telemetry`) makes the
  server span, named and labelled by the route template. Its metrics are off (Prometheus does
  that, shared/metrics.py), and so are its logs, which would carry exception messages.
- Events: `UnitOfWork.emit` stores the W3C traceparent of the current span in the envelope
  (`Envelope.trace_context`). The relay's publish span and the consumer's handling span are both
  children of that span: one trace id end to end, and the tree shows which request (or which
  handler) caused which event. A handler's own events carry the handling span, so a chain of
  events stays one trace.
- Personal data never leaves the process in a span: every exported span passes `_sanitized`, an
  allow-list of attribute keys (method, route template, status, messaging words, our own
  `prb.*` keys which never hold personal data); the raw path and query, the Host header, status
  descriptions, exception messages and the incoming `tracestate` are dropped.
- Log lines get `trace_id` and `span_id` (`add_trace_ids`, a structlog processor) while a span
  is current.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from fastapi.telemetry import TelemetryConfig
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from shared.config import Settings
    from shared.events import Envelope

INSTRUMENTATION = "eigenregie"
_PROPAGATOR = TraceContextTextMapPropagator()
_NO_SPAN: Span = NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)

# The attribute keys an exported span may carry: none of them can hold a value a person typed or a
# path with ids in it. Anything else a library sets (url.path, url.query, server.address, ...) is
# dropped before export.
ALLOWED_ATTRIBUTES = frozenset(
    {
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "url.scheme",
        "network.protocol.name",
        "network.protocol.version",
        "error.type",
        "messaging.system",
        "messaging.operation.type",
        "messaging.operation.name",
        "messaging.destination.name",
        "messaging.message.id",
        "messaging.batch.message_count",
        "code.function.name",
    }
)
# Our own attributes: event types, versions, services, municipality codes, outcomes, attempts.
OWN_PREFIX = "prb."
_ALLOWED_EVENT_ATTRIBUTES = frozenset({"exception.type"})


class _State:
    provider: TracerProvider | None = None
    tracer: Tracer | None = None


_state = _State()
_lock = threading.Lock()


def enabled() -> bool:
    return _state.tracer is not None


def tracer_provider() -> TracerProvider | None:
    """The provider of this process, or None when tracing is off."""
    return _state.provider


def traces_endpoint(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL (http://collector:4318 -> .../v1/traces)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def parse_headers(text: str | None) -> dict[str, str]:
    """`key=value,key2=value2` (as OTEL_EXPORTER_OTLP_HEADERS) to a dict."""
    headers: dict[str, str] = {}
    for part in (text or "").split(","):
        if part.strip():
            key, _, value = part.partition("=")
            headers[key.strip()] = value.strip()
    return headers


def configure(
    settings: Settings,
    *,
    process: str,
    service: str | None = None,
    exporter: SpanExporter | None = None,
    batch: bool = True,
) -> TracerProvider | None:
    """Turn tracing on for this process when `settings.otlp_endpoint` is set (or an exporter is
    given, as tests do); else leave it off. `process` is api, worker, relay, beat or embedded; with
    a service it names the resource (service.name `eigenregie-<service>-api`, `eigenregie-relay`)."""
    if exporter is None and not settings.otlp_endpoint:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        assert settings.otlp_endpoint is not None
        exporter = OTLPSpanExporter(
            endpoint=traces_endpoint(settings.otlp_endpoint),
            headers=parse_headers(settings.otlp_headers),
            timeout=settings.otlp_timeout_seconds,
        )
    name = "-".join(part for part in ("eigenregie", service, process) if part)
    resource = Resource.create(
        {
            "service.name": name,
            "service.namespace": "eigenregie",
            "deployment.environment.name": settings.environment,
            "prb.process": process,
            **({"prb.service": service} if service else {}),
        }
    )
    provider = TracerProvider(
        resource=resource,
        sampler=ParentBased(TraceIdRatioBased(settings.tracing_sample_ratio)),
        shutdown_on_exit=True,
    )
    wrapped = cast("SpanExporter", SanitizingExporter(exporter))
    provider.add_span_processor(BatchSpanProcessor(wrapped) if batch else SimpleSpanProcessor(wrapped))
    with _lock:
        previous = _state.provider
        _state.provider, _state.tracer = provider, provider.get_tracer(INSTRUMENTATION)
    if previous is not None:
        previous.shutdown()
    return provider


def shutdown() -> None:
    """Flush what is queued and turn tracing off (tests; a process at exit flushes by itself)."""
    with _lock:
        provider, _state.provider, _state.tracer = _state.provider, None, None
    if provider is not None:
        provider.shutdown()


def force_flush() -> None:
    if _state.provider is not None:
        _state.provider.force_flush()


def fastapi_telemetry() -> TelemetryConfig:
    """The `telemetry=` of every FastAPI app: server spans on this process's provider while tracing
    is on, nothing at all while it is off (not even a global provider another library set)."""
    provider = _state.provider
    return {
        "tracer_provider": provider,
        "tracing": provider is not None,
        "metrics": False,  # Prometheus counts requests (shared/metrics.py)
        "logs": False,  # its records carry exception messages and validation input
        "operation_spans": False,  # a span per dependency and serialization: cost, little news
        "auto_configure": False,  # exporters come from PRB_OTLP_ENDPOINT, nowhere else
    }


# --- the trace context in the event envelope ---------------------------------------------------


def current_trace_context() -> dict[str, str] | None:
    """The current span as a W3C traceparent ({"traceparent": ...}) for an envelope, or None when
    tracing is off or no span is current. Only the traceparent: a tracestate may come from any
    caller's request header and would ride along in every event."""
    if _state.tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return {"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"}


def _parent(trace_context: Mapping[str, str] | None) -> Context | None:
    if not trace_context:
        return None
    return _PROPAGATOR.extract({"traceparent": trace_context["traceparent"]})


def _trace_context_in(envelope_json: str) -> Mapping[str, str] | None:
    try:
        value = json.loads(envelope_json).get("trace_context")
    except (ValueError, AttributeError):
        return None
    if isinstance(value, dict) and isinstance(value.get("traceparent"), str):
        return value
    return None


# --- spans of the bus --------------------------------------------------------------------------


def start_publish(service: str, event_type: str, envelope_json: str, targets: Sequence[str]) -> Span | None:
    """The relay's span for one outbox row going to its subscribers (None when tracing is off)."""
    tracer = _state.tracer
    if tracer is None:
        return None
    return tracer.start_span(
        f"publish {event_type}",
        context=_parent(_trace_context_in(envelope_json)),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "prb",
            "messaging.operation.type": "send",
            "messaging.operation.name": "publish",
            "prb.service": service,
            "prb.event_type": event_type,
            "prb.subscribers": list(targets),
        },
    )


def end_spans(spans: Sequence[Span | None], error: BaseException | None = None) -> None:
    for span in spans:
        if span is not None:
            if error is not None:
                failed(span, error)
            span.end()


@contextmanager
def handling(service: str, envelope: Envelope) -> Iterator[Span]:
    """The consumer's span around one delivery, current while the handler runs (its events carry
    it); a child of the span that emitted the event."""
    tracer = _state.tracer
    if tracer is None:
        yield _NO_SPAN
        return
    with tracer.start_as_current_span(
        f"process {envelope.type}",
        context=_parent(envelope.trace_context.model_dump() if envelope.trace_context else None),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "prb",
            "messaging.operation.type": "process",
            "messaging.destination.name": service,
            "messaging.message.id": str(envelope.event_id),
            "prb.service": service,
            "prb.event_type": envelope.type,
            "prb.event_version": envelope.version,
            "prb.tenant": envelope.tenant,
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


@contextmanager
def job(service: str, name: str) -> Iterator[Span]:
    """A scheduled job's span: the root of the trace its events start."""
    tracer = _state.tracer
    if tracer is None:
        yield _NO_SPAN
        return
    with tracer.start_as_current_span(
        f"job {name}",
        kind=SpanKind.INTERNAL,
        attributes={"prb.service": service, "prb.job": name},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except Exception as exc:
            failed(span, exc)
            raise


def failed(span: Span, error: BaseException) -> None:
    """Mark a span failed by the error's type only: a message may quote personal data."""
    span.set_attribute("error.type", type(error).__qualname__)
    span.set_status(Status(StatusCode.ERROR))


# --- logs --------------------------------------------------------------------------------------


def add_trace_ids(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: trace_id and span_id on a line written while a span is current."""
    if _state.tracer is not None:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event_dict.setdefault("trace_id", f"{context.trace_id:032x}")
            event_dict.setdefault("span_id", f"{context.span_id:016x}")
    return event_dict


# --- export: the allow-list --------------------------------------------------------------------


def _allowed(key: str) -> bool:
    return key in ALLOWED_ATTRIBUTES or key.startswith(OWN_PREFIX)


def _sanitized(span: ReadableSpan) -> ReadableSpan:
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import Link, SpanContext, TraceState

    def plain(context: SpanContext | None) -> SpanContext | None:
        if context is None:
            return None
        return SpanContext(context.trace_id, context.span_id, context.is_remote, context.trace_flags, TraceState())

    return ReadableSpan(
        name=span.name,
        context=plain(span.context),
        parent=plain(span.parent),
        resource=span.resource,
        attributes={k: v for k, v in (span.attributes or {}).items() if _allowed(k)},
        events=[
            Event(
                event.name,
                {k: v for k, v in (event.attributes or {}).items() if k in _ALLOWED_EVENT_ATTRIBUTES},
                event.timestamp,
            )
            for event in span.events
        ],
        links=[Link(plain(link.context)) for link in span.links if link.context is not None],  # type: ignore[arg-type]
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class SanitizingExporter:
    """Wraps the real exporter (OTLP, or the tests' in-memory one): only allowed keys go out."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> Any:
        return self.inner.export([_sanitized(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
