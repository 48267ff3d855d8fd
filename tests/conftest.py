"""Fixtures for real PostgreSQL and Redis, and for the embedded app on SQLite.

Service-backed tests skip with a reason when PostgreSQL or Redis is not reachable; with
PRB_REQUIRE_SERVICES=1 (CI) that skip becomes a failure.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.config import Settings
from tests.support.databases import scratch_database
from tests.support.environment import PG_ADMIN_URL, REDIS_URL, free_port, unavailable

# Fixtures only; helpers live in tests/support/ and tests import them from there.

# Many requests by one test token or one address: the rate limits stay on (their middleware and
# storage run in every test, processes started by tests inherit this) but out of reach. The rate
# limit tests set their own limits.
os.environ.setdefault("PRB_RATE_LIMIT", "1000000/minute")
os.environ.setdefault("PRB_RATE_LIMIT_LOGIN", "1000000/minute")

@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        unavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}")
    finally:
        engine.dispose()
    return PG_ADMIN_URL


@pytest.fixture
def fresh_pg_url(pg_admin_url: str) -> Iterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    with scratch_database(pg_admin_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, not migrated, on SQLite and on PostgreSQL: for the migration tests."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'eigenregie.db'}"
    url: str = request.getfixturevalue("fresh_pg_url")
    return url


@pytest.fixture(scope="session")
def redis_available() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        unavailable(f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}")
    return REDIS_URL


@pytest.fixture
def redis_url(redis_available: str) -> str:
    import redis

    redis.Redis.from_url(redis_available).flushdb()
    return redis_available


class RedisServer:
    """A private redis-server on its own port, so a test can take the broker down and up."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.2).ping()
                return
            except Exception:  # noqa: BLE001
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def private_redis(redis_available: str) -> Iterator[RedisServer]:
    from shutil import which

    if not which("redis-server"):
        unavailable("redis-server binary not found (needed to simulate a broker outage)")
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", environment="test", event_retry_base_seconds=0.01)
