"""A worker's own log lines (events.consumed, event.handled at DEBUG, handler_failed, ...) reach its output as JSON."""

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


def _publish_one(settings: Settings, plan_id: str):
    event = event_of("PlanRejected", tenant="0014", subject=plan_id, producer="intake", correlation_id="c-log",
                      payload={"plan_id": plan_id, "client_id": "client-1", "plan_version": 2})
    CeleryPublisher(make_celery(settings)).publish("notifications", "PlanRejected", event.model_dump_json())
    return event


def _worker_log(fresh_pg_url, redis_url, tmp_path, **env) -> tuple[list[dict], object]:
    settings = Settings(database_url=fresh_pg_url, broker_url=redis_url, environment="test")
    runtime = migrated_runtime(settings)
    procs = Processes({"DATABASE_URL": fresh_pg_url, "BROKER_URL": redis_url, "PRB_ENVIRONMENT": "test",
                       "PRB_DATA_DIR": str(tmp_path / "data"), **env}, tmp_path)
    procs.start("worker", "worker", "notifications", "--concurrency", "1")
    try:
        event = _publish_one(settings, "plan-1")
        eventually(lambda: [e for e in _log_events(tmp_path / "worker.log") if e.get("event") == "events.consumed"],
                   timeout=30, what="the worker's events.consumed line")
    finally:
        procs.stop()
        runtime.engine.dispose()
    return _log_events(tmp_path / "worker.log"), event


def test_a_worker_at_info_sums_up_what_it_handled_instead_of_a_line_per_event(fresh_pg_url, redis_url, tmp_path):
    lines, event = _worker_log(fresh_pg_url, redis_url, tmp_path, PRB_LOG_CONSUMED_EVERY_SECONDS="0")
    (summary,) = [e for e in lines if e.get("event") == "events.consumed"]
    assert summary["service"] == "notifications" and summary["handled"] == 1 and summary["level"] == "info"
    assert not [e for e in lines if e.get("event") == "event.handled"]


def test_a_worker_at_debug_logs_each_event_it_handles_as_one_json_line(fresh_pg_url, redis_url, tmp_path):
    lines, event = _worker_log(fresh_pg_url, redis_url, tmp_path, PRB_LOG_LEVEL="DEBUG",
                               PRB_LOG_CONSUMED_EVERY_SECONDS="0")
    handled = [e for e in lines if e.get("event") == "event.handled"]
    assert handled[0]["event_id"] == str(event.event_id) and handled[0]["service"] == "notifications"
