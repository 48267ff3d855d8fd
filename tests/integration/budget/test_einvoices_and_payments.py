"""UBL e-invoices from the public SI-UBL examples, orders, and payment runs to pain.001."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from lxml import etree

from services.budget.domain.payment_file import pain_schema, parse_pain001_totals
from services.budget.models import Invoice, PaymentItem
from shared.config import Settings
from shared.money import Money
from tests.integration.budget.support import (
    COACH_PROVIDER_ID,
    SIMPLER_PROVIDER_ID,
    TODAY,
    budget_app,
    budget_runtime,
    deliver,
    invoice_body,
    ledger_consistent,
    open_budget,
    outbox_types,
)
from tests.support.auth import auth
from tests.support.world import api_client
from tests.unit.budget.einvoice_examples import load, require_examples, xml

FIN = auth("finance", "0344", subject="fin-1")
PROVIDER = auth("provider", "0344", provider_id=SIMPLER_PROVIDER_ID)


@pytest.fixture
def env(tmp_path):
    runtime = budget_runtime(Settings(data_dir=tmp_path, environment="test"))
    return runtime, api_client(runtime)


@pytest.fixture(params=["sqlite", "postgresql"])
def env_on_both(request, tmp_path):
    """The payment run writes its items with COPY on PostgreSQL and a multi-row INSERT on SQLite."""
    return budget_app(request, tmp_path, request.param)


@pytest.fixture
def examples() -> Path:
    return require_examples()


def _example(name: str) -> bytes:
    """The public example with its placeholders (bank account, KvK, VAT number) swapped for
    well-formed ones: as published they are refused for exactly those placeholders (below)."""
    return xml(load(name))


def _budget_for_examples(runtime, http):
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


@pytest.mark.parametrize(
    "name,excl,vat",
    [
        ("SI-UBL-2.0_ok_minimal.xml", "200.00", "42.00"),
        ("SI-UBL-2.0_ok_tax_category_O.xml", "200.00", "0.00"),
        ("si-ubl-2.0-ext-gaccount_ok_sample.xml", "638.00", "133.98"),
    ],
)
def test_the_public_ok_examples_map_onto_the_budget_line_through_their_order_reference(env, name, excl, vat, examples):
    runtime, http = env
    b = _budget_for_examples(runtime, http)
    r = http.post(
        "/budget/v1/invoices/ubl", headers={**PROVIDER, "content-type": "application/xml"}, content=_example(name)
    )
    assert r.status_code == 201, r.text
    invoice = r.json()
    assert (invoice["source"], invoice["amount_excl_vat"], invoice["vat"]) == ("ubl", excl, vat)
    assert invoice["budget_line_id"] == b["line_ids"][0] and invoice["order_id"]
    assert (invoice["payment_hold"] is not None) == ("gaccount" in name)  # G-account split: paid by hand
    doc = http.get(f"/budget/v1/invoices/{invoice['id']}/document", headers=FIN)
    assert doc.headers["content-type"].startswith("application/xml")


def test_the_error_example_is_reported_with_its_rule(env, examples):
    runtime, http = env
    _budget_for_examples(runtime, http)
    r = http.post(
        "/budget/v1/invoices/ubl",
        headers={**PROVIDER, "content-type": "application/xml"},
        content=_example("SI-UBL-2.0_BR-NL-7_error_invoicetypecode_string.xml"),
    )
    assert r.status_code == 422
    assert r.json()["code"] == "einvoice.type_code" and "InvoiceTypeCode" in r.text
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Invoice)).scalar_one() == 0


def test_an_example_as_published_is_refused_for_its_placeholder_identifiers(env, examples):
    runtime, http = env
    _budget_for_examples(runtime, http)
    raw = (examples / "SI-UBL-2.0_ok_minimal.xml").read_bytes()
    r = http.post("/budget/v1/invoices/ubl", headers={**PROVIDER, "content-type": "application/xml"}, content=raw)
    assert r.status_code == 422 and r.json()["code"] in ("einvoice.iban_invalid", "invoice.kvk", "invoice.vat_number")
    only_iban_fixed = etree.fromstring(_example("SI-UBL-2.0_ok_minimal.xml"))
    for el in only_iban_fixed.iter("{*}PayeeFinancialAccount"):
        el.find("{*}ID").text = "NL11BANK1111111111"
    r = http.post(
        "/budget/v1/invoices/ubl",
        headers={**PROVIDER, "content-type": "application/xml"},
        content=etree.tostring(only_iban_fixed),
    )
    assert r.status_code == 422 and "IBAN" in r.json()["detail"]


@pytest.mark.parametrize(
    "raw,code",
    [
        (b"<Invoice><unclosed></Invoice>", "einvoice.malformed"),
        (b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><x>&e;</x>", None),
        (b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Order-2'/>", None),
    ],
)
def test_malformed_or_foreign_xml_is_refused_cleanly(env, raw, code):
    runtime, http = env
    r = http.post("/budget/v1/invoices/ubl", headers={**PROVIDER, "content-type": "application/xml"}, content=raw)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert "root:" not in r.text  # no file contents leak back
    if code:
        assert r.json()["code"] == code


def test_a_non_euro_e_invoice_is_refused(env, examples):
    runtime, http = env
    _budget_for_examples(runtime, http)
    raw = (
        _example("SI-UBL-2.0_ok_minimal.xml")
        .replace(b'currencyID="EUR"', b'currencyID="USD"')
        .replace(b"<cbc:DocumentCurrencyCode>EUR", b"<cbc:DocumentCurrencyCode>USD")
    )
    r = http.post("/budget/v1/invoices/ubl", headers={**PROVIDER, "content-type": "application/xml"}, content=raw)
    assert r.status_code == 422 and r.json()["code"].endswith("currency")


def test_several_ubl_files_at_once_each_get_a_result(env, examples):
    runtime, http = env
    _budget_for_examples(runtime, http)
    files = [
        ("files", ("a.xml", _example("SI-UBL-2.0_ok_minimal.xml"), "application/xml")),
        ("files", ("b.xml", _example("SI-UBL-2.0_BR-NL-7_error_invoicetypecode_string.xml"), "application/xml")),
        ("files", ("c.xml", _example("SI-UBL-2.0_ok_minimal.xml"), "application/xml")),
    ]
    result = http.post("/budget/v1/invoices/ubl/bulk", headers=PROVIDER, files=files).json()
    assert [r["status"] for r in result["results"]] == ["accepted", "rejected", "rejected"]
    assert [r["code"] for r in result["results"]][1:] == ["einvoice.type_code", "invoice.duplicate"]


def test_an_order_reserves_money_and_the_invoice_draws_on_it(env, examples):
    runtime, http = env
    b = _budget_for_examples(runtime, http)
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()
    assert (budget["committed"], budget["remaining"]) == ("1000.00", "1000.00")
    inv = http.post(
        "/budget/v1/invoices/ubl",
        headers={**PROVIDER, "content-type": "application/xml"},
        content=_example("SI-UBL-2.0_ok_minimal.xml"),
    ).json()
    assert http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN).status_code == 200
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()
    assert (budget["committed"], budget["approved"], budget["remaining"]) == ("800.00", "200.00", "1000.00")
    ledger_consistent(runtime)


def _approved_invoices(runtime, http, n: int):
    b = open_budget(runtime, lines=[{"category": "coaching", "granted_cents": 5000_00, "provider_name": "Coach BV"}])
    provider = auth("provider", "0344", provider_id=COACH_PROVIDER_ID)
    ids = []
    for i in range(n):
        inv = http.post(
            "/budget/v1/invoices",
            headers=provider,
            json=invoice_body(b["line_ids"][0], f"P-{i}", f"{100 + i}.00", vat="21.00"),
        ).json()
        assert http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN).status_code == 200
        ids.append(inv["id"])
    return b, ids


@pytest.mark.parametrize("schema", ["pain.001.001.09", "pain.001.001.03"])
def test_a_payment_run_makes_a_valid_pain001_whose_totals_equal_the_approved_invoices(env_on_both, schema):
    runtime, http = env_on_both
    b, ids = _approved_invoices(runtime, http, 3)
    run = http.post(
        "/budget/v1/payment-runs",
        headers=FIN,
        json={"execution_date": (TODAY + timedelta(days=1)).isoformat(), "pain_schema": schema},
    )
    assert run.status_code == 201, run.text
    run = run.json()
    xml = http.get(run["download"], headers=FIN).content
    pain_schema(schema).assertValid(etree.fromstring(xml))
    count, total = parse_pain001_totals(xml)
    assert count == 3 and str(total) == run["total"] == "366.00"  # 100+101+102 plus 3 x 21 VAT
    assert {i["status"] for i in http.get("/budget/v1/invoices", headers=FIN).json()} == {"scheduled"}
    again = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()})
    assert again.status_code == 422 and again.json()["code"] == "payment_run.empty"  # never paid twice

    paid = http.post(f"/budget/v1/payment-runs/{run['id']}/confirm", headers=FIN, json={"paid_on": TODAY.isoformat()})
    assert paid.json()["status"] == "paid"
    assert outbox_types(runtime).count("InvoicePaid") == 3 and "PaymentScheduled" in outbox_types(runtime)
    assert (
        http.post(
            f"/budget/v1/payment-runs/{run['id']}/confirm", headers=FIN, json={"paid_on": TODAY.isoformat()}
        ).status_code
        == 409
    )
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()
    assert budget["paid"] == "303.00"  # the budget carries amounts excl. VAT
    ledger_consistent(runtime)


def test_a_payment_run_read_in_chunks_stores_every_item_once_and_a_file_whose_totals_match(env_on_both, monkeypatch):
    from services.budget import payments

    monkeypatch.setattr(payments, "RUN_CHUNK", 2)  # 5 invoices: three chunks of the streamed run
    runtime, http = env_on_both
    _, ids = _approved_invoices(runtime, http, 5)

    run = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()})

    assert run.status_code == 201, run.text
    run = run.json()
    xml = http.get(run["download"], headers=FIN).content
    pain_schema("pain.001.001.09").assertValid(etree.fromstring(xml))
    assert parse_pain001_totals(xml) == (5, Money.euros("615.00"))  # 100..104 plus 5 x 21 VAT
    assert run["item_count"] == 5 and run["total"] == "615.00"
    with runtime.engine.connect() as conn:
        items = conn.execute(sa.select(PaymentItem.invoice_id).where(PaymentItem.run_id == run["id"])).scalars()
        assert sorted(items) == sorted(ids)
    assert {i["status"] for i in http.get("/budget/v1/invoices", headers=FIN).json()} == {"scheduled"}
    assert outbox_types(runtime).count("PaymentScheduled") == 1


def test_released_holdback_is_paid_in_a_later_run(env):
    runtime, http = env
    b = open_budget(
        runtime,
        lines=[
            {"category": "job_mediation", "granted_cents": 1000_00, "provider_name": "Coach BV", "holdback_percent": 20}
        ],
    )
    provider = auth("provider", "0344", provider_id=COACH_PROVIDER_ID)
    inv = http.post(
        "/budget/v1/invoices", headers=provider, json=invoice_body(b["line_ids"][0], "H-1", "500.00")
    ).json()
    http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN)
    first = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()}).json()
    assert first["total"] == "400.00"
    deliver(
        runtime,
        "OutcomeRegistered",
        "0344",
        b["plan_id"],
        {
            "outcome_id": "o",
            "plan_id": b["plan_id"],
            "client_id": b["client_id"],
            "outcome": "work_after",
            "durable": True,
        },
    )
    second = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()}).json()
    assert second["total"] == "100.00"
    for run in (first, second):
        http.post(f"/budget/v1/payment-runs/{run['id']}/confirm", headers=FIN, json={"paid_on": TODAY.isoformat()})
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()["paid"] == "500.00"
    ledger_consistent(runtime)


def test_only_finance_makes_and_downloads_payment_runs(env):
    runtime, http = env
    _approved_invoices(runtime, http, 1)
    assert (
        http.post(
            "/budget/v1/payment-runs", headers=auth("case_manager", "0344"), json={"execution_date": TODAY.isoformat()}
        ).status_code
        == 403
    )
    run = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()}).json()
    assert http.get(run["download"], headers=auth("finance", "0014")).status_code == 404
