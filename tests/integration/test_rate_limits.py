"""Rate limits with their counters in the real Redis: every API process of a deployment counts together."""

from __future__ import annotations

import time
import uuid

import anyio
import pytest
import redis
from limits.storage import RedisStorage

from shared.config import Settings
from shared.rate_limit import RETRY_STORAGE_AFTER_SECONDS, RateLimits, storage_for
from tests.support.auth import auth
from tests.support.environment import free_port
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

KM = auth("case_manager", "0014")


@pytest.fixture
def limits_redis_url(redis_available: str) -> str:
    """A database of the test Redis that the other tests (which flush theirs) leave alone."""
    return redis_available.rsplit("/", 1)[0] + "/13"


@pytest.fixture
def prefix(limits_redis_url: str):
    prefix = f"prb-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(limits_redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_two_app_instances_share_one_counter_in_redis(tmp_path, limits_redis_url, prefix):
    settings = Settings(data_dir=tmp_path, environment="test", rate_limit="4/minute",
                        rate_limit_storage_url=limits_redis_url, rate_limit_key_prefix=prefix)
    runtime = migrated_runtime(settings)
    first, second = api_client(runtime), api_client(runtime)  # two apps, each with its own Redis client
    codes = [http.get("/intake/v1/clients", headers=KM).status_code for http in (first, second, first, second)]
    assert codes == [200, 200, 200, 200]
    over = second.get("/intake/v1/clients", headers=KM)
    assert over.status_code == 429 and over.headers["Retry-After"]
    assert first.get("/intake/v1/clients", headers=KM).status_code == 429
    assert first.get("/intake/v1/clients", headers=auth("case_manager", "0363")).status_code == 200
    assert any(redis.Redis.from_url(limits_redis_url).scan_iter(f"{prefix}*"))  # the counters are there


def test_distributed_mode_counts_in_the_brokers_redis(limits_redis_url, prefix):
    settings = Settings(environment="test", database_url="postgresql+psycopg://unused@127.0.0.1/unused",
                        broker_url=limits_redis_url, rate_limit="2/minute", rate_limit_key_prefix=prefix)
    assert isinstance(storage_for(settings), RedisStorage)
    limits = RateLimits(settings)
    verdicts = [limits._check(limits.default, "principal:0014:km") for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert [v.remaining for v in verdicts] == [1, 0, 0]


def test_requests_go_through_when_the_redis_of_the_counters_is_down(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test", rate_limit="1/minute",
                        rate_limit_storage_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    http = api_client(migrated_runtime(settings))
    answers = [http.get("/intake/v1/clients", headers=KM) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "RateLimit-Limit" not in answers[0].headers


def test_after_a_failure_the_redis_of_the_counters_is_left_alone_a_few_seconds():
    settings = Settings(environment="test", rate_limit_storage_url=f"redis://127.0.0.1:{free_port()}/0")
    limits = RateLimits(settings)
    assert anyio.run(limits.check, "default", "principal:0014:km") is None
    assert limits.unavailable_until > time.monotonic() + RETRY_STORAGE_AFTER_SECONDS - 1
    limits.storage = None  # type: ignore[assignment]  # not asked again within the pause
    assert anyio.run(limits.check, "default", "principal:0014:km") is None


def test_web_log_ins_count_per_address_and_their_in_process_steps_do_not(tmp_path):
    from fastapi.testclient import TestClient

    from eigenregie.entrypoints.web import create_app
    from eigenregie.initial_data import load_demo_data

    settings = Settings(data_dir=tmp_path, environment="test", rate_limit_login="2/minute")
    runtime = migrated_runtime(settings)
    load_demo_data(runtime)
    app = create_app(runtime, embedded=True)
    first, second = (TestClient(app, follow_redirects=False, client=(address, 50000))
                     for address in ("192.0.2.10", "192.0.2.20"))
    log_in = {"user": "case_manager|0014|"}
    assert [first.post("/login", data=log_in).status_code for _ in range(3)] == [303, 303, 429]
    # The one-click log-in drives the local issuer in process (one address for everybody): not counted.
    assert [second.post("/login", data=log_in).status_code for _ in range(2)] == [303, 303]
