"""Monitoring keeps the client's statistical profile as categories from the start of the trajectory,
the case manager's registration form for the benchmark, and costs outside the budget."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.clock import NETHERLANDS
from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth
from tests.support.world import make_case

KM, KM_OTHER = auth("case_manager", "0014"), auth("case_manager", "0344")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("monprofile"), request.param) as (runtime, http, clock):
        today = clock.now().astimezone(NETHERLANDS).date()
        born = date(today.year - 40, 1, 1)
        profiled = make_case(
            http,
            runtime,
            "0014",
            810,
            facts={"gender": "female", "education": "middle", "months_on_benefit": 40},
            date_of_birth=born.isoformat(),
        )
        plain = make_case(http, runtime, "0014", 820)
        nug = make_case(http, runtime, "0014", 830, benefit_type="NUG", facts={"gender": "male", "education": "high"})
        yield runtime, http, {"profiled": profiled, "plain": plain, "nug": nug, "today": today}


def _trajectory(http, case):
    r = http.get(f"/monitoring/v1/trajectories/{case.plan_id}", headers=KM)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_profile_arrives_as_categories_never_as_a_birth_date(env):
    _runtime, http, cases = env
    trajectory = _trajectory(http, cases["profiled"])
    assert trajectory["profile"] == {
        "benefit": "wwb",
        "gender": "female",
        "age_band": "35_44",
        "benefit_duration": "over_3y",
        "education": "middle",
    }
    assert "date_of_birth" not in str(trajectory) and "bsn" not in str(trajectory)


def test_a_client_without_the_facts_is_unknown_and_a_job_seeker_without_benefit_has_no_benefit_time(env):
    _runtime, http, cases = env
    plain = _trajectory(http, cases["plain"])["profile"]
    assert (plain["gender"], plain["age_band"], plain["education"]) == ("unknown", "unknown", "unknown")
    assert plain["benefit_duration"] == "1_3y"  # 24 months on benefit in the eligible facts
    nug = _trajectory(http, cases["nug"])["profile"]
    assert (nug["benefit"], nug["benefit_duration"], nug["gender"], nug["education"]) == ("nug", "none", "male", "high")


def test_the_plan_lines_are_kept_for_the_spending_table_and_the_providers(env):
    runtime, _http, cases = env
    from sqlmodel import Session, select

    from services.monitoring.models import TrajectoryLine

    with Session(runtime.engine) as session:
        lines = session.exec(select(TrajectoryLine).where(TrajectoryLine.plan_id == cases["plain"].plan_id)).all()
    assert [(line.category, line.granted_cents, line.municipality) for line in lines] == [("coaching", 100000, "0014")]


def test_the_registration_form_is_recorded_replaced_and_read_back_by_staff(env):
    _runtime, http, cases = env
    url = f"/monitoring/v1/trajectories/{cases['profiled'].plan_id}/registration"
    empty = http.get(url, headers=KM).json()
    assert empty["provisions"] is None and empty["contact_hours"] is None
    form = {
        "soft_characteristics": {"motivation": "more", "social_skills": "same", "realistic_self_image": "less"},
        "provisions": {"debt_counselling": True, "childcare": True},
        "contact_hours": "more",
    }
    r = http.put(url, headers=KM, json=form)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["soft_characteristics"]["motivation"] == "more"
    assert answer["soft_characteristics"]["initiative"] is None
    assert answer["provisions"] == {
        "debt_counselling": True,
        "special_assistance": False,
        "childcare": True,
        "victim_support": False,
        "health_provisions": False,
    }
    assert http.get(url, headers=KM).json() == answer
    replaced = http.put(url, headers=KM, json={"contact_hours": "less"}).json()
    assert replaced["provisions"] is None and replaced["soft_characteristics"]["motivation"] is None


@pytest.mark.parametrize(
    "body,field",
    [
        ({"soft_characteristics": {"motivation": "lots"}}, "motivation"),
        ({"contact_hours": "sometimes"}, "contact_hours"),
        ({"provisions": {"gambling": True}}, "gambling"),
        ({"remarks": "x"}, "remarks"),
    ],
)
def test_a_bad_registration_form_is_a_422_naming_the_field(env, body, field):
    _runtime, http, cases = env
    r = http.put(f"/monitoring/v1/trajectories/{cases['plain'].plan_id}/registration", headers=KM, json=body)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text


@pytest.mark.parametrize("role", ["policy", "client"])
def test_the_form_holds_health_and_debt_facts_so_only_staff_read_it(env, role):
    _runtime, http, cases = env
    who = auth(role, "0014", client_id=cases["profiled"].client_id if role == "client" else None)
    url = f"/monitoring/v1/trajectories/{cases['profiled'].plan_id}/registration"
    assert http.get(url, headers=who).status_code == 403
    assert http.put(url, headers=who, json={}).status_code == 403


def test_another_municipality_gets_a_404_for_the_form_and_the_costs(env):
    _runtime, http, cases = env
    base = f"/monitoring/v1/trajectories/{cases['profiled'].plan_id}"
    assert http.get(f"{base}/registration", headers=KM_OTHER).status_code == 404
    assert http.put(f"{base}/registration", headers=KM_OTHER, json={}).status_code == 404
    cost = {"kind": "external_coaching", "amount": "10.00", "incurred_on": env[2]["today"].isoformat()}
    assert http.post(f"{base}/costs", headers=KM_OTHER, json=cost).status_code == 404


def test_costs_outside_the_budget_add_up_on_the_trajectory(env):
    runtime, http, cases = env
    url = f"/monitoring/v1/trajectories/{cases['nug'].plan_id}/costs"
    today = cases["today"].isoformat()
    for amount in ("450.00", "0.55"):
        r = http.post(url, headers=KM, json={"kind": "external_coaching", "amount": amount, "incurred_on": today})
        assert r.status_code == 201, r.text
    listed = http.get(url, headers=KM).json()
    assert sorted(c["amount"] for c in listed) == ["0.55", "450.00"]
    from sqlmodel import Session

    from services.monitoring.models import Trajectory

    with Session(runtime.engine) as session:
        row = session.get(Trajectory, cases["nug"].plan_id)
        assert row is not None and row.external_cost_cents == 45055


@pytest.mark.parametrize(
    "amount,day,field",
    [("0", 0, "amount"), ("100000.01", 0, "amount"), ("10.00", 1, "incurred_on"), ("10.00", -400, "incurred_on")],
)
def test_a_bad_cost_is_refused_naming_the_field_and_adds_nothing(env, amount, day, field):
    _runtime, http, cases = env
    url = f"/monitoring/v1/trajectories/{cases['plain'].plan_id}/costs"
    incurred = (cases["today"] + timedelta(days=day)).isoformat()
    r = http.post(url, headers=KM, json={"kind": "assessment", "amount": amount, "incurred_on": incurred})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field if "errors" in r.json() else field in r.text
    assert http.get(url, headers=KM).json() == []
