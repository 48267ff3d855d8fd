"""UBL e-invoices through the HTTP API: the Dutch rules, UBL credit notes, hostile documents.

Every document is a public SI-UBL example read at test time from ../shared/testdata and changed
in memory (tests/unit/budget/einvoice_examples.py); nothing of it is kept in the repository.
"""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from services.budget.models import CreditNote, Invoice, InvoiceDocument, LedgerEntry
from tests.integration.budget.support import (
    SIMPLER_PROVIDER_ID,
    TODAY,
    budget_app,
    ledger_consistent,
    open_budget,
)
from tests.support.auth import auth
from tests.unit.budget.einvoice_examples import (
    as_credit_note,
    find,
    insert_after,
    load,
    remove,
    require_examples,
    set_amounts,
    xml,
)

FIN = auth("finance", "0344", subject="fin-1")
FIN_ELSEWHERE = auth("finance", "0014", subject="fin-9")
PROVIDER = auth("provider", "0344", provider_id=SIMPLER_PROVIDER_ID)
XML = {"content-type": "application/xml"}


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    require_examples()
    return budget_app(request, tmp_path, request.param)


def _budget(runtime, http) -> dict:
    b = open_budget(
        runtime,
        lines=[
            {
                "category": "coaching",
                "granted_cents": 2000_00,
                "provider_name": "SimplerInvoicing",
                "starts_on": "2014-12-01",
            }
        ],
    )
    order = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/orders",
        headers=FIN,
        json={
            "budget_line_id": b["line_ids"][0],
            "order_reference": "47806",
            "provider_name": "SimplerInvoicing",
            "provider_kvk": "69639087",
            "amount": "1000.00",
        },
    )
    assert order.status_code == 201, order.text
    return b


def _post(http, raw: bytes, who=PROVIDER):
    return http.post("/budget/v1/invoices/ubl", headers={**who, **XML}, content=raw)


def _counts(runtime) -> dict[str, int]:
    with runtime.engine.connect() as conn:
        return {
            table.__name__: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (Invoice, InvoiceDocument, CreditNote, LedgerEntry)
        }


def _approved_invoice(runtime, http) -> dict:
    _budget(runtime, http)
    invoice = _post(http, xml(load()))
    assert invoice.status_code == 201, invoice.text
    approved = http.post(f"/budget/v1/invoices/{invoice.json()['id']}/approve", headers=FIN)
    assert approved.status_code == 200, approved.text
    return approved.json()


# --- the Dutch rules ------------------------------------------------------------------------------


def test_an_order_line_reference_without_an_order_reference_is_refused_with_br_nl_13(env):
    """The issue: with a valid bank account this was accepted."""
    runtime, http = env
    _budget(runtime, http)
    root = load()
    insert_after(root, "cbc:DocumentCurrencyCode", "<cbc:BuyerReference>47806</cbc:BuyerReference>")
    remove(root, "cac:OrderReference")
    insert_after(
        root,
        "cac:InvoiceLine/cbc:LineExtensionAmount",
        "<cac:OrderLineReference><cbc:LineID>1</cbc:LineID></cac:OrderLineReference>",
    )
    before = _counts(runtime)

    r = _post(http, xml(root))

    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "einvoice.BR-NL-13" and "BR-NL-13" in problem["detail"]
    assert problem["errors"][0]["field"] == "/Invoice/cac:OrderReference/cbc:ID"
    assert _counts(runtime) == before


