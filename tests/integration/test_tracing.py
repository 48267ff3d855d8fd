"""OpenTelemetry traces in one process (embedded, SQLite), read from the SDK's in-memory exporter
behind the same allow-list the OTLP exporter gets: a request, the event it emits, its publication
and its handling are one trace; nothing personal reaches a span; off, there is nothing at all."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.routing import Mount

from eigenregie import initial_data
from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
from shared import tracing
from shared.bus.consumer import Outcome, consume
from shared.bus.tables import bus_tables
from shared.config import Settings
from shared.events import parse_envelope
from shared.logging import configure_logging
from tests.support.auth import auth
from tests.support.events import event_of
from tests.support.runtime import drain
from tests.support.world import ASSESSMENTS, migrated_app

KM = auth("case_manager", "0014")
BSN = initial_data.test_bsn(83)
NAME = "Fenna Tracering"


@pytest.fixture
def exporter():
    spans = InMemorySpanExporter()
    tracing.configure(Settings(environment="test"), process="embedded", exporter=spans, batch=False)
    yield spans
    tracing.shutdown()


@pytest.fixture
def world(request, tmp_path, exporter):
    runtime, http = migrated_app(request, tmp_path)  # built with tracing on: its apps make server spans
    with http:
        yield runtime, http


def _register_and_submit(http) -> tuple[str, str]:
    r = http.post("/intake/v1/clients", headers=KM, json={"bsn": BSN, "client_number": "K83", "name": NAME,
                                                       "facts": ELIGIBLE_FACTS})
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    r = http.post("/intake/v1/plans", headers=KM, json={"client_id": client_id, **example_plan(
        "Plan", [("Coaching", "coaching", "Coach BV", "1000.00")])})
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]
    r = http.post(f"/intake/v1/plans/{plan_id}/submit", headers=KM, json={"plan_version": 1})
    assert r.status_code == 200, r.text
    return client_id, plan_id


def _approve(http, plan_id: str) -> None:
    version = http.get(f"/intake/v1/plans/{plan_id}", headers=KM).json()["version"]
    r = http.post(f"/intake/v1/plans/{plan_id}/decisions", headers=KM, json={
        "plan_version": version, "kind": "approve", "assessments": ASSESSMENTS})
    assert r.status_code == 200, r.text


def _envelopes(runtime, service: str, event_type: str) -> list[str]:
    outbox = bus_tables(service).outbox
    with runtime.engine.connect() as conn:
        return list(conn.execute(sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type)).scalars())


def _one(spans, name: str, **attributes):
    found = [s for s in spans if s.name == name and all(s.attributes.get(k) == v for k, v in attributes.items())]
    assert len(found) == 1, (name, attributes, [(s.name, dict(s.attributes)) for s in spans])
    return found[0]


def test_a_request_the_event_it_emits_its_publication_and_its_handlers_are_one_trace(world, exporter):
    runtime, http = world
    _, plan_id = _register_and_submit(http)
    drain(runtime)
    exporter.clear()

    _approve(http, plan_id)
    drain(runtime)  # PlanApproved to budget, monitoring, notifications; budget's BudgetOpened to monitoring
    spans = exporter.get_finished_spans()

    request = _one(spans, "POST /intake/v1/plans/{plan_id}/decisions")
    assert request.kind == SpanKind.SERVER
    assert request.attributes["http.route"] == "/intake/v1/plans/{plan_id}/decisions"
    assert request.attributes["http.response.status_code"] == 200
    publish = _one(spans, "publish PlanApproved")
    assert publish.kind == SpanKind.PRODUCER
    assert set(publish.attributes["prb.subscribers"]) == {"budget", "monitoring", "notifications"}
    handled = {s.attributes["prb.service"]: s for s in spans if s.name == "process PlanApproved"}
    assert set(handled) == {"budget", "monitoring", "notifications"}
    assert all(s.kind == SpanKind.CONSUMER and s.attributes["prb.outcome"] == "handled" for s in handled.values())
    opened = _one(spans, "process BudgetOpened", **{"prb.service": "monitoring"})

    # One trace id end to end; the relay's span and each handler's are children of the request's span,
    # and the event budget's handler emitted continues from the handler's span.
    trace_id = request.context.trace_id
    assert {s.context.trace_id for s in [publish, *handled.values(), opened]} == {trace_id}
    assert publish.parent.span_id == request.context.span_id
    assert {s.parent.span_id for s in handled.values()} == {request.context.span_id}
    budget_span = handled["budget"].context.span_id
    assert opened.parent.span_id == _one(spans, "publish BudgetOpened").parent.span_id == budget_span

    # The envelope in the outbox carries the request span's W3C traceparent.
    (approved,) = _envelopes(runtime, "intake", "PlanApproved")
    traceparent = parse_envelope(approved).trace_context.traceparent
    version, trace_hex, span_hex, flags = traceparent.split("-")
    assert (version, trace_hex, span_hex) == ("00", f"{trace_id:032x}", f"{request.context.span_id:016x}")
    assert int(flags, 16) & 1  # sampled


def _every_text(span) -> str:
    parts = [span.name, json.dumps(dict(span.attributes), default=str), str(span.status.description)]
    for event in span.events:
        parts += [event.name, json.dumps(dict(event.attributes or {}), default=str)]
    parts += [json.dumps(dict(link.attributes or {}), default=str) for link in span.links]
    return " ".join(parts)


def test_no_bsn_name_or_id_in_a_path_reaches_a_span(world, exporter):
    runtime, http = world
    client_id, plan_id = _register_and_submit(http)
    assert http.get(f"/intake/v1/clients/{client_id}", headers=KM).status_code == 200
    assert http.post("/intake/v1/clients/search", headers=KM, json={"bsn": BSN}).status_code == 200
    # Refused input is quoted in FastAPI's validation errors; a query string holds what a caller typed.
    assert http.post("/intake/v1/clients", headers=KM, json={"bsn": BSN, "name": NAME}).status_code == 422
    http.get(f"/intake/v1/clients?bsn={BSN}&name={NAME}", headers=KM)
    http.get(f"/intake/v1/no-such-route/{BSN}", headers=KM)
    drain(runtime)
    spans = exporter.get_finished_spans()
    assert len([s for s in spans if s.kind == SpanKind.SERVER]) >= 7

    for span in spans:
        text = _every_text(span)
        assert BSN not in text and NAME not in text and "Fenna" not in text, text
        assert client_id not in text and plan_id not in text, text  # route templates, never paths
        assert "url.path" not in span.attributes and "url.query" not in span.attributes
    read = _one(spans, "GET /intake/v1/clients/{client_id}")
    assert read.attributes["http.route"] == "/intake/v1/clients/{client_id}"
    # A path no route knows is named by the mount it fell in, not by the path it asked for.
    unknown = _one(spans, "GET /intake/{path}")
    assert unknown.attributes["http.response.status_code"] == 404


def test_a_handler_failing_with_personal_data_in_its_message_shows_only_the_error_type(world, exporter):
    runtime, _ = world
    envelope = event_of("PlanRejected", tenant="0014", subject="plan-1", producer="intake", correlation_id="c-1",
                        payload={"plan_id": "plan-1", "client_id": "client-1", "plan_version": 2})
    payload_class = type(envelope.typed_payload())

    def fails(_uow, _payload, _envelope):
        raise ValueError(f"client {NAME} with BSN {BSN} not found")

    outcome = consume(runtime.engine, "notifications", envelope.model_dump_json(), {payload_class: fails},
                      attempt=5, max_attempts=5)
    assert outcome is Outcome.DEAD_LETTERED
    span = _one(exporter.get_finished_spans(), "process PlanRejected")
    assert span.status.status_code == StatusCode.ERROR and span.status.description is None
    assert span.attributes["error.type"] == "ValueError"
    assert span.attributes["prb.outcome"] == "dead_lettered" and span.attributes["prb.attempt"] == 5
    assert BSN not in _every_text(span) and NAME not in _every_text(span)


def test_log_lines_written_while_handling_carry_the_trace_and_span_ids(world, exporter, capsys):
    runtime, http = world
    configure_logging("DEBUG", json=True)  # each event's own line is at DEBUG
    _, plan_id = _register_and_submit(http)
    capsys.readouterr()
    drain(runtime)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    handled = [line for line in lines if line.get("event") == "event.handled"]
    assert handled
    spans = {f"{s.context.span_id:016x}": s for s in exporter.get_finished_spans()}
    for line in handled:
        span = spans[line["span_id"]]
        assert span.name == f"process {line['event_type']}" and line["trace_id"] == f"{span.context.trace_id:032x}"
        assert line["correlation_id"]  # the correlation id stays


def test_with_tracing_off_there_are_no_spans_and_envelopes_are_as_before(request, tmp_path, capsys):
    # Off, as by default: no PRB_OTLP_ENDPOINT, so no provider.
    assert tracing.configure(Settings(environment="test"), process="api") is None and not tracing.enabled()
    runtime, http = migrated_app(request, tmp_path)
    apps = [http.app, *(r.app for r in http.app.routes if isinstance(r, Mount) and isinstance(r.app, FastAPI))]
    assert len(apps) == 5 and not any(app._native_telemetry.enabled() for app in apps)  # no server span anywhere
    configure_logging("DEBUG", json=True)  # each event's own line is at DEBUG
    with http:
        _register_and_submit(http)
        drain(runtime)
    (submitted,) = _envelopes(runtime, "intake", "PlanSubmitted")
    assert "trace_context" not in json.loads(submitted)  # what a consumer of an older release reads
    assert parse_envelope(submitted).trace_context is None
    lines = capsys.readouterr().err.splitlines()
    assert any('"event.handled"' in line for line in lines)
    assert not any("trace_id" in line or "span_id" in line for line in lines)
