"""`prb workers drain|resume` and `prb health all` against real processes: a worker per service,
the relay, beat and an API on PostgreSQL and a private Redis. A drained worker takes nothing from
its queue until it is resumed; `health all` is healthy with everything up and names what is down."""

from __future__ import annotations

import time

import pytest
import redis

from shared.bus.celery_app import make_celery
from shared.config import Settings
from tests.support.environment import free_port
from tests.support.journey import eventually
from tests.support.processes import Processes

SERVICES = ("intake", "budget", "monitoring", "notifications")


@pytest.fixture
def cluster(fresh_pg_url, private_redis, tmp_path):
    env = {"DATABASE_URL": fresh_pg_url, "BROKER_URL": private_redis.url, "PRB_ENVIRONMENT": "test",
           "PRB_DATA_DIR": str(tmp_path / "data"), "PRB_HEARTBEAT_MAX_AGE_SECONDS": "20"}
    procs = Processes(env, tmp_path)
    procs.run("migrate")
    port = free_port()
    workers = {}
    try:
        for service in SERVICES:
            workers[service] = procs.start(f"worker-{service}", "worker", service, "--concurrency", "1")
        procs.start("relay", "relay")
        procs.start("beat", "beat")
        procs.start("api", "serve", "intake", "--port", str(port))
        procs.wait_healthy(f"http://127.0.0.1:{port}", timeout=180)
        yield procs, env, f"http://127.0.0.1:{port}", workers, private_redis
    finally:
        procs.stop()


def _prb(procs: Processes, *args: str) -> tuple[int, str]:
    import subprocess

    from tests.support.processes import PRB, REPO

    done = subprocess.run([*PRB, *args], cwd=REPO, env=procs.env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_health_all_is_healthy_with_everything_up_and_names_the_worker_that_is_down(cluster):
    procs, _env, api, workers, _redis = cluster

    def all_healthy() -> str | None:
        code, out = _prb(procs, "health", "all", "--api-url", api)
        return out if code == 0 else None

    out = eventually(all_healthy, timeout=60, what="every process healthy")
    assert f"ok    api {api}: ready" in out
    for service in SERVICES:
        assert f"ok    worker {service}: 1 answered ping ({service}@" in out
    assert "ok    relay: ok" in out and "ok    beat: ok" in out
    assert out.strip().endswith("all 7 checks healthy")

    workers["budget"].terminate()
    workers["budget"].wait(20)
    code, out = _prb(procs, "health", "all", "--api-url", api, "--api-url", "http://127.0.0.1:1")
    assert code == 1
    assert "FAIL  worker budget: no worker answered ping" in out
    assert "FAIL  api http://127.0.0.1:1: unreachable" in out
    assert "ok    worker intake: 1 answered ping" in out
    assert out.strip().endswith("2 of 8 checks failed: api, workers")


def test_a_drained_worker_takes_nothing_from_its_queue_until_resumed(cluster):
    procs, env, _api, _workers, private_redis = cluster
    eventually(lambda: _prb(procs, "workers", "status", "notifications")[1].count("taking tasks") == 1 or None,
               timeout=60, what="the notifications worker consumes its queue")

    code, out = _prb(procs, "workers", "drain", "notifications", "--timeout", "30")
    assert code == 0, out
    assert "1 notifications worker(s) stopped taking tasks from queue notifications" in out and "drained:" in out
    code, out = _prb(procs, "workers", "status", "notifications")
    assert "drained (not taking tasks)" in out, out

    # A message for the queue now waits in Redis: an unknown task name, which a consuming worker
    # would take (and drop) at once.
    app = make_celery(Settings(database_url=env["DATABASE_URL"], broker_url=env["BROKER_URL"], environment="test"))
    app.send_task("notifications.ops_drain_probe", queue="notifications")
    broker = redis.Redis.from_url(private_redis.url)
    waiting = broker.llen("notifications")
    assert waiting >= 1  # beat's jobs for notifications may wait there too
    time.sleep(2)  # time in which a consuming worker would have taken them
    assert broker.llen("notifications") >= waiting

    code, out = _prb(procs, "workers", "resume", "notifications")
    assert code == 0 and "take tasks from queue notifications again" in out, out
    eventually(lambda: broker.llen("notifications") == 0 or None, timeout=30, what="the worker took the message")
    assert "taking tasks" in _prb(procs, "workers", "status", "notifications")[1]

    code, out = _prb(procs, "workers", "drain", "budget", "--timeout", "-1")
    assert code == 2 and "--timeout" in out
