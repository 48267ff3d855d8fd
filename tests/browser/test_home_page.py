"""The embedded app in a real Chromium: the home page, the API links and the log-in page work."""

from __future__ import annotations

from eigenregie.bootstrap import SERVICES
from tests.browser.conftest import assert_accessible, log_in


def test_home_page_introduces_the_product_in_dutch_and_english(server, browser, tmp_path):
    page = browser.new_page()
    page.goto(server)
    assert page.title() == "Eigen Regie"
    assert page.locator("html").get_attribute("lang") == "nl"
    assert "re-integratiebudget" in page.locator("main").inner_text()
    assert page.locator("p[lang=en]").inner_text().startswith("Personal reintegration budgets")
    page.screenshot(path=str(tmp_path / "home.png"))


def test_home_page_links_to_each_services_api(server, browser):
    page = browser.new_page()
    page.goto(server)
    hrefs = page.locator("main a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    for service in SERVICES:
        assert f"/{service}/v1/docs" in hrefs
        response = page.request.get(f"{server}/{service}/v1/openapi.json")
        assert response.ok and response.json()["info"]["title"].startswith("Eigen Regie")


def test_health_link_answers_ok(server, browser):
    page = browser.new_page()
    page.goto(server)
    page.click("text=/healthz")
    assert '"status":"ok"' in page.content().replace(" ", "")


def test_the_demo_log_in_lists_the_demo_users_and_one_click_logs_in(server, browser, screenshots):
    page = browser.new_page()
    page.goto(f"{server}/login")
    assert page.title() == "Inloggen · Eigen Regie"
    assert page.get_by_role("button", name="Inloggen als Anna de Vries (Groningen)").count() == 1
    assert_accessible(page, screenshots, "login")
    logged_in = log_in(browser, server, "Inloggen als Klantmanager \\(Groningen\\)")
    assert "Klantmanager" in logged_in.locator("header").inner_text()
    cookie = next(c for c in logged_in.context.cookies() if c["name"] == "prb_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