def test_a_broken_recommendation_is_accepted_and_its_warning_kept_beside_the_invoice(env):
    runtime, http = env
    _budget(runtime, http)
    root = load()
    find(root, "cac:PaymentMeans/cbc:PaymentMeansCode").set("name", "Credit transfer")
    insert_after(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", "<cbc:Name>SimplerInvoicing</cbc:Name>")
    raw = xml(root)

    r = _post(http, raw)

    assert r.status_code == 201, r.text
    body = r.json()
    assert body["document_kind"] == "invoice" and body["source"] == "ubl"
    assert [w["rule"] for w in body["einvoice_warnings"]] == ["BR-NL-29", "BR-NL-30"]
    assert body["einvoice_warnings"][0]["path"] == "/Invoice/cac:PaymentMeans/cbc:PaymentMeansCode"
    kept = http.get(f"/budget/v1/invoices/{body['id']}/einvoice-warnings", headers=FIN)
    assert kept.status_code == 200 and kept.json() == body["einvoice_warnings"]
    document = http.get(f"/budget/v1/invoices/{body['id']}/document", headers=FIN)
    assert document.content == raw and document.headers["x-content-sha256"] == hashlib.sha256(raw).hexdigest()
    assert (
        http.get(f"/budget/v1/invoices/{body['id']}/einvoice-warnings", headers=FIN_ELSEWHERE).status_code == 404
    )  # another municipality sees nothing


@pytest.mark.parametrize(
    "name", ["SI-UBL-2.0_ok_minimal.xml", "SI-UBL-2.0_ok_tax_category_O.xml", "si-ubl-2.0-ext-gaccount_ok_sample.xml"]
)
def test_the_real_examples_are_still_accepted_without_warnings(env, name):
    runtime, http = env
    _budget(runtime, http)

    r = _post(http, xml(load(name)))

    assert r.status_code == 201, r.text
    assert r.json()["einvoice_warnings"] == []
    assert http.get(f"/budget/v1/invoices/{r.json()['id']}/einvoice-warnings", headers=FIN).json() == []


# --- credit notes ---------------------------------------------------------------------------------


def test_a_credit_note_before_payment_lowers_what_will_be_paid(env):
    runtime, http = env
    invoice = _approved_invoice(runtime, http)
    note = set_amounts(as_credit_note(load()), net="50.00", vat="10.50")

    r = _post(http, xml(note), who=FIN)

    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["document_kind"], body["kind"], body["amount"]) == ("credit_note", "credit", "50.00")
    assert body["invoice_id"] == invoice["id"] and body["credit_note_number"] == "CN-12115118-1"
    assert "CN-12115118-1" in body["reason"] and body["einvoice_warnings"] == []
    after = http.get(f"/budget/v1/invoices/{invoice['id']}", headers=FIN).json()
    assert after["credited"] == "50.00" and after["status"] == "approved"
    budget = http.get(f"/budget/v1/budgets/{invoice['budget_id']}", headers=FIN).json()
    assert budget["approved"] == "150.00"
    ledger_consistent(runtime)
    # The original invoice document is still the one served.
    assert http.get(f"/budget/v1/invoices/{invoice['id']}/document", headers=FIN).content == xml(load())


def test_a_credit_note_after_payment_records_a_refund(env):
    runtime, http = env
    invoice = _approved_invoice(runtime, http)
    paid = http.post(f"/budget/v1/invoices/{invoice['id']}/mark-paid", headers=FIN, json={"paid_on": TODAY.isoformat()})
    assert paid.status_code == 200, paid.text

    r = _post(http, xml(as_credit_note(load())), who=FIN)

    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["amount"]) == ("refund", "200.00")  # the budget counts excl. VAT
    assert http.get(f"/budget/v1/invoices/{invoice['id']}", headers=FIN).json()["credited"] == "200.00"
    ledger_consistent(runtime)


def test_the_same_credit_note_twice_is_booked_once(env):
    runtime, http = env
    _approved_invoice(runtime, http)
    raw = xml(set_amounts(as_credit_note(load()), net="20.00", vat="4.20"))
    assert _post(http, raw, who=FIN).status_code == 201
    before = _counts(runtime)

    again = _post(http, raw, who=FIN)

    assert again.status_code == 409 and again.json()["code"] == "einvoice.credit_note_duplicate"
    assert _counts(runtime) == before


