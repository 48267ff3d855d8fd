"""Inputs nobody has seen yet, sent to monitoring's write routes: an amount with more digits than a
decimal can hold is a 422 naming the field, never a 500 (on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth
from tests.support.world import make_case

KM, LEAD = auth("case_manager", "0014"), auth("team_lead", "0014")
HUGE = ["1" + "0" * 30, "-1" + "0" * 30, "1e30", 10**30, "9" * 40 + ".99"]
SETTINGS = {
    "hourly_rate": "75.00",
    "min_cell_size": 5,
    "reference_outflow_wwb": "19",
    "reference_outflow_nug": "61",
    "reference_trajectory_cost": "2900.00",
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("moninputs"), request.param) as (runtime, http, clock):
        yield http, make_case(http, runtime, "0014", 1201), clock.today()


@pytest.mark.parametrize("amount", HUGE)
def test_a_cost_with_more_digits_than_money_has_is_a_422_naming_amount(env, amount):
    http, case, today = env
    url = f"/monitoring/v1/trajectories/{case.plan_id}/costs"
    r = http.post(url, headers=KM, json={"kind": "external_coaching", "amount": amount, "incurred_on": str(today)})
    assert r.status_code == 422, r.text
    assert "amount" in r.text
    assert http.get(url, headers=KM).json() == []


@pytest.mark.parametrize("field", ["hourly_rate", "reference_trajectory_cost"])
@pytest.mark.parametrize("amount", HUGE)
def test_benchmark_settings_with_more_digits_than_money_has_are_a_422_naming_the_field(env, field, amount):
    http, _case, _today = env
    r = http.put("/monitoring/v1/benchmark/settings", headers=LEAD, json={**SETTINGS, field: amount})
    assert r.status_code == 422, r.text
    assert field in r.text
    assert http.get("/monitoring/v1/benchmark/settings", headers=LEAD).json()["is_default"] is True
