"""The trace context in the envelope (compatible both ways) and the allow-list every exported span
passes (shared/tracing.py), without I/O."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from pydantic import ValidationError

from shared.config import Settings
from shared.events import parse_envelope
from shared.tracing import _sanitized, parse_headers, traces_endpoint
from tests.support.events import event_of

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _envelope(**extra):
    env = event_of("PlanRejected", tenant="0014", subject="plan-1", producer="intake", correlation_id="c-1",
                    payload={"plan_id": "plan-1", "client_id": "client-1", "plan_version": 2})
    return {**json.loads(env.model_dump_json()), **extra}


def test_an_envelope_without_a_trace_context_is_written_without_the_key():
    data = _envelope()
    assert "trace_context" not in data
    assert parse_envelope(data).trace_context is None


def test_an_envelope_carries_the_traceparent_it_was_given():
    env = parse_envelope(_envelope(trace_context={"traceparent": TRACEPARENT}))
    assert env.trace_context is not None and env.trace_context.traceparent == TRACEPARENT
    assert json.loads(env.model_dump_json())["trace_context"] == {"traceparent": TRACEPARENT}


def test_a_key_a_later_release_adds_inside_the_trace_context_is_dropped_not_refused():
    env = parse_envelope(_envelope(trace_context={"traceparent": TRACEPARENT, "sampled_by": "edge"}))
    assert env.trace_context is not None and env.trace_context.model_dump() == {"traceparent": TRACEPARENT}


@pytest.mark.parametrize("traceparent", ["", "999900017", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71-01",
                                         f"{TRACEPARENT} Fenna", TRACEPARENT.upper()])
def test_a_trace_context_that_is_no_w3c_traceparent_is_refused(traceparent):
    with pytest.raises(ValidationError):
        parse_envelope(_envelope(trace_context={"traceparent": traceparent}))


def test_an_unknown_top_level_field_is_still_refused():
    with pytest.raises(ValidationError):
        parse_envelope(_envelope(tracestate="bsn=999900017"))


def _context(span_id: int, state: TraceState | None = None) -> SpanContext:
    return SpanContext(0x0AF7651916CD43DD8448EB211C80319C, span_id, is_remote=False,
                       trace_flags=TraceFlags(TraceFlags.SAMPLED), trace_state=state)


def test_only_allowed_attributes_and_no_messages_or_tracestate_leave_the_process():
    span = ReadableSpan(
        name="POST /intake/v1/clients",
        context=_context(1, TraceState([("vendor", "bsn-999900017")])),
        parent=_context(2, TraceState([("other", "Fenna")])),
        resource=Resource.create({"service.name": "eigenregie-api"}),
        attributes={"http.route": "/intake/v1/clients", "http.response.status_code": 500,
                    "url.path": "/intake/v1/clients/999900017", "url.query": "name=Fenna",
                    "server.address": "gemeente.example", "prb.event_type": "PlanApproved",
                    "enduser.id": "999900017"},
        events=[Event("exception", {"exception.type": "ValueError", "exception.message": "BSN 999900017",
                                    "exception.stacktrace": "Fenna"}, 5)],
        links=[Link(_context(3), {"reason": "Fenna"})],
        kind=SpanKind.SERVER,
        status=Status(StatusCode.ERROR, "client Fenna 999900017"),
        start_time=1, end_time=9,
    )
    out = _sanitized(span)
    assert dict(out.attributes) == {"http.route": "/intake/v1/clients", "http.response.status_code": 500,
                                    "prb.event_type": "PlanApproved"}
    assert [(e.name, dict(e.attributes)) for e in out.events] == [("exception", {"exception.type": "ValueError"})]
    assert out.status.status_code == StatusCode.ERROR and out.status.description is None
    assert len(out.context.trace_state) == 0 and len(out.parent.trace_state) == 0
    assert [dict(link.attributes or {}) for link in out.links] == [{}]
    assert (out.context.span_id, out.parent.span_id, out.kind, out.start_time, out.end_time) == (
        1, 2, SpanKind.SERVER, 1, 9)


def test_the_endpoint_setting_is_a_collector_url_and_tracing_is_off_without_it():
    assert Settings().otlp_endpoint is None
    assert traces_endpoint("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert traces_endpoint("https://otlp.example/v1/traces") == "https://otlp.example/v1/traces"
    assert parse_headers("api-key=abc, x-tenant = prb") == {"api-key": "abc", "x-tenant": "prb"}
    with pytest.raises(ValidationError):
        Settings(otlp_endpoint="collector:4318")
    with pytest.raises(ValidationError):
        Settings(tracing_sample_ratio=1.5)
