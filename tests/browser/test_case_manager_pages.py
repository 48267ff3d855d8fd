"""The case manager's and the team lead's pages in a real Chromium against the embedded system with
the demo data: the caseload, a plan returned with a comment per section, a conversation recorded
with its minutes in the client's file, the candidates and the four-eyes queue; axe-core on each
page at desktop and phone width (no serious or critical violation)."""

from __future__ import annotations

import re

import httpx

from eigenregie import initial_data
from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
from tests.browser.conftest import assert_accessible, log_in
from tests.support.auth import auth

CASE_MANAGER = "Inloggen als Klantmanager \\(Groningen\\)"
TEAM_LEAD = "Inloggen als Teamleider \\(Groningen\\)"


def test_a_case_manager_reviews_a_plan_and_records_a_conversation(server, browser, screenshots):
    page = log_in(browser, server, CASE_MANAGER)
    assert page.url.endswith("/caseload")
    assert page.title().startswith("Mijn klanten")
    table = page.locator("#caseload")
    assert "Plan wacht op uw besluit" in table.inner_text()
    assert_accessible(page, screenshots, "caseload")

    # The plan waiting for a decision: the review page, then return it with a comment.
    table.get_by_role("link", name="Plan beoordelen").first.click()
    page.wait_for_load_state()
    assert re.search(r"/caseload/plans/[0-9a-f-]{36}/review$", page.url)
    assert page.get_by_role("heading", name="Controles").count() == 1
    assert_accessible(page, screenshots, "plan-review")
    page.get_by_label("Terugsturen met opmerkingen").check()
    page.get_by_label("Opmerking bij: Arbeidsmarkt").fill("Noem twee vacatures in de regio.")
    page.get_by_role("button", name="Besluit opslaan").click()
    page.wait_for_load_state()
    assert "teruggestuurd naar de klant" in page.locator("main").inner_text()
    assert "Noem twee vacatures in de regio." in page.locator("#decisions").inner_text()

    # A client with a running trajectory: record a conversation with its minutes.
    page.goto(f"{server}/caseload")
    page.get_by_role("link", name="Mohamed El Amrani").first.click()
    page.wait_for_load_state()
    assert re.search(r"/caseload/clients/[0-9a-f-]{36}$", page.url)
    assert "999901412" not in page.content()  # the BSN is masked
    assert_accessible(page, screenshots, "client-file")
    form = page.locator("form[action$='/conversations']").first
    form.get_by_label("Onderwerp").fill("Voortgang besproken")
    form.get_by_label("Minuten besteed (1 tot 600)").fill("40")
    form.get_by_role("button", name="Opslaan").click()
    page.wait_for_load_state()
    main = page.locator("main").inner_text()
    assert "Het gesprek is opgeslagen." in main and "Voortgang besproken" in main
    assert "Totaal aan gesprekken: 40 minuten." in main

    page.get_by_role("link", name="Kandidaten").click()
    page.wait_for_load_state()
    assert page.locator("#candidates").count() == 1
    assert_accessible(page, screenshots, "candidates")


def plan_above_the_threshold(server: str) -> str:
    """Through the API: a Groningen client's plan of EUR 3,500 (above 2,900), approved once by km-0014."""
    km = auth("case_manager", "0014", subject="km-0014")
    with httpx.Client(base_url=server, headers=km, timeout=30) as api:
        r = api.post("/intake/v1/clients", json={
            "bsn": initial_data.test_bsn(901), "client_number": "B-901", "name": "Bram Vier Ogen",
            "facts": ELIGIBLE_FACTS, "case_manager": "km-0014"})
        assert r.status_code == 201, r.text
        r = api.post("/intake/v1/plans", json={"client_id": r.json()["id"], **example_plan(
            "Vier ogen", [("Opleiding", "training_skills", "Opleiding BV", "3500.00")])})
        assert r.status_code == 201, r.text
        plan_id = r.json()["id"]
        r = api.post(f"/intake/v1/plans/{plan_id}/submit", json={"plan_version": r.json()["version"]})
        assert r.status_code == 200, r.text
        r = api.post(f"/intake/v1/plans/{plan_id}/decisions", json={"kind": "approve",
                                                                     "plan_version": r.json()["version"]})
        assert r.status_code == 200 and r.json()["status"] == "awaiting_second_approval", r.text
    return plan_id


def test_the_team_lead_gives_the_second_approval_in_the_four_eyes_queue(server, browser, screenshots):
    plan_id = plan_above_the_threshold(server)
    page = log_in(browser, server, TEAM_LEAD)
    page.get_by_role("link", name="Tweede akkoord").click()
    page.wait_for_load_state()
    assert page.url.endswith("/team/four-eyes")
    assert "Bram Vier Ogen" in page.locator("#four-eyes-plans").inner_text()
    assert "€ 3.500,00" in page.locator("#four-eyes-plans").inner_text()
    assert_accessible(page, screenshots, "four-eyes")
    page.get_by_role("button", name="Akkoord voor plan van Bram Vier Ogen").click()
    page.wait_for_load_state()
    assert "Het plan heeft nu ook uw akkoord." in page.locator("main").inner_text()
    tl = auth("team_lead", "0014", subject="tl-0014")
    assert httpx.get(f"{server}/intake/v1/plans/{plan_id}", headers=tl).json()["status"] == "approved"
    page.goto(f"{server}/caseload?lang=en")
    assert page.title().startswith("My caseload")
