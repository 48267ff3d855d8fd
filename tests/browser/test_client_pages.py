"""The client's pages in a real Chromium against `prb run` with the demo data: Anna writes her plan
step by step, attaches a quote and submits it; Mohamed sees his budget, decision and invoices,
files a progress report, reads a message and changes his preferences. axe-core on every page at
desktop and phone width: no serious or critical violation."""

from __future__ import annotations

import re

from tests.browser.conftest import assert_accessible, log_in


def test_a_client_writes_her_plan_step_by_step_attaches_a_quote_and_submits_it(server, browser, screenshots, tmp_path):
    page = log_in(browser, server, "Inloggen als Anna de Vries")
    assert page.url.endswith("/client")
    assert_accessible(page, screenshots, "client-overview-draft")
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Mijn plan").click()
    assert page.title() == "Mijn plan · Eigen Regie"
    assert "Let op" in page.locator("main").inner_text()  # the warnings, in words
    assert_accessible(page, screenshots, "client-plan")

    page.get_by_role("link", name="Stap 1: over u").click()
    page.get_by_label("Wat u al heeft gedaan").fill("Ik werkte drie jaar in een magazijn.")
    assert_accessible(page, screenshots, "client-plan-step1")
    page.get_by_role("button", name="Bewaren en verder").click()
    for n in (2, 3, 4):
        assert page.url.endswith(f"/client/plan/step/{n}?saved=1"), page.url
        assert page.get_by_role("status").inner_text() == "Uw plan is bewaard."
        assert_accessible(page, screenshots, f"client-plan-step{n}")
        page.get_by_role("button", name="Bewaren en verder").click()
    assert "/client/plan/step/5" in page.url
    assert_accessible(page, screenshots, "client-plan-step5")
    page.get_by_role("button", name="Bewaren", exact=True).click()
    assert page.url.endswith("/client/plan?done=saved")

    quote = tmp_path / "offerte.pdf"
    quote.write_bytes(b"%PDF-1.4\n% offerte heftruckcursus\n")
    page.get_by_label("Bestand", exact=True).set_input_files(str(quote))
    page.get_by_role("button", name="Bestand toevoegen").click()
    assert "offerte.pdf" in page.locator("main").inner_text()
    page.get_by_role("button", name="Plan indienen").click()
    assert page.url.endswith("/client/plan?done=submitted")
    text = page.locator("main").inner_text()
    assert "Uw plan is ingediend" in text and "ingediend" in text
    assert page.get_by_role("button", name="Plan indienen").count() == 0
    assert_accessible(page, screenshots, "client-plan-submitted")
    page.context.close()


def test_a_client_sees_budget_decision_and_invoices_reports_progress_and_sets_preferences(server, browser, screenshots):
    page = log_in(browser, server, "Inloggen als Mohamed El Amrani")
    main = page.locator("main")
    assert "€ 1.200,00" in main.inner_text()  # the budget per line
    assert_accessible(page, screenshots, "client-overview")

    page.goto(f"{server}/client/decision")
    assert "Wij keuren uw plan goed" in main.inner_text()
    assert page.get_by_role("link", name="Download het besluit als PDF").count() == 1
    assert_accessible(page, screenshots, "client-decision")

    page.goto(f"{server}/client/invoices")
    assert re.search(r"betaald", main.inner_text())
    assert_accessible(page, screenshots, "client-invoices")

    page.goto(f"{server}/client/receipts")
    assert page.get_by_label("Betaald op").count() == 1
    assert_accessible(page, screenshots, "client-receipts")

    page.goto(f"{server}/client/progress")
    page.get_by_label("Nee, het gaat niet volgens plan").check()
    page.get_by_label("Hoe gaat het?", exact=True).fill("Ik was twee weken ziek.")
    page.get_by_role("button", name="Versturen").click()
    assert page.get_by_role("status").inner_text().startswith("Dank u")
    assert "Ik was twee weken ziek." in main.inner_text()
    assert_accessible(page, screenshots, "client-progress")

    page.goto(f"{server}/client/inbox")
    unread = page.get_by_role("button", name=re.compile("^Markeer als gelezen")).count()
    assert unread > 0
    assert_accessible(page, screenshots, "client-inbox")
    page.get_by_role("button", name=re.compile("^Markeer als gelezen")).first.click()
    assert page.get_by_role("button", name=re.compile("^Markeer als gelezen")).count() == unread - 1

    page.goto(f"{server}/client/preferences")
    page.get_by_label("Ook per sms").check()
    page.get_by_label("Van", exact=True).fill("12:00")
    page.get_by_role("button", name="Opslaan").click()
    assert page.get_by_role("alert").count() == 1  # quiet hours need both times: the error at its field
    assert page.locator("#error-quiet_until").count() == 1
    assert_accessible(page, screenshots, "client-preferences-error")
    page.get_by_label("Tot", exact=True).fill("13:00")
    page.get_by_role("button", name="Opslaan").click()
    assert page.get_by_role("status").inner_text() == "Uw instellingen zijn bewaard."
    assert page.get_by_label("Ook per sms").is_checked()
    assert_accessible(page, screenshots, "client-preferences")

    page.get_by_role("link", name="English").click()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.title() == "My preferences · Eigen Regie"
    page.context.close()
