"""The OpenID Connect log-in in a real Chromium: the browser goes the whole front channel itself
(/login/start, the local issuer's /oidc/authorize page, the code back at /login/callback)."""

from __future__ import annotations

from tests.browser.conftest import assert_accessible


def test_the_browser_logs_in_through_the_local_issuers_authorization_page(server, browser, screenshots):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/login/start")
    assert page.url.startswith(f"{server}/oidc/authorize?") and "code_challenge_method=S256" in page.url
    assert page.title() == "Inloggen · Eigen Regie"
    assert page.get_by_role("button", name="Inloggen als Anna de Vries (Groningen)").count() == 1
    assert_accessible(page, screenshots, "oidc-authorize")
    page.get_by_role("button", name="Inloggen als Teamleider (Utrecht)").first.click()
    page.wait_for_load_state()
    assert "/oidc/" not in page.url and "/login" not in page.url, page.url
    assert "Teamleider" in page.locator("header").inner_text()
    names = {c["name"] for c in context.cookies()}
    assert "prb_session" in names and "prb_oidc" not in names, "the flow cookie is gone after the callback"
    context.close()
