"""Readiness and the `prb health` probes: they say "not ready" while a dependency is unreachable
or events wait too long for the relay, and say why in one line."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from fastapi.testclient import TestClient

from eigenregie.bootstrap import build_runtime
from eigenregie.entrypoints.web import create_app
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.support.environment import REPO, free_port
from tests.support.journey import eventually
from tests.support.processes import Processes
from tests.support.runtime import migrated_runtime


def _old_unpublished_event(runtime, seconds: float) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(sa.insert(bus_tables("intake").outbox).values(
            event_id=str(uuid.uuid4()), event_type="PlanRejected", envelope="{}",
            created_at=datetime.now(timezone.utc) - timedelta(seconds=seconds)))


def _readyz(runtime) -> tuple[int, dict]:
    with TestClient(create_app(runtime, embedded=False)) as http:
        response = http.get("/readyz")
    return response.status_code, response.json()


def test_readyz_is_not_ready_while_the_oldest_unpublished_event_is_older_than_the_threshold(tmp_path):
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test", ready_outbox_max_age_seconds=60))
    _old_unpublished_event(runtime, 5)
    assert _readyz(runtime) == (200, {"status": "ready", "checks": {"database": "ok", "outbox": "ok"}})
    _old_unpublished_event(runtime, 90)
    status, body = _readyz(runtime)
    assert status == 503 and body["status"] == "not ready"
    assert body["checks"]["outbox"].startswith("failing: oldest unpublished event older than 60 s (intake 9")


def test_readyz_is_not_ready_while_the_broker_or_the_database_is_unreachable(fresh_pg_url):
    dead_broker = Settings(database_url=fresh_pg_url, broker_url="redis://127.0.0.1:1/0", environment="test")
    status, body = _readyz(migrated_runtime(dead_broker))
    assert status == 503 and body["checks"]["broker"].startswith("failing") and body["checks"]["database"] == "ok"

    dead_db = build_runtime(Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:1/x",
                               broker_url="redis://127.0.0.1:1/0", environment="test"))
    status, body = _readyz(dead_db)
    assert status == 503 and body["checks"]["database"].startswith("failing")


def _health(env: dict[str, str], *args: str) -> tuple[int, str]:
    import os

    done = subprocess.run([sys.executable, "-m", "eigenregie.entrypoints.cli", "health", *args], cwd=REPO,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.strip()


def test_prb_health_probes_relay_beat_worker_and_api(fresh_pg_url, redis_url, tmp_path):
    env = {"DATABASE_URL": fresh_pg_url, "BROKER_URL": redis_url, "PRB_ENVIRONMENT": "test",
           "PRB_DATA_DIR": str(tmp_path / "data"), "PRB_HEARTBEAT_MAX_AGE_SECONDS": "10"}
    procs = Processes(env, tmp_path)
    procs.run("migrate")
    rc, line = _health(env, "relay")
    assert rc == 1 and "no heartbeat" in line
    port = free_port()
    try:
        procs.start("relay", "relay")
        procs.start("beat", "beat")
        procs.start("worker", "worker", "notifications", "--concurrency", "1")
        procs.start("api", "serve", "intake", "--port", str(port))
        procs.wait_healthy(f"http://127.0.0.1:{port}")
        for component in (["relay"], ["beat"], ["worker", "notifications"]):
            result = eventually(lambda c=component: (r := _health(env, *c))[0] == 0 and r, timeout=40,
                                what=f"prb health {' '.join(component)}")
            assert result[1].startswith(component[0]) and "ok" in result[1]
        assert _health(env, "api", "--url", f"http://127.0.0.1:{port}") == (0, f"api http://127.0.0.1:{port}: ready")
        rc, line = _health(env, "worker", "budget", "--timeout", "1")
        assert rc == 1 and "no answer to ping" in line
    finally:
        procs.stop()
    rc, line = _health(env, "api", "--url", f"http://127.0.0.1:{port}")
    assert rc == 1 and "unreachable" in line
