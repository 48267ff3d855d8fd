"""The soak of bench/soak.py, briefly: the whole system distributed on a fresh PostgreSQL database and a
private Redis, a steady mixed load (plans, invoices, progress reports, reminder scans) for about 75 s,
memory, latency and backlog sampled every 10 s, and the soak's own verdicts asserted.

The verdicts are also fed synthetic series here, so that a climbing memory, a rising latency and a
backlog that stays are shown to fail.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.environment import REPO

SOAK_SECONDS = 80.0
SOAK_RATE = 3.0  # operations per second: low, so that a busy CI machine keeps up


def _load_soak() -> ModuleType:
    if "soak" in sys.modules:
        return sys.modules["soak"]
    spec = importlib.util.spec_from_file_location("soak", REPO / "bench" / "soak.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


soak = _load_soak()
MIB = 1024  # the series are in KiB


def test_memory_that_levels_off_passes():
    warming_then_flat = [200 * MIB, 230 * MIB, 245 * MIB, 250 * MIB, 250.5 * MIB, 251 * MIB, 251 * MIB,
                         251.2 * MIB, 251 * MIB]
    assert soak.memory_verdict("api", warming_then_flat).ok


def test_memory_still_climbing_in_the_last_third_fails():
    climbing = [200 * MIB + i * 5 * MIB for i in range(9)]  # 5 MiB per window, to the end
    verdict = soak.memory_verdict("api", climbing)
    assert not verdict.ok, verdict.detail


def test_memory_with_too_few_samples_fails():
    assert not soak.memory_verdict("api", [200 * MIB, 200 * MIB]).ok


def test_steady_latency_passes_even_with_one_disturbed_window():
    p50 = [90, 40, 38, 41, 39, 40, 42, 39, 41]
    p95 = [300, 70, 75, 68, 72, 90, 400, 80, 70]
    assert soak.latency_verdict(p50, p95).ok


def test_latency_trending_up_fails():
    p50 = [40, 42, 45, 50, 60, 70, 90, 120, 150]
    p95 = [p * 2 for p in p50]
    assert not soak.latency_verdict(p50, p95).ok
    # The median steady, the slow tail growing window after window: fails too.
    assert not soak.latency_verdict([40] * 9, [80, 80, 90, 100, 120, 150, 250, 350, 450]).ok


def test_a_backlog_that_does_not_drain_or_an_event_that_waits_long_fails():
    assert soak.backlog_verdict([0.0, 0.4, 0.0], 0, 0.5).ok
    assert not soak.backlog_verdict([0.0, 0.4, 0.0], 12, None).ok
    assert not soak.backlog_verdict([0.0, 45.0, 0.0], 0, 0.5).ok


def test_a_5xx_answer_or_a_failed_step_fails_the_answers_verdict():
    assert soak.errors_verdict(0, 0, 200).ok
    assert not soak.errors_verdict(1, 0, 200).ok
    assert not soak.errors_verdict(0, 1, 200).ok
    assert not soak.errors_verdict(0, 0, 0).ok


@pytest.fixture
def soak_result(fresh_pg_url: str, private_redis, tmp_path: Path):
    return soak.run_soak(fresh_pg_url, private_redis.url, tmp_path, seconds=SOAK_SECONDS, rate=SOAK_RATE,
                         workers=8, reminder_every=10.0, drain_timeout=60.0)


def test_a_steady_mixed_load_levels_off_in_memory_keeps_its_latency_and_drains_its_backlog(soak_result):
    result = soak_result
    text = soak.report(result)
    print("\n" + text)
    assert len(result.windows) == 8, text  # 80 s in 10 s windows
    assert result.ok, text
    # The mix was there: every kind of operation ran, cases went the whole way, scans were sent.
    for kind in ("register client", "approve plan", "receive invoice", "approve invoice", "progress report"):
        assert result.operations.get(kind, 0) > 0, result.operations
    assert result.cases_finished > 0 and result.reminders_sent >= 7, text
    assert sum(w.consumed for w in result.windows[-1:]) > 0, text
