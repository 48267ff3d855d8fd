"""The OpenID Connect log-in, in process on SQLite: the web pages (relying party) and the local
issuer through the app's TestClient: the code flow with PKCE end to end, a wrong verifier, a
reused code, a wrong state and an unregistered redirect URI refused; the JWKS and the discovery
document served; key rotation, with local keys and with a JWKS fetched over HTTP; `prb token`
refused in production."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from fastapi.testclient import TestClient

from eigenregie.entrypoints.web import create_app
from eigenregie.web import oidc_login
from eigenregie.web import session as sessions
from shared import auth
from shared.auth import Principal, Role, decode_token, issue_token
from shared.config import Settings
from shared.field_crypto import new_data_key
from shared.problems import Problem
from shared.signing_keys import key_set, new_private_key_pem
from tests.support.runtime import migrated_runtime

KEY_OLD, KEY_NEW = new_private_key_pem("ec"), new_private_key_pem("rsa")
VERIFIER = "v" * 43 + "-the-verifier-of-this-test"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oidc")
    return migrated_runtime(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/prb.db", environment="test"))


@pytest.fixture
def http(runtime):
    return TestClient(create_app(runtime, embedded=True), follow_redirects=False)


def _hidden_fields(page: str, user: str) -> dict[str, str]:
    """The form of one demo user's button on the authorization page."""
    form = next(f for f in re.findall(r"<form.*?</form>", page, re.S) if f'value="{user}"' in f)
    assert 'action="/oidc/authorize"' in form
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))


def _code(http: TestClient, challenge: str = CHALLENGE, user: str = "finance|0014|") -> str:
    r = http.post(
        "/oidc/authorize",
        data={
            "user": user,
            "client_id": "eigen-regie-web",
            "redirect_uri": "/login/callback",
            "state": "s-1",
            "code_challenge": challenge,
            "nonce": "n-1",
        },
    )
    assert r.status_code == 303, r.text
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert r.headers["location"].startswith("/login/callback?") and query["state"] == ["s-1"]
    return query["code"][0]


def _exchange(http: TestClient, code: str, verifier: str = VERIFIER):
    return http.post(
        "/oidc/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "/login/callback",
            "client_id": "eigen-regie-web",
            "code_verifier": verifier,
        },
    )


def test_the_code_flow_with_pkce_logs_a_demo_user_in_through_the_local_issuer(http, runtime):
    start = http.get("/login/start")
    assert start.status_code == 303 and oidc_login.FLOW_COOKIE in start.headers["set-cookie"]
    authorize = urlsplit(start.headers["location"])
    request = parse_qs(authorize.query)
    assert authorize.path == "/oidc/authorize" and request["code_challenge_method"] == ["S256"]
    assert request["response_type"] == ["code"] and "openid" in request["scope"][0] and request["nonce"]
    page = http.get(start.headers["location"])
    assert page.status_code == 200 and "Inloggen als" in page.text
    fields = _hidden_fields(page.text, "case_manager|0014|")
    assert fields["state"] == request["state"][0] and fields["code_challenge"] == request["code_challenge"][0]
    back = http.post("/oidc/authorize", data=fields)
    assert back.status_code == 303 and back.headers["location"].startswith("/login/callback?code=")
    done = http.get(back.headers["location"])
    assert done.status_code == 303 and done.headers["location"] != "/login", done.text
    who = sessions.load(http.cookies.get(sessions.COOKIE), runtime.settings)
    assert who is not None and (who.role, who.municipality, who.subject) == ("case_manager", "0014", "km-0014")
    assert http.get(done.headers["location"]).status_code == 200
    # The one-click demo log-in (POST /login) goes through the same flow, in process.
    other = TestClient(create_app(runtime, embedded=True), follow_redirects=False)
    assert other.post("/login", data={"user": "ops|0344|"}).status_code == 303
    assert sessions.load(other.cookies.get(sessions.COOKIE), runtime.settings).role == "ops"


