"""The embedded app in a real Chromium: the home page and the API links work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from eigenregie.bootstrap import SERVICES
from tests.support.environment import free_port
from tests.support.processes import Processes

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    procs = Processes({"PRB_DATA_DIR": str(tmp / "data"), "PRB_ENVIRONMENT": "test"}, tmp)
    port = free_port()
    procs.start("embedded", "run", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    procs.wait_healthy(url, timeout=90)
    yield url
    procs.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("PRB_REQUIRE_BROWSER") == "1":
            pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


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
