"""The client's consent per partner and purpose (issue 13), on SQLite and PostgreSQL: a partner
application sees only the clients who chose it (an active consent naming its KvK number, or an open
plan with a budget line naming it as the provider), never the list of all clients; a withdrawal
counts from the next request; another municipality's partner sees nothing; bad input is a 422
naming the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.config import Settings
from tests.integration.intake.support import TODAY, frozen_clock, plan_body, register
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

GRONINGEN, UTRECHT = "0014", "0344"
OPS = auth("ops", GRONINGEN)
COACH_KVK, SCHOOL_KVK = "12345678", "87654321"
MINE = "/intake/v1/partner/clients"


@pytest.fixture(params=["sqlite", "postgresql"])
def http(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
    else:
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    runtime = migrated_runtime(settings, clock=frozen_clock())
    try:
        yield api_client(runtime)
    finally:
        runtime.engine.dispose()


def partner(http, kvk: str = COACH_KVK, municipality: str = GRONINGEN) -> tuple[dict[str, Any], dict[str, str]]:
    """A registered application and the headers of a token it got with its client credentials."""
    app = http.post("/intake/v1/partner-apps", headers=auth("ops", municipality), json={
        "name": f"Partner {kvk}", "organisation_kvk": kvk, "kind": "reintegration_company",
        "allowed_scopes": ["clients:read-own", "progress:write"]}).json()
    answer = http.post("/intake/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]})
    assert answer.status_code == 200, answer.text
    return app, {"Authorization": f"Bearer {answer.json()['access_token']}"}


def consent(http, person, headers=None, **body: Any):
    return http.post(f"/intake/v1/clients/{person.client_id}/consents", headers=headers or person.me,
                     json={"purpose": "progress_reporting", **body})


def ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [client["id"] for client in answer.json()]


def test_a_partner_sees_only_the_clients_who_chose_it_and_nothing_personal_beyond_contact(http):
    _, coach = partner(http)
    anna, bram = register(http, GRONINGEN), register(http, GRONINGEN)
    assert http.get(MINE, headers=coach).json() == []
    granted = consent(http, anna, partner_kvk=COACH_KVK)
    assert granted.status_code == 201, granted.text
    assert granted.json()["active"] and not granted.json()["on_paper"]
    assert ids(http.get(MINE, headers=coach)) == [anna.client_id]
    one = http.get(f"{MINE}/{anna.client_id}", headers=coach)
    assert one.status_code == 200 and one.json()["purposes"] == ["progress_reporting"]
    assert "bsn" not in one.json() and "facts" not in one.json()
    assert http.get(f"{MINE}/{bram.client_id}", headers=coach).status_code == 404
    assert http.get(f"{MINE}/no-such-client", headers=coach).status_code == 404
    # The staff routes stay closed to a partner: no list of all clients.
    assert http.get("/intake/v1/clients", headers=coach).status_code == 403
    assert http.get(f"/intake/v1/clients/{anna.client_id}", headers=coach).status_code == 403


def test_a_withdrawal_takes_effect_on_the_next_request(http):
    _, coach = partner(http)
    anna = register(http, GRONINGEN)
    given = consent(http, anna, partner_kvk=COACH_KVK).json()
    assert ids(http.get(MINE, headers=coach)) == [anna.client_id]
    withdrawn = http.post(f"/intake/v1/clients/{anna.client_id}/consents/{given['id']}/withdraw", headers=anna.me)
    assert withdrawn.status_code == 200 and withdrawn.json()["active"] is False and withdrawn.json()["withdrawn_at"]
    assert http.get(MINE, headers=coach).json() == []
    assert http.get(f"{MINE}/{anna.client_id}", headers=coach).status_code == 404
    again = http.post(f"/intake/v1/clients/{anna.client_id}/consents/{given['id']}/withdraw", headers=anna.me)
    assert again.status_code == 409
    listed = http.get(f"/intake/v1/clients/{anna.client_id}/consents", headers=anna.km)
    assert [c["active"] for c in listed.json()] == [False]


def test_a_consent_names_one_partner_and_another_partner_sees_nothing(http):
    _, coach = partner(http)
    school_app, school = partner(http, SCHOOL_KVK)
    anna = register(http, GRONINGEN)
    assert consent(http, anna, partner_app_id=school_app["id"], purpose="warm_handover").status_code == 201
    assert ids(http.get(MINE, headers=school)) == [anna.client_id]
    assert http.get(MINE, headers=coach).json() == []
    assert http.get(f"{MINE}/{anna.client_id}", headers=coach).status_code == 404


def test_a_plan_line_naming_the_partner_as_provider_lets_it_see_the_client(http):
    _, coach = partner(http)
    anna = register(http, GRONINGEN)
    body = plan_body()
    body["budget"]["lines"][1]["provider_kvk"] = COACH_KVK
    r = http.post("/intake/v1/plans", headers=anna.me, json={"client_id": anna.client_id, **body})
    assert r.status_code == 201, r.text
    one = http.get(f"{MINE}/{anna.client_id}", headers=coach)
    assert one.status_code == 200 and one.json()["purposes"] == ["plan_line"]


def test_staff_record_a_consent_given_on_paper_and_a_client_only_for_themself(http):
    anna, bram = register(http, GRONINGEN), register(http, GRONINGEN)
    on_paper = consent(http, anna, headers=anna.km, partner_kvk=COACH_KVK, until=str(TODAY + timedelta(days=90)))
    assert on_paper.status_code == 201, on_paper.text
    assert on_paper.json()["on_paper"] and on_paper.json()["granted_by_role"] == "case_manager"
    assert consent(http, bram, headers=anna.me, partner_kvk=COACH_KVK).status_code == 404
    assert http.get(f"/intake/v1/clients/{bram.client_id}/consents", headers=anna.me).status_code == 404
    assert consent(http, anna, headers=auth("finance", GRONINGEN), partner_kvk=COACH_KVK).status_code == 403


def test_another_municipalitys_partner_sees_nothing_even_with_the_same_kvk(http):
    _, utrecht_coach = partner(http, municipality=UTRECHT)
    anna = register(http, GRONINGEN)
    assert consent(http, anna, partner_kvk=COACH_KVK).status_code == 201
    assert http.get(MINE, headers=utrecht_coach).json() == []
    assert http.get(f"{MINE}/{anna.client_id}", headers=utrecht_coach).status_code == 404
    assert consent(http, anna, headers=auth("case_manager", UTRECHT), partner_kvk=COACH_KVK).status_code == 404


def test_a_bad_consent_is_a_422_naming_the_field_and_stores_nothing(http):
    anna = register(http, GRONINGEN)
    utrecht_app, _ = partner(http, municipality=UTRECHT)
    cases = (
        ({}, "partner_kvk"),
        ({"partner_kvk": COACH_KVK, "partner_app_id": utrecht_app["id"]}, "partner_kvk"),
        ({"partner_kvk": "1234"}, "partner_kvk"),
        ({"partner_app_id": utrecht_app["id"]}, "partner_app_id"),  # another municipality's application
        ({"partner_kvk": COACH_KVK, "purpose": "marketing"}, "purpose"),
        ({"partner_kvk": COACH_KVK, "until": str(TODAY - timedelta(days=1))}, "until"),
    )
    for body, field in cases:
        r = consent(http, anna, **body)
        assert r.status_code == 422, (body, r.text)
        problem = r.json()
        named = [e["field"] for e in problem.get("errors", [])] or [problem.get("field")]
        assert any(str(name).startswith(field) for name in named), (body, problem)
    assert http.get(f"/intake/v1/clients/{anna.client_id}/consents", headers=anna.me).json() == []
