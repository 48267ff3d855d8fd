"""A partner application files progress reports (issue 13), on SQLite and PostgreSQL: with a token
from the OAuth2 token endpoint and the scope progress:write it reports, as the provider, on a
trajectory whose plan lines name its organisation's KvK number; without the scope a 403 naming it;
on a plan that does not name it a 404; it reads no reports (not its role)."""

from __future__ import annotations

import pytest

from tests.integration.monitoring.progress_support import KVK, OTHER_KVK, START, fixed_world, on_day, start_plan
from tests.support.auth import auth

REPORT = {"on_track": True, "summary": "Gaat goed"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with fixed_world(request, tmp_path_factory.mktemp("partner-progress"), request.param) as world:
        yield world


@pytest.fixture(autouse=True)
def _on_the_start(env):
    _runtime, _http, clock = env
    on_day(clock, START)


def partner_token(http, scopes: list[str], kvk: str = KVK, scope: str | None = None) -> dict[str, str]:
    app = http.post("/intake/v1/partner-apps", headers=auth("ops", "0014"), json={
        "name": "Reïntegratie BV", "organisation_kvk": kvk, "kind": "reintegration_company",
        "allowed_scopes": scopes}).json()
    form = {"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]}
    answer = http.post("/intake/v1/oauth/token", data={**form, **({"scope": scope} if scope else {})})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_partner_with_progress_write_reports_as_the_provider_the_plan_names(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, provider_kvk=KVK)
    headers = partner_token(http, ["progress:write", "clients:read-own"])
    r = http.post(plan.url("/progress-reports"), headers=headers, json={**REPORT, "done": "Sollicitatietraining."})
    assert r.status_code == 201, r.text
    assert r.json()["reporter"] == "provider" and r.json()["reported_by_role"] == "partner"
    # Filed as that provider: a provider token with the same KvK number sees it as its own.
    provider = auth("provider", "0014", provider_id=f"kvk:{KVK}")
    own = http.get(plan.url("/progress-reports"), headers=provider).json()
    assert [p["done"] for p in own] == ["Sollicitatietraining."]
    assert http.get(plan.url("/progress-reports"), headers=headers).status_code == 403


def test_a_partner_without_the_scope_gets_a_403_naming_it(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, provider_kvk=KVK)
    headers = partner_token(http, ["progress:write", "clients:read-own"], scope="clients:read-own")
    r = http.post(plan.url("/progress-reports"), headers=headers, json=REPORT)
    assert r.status_code == 403 and r.json()["code"] == "auth.scope_missing" and "progress:write" in r.json()["detail"]


def test_a_partner_the_plan_does_not_name_gets_a_404(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, provider_kvk=KVK)
    headers = partner_token(http, ["progress:write"], kvk=OTHER_KVK)
    assert http.post(plan.url("/progress-reports"), headers=headers, json=REPORT).status_code == 404
    elsewhere = auth("partner", "0344", organisation_kvk=KVK)
    assert http.post(plan.url("/progress-reports"), headers=elsewhere, json=REPORT).status_code == 404
