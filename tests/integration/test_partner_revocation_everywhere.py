"""Issue 13: a partner application revoked, or its secret rotated, loses its tokens at once in every
service, not only in intake: intake refuses them from the revoking transaction on, budget,
monitoring and notifications from the moment PartnerCredentialsRevoked reaches them (here: one
relay round). Walked over every operation of every service's OpenAPI, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import SERVICES
from shared import revocation
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client

GRONINGEN = "0014"
OPS = auth("ops", GRONINGEN)
TOKEN_ROUTE = ("POST", "/intake/v1/oauth/token")  # takes client credentials, no bearer token
ALL_SCOPES = ["clients:read-own", "invoices:write", "progress:write", "webhooks:manage"]
# One route per service where the application's token works (200) or gets past the token check to
# the route's own refusal (403: partners read no progress reports or batch results).
CONTROLS = {
    "intake": ("GET", "/intake/v1/partner/clients", 200),
    "notifications": ("GET", "/notifications/v1/webhooks/subscriptions", 200),
    "monitoring": ("GET", f"/monitoring/v1/trajectories/{uuid.uuid4()}/progress-reports", 403),
    "budget": ("GET", f"/budget/v1/invoice-batches/{uuid.uuid4()}/results.csv", 403),
}


@pytest.fixture(params=["sqlite", "postgresql"])
def http(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
    else:
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    runtime = migrated_runtime(settings)
    try:
        client = api_client(runtime)
        client.runtime = runtime  # type: ignore[attr-defined]
        yield client
    finally:
        runtime.engine.dispose()


def _register(http) -> dict[str, Any]:
    r = http.post("/intake/v1/partner-apps", headers=OPS, json={
        "name": "Werkfit BV", "organisation_kvk": "12345678", "kind": "reintegration_company",
        "allowed_scopes": ALL_SCOPES})
    assert r.status_code == 201, r.text
    return r.json()


def _token(http, app: dict[str, Any]) -> dict[str, str]:
    r = http.post("/intake/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                                                  "client_secret": app["client_secret"]})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _operations(http) -> list[tuple[str, str]]:
    found = []
    for service in SERVICES:
        for path, ops in http.get(f"/{service}/v1/openapi.json").json()["paths"].items():
            url = f"/{service}" + path.replace("{", "").replace("}", "")  # any id: the token is refused first
            found += [(method.upper(), url) for method in ops if (method.upper(), f"/{service}{path}") != TOKEN_ROUTE]
    return sorted(found)


def _works(http, headers: dict[str, str]) -> dict[str, int]:
    return {service: http.request(method, path, headers=headers).status_code
            for service, (method, path, _status) in CONTROLS.items()}


def _refused_everywhere(http, headers: dict[str, str]) -> list[str]:
    """Every operation of every service that does not answer 401 `auth.credentials_revoked`."""
    missed = []
    for method, path in _operations(http):
        # A PATCH is a JSON merge patch (RFC 7396); its media type is checked before anything else.
        media = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else {}
        r = http.request(method, path, headers={**headers, **media})
        body = r.json() if r.headers.get("content-type") == "application/problem+json" else {}
        if r.status_code != 401 or body.get("code") != "auth.credentials_revoked":
            missed.append(f"{method} {path}: {r.status_code} {r.text[:120]}")
    return missed


def _refused_by(http, headers: dict[str, str]) -> set[str]:
    return {service for service, (method, path, _s) in CONTROLS.items()
            if http.request(method, path, headers=headers).status_code == 401}


def test_a_revoked_applications_token_is_refused_by_every_service_once_the_revocation_is_relayed(http):
    app = _register(http)
    token = _token(http, app)
    expected = {service: status for service, (_m, _p, status) in CONTROLS.items()}
    assert _works(http, token) == expected  # the control: the token works in each service

    r = http.delete(f"/intake/v1/partner-apps/{app['id']}", headers=OPS)
    assert r.status_code == 200, r.text
    # Intake refuses at once (its own table, in the revoking transaction); the others once relayed.
    assert _refused_by(http, token) == {"intake"}
    drain(http.runtime)
    assert _refused_everywhere(http, token) == []
    r = http.get("/budget/v1/invoice-batches/x/results.csv", headers=token)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert {e["field"] for e in r.json()["errors"]} == {"authorization"} and r.json()["errors"][0]["message_nl"]


def test_a_rotated_secret_ends_the_old_tokens_everywhere_and_the_new_secret_works(http):
    app = _register(http)
    old = _token(http, app)
    r = http.post(f"/intake/v1/partner-apps/{app['id']}/rotate-secret", headers=OPS)
    assert r.status_code == 200, r.text
    new = _token(http, r.json())  # got right after the rotation, maybe within the same second
    drain(http.runtime)
    assert _refused_everywhere(http, old) == []
    expected = {service: status for service, (_m, _p, status) in CONTROLS.items()}
    assert _works(http, new) == expected


def test_other_applications_and_other_roles_are_not_touched_by_a_revocation(http):
    revoked, other = _register(http), _register(http)
    other_token = _token(http, other)
    assert http.delete(f"/intake/v1/partner-apps/{revoked['id']}", headers=OPS).status_code == 200
    drain(http.runtime)
    expected = {service: status for service, (_m, _p, status) in CONTROLS.items()}
    assert _works(http, other_token) == expected
    # A staff token whose subject happens to be the revoked application's id is no partner token.
    staff = auth("finance", GRONINGEN, subject=revoked["id"])
    assert http.get("/budget/v1/invoices", headers=staff).status_code == 200


def test_the_revocation_event_carries_nothing_about_a_person_and_twice_changes_nothing(http):
    app = _register(http)
    token = _token(http, app)
    assert http.post(f"/intake/v1/partner-apps/{app['id']}/rotate-secret", headers=OPS).status_code == 200
    assert http.delete(f"/intake/v1/partner-apps/{app['id']}", headers=OPS).status_code == 200
    with http.runtime.engine.connect() as conn:
        outbox = bus_tables("intake").outbox
        rows = conn.execute(sa.select(outbox.c.envelope).where(outbox.c.event_type == "PartnerCredentialsRevoked"))
        envelopes = [row.envelope for row in rows]
    assert len(envelopes) == 2
    assert all("Werkfit" not in e and "12345678" not in e and app["client_secret"] not in e for e in envelopes)
    drain(http.runtime)
    drain(http.runtime)
    for service in SERVICES:
        table = revocation.revocation_table(service)
        with http.runtime.engine.connect() as conn:
            rows = conn.execute(sa.select(table)).mappings().all()
        assert [(row["subject"], row["revoked"]) for row in rows] == [(app["id"], True)], service
    assert _refused_everywhere(http, token) == []


def test_a_revocation_never_loosens_and_a_late_rotation_changes_nothing(http):
    """An older rotation that arrives late (redelivered, replayed) moves no moment back, and a
    revoked application stays revoked whatever comes after."""
    runtime = http.runtime
    subject = str(uuid.uuid4())
    later, earlier = datetime(2026, 12, 1, 12, tzinfo=UTC), datetime(2026, 12, 1, 11, tzinfo=UTC)
    for moment, revoked in ((later, False), (earlier, False)):
        with runtime.uow("budget") as uow:
            revocation.record(uow, subject=subject, municipality=GRONINGEN, tokens_issued_before=moment,
                              revoked=revoked)
            uow.commit()
    between = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    assert revocation.refused(runtime.engine, "budget", subject, between)  # issued before the later rotation
    assert not revocation.refused(runtime.engine, "budget", subject, later + timedelta(seconds=1))
    assert not revocation.refused(runtime.engine, "monitoring", subject, between)  # each service its own table
    for revoked in (True, False):
        with runtime.uow("budget") as uow:
            revocation.record(uow, subject=subject, municipality=GRONINGEN, tokens_issued_before=earlier,
                              revoked=revoked)
            uow.commit()
    assert revocation.refused(runtime.engine, "budget", subject, later + timedelta(hours=1))
