"""UWV's list of contracted reintegration companies (rio/iro) imported as CSV into the policy:
replaced whole and in the change log; a bad row refuses the file naming the row; policy staff only."""

from __future__ import annotations

import pytest

from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

POLICY = {**auth("policy", "0014", subject="pol-0014"), "Content-Type": "text/csv"}
LIST = "KvK-nummer;Naam\n12345678;Werkfit Noord BV\n87654321;Re-integratie Oost\n\n".encode("cp1252")


@pytest.fixture
def http(tmp_path):
    return api_client(migrated_runtime(Settings(data_dir=tmp_path, environment="test")))


def test_the_list_replaces_the_contracted_providers_and_is_in_the_change_log(http):
    r = http.post("/intake/v1/policy/contracted-providers", headers=POLICY, content=LIST)
    assert r.status_code == 200, r.text
    assert r.json()["contracted_providers"] == [
        {"name": "Werkfit Noord BV", "kvk": "12345678"}, {"name": "Re-integratie Oost", "kvk": "87654321"}]
    policy = http.get("/intake/v1/policy", headers=auth("case_manager", "0014")).json()
    assert [p["kvk"] for p in policy["contracted_providers"]] == ["12345678", "87654321"]
    changes = http.get("/intake/v1/policy/changes", headers=POLICY).json()
    assert changes[0]["changed_by"] == "pol-0014"
    assert [c["setting"] for c in changes[0]["changes"]] == ["contracted_providers"]
    # A new list replaces the old one whole; commas work too.
    r = http.post("/intake/v1/policy/contracted-providers", headers=POLICY, content=b"name,kvk\nAlleen Deze,11223344\n")
    assert r.json()["contracted_providers"] == [{"name": "Alleen Deze", "kvk": "11223344"}]
    assert http.get("/intake/v1/policy", headers=auth("case_manager", "0344")).json()["contracted_providers"] == []


@pytest.mark.parametrize(("body", "field"), [
    (b"kvk;naam\n1234;Te Kort\n", "row 2.kvk"),
    (b"kvk;naam\n12345678;Een\n12345678;Twee\n", "row 3.kvk"),
    (b"kvk;naam\n12345678;\n", "row 2.name"),
    (b"nummer;bedrijf\n12345678;X\n", "file"),
    (b"", "file"),
    (b"kvk;naam\n", "file"),
])
def test_a_bad_file_is_refused_naming_the_row_and_changes_nothing(http, body, field):
    before = http.get("/intake/v1/policy", headers=POLICY).json()
    r = http.post("/intake/v1/policy/contracted-providers", headers={**POLICY, "Accept-Language": "nl"}, content=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["errors"][0]["field"] == field if r.json().get("errors") else r.json()["field"] == field
    assert http.get("/intake/v1/policy", headers=POLICY).json() == before


def test_only_policy_staff_import_the_list(http):
    for role in ("case_manager", "team_lead", "finance", "ops"):
        r = http.post("/intake/v1/policy/contracted-providers", content=LIST,
                      headers={**auth(role, "0014"), "Content-Type": "text/csv"})
        assert r.status_code == 403, (role, r.text)
    client = auth("client", "0014", client_id="c-1")
    assert http.post("/intake/v1/policy/contracted-providers", content=LIST,
                     headers={**client, "Content-Type": "text/csv"}).status_code == 403
