"""One trace across processes: an API, the relay and a worker on PostgreSQL + Redis, each exporting
OTLP/HTTP to a small receiver started here (the protobuf decoded with opentelemetry-proto)."""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
from eigenregie.initial_data import test_bsn as bsn_of
from tests.support.auth import auth
from tests.support.environment import free_port
from tests.support.journey import eventually
from tests.support.processes import Processes

BSN = bsn_of(84)
NAME = "Jelle Spoorzoeker"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


class Receiver:
    """An OTLP/HTTP traces endpoint: keeps every span with its process's service.name, and the raw bodies."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, Span]] = []
        self.bodies: list[bytes] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    names = [a.value.string_value for a in resource_spans.resource.attributes
                             if a.key == "service.name"]
                    for scope_spans in resource_spans.scope_spans:
                        receiver.spans += [(names[0], span) for span in scope_spans.spans]
                receiver.bodies.append(body)
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def find(self, name: str) -> list[tuple[str, Span]]:
        return [(process, span) for process, span in self.spans if span.name == name]


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.server.shutdown()


def test_a_request_its_publication_and_its_handling_in_three_processes_are_one_trace(
    fresh_pg_url, redis_url, tmp_path, receiver
):
    procs = Processes({"DATABASE_URL": fresh_pg_url, "BROKER_URL": redis_url, "PRB_ENVIRONMENT": "test",
                       "PRB_DATA_DIR": str(tmp_path / "data"), "PRB_RELAY_POLL_SECONDS": "0.5",
                       "PRB_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}, tmp_path)
    procs.run("migrate")
    port = free_port()
    procs.start("api-intake", "serve", "intake", "--port", str(port))
    procs.start("worker-notifications", "worker", "notifications", "--concurrency", "1")
    procs.start("relay", "relay", "intake")
    url = f"http://127.0.0.1:{port}"
    km = auth("case_manager", "0014")
    try:
        procs.wait_healthy(url, timeout=90)  # three processes start at once
        with httpx.Client(base_url=url, headers=km, timeout=10) as http:
            r = http.post("/intake/v1/clients", json={"bsn": BSN, "client_number": "K84", "name": NAME,
                                                      "facts": ELIGIBLE_FACTS})
            assert r.status_code == 201, r.text
            client_id = r.json()["id"]
            r = http.post("/intake/v1/plans", json={"client_id": client_id, **example_plan(
                "Plan", [("Coaching", "coaching", "Coach BV", "1000.00")])})
            assert r.status_code == 201, r.text
            plan_id = r.json()["id"]
            # The caller's own trace (W3C traceparent) is continued, not replaced.
            r = http.post(f"/intake/v1/plans/{plan_id}/submit", json={"plan_version": 1},
                          headers={"traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"})
            assert r.status_code == 200, r.text
        eventually(lambda: receiver.find("process PlanSubmitted"), timeout=30, what="the worker's span")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{procs.logs()}") from exc
    finally:
        procs.stop()

    ((api, request),) = receiver.find("POST /intake/v1/plans/{plan_id}/submit")
    ((relay, publish),) = receiver.find("publish PlanSubmitted")
    ((worker, handled),) = receiver.find("process PlanSubmitted")
    assert (api, relay, worker) == ("eigenregie-intake-api", "eigenregie-relay", "eigenregie-notifications-worker")
    assert request.trace_id.hex() == publish.trace_id.hex() == handled.trace_id.hex() == CALLER_TRACE
    assert request.parent_span_id.hex() == "00f067aa0ba902b7"
    assert publish.parent_span_id == handled.parent_span_id == request.span_id
    assert (request.kind, publish.kind, handled.kind) == (Span.SPAN_KIND_SERVER, Span.SPAN_KIND_PRODUCER,
                                                          Span.SPAN_KIND_CONSUMER)
    outcome = {a.key: a.value.string_value for a in handled.attributes}["prb.outcome"]
    assert outcome == "handled"
    # Nothing personal in what left the processes, byte for byte: not the BSN, the name, or an id from a path.
    sent = b"".join(receiver.bodies)
    for secret in (BSN, NAME, client_id, plan_id):
        assert secret.encode() not in sent
