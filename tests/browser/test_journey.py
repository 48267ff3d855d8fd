"""The whole journey in a real Chromium against `prb run` with the demo data, every role in its own
browser context: Anna writes and submits her plan; the case manager returns it with a comment; she
changes and resubmits it; it is approved, and (above the four-eyes threshold) the team lead gives the
second approval; an invoice arrives from the provider; Anna confirms it; finance approves it and pays
it in a payment run with its progress bar; Anna sees it paid; she reports her progress and the case
manager registers her outcome; the policy dashboard counts her trajectory in its table and its chart.
axe-core on every page of it at desktop and phone width. Then what an attacker tries in the same
browser: another client's ids in a URL or a form, and a form without its CSRF token."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import assert_accessible, log_in
from tests.support.auth import auth

ANNA = "Inloggen als Anna de Vries"
MOHAMED = "Inloggen als Mohamed El Amrani"
CASE_MANAGER = "Inloggen als Klantmanager \\(Groningen\\)"
TEAM_LEAD = "Inloggen als Teamleider \\(Groningen\\)"
FINANCE = "Inloggen als Financiën \\(Groningen\\)"
POLICY = "Inloggen als Beleid \\(Groningen\\)"
FIN = auth("finance", "0014", subject="fin-0014")
KM = auth("case_manager", "0014", subject="km-0014")


def eventually(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    """The embedded bus hands events on in the background: wait until `check` gives something."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    pytest.fail(f"not seen within {timeout} s: {what}")


def outcome_counts(page: Any) -> tuple[int, int]:
    """Table 4.7's total column: trajectories (n) and work during the trajectory, still working."""
    table = page.locator("#table-outcomes + .table-scroll table")

    def total(row: str) -> int:
        text = table.locator("tr", has=page.locator("th", has_text=row)).first.locator("td").nth(2).inner_text()
        return int(text.split()[0])

    return total("Trajecten (n)"), total("Werk tijdens traject en nog werkend")


def outcomes_chart(page: Any) -> str:
    """The outcomes chart as the browser loaded it (with the page's cookie)."""
    src = page.locator("img.chart").first.get_attribute("src")
    answer = page.request.get(page.url.split("/policy")[0] + src)
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    return answer.text()


def anna_id(api: httpx.Client) -> str:
    clients = api.get("/intake/v1/clients", headers=KM, params={"page_size": 50}).json()
    return next(c["id"] for c in clients if c["name"] == "Anna de Vries")


