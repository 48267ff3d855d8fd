"""A worker's own log lines (event.handled, handler_failed, ...) reach its output as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from shared.bus.celery_app import CeleryPublisher, make_celery
from shared.config import Settings
from tests.support.events import event_of
from tests.support.journey import eventually
from tests.support.processes import Processes
from tests.support.runtime import migrated_runtime


def _log_events(path: Path) -> list[dict]:
    events = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return events


def test_a_worker_logs_each_event_it_handles_as_one_json_line(fresh_pg_url, redis_url, tmp_path):
    settings = Settings(database_url=fresh_pg_url, broker_url=redis_url, environment="test")
    runtime = migrated_runtime(settings)
    procs = Processes({"DATABASE_URL": fresh_pg_url, "BROKER_URL": redis_url, "PRB_ENVIRONMENT": "test",
                       "PRB_DATA_DIR": str(tmp_path / "data")}, tmp_path)
    procs.start("worker", "worker", "notifications", "--concurrency", "1")
    try:
        event = event_of("PlanRejected", tenant="0014", subject="plan-1", producer="intake", correlation_id="c-log",
                          payload={"plan_id": "plan-1", "client_id": "client-1", "plan_version": 2})
        CeleryPublisher(make_celery(settings)).publish("notifications", "PlanRejected", event.model_dump_json())
        handled = eventually(lambda: [e for e in _log_events(tmp_path / "worker.log")
                                      if e.get("event") == "event.handled"], timeout=30,
                             what="the worker's event.handled line")
    finally:
        procs.stop()
        runtime.engine.dispose()
    assert handled[0]["event_id"] == str(event.event_id) and handled[0]["service"] == "notifications"
