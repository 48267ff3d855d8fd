"""Finance in a real Chromium: a bulk upload as a job, the approval queue, a payment run as a job
whose progress bar (htmx) leads to the run, its pain.001 and its confirmation; axe on each page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.browser.conftest import assert_accessible, log_in
from tests.support.auth import auth

FIN = auth("finance", "0014", subject="fin-0014")


def test_finance_uploads_approves_and_pays_invoices_through_jobs(server, browser, screenshots):
    api = httpx.Client(base_url=server, timeout=30)
    budget = api.get("/budget/v1/budgets", headers=FIN).json()[0]
    line = budget["lines"][0]
    rows = [{"budget_line_id": line["id"], "invoice_number": "BR-1", "provider_id": "coach-bv",
             "provider_name": line["provider_name"], "provider_iban": "NL91ABNA0417164300", "amount": "45.00"}]

    page = log_in(browser, server, "Inloggen als Financiën \\(Groningen\\)")
    assert page.url.endswith("/finance/invoices")
    assert_accessible(page, screenshots, "finance-invoices")

    # A bulk upload: a job with a progress bar; the page shows each row's result when it is done.
    page.get_by_role("link", name="Rekeningen uploaden").click()
    assert_accessible(page, screenshots, "finance-uploads")
    page.set_input_files("#field-files", files=[{"name": "rekeningen.json", "mimeType": "application/json",
                                                  "buffer": json.dumps(rows).encode()}])
    page.get_by_role("button", name="Upload").click()
    assert page.locator("progress").count() == 1
    page.get_by_text("1 aangenomen, 0 geweigerd").wait_for(timeout=30_000)
    assert_accessible(page, screenshots, "finance-upload")
    invoice_id = page.get_by_role("link", name="BR-1").get_attribute("href").rsplit("/", 1)[1]
    invoice = api.get(f"/budget/v1/invoices/{invoice_id}", headers=FIN).json()
    if invoice["status"] == "awaiting_client":
        client = auth("client", "0014", subject="client-br", client_id=budget["client_id"])
        assert api.post(f"/budget/v1/invoices/{invoice_id}/confirm", headers=client).status_code == 200

    # The queue: select it and approve.
    page.get_by_role("link", name="Rekeningen", exact=True).click()
    page.get_by_label("Kies rekening BR-1").check()
    page.get_by_role("button", name="Keur gekozen rekeningen goed").click()
    page.get_by_text("1 rekening(en) goedgekeurd.").wait_for()
    assert api.get(f"/budget/v1/invoices/{invoice_id}", headers=FIN).json()["status"] == "approved"
    page.goto(f"{server}/finance/invoices/{invoice_id}")
    assert_accessible(page, screenshots, "finance-invoice")

    # A payment run: the job's progress bar, then (htmx) the run with its totals.
    page.get_by_role("link", name="Betaalruns").click()
    assert_accessible(page, screenshots, "finance-payment-runs")
    page.get_by_role("button", name="Maak de betaalrun").click()
    page.get_by_text("Klaar voor de bank").wait_for(timeout=30_000)
    assert "€ 45,00" in page.locator("main").inner_text()
    assert_accessible(page, screenshots, "finance-payment-run")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Download het betaalbestand")).click()
    assert b"CstmrCdtTrfInitn" in Path(download.value.path()).read_bytes()
    page.get_by_role("button", name="Bevestig de betaling").click()
    page.get_by_text("De betaalrun is betaald.").wait_for()
    assert api.get(f"/budget/v1/invoices/{invoice_id}", headers=FIN).json()["status"] == "paid"

    # Nothing left to pay: the job fails and says why, in words.
    page.get_by_role("link", name="Terug naar de betaalruns").click()
    page.get_by_role("button", name="Maak de betaalrun").click()
    page.get_by_text("Mislukt").wait_for(timeout=30_000)
    assert_accessible(page, screenshots, "finance-payment-run-job")

    # The budget's statement, with its downloads.
    page.get_by_role("link", name="Budgetten").click()
    assert_accessible(page, screenshots, "finance-budgets")
    page.locator("main table a").first.click()
    assert page.get_by_role("link", name="Overzicht als PDF (Engels)").count() == 1
    assert_accessible(page, screenshots, "finance-statement")
