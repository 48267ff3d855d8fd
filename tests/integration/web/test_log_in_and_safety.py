"""The web pages' safety, in process on SQLite with the demo data: the demo log-in lets in only its
demo users and only in dev and test; the session cookie is signed, HttpOnly, SameSite and times out;
every form needs its CSRF token; security headers on every page and none of them on the APIs; the
language switch is remembered and does not redirect off the site."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import load_demo_data
from eigenregie.web import session as sessions
from shared.config import Settings
from tests.support.runtime import migrated_runtime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-safety")
    runtime = migrated_runtime(
        Settings(data_dir=folder, database_url=f"sqlite:///{folder}/prb.db", environment="test", web_session_minutes=5)
    )
    load_demo_data(runtime)
    return runtime


def browser_of(runtime) -> TestClient:
    return TestClient(create_app(runtime, embedded=True), follow_redirects=False)


def demo_keys(http: TestClient) -> list[str]:
    return re.findall(r'name="user" value="([^"]+)"', http.get("/login").text)


def logged_in(runtime, key: str) -> TestClient:
    http = browser_of(runtime)
    assert http.post("/login", data={"user": key}).status_code == 303
    return http


def test_the_demo_log_in_lists_staff_clients_and_partners_and_lets_in_only_those(runtime):
    http = browser_of(runtime)
    keys = demo_keys(http)
    assert "case_manager|0014|" in keys and "finance|0344|" in keys and "provider|0014|opleidingscentrum-noord" in keys
    clients = [k for k in keys if k.startswith("client|")]
    assert len(clients) == 5 and all(len(k.split("|")[2]) == 36 for k in clients)
    page = http.get("/login").text
    assert "Anna de Vries" in page and not re.search(r"\b\d{9}\b", page)  # names, never a BSN
    r = http.post("/login", data={"user": "case_manager|0014|"})
    assert r.status_code == 303 and "prb_session=" in r.headers["set-cookie"]
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    # A representative logs in as herself and sees the client she acts for (his budget, not his BSN).
    (rep,) = [k for k in keys if k.startswith("representative|")]
    assert "Karin El Amrani" in page
    helper = logged_in(runtime, rep)
    overview = helper.get("/client")
    assert overview.status_code == 200 and "€ 1.200,00" in overview.text
    # Not on the list: a made-up role, municipality or client id.
    for forged in ("ops|9999|", "client|0014|00000000-0000-0000-0000-000000000000", "service|0014|", ""):
        assert browser_of(runtime).post("/login", data={"user": forged}).status_code in (403, 422), forged


def test_a_production_configuration_has_no_demo_log_in(runtime, tmp_path):
    production = runtime.settings.model_copy(update={"environment": "production"})
    runtime.settings, saved = production, runtime.settings
    try:
        http = browser_of(runtime)
        assert demo_keys(http) == [] and "DigiD" in http.get("/login").text
        assert http.post("/login", data={"user": "case_manager|0014|"}).status_code == 403
    finally:
        runtime.settings = saved


def test_a_tampered_or_expired_session_is_no_session(runtime):
    http = logged_in(runtime, "case_manager|0014|")
    value = http.cookies.get(sessions.COOKIE)
    forged = sessions.dump(
        sessions.WebSession(subject="x", role="ops", municipality="0014", csrf="c"),
        runtime.settings.model_copy(update={"jwt_secret": "another secret of at least thirty-two chars"}),
    )
    stranger = browser_of(runtime)
    stranger.cookies.set(sessions.COOKIE, forged)
    assert stranger.get("/login").status_code == 200
    assert sessions.load(forged, runtime.settings) is None
    assert sessions.load(value[:-2] + "xx", runtime.settings) is None
    assert sessions.load(value, runtime.settings) is not None
    # Older than web_session_minutes (5): gone.
    import time as real_time

    later = real_time.time() + 6 * 60
    original = real_time.time
    try:
        real_time.time = lambda: later  # itsdangerous reads time.time()
        assert sessions.load(value, runtime.settings) is None
    finally:
        real_time.time = original


def test_every_form_needs_its_csrf_token(runtime):
    http = logged_in(runtime, "case_manager|0014|")
    assert http.post("/logout").status_code == 403
    assert http.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    other = logged_in(runtime, "case_manager|0014|")
    theirs = sessions.load(other.cookies.get(sessions.COOKIE), runtime.settings)
    assert theirs is not None
    assert http.post("/logout", data={"csrf_token": theirs.csrf}).status_code == 403  # another session's token
    mine = sessions.load(http.cookies.get(sessions.COOKIE), runtime.settings)
    assert mine is not None
    r = http.post("/logout", data={"csrf_token": mine.csrf})
    assert r.status_code == 303 and 'prb_session=""' in r.headers["set-cookie"]


def test_pages_carry_security_headers_and_the_apis_do_not_get_page_headers(runtime):
    http = browser_of(runtime)
    page = http.get("/login")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert page.headers["referrer-policy"] == "same-origin" and page.headers["x-frame-options"] == "DENY"
    api = http.get("/intake/v1/openapi.json")
    assert api.status_code == 200 and "content-security-policy" not in api.headers


def test_the_language_is_switched_remembered_and_never_sends_you_off_the_site(runtime):
    http = browser_of(runtime)
    assert '<html lang="nl">' in http.get("/login").text
    r = http.get("/language/en", params={"next": "/login"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert '<html lang="en">' in http.get("/login").text and "Log in" in http.get("/login").text
    for away in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        assert http.get("/language/nl", params={"next": away}).headers["location"] == "/"
    assert '<html lang="nl">' in http.get("/login").text
    assert '<html lang="nl">' in http.get("/login", params={"lang": "de"}).text  # unknown: Dutch


def test_without_a_session_you_are_sent_to_log_in_and_told_when_it_timed_out(runtime):
    http = browser_of(runtime)
    assert http.post("/logout").headers["location"] == "/login"
    http.cookies.set(sessions.COOKIE, "garbage")
    assert http.post("/logout").headers["location"] == "/login?expired=true"
    assert "uitgelogd" in http.get("/login", params={"expired": "true"}).text
