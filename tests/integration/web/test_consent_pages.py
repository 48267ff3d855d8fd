"""The client's consent page over the embedded app with the demo data: grant a partner consent by
KvK number and purpose, see it, withdraw it at once; errors at their field; only the client side,
and only its own consents."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import load_demo_data
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime

KM = auth("case_manager", "0014", subject="km-0014")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("consent"), environment="test"))
    load_demo_data(runtime)
    return create_app(runtime, embedded=True)


def client_key(app, name: str) -> str:
    clients = TestClient(app).get("/intake/v1/clients", headers=KM, params={"page_size": 50}).json()
    return "client|0014|" + next(c["id"] for c in clients if c["name"] == name)


def logged_in(app, key: str) -> TestClient:
    http = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert http.post("/login", data={"user": key}).status_code == 303
    return http


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_a_client_grants_a_partner_consent_and_withdraws_it_at_once(app):
    http = logged_in(app, client_key(app, "Anna de Vries"))
    page = http.get("/client/consents")
    assert page.status_code == 200 and "U heeft nog niemand toestemming gegeven." in page.text
    csrf = csrf_of(page.text)
    bad = http.post("/client/consents", data={"csrf_token": csrf, "partner_kvk": "1234", "purpose": "progress_reporting"})
    assert bad.status_code == 422 and 'id="error-partner_kvk"' in bad.text and 'value="1234"' in bad.text
    r = http.post("/client/consents", data={"csrf_token": csrf, "partner_kvk": "1234 5678",
                                            "purpose": "progress_reporting"})
    assert r.status_code == 303 and r.headers["location"] == "/client/consents?done=granted"
    page = http.get("/client/consents?done=granted").text
    assert "Uw toestemming is opgeslagen." in page and "12345678" in page and "Laten weten hoe het gaat" in page
    consent_id = re.search(r'id="consent-([0-9a-f-]{36})"', page).group(1)
    # Another client cannot withdraw it: not theirs (404), and it stays in force.
    other = logged_in(app, client_key(app, "Mohamed El Amrani"))
    other_csrf = csrf_of(other.get("/client/consents").text)
    assert other.post(f"/client/consents/{consent_id}/withdraw", data={"csrf_token": other_csrf}).status_code == 404
    assert "Intrekken: 12345678" in http.get("/client/consents").text
    r = http.post(f"/client/consents/{consent_id}/withdraw", data={"csrf_token": csrf})
    assert r.status_code == 303
    page = http.get("/client/consents?done=withdrawn").text
    assert "Uw toestemming is ingetrokken." in page and "Intrekken: 12345678" not in page
    assert logged_in(app, "case_manager|0014|").get("/client/consents").status_code == 403