def test_the_token_endpoint_answers_an_id_token_signed_with_a_published_key(http, runtime):
    answer = _exchange(http, _code(http))
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    tokens = answer.json()
    jwks = http.get("/.well-known/jwks.json").json()
    header = jwt.get_unverified_header(tokens["id_token"])
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    claims = jwt.decode(tokens["id_token"], jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], audience="eigen-regie-web")
    assert claims["sub"] == "fin-0014" and claims["role"] == "finance" and claims["nonce"] == "n-1"
    assert claims["iss"] == runtime.settings.public_base_url
    assert decode_token(tokens["access_token"], runtime.settings).role == Role.FINANCE


def test_a_wrong_code_verifier_is_refused_and_spends_the_code(http):
    code = _code(http)
    wrong = _exchange(http, code, verifier="w" * 43)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert _exchange(http, code).json()["error"] == "invalid_grant", "a code is tried once"


def test_a_code_is_exchanged_only_once(http):
    code = _code(http)
    assert _exchange(http, code).status_code == 200
    again = _exchange(http, code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert _exchange(http, "made-up").json()["error"] == "invalid_grant"


def test_the_callback_checks_the_state_of_this_browsers_log_in(http, runtime):
    start = http.get("/login/start")
    request = parse_qs(urlsplit(start.headers["location"]).query)
    page = http.get(start.headers["location"]).text
    fields = {**_hidden_fields(page, "team_lead|0014|"), "state": "another-state"}
    back = http.post("/oidc/authorize", data=fields)
    assert back.status_code == 303
    refused = http.get(back.headers["location"])
    assert refused.status_code == 400 and sessions.COOKIE not in (refused.headers.get("set-cookie") or "")
    # The right state but no log-in under way in this browser (no flow cookie): refused too.
    stranger = TestClient(create_app(runtime, embedded=True), follow_redirects=False)
    code = _code(http, request["code_challenge"][0], "team_lead|0014|")
    assert stranger.get("/login/callback", params={"code": code, "state": "s-1"}).status_code == 400
    assert http.get("/login/callback", params={"error": "access_denied", "state": "s-1"}).status_code == 403


def test_the_issuer_never_redirects_to_an_unregistered_uri_and_requires_pkce(http):
    params = {"client_id": "eigen-regie-web", "redirect_uri": "/login/callback", "state": "s", "nonce": "n"}
    evil = http.get("/oidc/authorize", params={**params, "redirect_uri": "https://evil.example/cb"})
    assert evil.status_code == 400 and "location" not in evil.headers
    assert http.get("/oidc/authorize", params={**params, "client_id": "someone-else"}).status_code == 400
    no_pkce = http.get("/oidc/authorize", params=params)
    assert no_pkce.status_code == 303 and "error=invalid_request" in no_pkce.headers["location"]
    plain = http.get("/oidc/authorize", params={**params, "code_challenge": "x", "code_challenge_method": "plain"})
    assert "error=invalid_request" in plain.headers["location"]
    forged = http.post("/oidc/authorize", data={**params, "code_challenge": CHALLENGE, "user": "ops|9999|"})
    assert forged.status_code == 403


def test_jwks_and_discovery_are_served_and_the_local_issuer_is_off_with_a_real_one(http, runtime):
    jwks = http.get("/.well-known/jwks.json")
    assert jwks.status_code == 200 and [k["kid"] for k in jwks.json()["keys"]] == [
        k.kid for k in key_set(runtime.settings).keys
    ]
    meta = http.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == runtime.settings.public_base_url and meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["jwks_uri"].endswith("/.well-known/jwks.json") and meta["token_endpoint"].endswith("/oidc/token")
    saved = runtime.settings
    runtime.settings = saved.model_copy(update={"oidc_issuer": "https://idp.example/realms/gemeente"})
    try:
        assert http.get("/.well-known/openid-configuration").status_code == 404
        assert (
            http.get("/oidc/authorize", params={"client_id": "x", "redirect_uri": "y", "state": "z"}).status_code == 404
        )
        assert _exchange(http, "any").status_code == 404
        assert http.post("/login", data={"user": "ops|0014|"}).status_code == 403
        page = http.get("/login").text
        assert 'href="/login/start"' in page and "DigiD" in page and 'name="user"' not in page
    finally:
        runtime.settings = saved


def test_claims_of_a_real_issuer_map_to_a_principal_as_configured(runtime):
    settings = runtime.settings.model_copy(update={"oidc_role_claim": "roles", "oidc_municipality_claim": "gemeente"})
    who = oidc_login.principal_of(
        {"sub": "u-1", "roles": ["offline_access", "team_lead"], "gemeente": "0344"}, settings
    )
    assert who == Principal(subject="u-1", role=Role.TEAM_LEAD, municipality="0344")
    for claims in (
        {"sub": "u-1", "roles": "service", "gemeente": "0344"},  # not a role that logs in to the pages
        {"sub": "u-1", "roles": ["team_lead", "finance"], "gemeente": "0344"},  # ambiguous
        {"sub": "u-1", "roles": "client", "gemeente": "0344"},  # a client without the client's id
        {"sub": "u-1", "roles": "ops", "gemeente": "Groningen"},
    ):
        with pytest.raises(oidc_login.PageProblem):
            oidc_login.principal_of(claims, settings)


def test_rotation_with_local_keys_old_tokens_valid_while_published_then_401(runtime):
    app_settings = runtime.settings
    old = runtime.settings.model_copy(update={"signing_keys": KEY_OLD})
    km = Principal(subject="km-0014", role=Role.CASE_MANAGER, municipality="0014")
    token = issue_token(km, old)
    http = TestClient(create_app(runtime, embedded=True))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for keys, status in ((KEY_OLD, 200), (KEY_NEW + KEY_OLD, 200), (KEY_NEW, 401)):
            runtime.settings = app_settings.model_copy(update={"signing_keys": keys})
            assert http.get("/intake/v1/clients", headers=headers).status_code == status, keys[:30]
            published = [k["kid"] for k in http.get("/.well-known/jwks.json").json()["keys"]]
            assert published == [k.kid for k in key_set(runtime.settings).keys]
        new_token = issue_token(
            Principal(subject="km-0014", role=Role.CASE_MANAGER, municipality="0014"), runtime.settings
        )
        assert jwt.get_unverified_header(new_token)["kid"] == published[0] != jwt.get_unverified_header(token)["kid"]
        assert http.get("/intake/v1/clients", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    finally:
        runtime.settings = app_settings


class _JwksServer:
    """A real HTTP server publishing a JWKS that the test changes (an issuer rotating its keys)."""

    def __init__(self) -> None:
        self.document: dict = {"keys": []}
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.fetches += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_rotation_with_a_remote_jwks_fetches_again_for_an_unknown_kid(monkeypatch):
    monkeypatch.setattr(auth, "JWKS_COOLDOWN_SECONDS", 0.0)
    issuer = _JwksServer()
    try:
        old, new = Settings(signing_keys=KEY_OLD), Settings(signing_keys=KEY_NEW + KEY_OLD)
        validator = Settings(jwks_url=issuer.url)
        who = Principal(subject="fin-0014", role=Role.FINANCE, municipality="0014")
        issuer.document = key_set(old).jwks()
        assert decode_token(issue_token(who, old), validator) == who
        assert decode_token(issue_token(who, old), validator) == who and issuer.fetches == 1, "cached"
        issuer.document = key_set(new).jwks()  # a new key signs; the old one still published
        assert decode_token(issue_token(who, new), validator) == who and issuer.fetches == 2, "fetched for its kid"
        with pytest.raises(Problem) as refused:
            decode_token(issue_token(who, Settings(signing_keys=new_private_key_pem("ec"))), validator)
        assert refused.value.status == 401 and issuer.fetches == 3
    finally:
        issuer.server.shutdown()


def test_prb_token_is_refused_in_production_with_a_clear_message(tmp_path):
    command = [sys.executable, "-m", "eigenregie.entrypoints.cli", "token", "--role", "ops", "--municipality", "0014"]
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PRB_DATA_DIR": str(tmp_path)}
    production = {
        **base,
        "PRB_ENVIRONMENT": "production",
        "PRB_JWT_SECRET": "j" * 40,
        "DATABASE_URL": "postgresql://x/y",
        "BROKER_URL": "redis://x",
        "PRB_DATA_KEYS": new_data_key(),
        "PRB_BSN_HASH_KEY": "h" * 40,
        "PRB_SIGNING_KEYS": KEY_OLD,
    }
    refused = subprocess.run(command, env=production, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and refused.stdout == ""
    assert "prb token issues development tokens only" in refused.stderr and "not in production" in refused.stderr
    dev = subprocess.run(command, env=base, capture_output=True, text=True, timeout=120)
    assert dev.returncode == 0, dev.stderr
    assert decode_token(dev.stdout.strip(), Settings()).role == Role.OPS


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_same_relying_party_logs_in_at_a_configured_issuer_over_http(tmp_path_factory):
    """A configured issuer (here the local issuer of another app, served by uvicorn on a port):
    discovery, the browser's redirects, the code exchange and the JWKS all over real HTTP."""
    import httpx
    import uvicorn

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    folder = tmp_path_factory.mktemp("idp")
    idp_settings = Settings(
        data_dir=folder, database_url=f"sqlite:///{folder}/prb.db", environment="test", public_base_url=base
    )
    idp_settings = idp_settings.model_copy(update={"signing_keys": KEY_NEW, "jwt_secret": "i" * 40})
    idp = migrated_runtime(idp_settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(idp, embedded=True), host="127.0.0.1", port=port, lifespan="off", log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            threading.Event().wait(0.05)
        folder_rp = tmp_path_factory.mktemp("rp")
        rp = migrated_runtime(
            Settings(
                data_dir=folder_rp,
                database_url=f"sqlite:///{folder_rp}/prb.db",
                environment="test",
                oidc_issuer=base,
                public_base_url=base,  # its callback URL: registered at the issuer (its own base here)
            )
        )
        pages = TestClient(create_app(rp, embedded=True), follow_redirects=False)
        start = pages.get("/login/start")
        assert start.status_code == 303 and start.headers["location"].startswith(f"{base}/oidc/authorize?")
        with httpx.Client(timeout=10, follow_redirects=False) as browser:
            page = browser.get(start.headers["location"])
            assert page.status_code == 200
            back = browser.post(f"{base}/oidc/authorize", data=_hidden_fields(page.text, "policy|0344|"))
        assert back.status_code == 303 and back.headers["location"].startswith(f"{base}/login/callback?code=")
        done = pages.get("/login/callback?" + urlsplit(back.headers["location"]).query)
        assert done.status_code == 303, done.text
        who = sessions.load(pages.cookies.get(sessions.COOKIE), rp.settings)
        assert who is not None and (who.role, who.municipality) == ("policy", "0344")
        # The relying party checked the ID token with the issuer's key (fetched from its JWKS), not its own.
        assert key_set(rp.settings).signing.kid != key_set(idp.settings).signing.kid
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_server_does_not_start_in_production_with_the_development_signing_key(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PRB_DATA_DIR": str(tmp_path),
        "PRB_ENVIRONMENT": "production",
        "PRB_JWT_SECRET": "j" * 40,
        "DATABASE_URL": "postgresql://x/y",
        "BROKER_URL": "redis://x",
        "PRB_DATA_KEYS": new_data_key(),
        "PRB_BSN_HASH_KEY": "h" * 40,
    }
    command = [sys.executable, "-m", "eigenregie.entrypoints.cli", "serve", "intake", "--port", "1"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "PRB_SIGNING_KEYS must be set in production" in refused.stderr
    malformed = {**env, "PRB_SIGNING_KEYS": "-----BEGIN PRIVATE KEY-----\nsecret-ish\n-----END PRIVATE KEY-----"}
    refused = subprocess.run(command, env=malformed, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "PRB_SIGNING_KEYS" in refused.stderr and "secret-ish" not in refused.stderr
