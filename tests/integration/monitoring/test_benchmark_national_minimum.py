"""Another municipality's figures are never shown in a smaller cell than that municipality's own
report would, nor below the default of 5: the national view suppresses with the strictest minimum
cell size any municipality chose, and policy comparing another municipality sees it suppressed
with at least the default (a municipality's 1, suppress nothing, is for its own staff)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import Session

from services.monitoring.models import Trajectory
from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth

PERIOD = {"from": "2026-01-01", "to": "2026-06-30", "municipality": "all"}
SETTINGS = {
    "hourly_rate": "75.00",
    "reference_outflow_wwb": "19",
    "reference_outflow_nug": "61",
    "reference_trajectory_cost": "2900.00",
}


def _trajectory(municipality: str, day: int, benefit: str = "wwb") -> Trajectory:
    started = date(2026, 1, 5) + timedelta(days=day)
    return Trajectory(
        plan_id=str(uuid.uuid4()),
        kind="plan",
        municipality=municipality,
        client_id=str(uuid.uuid4()),
        scheme="prb",
        started_on=started,
        execution_deadline=started + timedelta(days=365),
        benefit=benefit,
        granted_cents=2500_00,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("monnational"), request.param) as (runtime, http, _clock):
        with Session(runtime.engine) as session:
            session.add_all([_trajectory("0344", day) for day in range(7)])  # 7: shown under 5, not under 10
            session.add_all([_trajectory("0344", day, "nug") for day in range(2)])  # 2: a small cell
            session.add_all([_trajectory("0014", day) for day in range(30)])
            session.commit()
        yield http


def _municipalities(report: dict) -> dict[str, dict]:
    table = next(t for t in report["tables"] if t["key"] == "granted_budget")
    return {row["row"]: row["cells"]["total"] for row in table["rows"] if row["block"] == "municipalities"}


def test_a_municipality_with_a_stricter_minimum_is_suppressed_by_it_in_the_national_view(env):
    http = env
    r = http.put(
        "/monitoring/v1/benchmark/settings", headers=auth("team_lead", "0344"), json={**SETTINGS, "min_cell_size": 10}
    )
    assert r.status_code == 200, r.text
    own = http.get(
        "/monitoring/v1/benchmark", headers=auth("policy", "0344"), params={**PERIOD, "municipality": "0344"}
    ).json()
    assert own["min_cell_size"] == 10
    national = http.get("/monitoring/v1/benchmark", headers=auth("policy", "0014"), params=PERIOD)
    assert national.status_code == 200, national.text
    report = national.json()
    assert report["min_cell_size"] == 10 and report["settings"]["min_cell_size"] == 10
    rows = _municipalities(report)
    assert rows["0344"]["suppressed"] is True and rows["0344"]["count"] is None
    assert rows["0344"]["average"] is None
    # Nor can it be recomputed from the total and the other municipality.
    assert rows["n"]["count"] is None or rows["0014"]["count"] is None


def test_a_municipality_that_suppresses_nothing_does_not_lower_the_national_minimum(env):
    http = env
    for municipality, minimum in (("0344", 1), ("0014", 1)):
        r = http.put(
            "/monitoring/v1/benchmark/settings",
            headers=auth("team_lead", municipality),
            json={**SETTINGS, "min_cell_size": minimum},
        )
        assert r.status_code == 200, r.text
    report = http.get("/monitoring/v1/benchmark", headers=auth("policy", "0014"), params=PERIOD).json()
    assert report["min_cell_size"] == 5
    assert _municipalities(report)["0344"]["count"] == 9


def _outcomes_n(report: dict) -> dict[str, dict]:
    table = next(t for t in report["tables"] if t["key"] == "outcomes")
    return next(row["cells"] for row in table["rows"] if row["row"] == "n")


def test_policy_comparing_a_municipality_that_suppresses_nothing_sees_its_small_cells_suppressed(env):
    http = env
    r = http.put(
        "/monitoring/v1/benchmark/settings", headers=auth("team_lead", "0344"), json={**SETTINGS, "min_cell_size": 1}
    )
    assert r.status_code == 200, r.text
    own = http.get(
        "/monitoring/v1/benchmark", headers=auth("policy", "0344"), params={**PERIOD, "municipality": "0344"}
    )
    assert own.status_code == 200, own.text
    assert own.json()["min_cell_size"] == 1 and _outcomes_n(own.json())["nug"]["count"] == 2
    other = http.get(
        "/monitoring/v1/benchmark", headers=auth("policy", "0014"), params={**PERIOD, "municipality": "0344"}
    )
    assert other.status_code == 200, other.text
    report = other.json()
    assert report["min_cell_size"] == 5 and report["suppressed_cells"] > 0
    assert _outcomes_n(report)["nug"] == {**_outcomes_n(report)["nug"], "count": None, "suppressed": True}
