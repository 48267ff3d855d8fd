"""Issue 13's pages in a real Chromium with axe at desktop and 375 px: the client gives a partner
consent and sees who saw their data; the provider sends an invoice; UWV's werkplein application
sees the client who chose it; the team lead reads a client's audit trail."""

from __future__ import annotations

import re

import httpx

from tests.browser.conftest import assert_accessible, log_in
from tests.support.auth import auth

KM = auth("case_manager", "0014", subject="km-0014")
FIN = auth("finance", "0014", subject="fin-0014")


def test_consent_data_access_provider_partner_and_audit_pages_work_and_are_accessible(server, browser, screenshots):
    anna = log_in(browser, server, "Inloggen als Anna de Vries")
    anna.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Toestemming").click()
    assert_accessible(anna, screenshots, "client-consents")
    anna.get_by_label("KvK-nummer van de organisatie").fill("12345678")
    anna.get_by_label("Waarvoor mag de organisatie uw gegevens zien?").select_option("progress_reporting")
    anna.get_by_role("button", name="Toestemming geven").click()
    assert anna.get_by_role("status").inner_text() == "Uw toestemming is opgeslagen."
    assert_accessible(anna, screenshots, "client-consents-given")
    anna.get_by_role("button", name=re.compile("^Intrekken: 12345678")).click()
    assert anna.get_by_role("status").inner_text() == "Uw toestemming is ingetrokken."
    anna.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Wie zag mijn gegevens").click()
    assert_accessible(anna, screenshots, "client-data-access")
    anna.context.close()

    api = httpx.Client(base_url=server, timeout=30)
    lines = [li for b in api.get("/budget/v1/budgets", headers=FIN).json() for li in b["lines"]]
    order = next(li["id"] for li in lines if li["provider_name"] == "Opleidingscentrum Noord")
    provider = log_in(browser, server, "Inloggen als opleidingscentrum-noord")
    assert provider.url.endswith("/provider")
    assert_accessible(provider, screenshots, "provider-invoices")
    provider.get_by_role("link", name="Rekening sturen").first.click()
    assert_accessible(provider, screenshots, "provider-new-invoice")
    provider.get_by_label("Opdrachtcode").fill(order)
    provider.get_by_label("Factuurnummer").fill("OCN-B-1")
    provider.get_by_label("Naam van uw bedrijf").fill("Opleidingscentrum Noord")
    provider.get_by_label("IBAN voor de betaling").fill("NL91ABNA0417164300")
    provider.get_by_label("Bedrag zonder btw (euro)").fill("120,00")
    provider.get_by_role("button", name="Rekening sturen").click()
    assert provider.get_by_role("status").inner_text() == "Uw rekening is ontvangen."
    assert "OCN-B-1" in provider.locator("#provider-invoices").inner_text()
    provider.context.close()

    partner = log_in(browser, server, "Inloggen als UWV werkplein Groningen")
    assert partner.url.endswith("/partner")
    assert "Mohamed El Amrani" in partner.locator("#partner-clients").inner_text()
    assert_accessible(partner, screenshots, "partner-clients")
    partner.context.close()

    mohamed = next(c["id"] for c in api.get("/intake/v1/clients", headers=KM).json() if c["name"] == "Mohamed El Amrani")
    lead = log_in(browser, server, "Inloggen als Teamleider \\(Groningen\\)")
    lead.goto(f"{server}/team/audit?client_id={mohamed}")
    assert lead.locator("main table").count() >= 1
    assert_accessible(lead, screenshots, "team-audit")
    lead.context.close()