def test_a_plan_goes_from_the_client_through_review_and_payment_to_the_policy_dashboard(server, browser, screenshots):
    api = httpx.Client(base_url=server, timeout=30)

    # Policy staff show every number (a minimum cell of 1), so that one trajectory is visible.
    policy = log_in(browser, server, POLICY)
    policy.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Beleidsregels").click()
    policy.get_by_label("Kleinste aantal dat we tonen (1 tot 100)").fill("1")
    policy.get_by_role("button", name="Instellingen benchmark opslaan").click()
    assert policy.get_by_role("status").inner_text() == "De instellingen van de benchmark zijn opgeslagen."
    assert_accessible(policy, screenshots, "journey-policy-settings")
    policy.goto(f"{server}/policy/benchmark")
    trajectories, working = outcome_counts(policy)
    assert f"n = {trajectories}.".encode() in outcomes_chart(policy).encode()

    # Anna raises her training to EUR 1,800 (the plan is now EUR 3,000, above the 2,900 threshold) and submits.
    anna = log_in(browser, server, ANNA)
    anna.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Mijn plan").click()
    anna.get_by_role("link", name=re.compile("^Stap 5")).click()
    amount = anna.get_by_label("Bedrag zonder btw").first
    assert amount.input_value() == "1450,00"
    amount.fill("1.800,00")
    anna.get_by_role("button", name="Bewaren", exact=True).click()
    assert anna.url.endswith("/client/plan?done=saved")
    assert "€ 3.000,00" in anna.locator("main").inner_text()
    anna.get_by_role("button", name="Plan indienen").click()
    assert anna.url.endswith("/client/plan?done=submitted")
    assert_accessible(anna, screenshots, "journey-client-submitted")

    # The case manager returns it with a comment on the labour market.
    km = log_in(browser, server, CASE_MANAGER)
    km.locator("#caseload tr", has_text="Anna de Vries").get_by_role("link", name="Plan beoordelen").click()
    assert_accessible(km, screenshots, "journey-review")
    km.get_by_label("Terugsturen met opmerkingen").check()
    km.get_by_label("Opmerking bij: Arbeidsmarkt").fill("Noem twee vacatures in de regio.")
    km.get_by_role("button", name="Besluit opslaan").click()
    assert "teruggestuurd naar de klant" in km.locator("main").inner_text()

    # Anna reads the comment, answers it in step 2 and submits again.
    anna.goto(f"{server}/client/plan")
    assert "Noem twee vacatures in de regio." in anna.locator("main").inner_text()
    assert_accessible(anna, screenshots, "journey-client-returned")
    anna.get_by_role("link", name=re.compile("^Stap 2")).click()
    anna.get_by_label("Is er werk in de regio?").fill("Ja: heftruckchauffeur bij Noordlog en bij Groenhaven.")
    anna.get_by_role("button", name="Bewaren en verder").click()
    assert anna.url.endswith("/client/plan/step/3?saved=1")
    anna.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Mijn plan").click()
    anna.get_by_role("button", name="Plan indienen").click()
    assert anna.url.endswith("/client/plan?done=submitted")

    # The case manager approves; above the threshold the team lead gives the second approval.
    km.goto(f"{server}/caseload")
    km.locator("#caseload tr", has_text="Anna de Vries").get_by_role("link", name="Plan beoordelen").click()
    assert "heftruckchauffeur bij Noordlog" in km.locator("main").inner_text()  # the changes, marked
    km.get_by_role("radio", name="Goedkeuren").check()
    km.get_by_role("button", name="Besluit opslaan").click()
    assert "wacht op tweede akkoord" in km.locator("main").inner_text()
    lead = log_in(browser, server, TEAM_LEAD)
    lead.get_by_role("link", name="Tweede akkoord").click()
    assert "€ 3.000,00" in lead.locator("#four-eyes-plans").inner_text()
    assert_accessible(lead, screenshots, "journey-four-eyes")
    lead.get_by_role("button", name="Akkoord voor plan van Anna de Vries").click()
    assert "Het plan heeft nu ook uw akkoord." in lead.locator("main").inner_text()
    anna.goto(f"{server}/client/decision")
    assert "Wij keuren uw plan goed" in anna.locator("main").inner_text()
    assert_accessible(anna, screenshots, "journey-client-decision")

    # An invoice arrives from the provider's own software, on the order reference (the budget line).
    client_id = anna_id(api)

    def training_line() -> dict[str, Any] | None:
        budgets = api.get("/budget/v1/budgets", headers=FIN, params={"client_id": client_id}).json()
        lines = [li for b in budgets if b["client_id"] == client_id for li in b["lines"]]
        return next((li for li in lines if li["provider_name"] == "Opleidingscentrum Noord"), None)

    line = eventually(training_line, "Anna's budget")
    assert line["granted"] == "1800.00"
    provider = auth("provider", "0014", subject="opleidingscentrum-noord", provider_id="opleidingscentrum-noord")
    arrived = api.post("/budget/v1/invoices", headers=provider, json={
        "budget_line_id": line["id"], "invoice_number": "OCN-2026-17", "provider_name": "Opleidingscentrum Noord",
        "provider_iban": "NL91ABNA0417164300", "amount_excl_vat": "600.00"})
    assert arrived.status_code == 201, arrived.text
    invoice_id = arrived.json()["id"]

    # Anna confirms it.
    anna.goto(f"{server}/client/invoices")
    row = anna.locator(f"#invoice-{invoice_id}")
    assert "wacht op uw bevestiging" in row.inner_text()
    assert_accessible(anna, screenshots, "journey-client-invoices")
    row.get_by_role("button", name="Ja, klopt: de rekening van Opleidingscentrum Noord, nummer OCN-2026-17").click()
    assert anna.get_by_role("status").inner_text() == "Dank u. U heeft de rekening bevestigd."

    # Finance approves it in the queue and pays it in a payment run, watching its progress bar.
    fin = log_in(browser, server, FINANCE)
    assert_accessible(fin, screenshots, "journey-finance-invoices")
    fin.get_by_label("Kies rekening OCN-2026-17").check()
    fin.get_by_role("button", name="Keur gekozen rekeningen goed").click()
    fin.get_by_text("1 rekening(en) goedgekeurd.").wait_for()
    fin.get_by_role("link", name="Betaalruns").click()
    with fin.expect_response(lambda r: r.request.method == "POST" and "/finance/payment-runs" in r.url) as made:
        fin.get_by_role("button", name="Maak de betaalrun").click()
    job_page = made.value.headers["location"]  # the job's page, which one can leave and come back to
    fin.get_by_text("Klaar voor de bank").wait_for(timeout=30_000)
    progress = fin.request.get(server + job_page + "/progress")  # what htmx polls on the job's page
    assert 'max="100" value="100"' in progress.text()
    assert fin.url.endswith(progress.headers["hx-redirect"])
    assert "€ 600,00" in fin.locator("main").inner_text()
    assert_accessible(fin, screenshots, "journey-payment-run")
    with fin.expect_download() as download:
        fin.get_by_role("link", name=re.compile("Download het betaalbestand")).click()
    assert b"OCN-2026-17" in Path(download.value.path()).read_bytes()
    fin.get_by_role("button", name="Bevestig de betaling").click()
    fin.get_by_text("De betaalrun is betaald.").wait_for()

    # Anna sees it paid, and reports how it goes.
    anna.goto(f"{server}/client/invoices")
    assert "betaald" in anna.locator(f"#invoice-{invoice_id}").inner_text()
    anna.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Voortgang").click()
    anna.get_by_label("Ja, het gaat volgens plan").check()
    anna.get_by_label("Hoe gaat het?", exact=True).fill("De cursus is begonnen. Het gaat goed.")
    anna.get_by_role("button", name="Versturen").click()
    assert anna.get_by_role("status").inner_text().startswith("Dank u")
    assert_accessible(anna, screenshots, "journey-client-progress")

    # The case manager sees the report in her file and registers work found during the trajectory.
    km.goto(f"{server}/caseload")
    km.get_by_role("link", name="Anna de Vries").first.click()
    assert "De cursus is begonnen. Het gaat goed." in km.locator("main").inner_text()
    outcome = km.locator("form[action$='/outcomes']").first
    outcome.get_by_label("Resultaat", exact=True).select_option("work_during")
    outcome.get_by_label("Aan het werk sinds (bij werk)").fill(time.strftime("%Y-%m-%d"))
    outcome.get_by_label("Soort werk (bij werk)").select_option("permanent_job")
    outcome.get_by_label("Uren per week (bij werk)").fill("32")
    outcome.get_by_role("button", name="Opslaan").click()
    assert "Het resultaat is geregistreerd." in km.locator("main").inner_text()
    assert_accessible(km, screenshots, "journey-client-file")

    # The policy dashboard counts her trajectory, in the table and in the chart.
    def counted() -> bool:
        policy.goto(f"{server}/policy/benchmark")
        return outcome_counts(policy) == (trajectories + 1, working + 1)

    eventually(counted, "the trajectory and its outcome in the benchmark")
    assert f"n = {trajectories + 1}.".encode() in outcomes_chart(policy).encode()
    assert_accessible(policy, screenshots, "journey-policy-benchmark")
    for page in (policy, anna, km, lead, fin):
        page.context.close()


