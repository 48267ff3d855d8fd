"""The embedded system started as its own process (`prb run`, SQLite, demo data) and Debian's
Chromium driven by Playwright; helpers to log in as a demo user, run axe-core on a page (desktop
and phone width) and keep screenshots as artifacts (PRB_SCREENSHOTS, default a temp folder)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.environment import REPO, free_port
from tests.support.processes import Processes

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
AXE = REPO / "eigenregie" / "web" / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("browser")
    procs = Processes({"PRB_DATA_DIR": str(tmp / "data"), "PRB_ENVIRONMENT": "test"}, tmp)
    port = free_port()
    procs.start("embedded", "run", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    procs.wait_healthy(url, timeout=90)
    yield url
    procs.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("PRB_REQUIRE_BROWSER") == "1":
            pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("PRB_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_in(browser: Any, server: str, button_text: str, *, viewport: dict[str, int] = DESKTOP) -> Any:
    """A new browser context (its own cookies), logged in with the demo button whose text matches."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(f"{server}/login")
    page.get_by_role("button", name=re.compile(button_text)).first.click()
    page.wait_for_load_state()
    return page


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's violations of these impacts on the page as it is now (id, impact, the nodes' targets)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed ({AXE}): run `make frontend`")
    # From the site itself (the vendor files), so the page's CSP (script-src 'self') lets it run.
    origin = "/".join(page.url.split("/")[:3])
    page.add_script_tag(url=f"{origin}/static/vendor/axe-core/axe.min.js")
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "targets": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v["impact"] in impacts
    ]


def assert_accessible(page: Any, screenshots: Path, name: str) -> None:
    """No serious or critical axe violation at desktop and at phone width (375 px); a screenshot of each."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(screenshots / f"{name}-{label}.png"), full_page=True)
        violations = axe_violations(page)
        assert violations == [], (name, label, violations)
    page.set_viewport_size(DESKTOP)
