"""Inputs nobody has seen yet, sent to monitoring's write routes: an amount with more digits than a
decimal can hold is a 422 naming the field, never a 500 (on SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from urllib.parse import quote

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


NUL = "a\x00b"  # PostgreSQL refuses a NUL in text: it must be refused before it reaches the database


def _id_routes(http) -> list[tuple[str, str, str]]:
    spec = http.get("/monitoring/v1/openapi.json").json()
    return [
        (method.upper(), path, name)
        for path, operations in spec["paths"].items()
        for method in operations
        for name in re.findall(r"\{(\w+)\}", path)
    ]


def test_a_control_character_in_any_id_of_a_path_is_refused_not_a_500(env):
    http, case, _today = env
    routes = _id_routes(http)
    assert len(routes) >= 30
    ids = {"plan_id": case.plan_id, "report_id": case.report_id or "x"}
    for method, path, name in routes:
        values = {**ids, name: quote(NUL, safe="")}
        url = "/monitoring" + re.sub(r"\{(\w+)\}", lambda m, values=values: values.get(m.group(1), "x"), path)
        r = http.request(method, url, headers=LEAD, json={})
        assert r.status_code in (404, 422), (method, path, name, r.status_code, r.text[:200])


@pytest.mark.parametrize(
    "path,param",
    [("/follow-ups", "plan_id"), ("/research-export", "experiment_id"), ("/research-export", "scheme")],
)
def test_a_control_character_in_a_query_parameter_is_a_422_naming_it(env, path, param):
    http, _case, _today = env
    r = http.get(f"/monitoring/v1{path}", headers=LEAD, params={param: NUL})
    assert r.status_code == 422, r.text
    assert param in r.text


def test_a_control_character_in_an_id_in_a_body_is_a_422_naming_it(env):
    http, case, today = env
    base = f"/monitoring/v1/trajectories/{case.plan_id}"
    voice = http.post(f"{base}/client-voice", headers=KM, json={"plan_line_id": NUL, "brought": "Rust", "score": 7})
    assert voice.status_code == 422 and "plan_line_id" in voice.text, voice.text
    check = http.post(
        f"{base}/durability-checks",
        headers=KM,
        json={"outcome_id": NUL, "checked_on": str(today), "still_working": True},
    )
    assert check.status_code == 422 and "outcome_id" in check.text, check.text