def test_a_client_cannot_reach_another_clients_data_by_changing_a_url_or_a_form(server, browser, screenshots):
    api = httpx.Client(base_url=server, timeout=30)
    mohamed = log_in(browser, server, MOHAMED)
    mohamed.goto(f"{server}/client/invoices")
    mohamed_invoice = mohamed.locator("tr[id^='invoice-']").first.get_attribute("id").removeprefix("invoice-")
    mohamed.context.close()
    status_before = api.get(f"/budget/v1/invoices/{mohamed_invoice}", headers=FIN).json()["status"]

    anna = log_in(browser, server, ANNA)
    # Staff pages about a client are not hers: the page refuses and shows nothing of him.
    clients = api.get("/intake/v1/clients", headers=KM, params={"page_size": 50}).json()
    mohamed_id = next(c["id"] for c in clients if c["name"] == "Mohamed El Amrani")
    answer = anna.goto(f"{server}/caseload/clients/{mohamed_id}")
    assert answer is not None and answer.status in (403, 404)
    assert "Mohamed" not in anna.content()
    assert_accessible(anna, screenshots, "refused-staff-page")

    # Her own form, pointed at his invoice: not found, as the API answers, and nothing changed.
    anna.goto(f"{server}/client/preferences")
    form = anna.locator("form[action='/client/preferences']")
    form.evaluate("(f, id) => { f.action = '/client/invoices/' + id + '/confirm'; }", mohamed_invoice)
    with anna.expect_navigation() as navigation:
        anna.get_by_role("button", name="Opslaan").click()
    assert navigation.value is not None and navigation.value.status == 404
    assert_accessible(anna, screenshots, "not-found")
    assert api.get(f"/budget/v1/invoices/{mohamed_invoice}", headers=FIN).json()["status"] == status_before

    # A form without its CSRF token (taken out of the page): refused, and the preferences unchanged.
    anna.goto(f"{server}/client/preferences")
    before = anna.get_by_label("Ook per sms").is_checked()
    anna.get_by_label("Ook per sms").set_checked(not before)
    anna.locator("form[action='/client/preferences'] input[name='csrf_token']").evaluate("e => e.remove()")
    with anna.expect_navigation() as navigation:
        anna.get_by_role("button", name="Opslaan").click()
    assert navigation.value is not None and navigation.value.status == 403
    assert_accessible(anna, screenshots, "csrf-refused")
    anna.goto(f"{server}/client/preferences")
    assert anna.get_by_label("Ook per sms").is_checked() == before
    anna.context.close()
