"""Prometheus metrics as an operator scrapes them: GET /metrics on the APIs, the metrics port of the
processes without HTTP, labels that are route templates (never ids or personal data), the outbox
gauges read from the database, and counts that move with the work done."""

from __future__ import annotations

import re
import urllib.request

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from eigenregie import initial_data
from shared.metrics import serve_metrics
from shared.uow import UnitOfWork
from tests.support.auth import auth
from tests.support.environment import free_port
from tests.support.events import emit_of
from tests.support.runtime import drain
from tests.support.world import make_case, migrated_app

KM, FIN = auth("case_manager", "0014"), auth("finance", "0014")


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    runtime, http = migrated_app(request, tmp_path_factory.mktemp("metrics"))
    with http:
        case = make_case(http, runtime, "0014", 71)
        yield runtime, http, case


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_answer_in_the_prometheus_text_format(world):
    _, http, _ = world
    r = http.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(r.text)}
    assert {
        "prb_http_requests",
        "prb_http_request_duration_seconds",
        "prb_outbox_backlog",
        "prb_events_consumed",
    } <= names


def test_requests_are_counted_by_route_template_not_by_path(world):
    _, http, case = world
    labels = {"service": "intake", "route": "/intake/v1/plans/{plan_id}", "method": "GET", "status": "200"}
    before = _value("prb_http_requests_total", **labels)
    for _ in range(3):
        assert http.get(f"/intake/v1/plans/{case.plan_id}", headers=KM).status_code == 200
    assert _value("prb_http_requests_total", **labels) == before + 3
    text = http.get("/metrics").text
    assert case.plan_id not in text and case.client_id not in text  # no id ever becomes a label


def test_a_path_no_route_knows_is_one_label_whatever_the_path(world):
    _, http, _ = world
    before = _value("prb_http_requests_total", service="intake", route="unmatched", method="GET", status="404")
    http.get("/intake/v1/no-such-thing/123456789", headers=KM)
    http.get("/intake/v1/another/999999999", headers=KM)
    after = _value("prb_http_requests_total", service="intake", route="unmatched", method="GET", status="404")
    assert after == before + 2
    assert "123456789" not in http.get("/metrics").text


def test_no_personal_data_in_the_metrics(world):
    _, http, _ = world
    text = http.get("/metrics").text
    labels = {
        value for family in text_string_to_metric_families(text) for s in family.samples for value in s.labels.values()
    }
    assert not any(re.search(r"\d{9}", value) for value in labels)  # no BSN-shaped number in any label
    assert initial_data.test_bsn(71) not in text and "Client 71" not in text


def test_the_outbox_gauges_show_what_waits_for_the_relay_and_clear_when_it_went(world):
    runtime, http, case = world
    drain(runtime)
    waiting = _samples(http.get("/metrics").text)
    assert waiting[("prb_outbox_backlog", (("service", "budget"),))] == 0
    data = {
        "budget_id": case.budget_id,
        "plan_id": case.plan_id,
        "client_id": case.client_id,
        "percent": 80,
        "used_cents": 80000,
        "granted_cents": 100000,
    }
    with UnitOfWork(runtime.engine, "budget") as uow:
        event = emit_of(uow, "BudgetThresholdReached", payload=data, tenant="0014", subject=case.budget_id)
        uow.commit()
    samples = _samples(http.get("/metrics").text)
    assert samples[("prb_outbox_backlog", (("service", "budget"),))] == 1
    assert samples[("prb_outbox_oldest_age_seconds", (("service", "budget"),))] >= 0
    handled = {"service": "notifications", "event_type": event.type, "outcome": "handled"}
    handled_before = _value("prb_events_consumed_total", **handled)
    published_before = _value("prb_events_published_total", service="budget", event_type=event.type)
    drain(runtime)
    samples = _samples(http.get("/metrics").text)
    assert samples[("prb_outbox_backlog", (("service", "budget"),))] == 0
    assert _value("prb_events_published_total", service="budget", event_type=event.type) == published_before + 1
    assert _value("prb_events_consumed_total", **handled) == handled_before + 1


def test_a_process_without_http_serves_its_metrics_on_its_own_port():
    port = free_port()
    serve_metrics(port, host="127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    assert "prb_events_consumed" in text and "process_cpu_seconds_total" in text


def test_with_a_metrics_port_the_api_port_has_no_metrics(tmp_path):
    """deploy/ sets PRB_METRICS_PORT: the ingress routes "/" to an API, so its own port must not answer."""
    from shared.config import Settings
    from tests.support.runtime import migrated_runtime
    from tests.support.world import api_client

    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test", metrics_port=free_port()))
    with api_client(runtime) as http:
        assert http.get("/metrics").status_code == 404
        assert http.get("/healthz").status_code == 200
