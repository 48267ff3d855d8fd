"""Monitoring: outcomes as in Table 4.7, durable outflow, closing, overdue reports."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from services.monitoring.domain.outcomes import is_durable, months_between
from services.monitoring.handlers import flag_overdue_reports
from shared.config import Settings
from tests.conftest import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client, make_case

KM = auth("case_manager", "0014")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("mon"), environment="test"))
    http = api_client(runtime)
    return runtime, http, make_case(http, runtime, "0014", 21)


def test_working_for_six_months_is_durable_and_less_is_not():
    today = date(2026, 11, 22)
    assert is_durable("work_during", date(2026, 5, 22), today)
    assert not is_durable("work_during", date(2026, 5, 23), today)
    assert not is_durable("work_ended", date(2025, 1, 1), today)
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 0


def test_registering_work_found_emits_outcome_registered(env):
    runtime, http, case = env
    since = (datetime.now(timezone.utc).date() - timedelta(days=200)).isoformat()
    r = http.post(f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=KM, json={
        "outcome": "work_during", "kind_of_work": "permanent_job", "working_since": since, "hours_per_week": 32})
    assert r.status_code == 201, r.text
    assert r.json()["durable"] is True
    listed = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=case.headers()).json()
    assert [o["outcome"] for o in listed] == ["work_during"]


def test_work_found_without_a_start_date_is_refused(env):
    _runtime, http, case = env
    r = http.post(f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=KM, json={"outcome": "work_after"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "working_since"


def test_a_client_cannot_register_their_own_outcome(env):
    _runtime, http, case = env
    r = http.post(f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=case.headers(),
                  json={"outcome": "unknown"})
    assert r.status_code == 403


def test_trajectories_without_a_recent_report_are_flagged(env):
    runtime, http, case = env
    with runtime.uow("monitoring") as uow:
        assert flag_overdue_reports(uow, now=datetime.now(timezone.utc) + timedelta(days=30)) == 0
    with runtime.uow("monitoring") as uow:
        assert flag_overdue_reports(uow, now=datetime.now(timezone.utc) + timedelta(days=61)) >= 1
    overdue = http.get("/monitoring/v1/trajectories", headers=KM, params={"overdue": True}).json()
    assert case.plan_id in {t["plan_id"] for t in overdue}
    drain(runtime)
