"""A migrated runtime on SQLite or PostgreSQL with a frozen clock, for monitoring's integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from shared.clock import SYSTEM_CLOCK, FrozenClock
from shared.config import Settings
from shared.runtime import Runtime
from tests.support.databases import scratch_database
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client


@contextmanager
def frozen_world(request, folder: Path, database: str) -> Iterator[tuple[Runtime, TestClient, FrozenClock]]:
    """Time stands at the moment the test starts (events still carry the system time as they occur,
    so a trajectory starts today); a test moves it with `days_after`."""
    clock = FrozenClock(SYSTEM_CLOCK.now())
    if database == "sqlite":
        runtime = migrated_runtime(Settings(data_dir=folder, environment="test"), clock=clock)
        yield runtime, api_client(runtime), clock
        return
    with scratch_database(request.getfixturevalue("pg_admin_url"), "prb_monitoring") as url:
        runtime = migrated_runtime(Settings(database_url=url, environment="test"), clock=clock)
        try:
            yield runtime, api_client(runtime), clock
        finally:
            runtime.engine.dispose()


def days_after(clock: FrozenClock, start: datetime, days: int) -> None:
    """Put the clock `days` after `start` (absolute, so tests sharing a world do not depend on their order)."""
    clock.instant = start + timedelta(days=days)
