"""Monitoring: outcomes as in Table 4.7, durable outflow, closing, overdue reports (time frozen, moved
by the tests), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from services.monitoring.domain.outcomes import is_durable, months_between
from services.monitoring.jobs import flag_overdue_follow_ups
from services.monitoring.service import SERVICE
from shared.bus.tables import bus_tables
from tests.integration.monitoring.support import days_after, frozen_world
from tests.support.auth import auth
from tests.support.runtime import drain
from tests.support.world import make_case

KM = auth("case_manager", "0014")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("mon"), request.param) as (runtime, http, clock):
        start = clock.now()
        yield runtime, http, make_case(http, runtime, "0014", 21), clock, start
        days_after(clock, start, 0)


@pytest.fixture(autouse=True)
def _back_to_the_start(env):
    _runtime, _http, _case, clock, start = env
    days_after(clock, start, 0)


def _outcome(http, case, **body):
    return http.post(f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=KM, json=body)


def test_working_for_six_months_is_durable_and_less_is_not():
    today = date(2026, 11, 22)
    assert is_durable("work_during", date(2026, 5, 22), today)
    assert not is_durable("work_during", date(2026, 5, 23), today)
    assert not is_durable("work_ended", date(2025, 1, 1), today)
    assert months_between(date(2026, 1, 31), date(2026, 2, 28)) == 0


def test_registering_work_found_emits_outcome_registered(env):
    runtime, http, case, clock, start = env
    days_after(clock, start, 200)
    since = (start.date() + timedelta(days=5)).isoformat()
    r = _outcome(
        http, case, outcome="work_during", kind_of_work="permanent_job", working_since=since, hours_per_week=32
    )
    assert r.status_code == 201, r.text
    assert r.json()["durable"] is True
    listed = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=case.headers())
    assert [o["outcome"] for o in listed.json()] == ["work_during"] and listed.headers["X-Total-Count"] == "1"
    with runtime.engine.connect() as conn:
        types = conn.execute(sa.select(bus_tables("monitoring").outbox.c.event_type)).scalars().all()
    assert "OutcomeRegistered" in types
    drain(runtime)


def test_work_found_without_a_start_date_is_refused(env):
    _runtime, http, case, _clock, _start = env
    r = _outcome(http, case, outcome="work_after")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "working_since"
    assert r.json()["code"] == "outcome.working_since"


def test_work_that_started_before_the_trajectory_is_refused_naming_working_since(env):
    _runtime, http, case, _clock, start = env
    r = _outcome(http, case, outcome="work_during", working_since=(start.date() - timedelta(days=1)).isoformat())
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "outcome.before_trajectory" and r.json()["errors"][0]["field"] == "working_since"
    dutch = _outcome(http, case, outcome="work_during", working_since="2000-01-01")
    assert dutch.status_code == 422


def test_work_that_starts_tomorrow_is_refused(env):
    _runtime, http, case, clock, _start = env
    r = _outcome(http, case, outcome="work_during", working_since=(clock.today() + timedelta(days=1)).isoformat())
    assert r.status_code == 422 and r.json()["code"] == "outcome.future"


def test_a_client_cannot_register_their_own_outcome(env):
    _runtime, http, case, _clock, _start = env
    r = http.post(
        f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=case.headers(), json={"outcome": "unknown"}
    )
    assert r.status_code == 403


def test_trajectories_without_a_recent_report_are_flagged(env):
    runtime, http, case, clock, start = env
    days_after(clock, start, 30)
    with runtime.uow("monitoring") as uow:
        assert flag_overdue_follow_ups(uow) == 0
    # The default schedule asks a report every two months. make_case's report on the first day answered the
    # first (two months on); the second, four months on (at most 123 days), is overdue the day after.
    days_after(clock, start, 125)
    [job] = [j for j in SERVICE.periodic_jobs if j.name == "monitoring.flag_overdue_follow_ups"]
    assert runtime.run_job("monitoring", job) >= 1
    overdue = http.get("/monitoring/v1/trajectories", headers=KM, params={"overdue": True}).json()
    assert case.plan_id in {t["plan_id"] for t in overdue}
    # A new report clears the flag.
    r = http.post(
        f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports",
        headers=KM,
        json={"on_track": True, "summary": "Weer op schema"},
    )
    assert r.status_code == 201, r.text
    assert http.get(f"/monitoring/v1/trajectories/{case.plan_id}", headers=KM).json()["report_overdue"] is False
    drain(runtime)
