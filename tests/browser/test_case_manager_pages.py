"""The case manager's and the team lead's pages in a real Chromium against the embedded system with
the demo data: the caseload, a plan returned with a comment per section, a conversation recorded
with its minutes in the client's file, the candidates and the four-eyes queue; axe-core on each
page at desktop and phone width (no serious or critical violation)."""

from __future__ import annotations

import re

from tests.browser.conftest import assert_accessible, log_in

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


def test_the_team_lead_sees_the_four_eyes_queue(server, browser, screenshots):
    page = log_in(browser, server, TEAM_LEAD)
    page.get_by_role("link", name="Tweede akkoord").click()
    page.wait_for_load_state()
    assert page.url.endswith("/team/four-eyes")
    assert page.get_by_role("heading", name="Plannen").count() == 1
    assert_accessible(page, screenshots, "four-eyes")
    page.goto(f"{server}/caseload?lang=en")
    assert page.title().startswith("My caseload")
