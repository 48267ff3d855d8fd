"""A date of birth in the future or before 1900 is a typing error: refused naming the field, on
registration and on a change, and nothing is stored (the benchmark's age band comes from it)."""

from __future__ import annotations

import pytest

from eigenregie.initial_data import ELIGIBLE_FACTS
from eigenregie.initial_data import test_bsn as bsn_of
from tests.support.auth import auth
from tests.support.world import migrated_app

KM = auth("case_manager", "0014")


@pytest.fixture(scope="module")
def http(request, tmp_path_factory):
    _runtime, client = migrated_app(request, tmp_path_factory.mktemp("birth"))
    return client


def _register(http, seed: int, born: str | None):
    body = {"bsn": bsn_of(seed), "client_number": f"B{seed}", "name": f"Klant {seed}", "facts": ELIGIBLE_FACTS}
    if born is not None:
        body["date_of_birth"] = born
    return http.post("/intake/v1/clients", headers=KM, json=body)


@pytest.mark.parametrize("born", ["9999-12-31", "2999-01-01", "1899-12-31", "0001-01-01"])
def test_an_impossible_date_of_birth_is_refused_naming_it(http, born):
    r = _register(http, 700, born)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "date_of_birth"
    assert http.get("/intake/v1/clients", headers=KM).json() == []


def test_a_plausible_date_is_kept_and_a_change_to_an_impossible_one_refused(http):
    r = _register(http, 710, "1985-06-15")
    assert r.status_code == 201, r.text
    client = r.json()
    changed = http.patch(f"/intake/v1/clients/{client['id']}", headers=KM, json={"date_of_birth": "2999-01-01"})
    assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == "date_of_birth"
    assert http.get(f"/intake/v1/clients/{client['id']}", headers=KM).json()["date_of_birth"] == "1985-06-15"
