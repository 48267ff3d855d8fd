"""Partner applications (issue 13), on SQLite and PostgreSQL: ops or a team lead registers one with
its organisation's KvK number and scopes; the secret is shown once; the application gets a token
with OAuth2 client credentials (RFC 6749 section 4.4) and calls what its scopes allow; a wrong,
rotated or revoked secret is `invalid_client` (401), a scope not granted `invalid_scope` (400) at the
token endpoint and a 403 naming the scope at a route; another municipality's application is a 404;
no secret reaches a log line or a later answer."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from shared.config import Settings
from tests.integration.intake.support import frozen_clock, register
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

GRONINGEN, UTRECHT = "0014", "0344"
OPS = auth("ops", GRONINGEN)
TEAM_LEAD = auth("team_lead", GRONINGEN)
KVK = "12345678"
APPS = "/intake/v1/partner-apps"
TOKEN = "/intake/v1/oauth/token"


@pytest.fixture(params=["sqlite", "postgresql"])
def http(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
    else:
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    runtime = migrated_runtime(settings, clock=frozen_clock())
    try:
        client = api_client(runtime)
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    finally:
        runtime.engine.dispose()


def register_app(http, headers=OPS, **body: Any) -> dict[str, Any]:
    body = {"name": "Coach & Co", "organisation_kvk": KVK, "kind": "coach",
            "allowed_scopes": ["clients:read-own", "webhooks:manage"], **body}
    r = http.post(APPS, headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def token_request(http, client_id: str, secret: str, **form: str):
    return http.post(TOKEN, data={"grant_type": "client_credentials", "client_id": client_id,
                                  "client_secret": secret, **form})


def bearer(answer) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_registered_application_gets_a_token_and_calls_a_route_its_scope_allows(http):
    app = register_app(http, headers=TEAM_LEAD)
    assert app["client_id"].startswith("pa_") and len(app["client_secret"]) >= 40
    assert app["organisation_kvk"] == KVK and app["allowed_scopes"] == ["clients:read-own", "webhooks:manage"]
    answer = token_request(http, app["client_id"], app["client_secret"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "clients:read-own webhooks:manage"
    assert 0 < body["expires_in"] <= 900
    assert answer.headers["cache-control"] == "no-store"
    mine = http.get("/intake/v1/partner/clients", headers=bearer(answer))
    assert mine.status_code == 200 and mine.json() == []
    # The application's webhooks too (notifications, scope webhooks:manage).
    assert http.get("/notifications/v1/webhooks/subscriptions", headers=bearer(answer)).status_code == 200


def test_http_basic_client_authentication_works_as_well(http):
    app = register_app(http)
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    r = http.post(TOKEN, headers={"Authorization": f"Basic {basic}"}, data={"grant_type": "client_credentials"})
    assert r.status_code == 200, r.text


def test_the_secret_is_shown_once_and_never_again(http):
    app = register_app(http)
    again = http.get(f"{APPS}/{app['id']}", headers=OPS)
    listed = http.get(APPS, headers=OPS)
    assert again.status_code == 200 and listed.status_code == 200
    for answer in (again, listed):
        assert "client_secret" not in answer.text and app["client_secret"] not in answer.text
    with http.runtime.engine.connect() as conn:  # type: ignore[attr-defined]
        stored = conn.execute(sa.text("SELECT secret_hash FROM intake.partner_app")).scalar_one()
    assert stored.startswith("scrypt$") and app["client_secret"] not in stored


def test_a_wrong_secret_or_an_unknown_client_is_invalid_client(http):
    app = register_app(http)
    for client_id, secret in ((app["client_id"], app["client_secret"] + "x"), ("pa_unknown", "whatever"),
                              (app["client_id"], "")):
        r = token_request(http, client_id, secret)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
        assert "WWW-Authenticate" in r.headers


def test_a_rotated_secret_stops_at_once_and_the_new_one_works(http):
    app = register_app(http)
    rotated = http.post(f"{APPS}/{app['id']}/rotate-secret", headers=OPS)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]
    assert new_secret != app["client_secret"] and rotated.json()["client_id"] == app["client_id"]
    assert token_request(http, app["client_id"], app["client_secret"]).status_code == 401
    assert token_request(http, app["client_id"], new_secret).status_code == 200


def test_a_revoked_application_gets_no_token_and_its_tokens_read_no_clients(http):
    app = register_app(http)
    headers = bearer(token_request(http, app["client_id"], app["client_secret"]))
    revoked = http.delete(f"{APPS}/{app['id']}", headers=OPS)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = token_request(http, app["client_id"], app["client_secret"])
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert http.get("/intake/v1/partner/clients", headers=headers).status_code == 401
    assert http.post(f"{APPS}/{app['id']}/rotate-secret", headers=OPS).status_code == 409


def test_a_scope_not_granted_is_invalid_scope_and_a_missing_scope_a_403_naming_it(http):
    app = register_app(http, allowed_scopes=["webhooks:manage"])
    r = token_request(http, app["client_id"], app["client_secret"], scope="clients:read-own")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    headers = bearer(token_request(http, app["client_id"], app["client_secret"], scope="webhooks:manage"))
    missing = http.get("/intake/v1/partner/clients", headers=headers)
    assert missing.status_code == 403 and missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "auth.scope_missing" and "clients:read-own" in missing.json()["detail"]
    # A subset of the scopes is a token with only those.
    both = register_app(http)
    narrow = token_request(http, both["client_id"], both["client_secret"], scope="webhooks:manage")
    assert narrow.json()["scope"] == "webhooks:manage"


def test_bad_token_requests_answer_as_rfc_6749_says(http):
    app = register_app(http)
    wrong_grant = http.post(TOKEN, data={"grant_type": "password", "client_id": app["client_id"]})
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    no_grant = http.post(TOKEN, data={"client_id": app["client_id"]})
    assert (no_grant.status_code, no_grant.json()["error"]) == (400, "invalid_request")
    as_json = http.post(TOKEN, json={"grant_type": "client_credentials"})
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    too_long = token_request(http, app["client_id"], "x" * 500)
    assert (too_long.status_code, too_long.json()["error"]) == (400, "invalid_request")


def test_registration_names_the_bad_field_and_needs_ops_or_a_team_lead(http):
    for body, field in (({"organisation_kvk": "1234"}, "organisation_kvk"), ({"kind": "bakery"}, "kind"),
                        ({"allowed_scopes": ["clients:read-all"]}, "allowed_scopes"),
                        ({"allowed_scopes": []}, "allowed_scopes")):
        full = {"name": "X", "organisation_kvk": KVK, "kind": "coach", "allowed_scopes": ["webhooks:manage"], **body}
        r = http.post(APPS, headers=OPS, json=full)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"].startswith(field), r.json()
    for role in ("case_manager", "finance", "client", "partner", "policy"):
        extra = {"client_id": "c-1"} if role == "client" else {}
        assert http.get(APPS, headers=auth(role, GRONINGEN, **extra)).status_code == 403, role
    assert http.get(APPS, headers=OPS).json() == []


def test_another_municipality_cannot_see_or_change_an_application(http):
    app = register_app(http)
    other = auth("ops", UTRECHT)
    assert http.get(f"{APPS}/{app['id']}", headers=other).status_code == 404
    assert http.post(f"{APPS}/{app['id']}/rotate-secret", headers=other).status_code == 404
    assert http.delete(f"{APPS}/{app['id']}", headers=other).status_code == 404
    assert http.get(APPS, headers=other).json() == []
    # Its token is a token of Groningen: Utrecht's clients stay out of reach.
    utrecht_client = register(http, UTRECHT)
    headers = bearer(token_request(http, app["client_id"], app["client_secret"]))
    assert http.get(f"/intake/v1/partner/clients/{utrecht_client.client_id}", headers=headers).status_code == 404


def test_no_secret_reaches_a_log_line(http):
    with capture_logs() as logged:
        app = register_app(http)
        rotated = http.post(f"{APPS}/{app['id']}/rotate-secret", headers=OPS).json()
        token_request(http, app["client_id"], app["client_secret"])
        token_request(http, app["client_id"], rotated["client_secret"])
    assert logged, "the requests were logged"
    for secret in (app["client_secret"], rotated["client_secret"]):
        assert not [entry for entry in logged if secret in repr(entry)]
    assert any(entry.get("event") == "partner_app.token_issued" for entry in logged)
