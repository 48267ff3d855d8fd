#!/usr/bin/env python
"""What tracing costs per event: emit in a request-like span, commit, relay, handle, with tracing
off, on with spans dropped after the allow-list, and on exporting OTLP/HTTP to a receiver in
another process.

    .venv/bin/python bench/tracing.py [--events 2000] [--rounds 3]

In one process on SQLite (embedded mode's in-process bus): per event one UnitOfWork commits a
`PlanRejected` into intake's outbox, then the relay hands every event to a no-op handler of
notifications (inbox row and commit, as any handler). With tracing on each event is emitted inside
a span standing in for the request's, so it carries a traceparent and makes a publish and a handling
span: three spans per event, all exported. CPU time is the process's (every thread, the exporter's
too), the median of the rounds; the modes take turns so that a disturbance hits all of them.

Not a test: nothing here runs under pytest. Results: docs/operations.md, "Traces".
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from contracts.events import PlanRejectedV1
from shared import tracing
from shared.bus.embedded import InProcessPublisher
from shared.bus.relay import OutboxRelay
from shared.config import Settings
from shared.logging import configure_logging
from shared.uow import UnitOfWork
from tests.support.runtime import migrated_runtime


class Discard(SpanExporter):
    def export(self, spans):  # type: ignore[no-untyped-def]
        return SpanExportResult.SUCCESS


def _receive(port: int) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


def run(mode: str, events: int, receiver_url: str) -> tuple[float, float]:
    """CPU and wall milliseconds per event."""
    # On tmpfs where there is one: the fsync of SQLite's commits would drown what is measured.
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="prb-bench-tracing-", dir=shm if shm.is_dir() else None))
    settings = Settings(data_dir=folder, environment="test", otlp_endpoint=receiver_url if mode == "otlp" else None)
    tracing.shutdown()
    if mode == "on":
        tracing.configure(settings, process="bench", exporter=Discard())
    elif mode == "otlp":
        tracing.configure(settings, process="bench")
    runtime = migrated_runtime(settings)
    publisher = InProcessPublisher(runtime.engine, {"notifications": {PlanRejectedV1: lambda uow, p, e: None}})
    relay = OutboxRelay(runtime.engine, ["intake"], publisher, batch_size=500)
    tracer = tracing._state.tracer
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(events):
        payload = PlanRejectedV1(plan_id=f"plan-{n}", client_id=f"client-{n}", plan_version=2)
        if tracer is not None:
            with (
                tracer.start_as_current_span("POST /intake/v1/plans/{plan_id}/decisions"),
                UnitOfWork(runtime.engine, "intake") as uow,
            ):
                uow.emit(payload, tenant="0014", subject=f"plan-{n}")
                uow.commit()
        else:
            with UnitOfWork(runtime.engine, "intake") as uow:
                uow.emit(payload, tenant="0014", subject=f"plan-{n}")
                uow.commit()
    while relay.run_once():
        pass
    tracing.force_flush()  # the export of the last batch counts too
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    tracing.shutdown()
    runtime.engine.dispose()
    return cpu * 1000 / events, wall * 1000 / events


def hooks(mode: str, events: int) -> float:
    """CPU microseconds per event of the tracing code alone (what emit, the relay and the consumer
    call): the traceparent for the envelope, a publish span, a handling span around nothing."""
    from shared.events import Envelope

    tracing.shutdown()
    if mode == "on":
        tracing.configure(Settings(environment="test"), process="bench", exporter=Discard())
    tracer = tracing._state.tracer
    cpu = time.process_time()
    for n in range(events):
        if tracer is not None:
            with tracer.start_as_current_span("request"):
                context = tracing.current_trace_context()
        else:
            context = tracing.current_trace_context()
        envelope = Envelope(type="PlanRejected", version=1, tenant="0014", subject=f"p{n}", correlation_id="c",
                            producer="intake", payload={}, trace_context=context)
        text = envelope.model_dump_json()
        tracing.end_spans([tracing.start_publish("intake", "PlanRejected", text, ("notifications",))])
        with tracing.handling("notifications", envelope) as span:
            span.set_attribute("prb.outcome", "handled")
    tracing.force_flush()
    cpu = time.process_time() - cpu
    tracing.shutdown()
    return cpu * 1e6 / events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    configure_logging("WARNING")  # an INFO line per handled event would be most of the cost
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    receiver = mp.Process(target=_receive, args=(port,), daemon=True)
    receiver.start()
    modes = ("off", "on", "otlp")
    results: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    run("off", 200, f"http://127.0.0.1:{port}")  # warm-up: imports, template database
    for _ in range(args.rounds):
        for mode in modes:
            results[mode].append(run(mode, args.events, f"http://127.0.0.1:{port}"))
    receiver.terminate()
    own = {mode: statistics.median(hooks(mode, args.events * 5) for _ in range(args.rounds)) for mode in ("off", "on")}
    print(f"tracing code alone, per event: off {own['off']:.1f} us cpu, on {own['on']:.1f} us cpu "
          f"(the envelope built and serialised in both)")
    base = statistics.median(cpu for cpu, _ in results["off"])
    print(f"{args.events} events x {args.rounds} rounds, median per event (SQLite, in-process bus)")
    labels = {"off": "tracing off", "on": "on, spans dropped", "otlp": "on, OTLP/HTTP export"}
    for mode in modes:
        cpu = statistics.median(c for c, _ in results[mode])
        wall = statistics.median(w for _, w in results[mode])
        print(f"  {labels[mode]:<22} cpu {cpu:6.3f} ms  wall {wall:6.3f} ms  (+{cpu - base:.3f} ms cpu vs off)")


if __name__ == "__main__":
    main()
