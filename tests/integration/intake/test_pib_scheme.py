"""pib through the whole flow, on SQLite and PostgreSQL: the policy officer offers pib with its preset
(and must give the maximum), the case manager records that the municipality granted the request, the
inburgeraar writes a duaal traject (a civic-integration part and a reintegration part), the plan is
reviewed and approved, and PlanApproved says scheme "pib"; the budget opens for it."""

from __future__ import annotations

import copy
import json

import pytest

from shared.config import Settings
from tests.integration.intake.support import (
    ASSESSMENTS,
    decided,
    events,
    plan_body,
    refused,
    register,
)
from tests.integration.intake.support import frozen_clock as clock
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client

GRONINGEN = "0014"
POLICY = auth("policy", GRONINGEN, subject="beleid-0014")
PIB = "/intake/v1/policy/scheme-presets/pib"
DUAAL = (
    ("Taalcursus Nederlands B1 en inburgeringsexamen", "training_knowledge", "Taalschool Noord", "1500.00"),
    ("Sollicitatietraining en coaching naar werk", "coaching", "Coach BV", "900.00"),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
    else:
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    runtime = migrated_runtime(settings, clock=clock())
    try:
        yield runtime, api_client(runtime)
    finally:
        runtime.engine.dispose()


def _duaal(parts: tuple[str, ...] = ("civic_integration", "reintegration")) -> dict:
    body = plan_body(DUAAL)
    for activity, part in zip(body["structure"]["activities"], parts, strict=False):
        activity["elements"] = [part]
    return body


def test_pib_cannot_be_offered_without_a_maximum_the_municipality_sets(env):
    _, http = env
    for body in ({}, {"maximum_budget": "0"}, {"maximum_budget": 4500.5}):
        r = http.post(PIB, headers=POLICY, json=body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
        assert "maximum_budget" in r.text
    assert http.get("/intake/v1/policy", headers=POLICY).json()["schemes"][-1]["scheme"] != "pib"
    assert http.post(PIB, headers=auth("case_manager", GRONINGEN), json={"maximum_budget": "4500"}).status_code == 403


def test_a_pib_duaal_traject_goes_from_the_preset_to_an_approved_plan_with_scheme_pib(env):
    runtime, http = env
    r = http.post(PIB, headers=POLICY, json={"maximum_budget": "4500.00"})
    assert r.status_code == 200, r.text
    [pib] = [s for s in r.json()["schemes"] if s["scheme"] == "pib"]
    assert pib["maximum_budget"] == "4500.00" and pib["contracting_party"] == "municipality"
    assert pib["required_plan_elements"] == ["civic_integration", "reintegration"]
    assert {s["scheme"] for s in r.json()["schemes"]} == {"prb", "pgb_bw", "pib"}  # Groningen's own stay
    changes = http.get("/intake/v1/policy/changes", headers=POLICY).json()
    assert [c["setting"] for c in changes[0]["changes"]] == ["schemes"]

    # An inburgeraar on WWB asks for a pib; until the municipality assessed it, not eligible.
    person = register(http, GRONINGEN, scheme="pib", benefit_type="WWB", facts={"other_running_trajectory": False})
    report = http.get(
        f"/intake/v1/clients/{person.client_id}/eligibility", headers=person.km, params={"scheme": "pib"}
    ).json()
    assert not report["eligible"] and {c["kind"] for c in report["criteria"]} == {"resident", "pib_request_granted"}
    r = http.patch(
        f"/intake/v1/clients/{person.client_id}",
        headers=person.km,
        json={"facts": {"pib_request_granted": True, "other_running_trajectory": False}},
    )
    assert r.status_code == 200, r.text
    report = http.get(
        f"/intake/v1/clients/{person.client_id}/eligibility", headers=person.km, params={"scheme": "pib"}
    ).json()
    assert report["eligible"], report

    # Only the language part: the plan's checks block it and name the missing part.
    r = http.post(
        "/intake/v1/plans",
        headers=person.me,
        json={"client_id": person.client_id, "scheme": "pib", **_duaal(("civic_integration",))},
    )
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["scheme"] == "pib"
    checks = http.get(f"/intake/v1/plans/{plan['id']}/checks", headers=person.me).json()
    assert not checks["submittable"] and checks["maximum"] == "4500.00"
    [missing] = [f for f in checks["findings"] if f["code"] == "plan.required_element_missing"]
    assert "werk zoeken" in missing["message_nl"] and missing["field"] == "structure.activities"
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=person.me, json={"plan_version": plan["version"]})
    refused(r, 422, "plan.checks_failed")

    # Both parts: submitted, reviewed, approved.
    body = _duaal()
    for new, old in zip(body["budget"]["lines"], plan["content"]["budget"]["lines"], strict=True):
        new["id"] = old["id"]
    r = http.put(f"/intake/v1/plans/{plan['id']}", headers=person.me, json={"plan_version": plan["version"], **body})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert [a["elements"] for a in plan["content"]["structure"]["activities"]] == [
        ["civic_integration"],
        ["reintegration"],
    ]
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=person.me, json={"plan_version": plan["version"]})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["id"] in {q["plan_id"] for q in http.get("/intake/v1/reviews", headers=person.km).json()}
    approved = decided(http, person.km, plan, "approve", assessments=copy.deepcopy(ASSESSMENTS))
    assert approved["status"] == "approved" and approved["granted"] == "2400.00"

    [event] = events(runtime, "PlanApproved", plan["id"])
    assert event["payload"]["scheme"] == "pib" and event["payload"]["granted_cents"] == 240000
    assert "Klant" not in json.dumps(event) and "bsn" not in json.dumps(event)
    drain(runtime)
    [budget] = http.get("/budget/v1/budgets", headers=person.fin, params={"plan_id": plan["id"]}).json()
    assert budget["granted"] == "2400.00"
