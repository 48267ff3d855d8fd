"""The whole journey with real processes: distributed on PostgreSQL + Redis, and embedded."""

from __future__ import annotations

from pathlib import Path

import pytest

from eigenregie.bootstrap import SERVICES
from tests.support.environment import free_port
from tests.support.journey import run_journey
from tests.support.processes import Processes


@pytest.fixture
def processes(tmp_path: Path):
    started: list[Processes] = []

    def make(env: dict[str, str]) -> Processes:
        procs = Processes({"PRB_ENVIRONMENT": "test", "PRB_DATA_DIR": str(tmp_path / "data"),
                           "PRB_RELAY_POLL_SECONDS": "0.5", "PRB_EVENT_RETRY_BASE_SECONDS": "0.2", **env}, tmp_path)
        started.append(procs)
        return procs

    yield make
    for procs in started:
        procs.stop()


def test_journey_runs_across_separate_service_processes_on_postgres_and_redis(fresh_pg_url, redis_url, processes):
    procs = processes({"DATABASE_URL": fresh_pg_url, "BROKER_URL": redis_url})
    procs.run("migrate")
    urls = {}
    for service in SERVICES:
        port = free_port()
        procs.start(f"api-{service}", "serve", service, "--port", str(port))
        procs.start(f"worker-{service}", "worker", service, "--concurrency", "2")
        urls[service] = f"http://127.0.0.1:{port}"
    procs.start("relay", "relay")
    for url in urls.values():
        procs.wait_healthy(url)
    try:
        result = run_journey(urls)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{procs.logs()}") from exc
    assert result["budget"]["remaining"] == "1350.00"
    assert "failing" not in procs.run("events", "dead-letters")


def test_journey_runs_in_embedded_mode_on_sqlite(processes):
    procs = processes({})
    port = free_port()
    procs.start("embedded", "run", "--port", str(port), "--no-demo")
    url = f"http://127.0.0.1:{port}"
    procs.wait_healthy(url, timeout=60)
    try:
        result = run_journey({service: url for service in SERVICES})
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{procs.logs()}") from exc
    assert result["trajectory"]["spent"] == "800.00"
