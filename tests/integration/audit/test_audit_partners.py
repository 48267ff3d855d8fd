"""A partner application's reads of the clients who chose it are in intake's audit trail like
anyone's: the partner's subject and role, the endpoint, and its purpose; a consent given and
withdrawn is recorded as a change of the client's data (SQLite)."""

from __future__ import annotations

from shared.config import Settings
from tests.integration.intake.support import frozen_clock, register
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

TL = auth("team_lead", "0014")


def test_a_partners_reads_of_its_clients_are_recorded(tmp_path):
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"), clock=frozen_clock())
    http = api_client(runtime)
    app = http.post("/intake/v1/partner-apps", headers=auth("ops", "0014"), json={
        "name": "Coach", "organisation_kvk": "12345678", "kind": "reintegration_company",
        "allowed_scopes": ["clients:read-own"]}).json()
    answer = http.post("/intake/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]})
    coach = {"Authorization": f"Bearer {answer.json()['access_token']}", "X-Purpose": "progress_reporting"}
    anna, bram = register(http, "0014"), register(http, "0014")
    r = http.post(f"/intake/v1/clients/{anna.client_id}/consents", headers=anna.me,
                  json={"purpose": "progress_reporting", "partner_kvk": "12345678"})
    assert r.status_code == 201, r.text
    assert [c["id"] for c in http.get("/intake/v1/partner/clients", headers=coach).json()] == [anna.client_id]
    assert http.get(f"/intake/v1/partner/clients/{anna.client_id}", headers=coach).status_code == 200

    trail = http.get("/intake/v1/audit", headers=TL, params={"client_id": anna.client_id}).json()
    reads = [(x["endpoint"], x["actor_role"], x["purpose"]) for x in trail if x["actor_role"] == "partner"]
    assert reads == [
        ("GET /intake/v1/partner/clients", "partner", "progress_reporting"),
        ("GET /intake/v1/partner/clients/{client_id}", "partner", "progress_reporting"),
    ]
    others = http.get("/intake/v1/audit", headers=TL, params={"client_id": bram.client_id}).json()
    assert not [x for x in others if x["actor_role"] == "partner"]
    runtime.engine.dispose()


def test_a_consent_given_and_withdrawn_is_recorded(tmp_path):
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"), clock=frozen_clock())
    http = api_client(runtime)
    anna = register(http, "0014")
    r = http.post(f"/intake/v1/clients/{anna.client_id}/consents", headers=anna.me,
                  json={"purpose": "progress_reporting", "partner_kvk": "12345678"})
    assert r.status_code == 201, r.text
    consent_id = r.json()["id"]
    r = http.post(f"/intake/v1/clients/{anna.client_id}/consents/{consent_id}/withdraw", headers=anna.me)
    assert r.status_code == 200, r.text
    trail = http.get("/intake/v1/audit", headers=TL, params={"client_id": anna.client_id}).json()
    given, withdrawn = [x for x in trail if "consents" in x["endpoint"]]
    assert (given["action"], given["actor_role"]) == ("create", "client")
    assert given["endpoint"] == "POST /intake/v1/clients/{client_id}/consents"
    assert given["changes"]["consent.partner_kvk"] == {"old": None, "new": "12345678"}
    assert given["changes"]["consent.purpose"] == {"old": None, "new": "progress_reporting"}
    assert withdrawn["action"] == "delete"
    assert withdrawn["changes"] == {"consent.withdrawn": {"old": False, "new": True},
                                    "consent_id": {"old": consent_id, "new": consent_id}}
    runtime.engine.dispose()
