"""The audit trail on the pages, in process on SQLite with the demo data: a case manager's look at
a client's file (a page reading the API) is in the team lead's trail with the endpoint and purpose;
the team lead sees each service's chain whole; a client sees who saw their data, and only theirs;
the pages are for their roles only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from eigenregie import initial_data
from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import ELIGIBLE_FACTS, load_demo_data
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime

KM = auth("case_manager", "0014", subject="km-0014")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-audit")
    runtime = migrated_runtime(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/prb.db", environment="test"))
    load_demo_data(runtime)
    return runtime


@pytest.fixture(scope="module")
def client_id(runtime) -> str:
    api = TestClient(create_app(runtime, embedded=True))
    r = api.post("/intake/v1/clients", headers=KM, json={
        "bsn": initial_data.test_bsn(91), "client_number": "AUD-91", "name": "Klant Audit",
        "facts": ELIGIBLE_FACTS, "case_manager": "km-0014"})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def logged_in(runtime, key: str) -> TestClient:
    http = TestClient(create_app(runtime, embedded=True), follow_redirects=False)
    assert http.post("/login", data={"user": key}).status_code == 303
    return http


def test_a_look_at_a_clients_file_shows_in_the_team_leads_trail(runtime, client_id):
    assert logged_in(runtime, "case_manager|0014|").get(f"/caseload/clients/{client_id}").status_code == 200
    page = logged_in(runtime, "team_lead|0014|").get("/team/audit", params={"client_id": client_id})
    assert page.status_code == 200, page.text
    assert "GET /intake/v1/clients/{client_id}" in page.text and "km-0014" in page.text
    assert "casework" in page.text and "POST /intake/v1/clients" in page.text
    assert "Klant Audit" not in page.text and initial_data.test_bsn(91) not in page.text
    assert page.text.count("in orde") == 4  # every service's chain is whole


def test_a_client_sees_who_saw_their_data(runtime, client_id):
    key = f"client|0014|{client_id}"
    assert logged_in(runtime, "case_manager|0014|").get(f"/caseload/clients/{client_id}").status_code == 200
    page = logged_in(runtime, key).get("/client/data-access")
    assert page.status_code == 200, page.text
    assert "km-0014" in page.text and "bekeken" in page.text


@pytest.mark.parametrize("key, path", [
    ("case_manager|0014|", "/team/audit"), ("finance|0014|", "/team/audit"), ("team_lead|0014|", "/client/data-access"),
])
def test_the_audit_pages_are_for_their_roles_only(runtime, key, path):
    assert logged_in(runtime, key).get(path).status_code == 403
