"""The orientation phase's end near (issue 11): intake's daily scan says OrientationEndingSoon once
for a running phase that ends within reminder_orientation_days (14) while no plan of the client
has been submitted since it started; never for a phase with a submitted plan or one already
ended; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.intake.jobs import close_expired_trajectories, remind_orientations_ending
from shared.clock import FrozenClock
from shared.config import Settings
from tests.integration.intake.support import TODAY, Person, events, frozen_clock, register, run_job, submitted_plan
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

GRONINGEN = "0014"


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    clock = frozen_clock()
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
    else:
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    runtime = migrated_runtime(settings, clock=clock)
    try:
        yield runtime, api_client(runtime), clock
    finally:
        runtime.engine.dispose()


def _on(clock: FrozenClock, day: date) -> None:
    clock.instant = FrozenClock.on(day).instant


def _orientation(http, person: Person) -> dict:
    r = http.post(f"/intake/v1/clients/{person.client_id}/orientation", headers=person.km, json={})
    assert r.status_code == 201, r.text
    return r.json()


def test_an_orientation_ending_within_fourteen_days_without_a_plan_is_reminded_of_once(env):
    runtime, http, clock = env
    person = register(http, GRONINGEN)
    orientation = _orientation(http, person)
    ends_on = date.fromisoformat(orientation["ends_on"])
    _on(clock, ends_on - timedelta(days=15))
    assert run_job(runtime, remind_orientations_ending) == 0
    _on(clock, ends_on - timedelta(days=14))
    assert run_job(runtime, remind_orientations_ending) == 1
    assert run_job(runtime, remind_orientations_ending) == 0  # the second run of the day
    _on(clock, ends_on)
    assert run_job(runtime, remind_orientations_ending) == 0  # once per phase
    [said] = events(runtime, "OrientationEndingSoon")
    assert said["subject"] == orientation["id"] and said["tenant"] == GRONINGEN
    assert said["payload"] == {
        "orientation_id": orientation["id"],
        "client_id": person.client_id,
        "ends_on": ends_on.isoformat(),
    }


def test_an_orientation_whose_client_submitted_a_plan_is_not_reminded_of(env):
    runtime, http, clock = env
    person = register(http, GRONINGEN)
    orientation = _orientation(http, person)
    submitted_plan(http, person)
    _on(clock, date.fromisoformat(orientation["ends_on"]) - timedelta(days=3))
    assert run_job(runtime, remind_orientations_ending) == 0
    assert events(runtime, "OrientationEndingSoon") == []


def test_an_orientation_that_has_ended_is_not_reminded_of(env):
    runtime, http, clock = env
    person = register(http, GRONINGEN)
    orientation = _orientation(http, person)
    _on(clock, date.fromisoformat(orientation["ends_on"]) + timedelta(days=1))
    run_job(runtime, close_expired_trajectories)  # the phase ends
    assert run_job(runtime, remind_orientations_ending) == 0
    assert events(runtime, "OrientationEndingSoon") == []


def test_only_the_phases_ending_soon_are_reminded_of(env):
    runtime, http, clock = env
    early = _orientation(http, register(http, GRONINGEN))
    _on(clock, TODAY + timedelta(days=20))
    late = _orientation(http, register(http, GRONINGEN))
    _on(clock, date.fromisoformat(early["ends_on"]) - timedelta(days=1))
    assert run_job(runtime, remind_orientations_ending) == 1
    assert [e["subject"] for e in events(runtime, "OrientationEndingSoon")] == [early["id"]]
    _on(clock, date.fromisoformat(late["ends_on"]) - timedelta(days=10))
    assert run_job(runtime, remind_orientations_ending) == 1
    assert [e["subject"] for e in events(runtime, "OrientationEndingSoon")] == [early["id"], late["id"]]
