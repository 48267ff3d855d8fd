"""The provider's pages over the embedded app with the demo data: its invoices with their status,
an invoice sent on an order code with errors at their field, a UBL file refused in words; only
providers, and only their own invoices."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import load_demo_data
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime

PROVIDER = "provider|0014|opleidingscentrum-noord"
FIN = auth("finance", "0014", subject="fin-0014")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("provider"), environment="test"))
    load_demo_data(runtime)
    return create_app(runtime, embedded=True)


def logged_in(app, key: str) -> TestClient:
    http = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert http.post("/login", data={"user": key}).status_code == 303
    return http


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def order_code(app) -> str:
    """The training line of the approved demo plan: the order the provider was given."""
    api = TestClient(app)
    lines = [line for b in api.get("/budget/v1/budgets", headers=FIN).json() for line in b["lines"]]
    return next(line["id"] for line in lines if line["provider_name"] == "Opleidingscentrum Noord")


def test_a_provider_sends_an_invoice_on_its_order_and_sees_its_status(app):
    http = logged_in(app, PROVIDER)
    start = http.get("/provider")
    assert start.status_code == 200 and "Mijn rekeningen" in start.text
    form = http.get("/provider/invoices/new")
    body = {"csrf_token": csrf_of(form.text), "budget_line_id": order_code(app), "invoice_number": "OCN-7",
            "provider_name": "Opleidingscentrum Noord", "provider_iban": "NL91 ABNA 0417 1643 00",
            "amount_excl_vat": "250,00", "vat": "0"}
    bad = http.post("/provider/invoices", data={**body, "provider_iban": "NL00BANK0000000000"})
    assert bad.status_code == 422 and 'id="error-provider_iban"' in bad.text and 'value="OCN-7"' in bad.text
    unknown = http.post("/provider/invoices", data={**body, "budget_line_id": "no-such-order"})
    assert unknown.status_code in (404, 422) and 'id="error-budget_line_id"' in unknown.text
    sent = http.post("/provider/invoices", data=body)
    assert sent.status_code == 303 and sent.headers["location"] == "/provider?done=sent"
    page = http.get("/provider?done=sent").text
    assert "Uw rekening is ontvangen." in page and "OCN-7" in page and "€ 250,00" in page
    assert re.search(r"OCN-7.*?(ontvangen|wacht op de klant)", page, re.S)
    # A file that is no e-invoice is refused in words, next to the file field.
    r = http.post("/provider/invoices/ubl", data={"csrf_token": body["csrf_token"]},
                  files={"file": ("rekening.xml", b"<not-an-invoice/>", "application/xml")})
    assert r.status_code in (415, 422) and 'id="error-file"' in r.text
    assert http.post("/provider/invoices", data={k: v for k, v in body.items() if k != "csrf_token"}).status_code == 403


def test_the_pages_are_for_providers_and_show_only_their_own_invoices(app):
    for key in ("finance|0014|", "case_manager|0014|"):
        assert logged_in(app, key).get("/provider").status_code == 403
    other = auth("provider", "0014", subject="other-bv", provider_id="other-bv")
    assert all(i["provider_id"] == "other-bv" for i in TestClient(app).get("/budget/v1/invoices", headers=other).json())
    page = logged_in(app, PROVIDER).get("/provider").text
    assert "Coachpraktijk" not in page  # another provider's demo invoice
