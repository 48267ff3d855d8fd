"""The chain partner's werkplein page over the embedded app with the demo data: UWV's application
sees the client who gave it consent (Mohamed) and nobody else; when he withdraws it, he is gone at
once; other roles do not get the page."""

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
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("partner"), environment="test"))
    load_demo_data(runtime)
    return create_app(runtime, embedded=True)


def logged_in(app, key: str) -> TestClient:
    http = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    r = http.post("/login", data={"user": key})
    assert r.status_code == 303, r.text
    return http


def test_the_partner_sees_only_the_clients_who_chose_it_and_a_withdrawal_counts_at_once(app):
    keys = re.findall(r'name="user" value="(partner\|0014\|[^"]+)"', TestClient(app).get("/login").text)
    assert len(keys) == 1  # the registered application, by its id
    http = logged_in(app, keys[0])
    page = http.get("/partner")
    assert page.status_code == 200 and "Mohamed El Amrani" in page.text and "laten weten hoe het gaat" in page.text
    assert "Anna de Vries" not in page.text and "Sanne Bakker" not in page.text
    assert "9999" not in page.text  # no BSN
    api = TestClient(app)
    mohamed = next(c for c in api.get("/intake/v1/clients", headers=KM).json() if c["name"] == "Mohamed El Amrani")
    client = auth("client", "0014", subject="client-m", client_id=mohamed["id"])
    (consent,) = api.get(f"/intake/v1/clients/{mohamed['id']}/consents", headers=client).json()
    r = api.post(f"/intake/v1/clients/{mohamed['id']}/consents/{consent['id']}/withdraw", headers=client)
    assert r.status_code == 200, r.text
    assert "Mohamed El Amrani" not in http.get("/partner").text
    assert logged_in(app, "case_manager|0014|").get("/partner").status_code == 403
