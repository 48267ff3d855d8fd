"""Rate limits (shared/rate_limit.py) on an app in process, counters in memory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from shared.auth import Principal, Role, issue_token
from shared.config import Settings
from shared.problems import PROBLEM_JSON
from shared.rate_limit import RateLimitMiddleware, TokenKeys
from tests.support.auth import auth, token_for


def _client(address: str = "192.0.2.1", **limits: object) -> TestClient:
    settings = Settings(**{"environment": "test", "rate_limit": "3/minute", "rate_limit_login": "2/minute", **limits})
    app = FastAPI()

    @app.get("/intake/v1/clients")
    def clients() -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/login")
    def login() -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/intake/v1/oauth/token")
    def partner_token() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/login")
    def login_page() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(RateLimitMiddleware, settings=settings, prefixes=["/intake/"])
    return TestClient(app, client=(address, 50000))


KM = auth("case_manager", "0014")


def test_a_log_in_over_its_limit_gets_429_problem_with_retry_after():
    http = _client()
    answers = [http.get("/intake/v1/clients", headers=KM) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    over = answers[-1]
    assert over.headers["content-type"].startswith(PROBLEM_JSON)
    assert over.json()["code"] == "request.rate_limited" and over.json()["status"] == 429
    assert over.headers["RateLimit-Limit"] == "3"
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert 0 <= int(over.headers["RateLimit-Reset"]) <= 60


def test_each_log_in_and_each_municipality_has_its_own_count():
    http = _client()
    for _ in range(3):
        assert http.get("/intake/v1/clients", headers=KM).status_code == 200
    assert http.get("/intake/v1/clients", headers=KM).status_code == 429
    assert http.get("/intake/v1/clients", headers=auth("case_manager", "0014", subject="km-2")).status_code == 200
    assert http.get("/intake/v1/clients", headers=auth("case_manager", "0363")).status_code == 200


def test_anonymous_calls_count_per_address_and_a_forged_token_counts_as_anonymous():
    http = _client()
    forged = {"Authorization": "Bearer not.a.token"}
    codes = [http.get("/intake/v1/clients", headers=h).status_code for h in ({}, forged, {}, forged)]
    assert codes == [200, 200, 200, 429]
    assert _client("192.0.2.2").get("/intake/v1/clients").status_code == 200  # a fresh app, another address
    assert http.get("/intake/v1/clients", headers=KM).status_code == 200  # the log-in is counted apart


def test_a_log_in_post_has_its_own_tighter_limit_per_address_whatever_the_token():
    http = _client()
    codes = [http.post("/login", headers=h).status_code for h in ({}, KM, {})]
    assert codes == [200, 200, 429]
    assert http.get("/login").status_code == 200  # the page itself is not counted
    assert http.get("/intake/v1/clients").status_code == 200  # nor does a log-in count against the API limit


def test_a_partner_applications_token_request_counts_as_a_log_in():
    http = _client()
    assert [http.post("/intake/v1/oauth/token").status_code for _ in range(3)] == [200, 200, 429]
    assert http.get("/intake/v1/clients", headers=KM).status_code == 200


def test_paths_outside_the_apis_are_not_counted():
    http = _client()
    for _ in range(5):
        answer = http.get("/healthz")
        assert answer.status_code == 200 and "RateLimit-Limit" not in answer.headers


def test_several_limits_apply_together_and_the_tightest_is_told():
    http = _client(rate_limit="2/second;100/minute")
    first = http.get("/intake/v1/clients", headers=KM)
    assert (first.headers["RateLimit-Limit"], first.headers["RateLimit-Remaining"]) == ("2", "1")
    assert http.get("/intake/v1/clients", headers=KM).status_code == 200
    assert http.get("/intake/v1/clients", headers=KM).status_code == 429


def test_switched_off_nothing_is_counted():
    http = _client(rate_limit_enabled=False)
    assert all(http.get("/intake/v1/clients", headers=KM).status_code == 200 for _ in range(5))


@pytest.mark.parametrize("strategy", ["fixed-window", "sliding-window-counter"])
def test_every_strategy_limits(strategy):
    http = _client(rate_limit_strategy=strategy)
    assert [http.get("/intake/v1/clients", headers=KM).status_code for _ in range(4)] == [200, 200, 200, 429]


@pytest.mark.parametrize("setting", ["rate_limit", "rate_limit_login"])
def test_a_limit_not_in_the_notation_is_refused_naming_the_setting(setting):
    with pytest.raises(ValueError, match=setting):
        Settings(**{setting: "lots"})


def _scope(token: str) -> dict[str, object]:
    return {"headers": [(b"authorization", f"Bearer {token}".encode())]}


def test_a_token_is_verified_once_and_its_key_remembered_until_it_expires():
    settings = Settings(environment="test")
    keys = TokenKeys(settings, size=2)
    token = token_for("case_manager", "0014", settings=settings)
    assert keys(_scope(token)) == "principal:0014:case_manager-0014"
    assert token in keys.known and keys(_scope(token)) == "principal:0014:case_manager-0014"
    keys.known[token] = ("principal:0014:stale", 0.0)  # expired in the cache: verified again
    assert keys(_scope(token)) == "principal:0014:case_manager-0014"
    for role in ("finance", "policy"):
        keys(_scope(token_for(role, "0014", settings=settings)))
    assert len(keys.known) == 2 and token not in keys.known  # the oldest goes first


def test_an_expired_or_forged_token_is_counted_by_address_and_not_remembered():
    settings = Settings(environment="test")
    keys = TokenKeys(settings)
    expired = issue_token(Principal(subject="km", role=Role.CASE_MANAGER, municipality="0014"), settings,
                          ttl=timedelta(seconds=-5))
    assert keys(_scope(expired)) is None and keys(_scope("forged")) is None and not keys.known


def test_a_person_at_the_log_in_form_over_the_limit_gets_a_page_in_words_and_an_api_client_problem_json():
    http = _client()
    browser = {"Accept": "text/html,application/xhtml+xml"}
    answers = [http.post("/login", headers=browser) for _ in range(3)]
    over = answers[-1]
    assert over.status_code == 429 and over.headers["content-type"].startswith("text/html")
    assert "Te veel pogingen om in te loggen" in over.text and 'lang="nl"' in over.text
    assert int(over.headers["Retry-After"]) >= 1 and over.headers["RateLimit-Limit"] == "2"
    api = _client(address="192.0.2.9")
    assert [api.post("/login").status_code for _ in range(3)][-1] == 429
    assert api.post("/login").headers["content-type"].startswith(PROBLEM_JSON)