def _other_supplier(note):
    find(note, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName").text = "Ander BV"
    find(note, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID").text = "12345678"
    return note


def _several_invoices(note):
    insert_after(
        note,
        "cac:BillingReference",
        "<cac:BillingReference><cac:InvoiceDocumentReference>"
        "<cbc:ID>12115119</cbc:ID></cac:InvoiceDocumentReference></cac:BillingReference>",
    )
    return note


def _bad_iban(note):
    find(note, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID").text = "NL11BANK1111111111"
    return note


REFUSED = [
    ("no invoice named", lambda: as_credit_note(load(), credits=None), FIN, 422, "einvoice.credit_note_no_invoice"),
    (
        "unknown invoice",
        lambda: as_credit_note(load(), credits="99999"),
        FIN,
        422,
        "einvoice.credit_note_unknown_invoice",
    ),
    (
        "another provider's invoice",
        lambda: _other_supplier(as_credit_note(load())),
        FIN,
        422,
        "einvoice.credit_note_unknown_invoice",
    ),
    (
        "another municipality's invoice",
        lambda: as_credit_note(load()),
        FIN_ELSEWHERE,
        422,
        "einvoice.credit_note_unknown_invoice",
    ),
    (
        "several invoices",
        lambda: _several_invoices(as_credit_note(load())),
        FIN,
        422,
        "einvoice.credit_note_several_invoices",
    ),
    (
        "more than can be credited",
        lambda: set_amounts(as_credit_note(load()), net="200.01", vat="42.00"),
        FIN,
        422,
        "credit.too_large",
    ),
    (
        "a negative credit note",
        lambda: set_amounts(as_credit_note(load()), net="-200.00", vat="-42.00"),
        FIN,
        422,
        "einvoice.credit_note_amount",
    ),
    (
        "a zero credit note",
        lambda: set_amounts(as_credit_note(load()), net="0.00", vat="0.00"),
        FIN,
        422,
        "einvoice.credit_note_amount",
    ),
    ("an invalid IBAN", lambda: _bad_iban(as_credit_note(load())), FIN, 422, "einvoice.iban_invalid"),
    ("a Dutch rule broken", lambda: remove(as_credit_note(load()), "cac:OrderReference"), FIN, 422, "einvoice.BR-NL-2"),
    ("sent by the provider", lambda: as_credit_note(load()), PROVIDER, 403, "einvoice.credit_note_by_finance"),
]


@pytest.mark.parametrize("case,note,who,status,code", REFUSED, ids=[c[0] for c in REFUSED])
def test_a_credit_note_that_cannot_be_booked_is_refused_and_leaves_nothing_written(env, case, note, who, status, code):
    runtime, http = env
    invoice = _approved_invoice(runtime, http)
    before = _counts(runtime)

    r = _post(http, xml(note()), who=who)

    assert (r.status_code, r.json().get("code")) == (status, code), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert _counts(runtime) == before
    assert http.get(f"/budget/v1/invoices/{invoice['id']}", headers=FIN).json()["credited"] == "0.00"


def test_a_credit_note_on_an_invoice_not_yet_approved_is_a_conflict(env):
    runtime, http = env
    _budget(runtime, http)
    assert _post(http, xml(load())).status_code == 201
    before = _counts(runtime)

    r = _post(http, xml(as_credit_note(load())), who=FIN)

    assert r.status_code == 409 and r.json()["code"] == "credit.wrong_state"
    assert _counts(runtime) == before


def test_credit_notes_in_a_bulk_upload_are_sent_on_their_own(env):
    runtime, http = env
    _approved_invoice(runtime, http)
    files = [("files", ("cn.xml", xml(as_credit_note(load())), "application/xml"))]

    result = http.post("/budget/v1/invoices/ubl/bulk", headers=FIN, files=files).json()

    assert [(r["status"], r["code"]) for r in result["results"]] == [("rejected", "einvoice.credit_note")]


def test_a_full_credit_note_leaves_nothing_to_pay(env):
    runtime, http = env
    _approved_invoice(runtime, http)
    assert _post(http, xml(as_credit_note(load())), who=FIN).status_code == 201

    run = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()})

    assert run.status_code == 422 and run.json()["code"] == "payment_run.empty"


# --- hostile documents: 4xx, never 500 ------------------------------------------------------------


def _long_name(document):
    find(document, "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName").text = "N" * 300
    return document


@pytest.mark.parametrize(
    "change",
    [
        lambda: _long_name(load()),
        lambda: _set_number(load(), "7" * 500),
    ],
    ids=["long supplier name", "long invoice number"],
)
def test_invoices_with_values_too_long_to_keep_are_refused_not_crashed(env, change):
    runtime, http = env
    _budget(runtime, http)

    r = _post(http, xml(change()))

    assert r.status_code == 422 and r.json()["code"] == "einvoice.too_long", r.text
    assert _counts(runtime)["Invoice"] == 0


def _set_number(document, number):
    find(document, "cbc:ID").text = number
    return document


def _huge_credit(note):
    find(note, "cac:LegalMonetaryTotal/cbc:PayableAmount").text = "9" * 50 + ".00"
    return note


HOSTILE = [
    b"",
    b"<Invoice><unclosed></Invoice>",
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><r>&d;&d;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-3"/>',
    b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>',
    b"\xff\xfe<\x00I\x00",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_documents_are_refused_with_a_problem_and_no_file_contents(env, raw):
    runtime, http = env
    for who in (PROVIDER, FIN):
        r = _post(http, raw, who=who)
        assert 400 <= r.status_code < 500 and r.headers["content-type"] == "application/problem+json", r.text
        assert "root:" not in r.text


@pytest.mark.parametrize(
    "change",
    [
        lambda: _huge_credit(as_credit_note(load())),
        lambda: as_credit_note(load(), credits="9" * 5000),
        lambda: as_credit_note(load(), number="x" * 5000),
        lambda: _long_name(as_credit_note(load())),
    ],
    ids=["huge amount", "huge invoice reference", "huge credit note number", "long supplier name"],
)
def test_credit_notes_with_absurd_values_are_refused_not_crashed(env, change):
    runtime, http = env
    _approved_invoice(runtime, http)
    before = _counts(runtime)

    r = _post(http, xml(change()), who=FIN)

    assert 400 <= r.status_code < 500, r.text
    assert _counts(runtime) == before
