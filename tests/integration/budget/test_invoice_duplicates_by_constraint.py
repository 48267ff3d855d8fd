"""Intake's duplicate rules are the invoice table's unique constraints (no query first): a
duplicate still gets the 409 problem, alone or in a batch, and leaves nothing behind; a batch's
audit records go in at its end, one per accepted invoice, in order, and the chain holds."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.budget.models import Invoice
from shared import audit
from tests.integration.budget.support import COACH_PROVIDER_ID, budget_app, invoice_body, open_budget, outbox_types
from tests.support.auth import auth

UTRECHT = "0344"
PROVIDER = auth("provider", UTRECHT, provider_id=COACH_PROVIDER_ID)


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    return budget_app(request, tmp_path, request.param)


def _invoices(runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        return list(conn.execute(sa.select(Invoice.invoice_number).order_by(Invoice.received_at)).scalars())


def _audit(runtime) -> list[audit.AuditRecord]:
    with runtime.engine.connect() as conn:
        from sqlmodel import Session

        session = Session(bind=conn)
        records = audit.list_records(session, "budget", UTRECHT)
        assert audit.verify(session, "budget", UTRECHT).ok
        return records


def _created(records: list[audit.AuditRecord]) -> list[str]:
    import json

    return [json.loads(r.changes or "{}")["invoice_id"]["new"] for r in records if r.action == "create"]


def test_a_second_invoice_with_the_same_number_gets_the_duplicate_problem_and_writes_nothing(env):
    runtime, http = env
    line = open_budget(runtime)["line_ids"][0]
    first = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(line, "D-1", "40.00"))
    assert first.status_code == 201, first.text
    records, events = len(_audit(runtime)), len(outbox_types(runtime))

    again = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(line, "D-1", "41.00"))

    assert again.status_code == 409, again.text
    problem = again.json()
    assert again.headers["content-type"].startswith("application/problem+json")
    assert (problem["code"], problem["status"]) == ("invoice.duplicate", 409)
    assert problem["errors"][0]["field"] == "invoice_number"
    assert _invoices(runtime) == ["D-1"]
    assert (len(_audit(runtime)), len(outbox_types(runtime))) == (records, events)
    # The budget is not left locked or broken: the next invoice goes in.
    assert http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(line, "D-2")).status_code == 201


def test_the_same_document_twice_is_a_duplicate_even_under_another_idempotency_key(env):
    runtime, http = env
    line = open_budget(runtime)["line_ids"][0]
    body = invoice_body(line, "D-3", "30.00")
    assert http.post("/budget/v1/invoices", headers={**PROVIDER, "Idempotency-Key": "a"}, json=body).status_code == 201
    again = http.post("/budget/v1/invoices", headers={**PROVIDER, "Idempotency-Key": "b"}, json=body)
    assert again.status_code == 409 and again.json()["code"] == "invoice.duplicate"
    assert _invoices(runtime) == ["D-3"]


def test_a_batch_refuses_its_duplicates_and_audits_each_accepted_invoice_in_order(env):
    runtime, http = env
    line = open_budget(runtime)["line_ids"][0]
    assert http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(line, "E-0")).status_code == 201
    before = _audit(runtime)
    batch = [
        invoice_body(line, "E-1", "10.00"),
        invoice_body(line, "E-0", "12.00"),  # already received
        invoice_body(line, "E-2", "20.00"),
        invoice_body(line, "E-1", "13.00"),  # earlier in this batch
        invoice_body(line, "E-3", "30.00"),
    ]

    r = http.post("/budget/v1/invoices/bulk", headers=PROVIDER, json=batch)

    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [i["status"] for i in results] == ["accepted", "rejected", "accepted", "rejected", "accepted"]
    assert [results[1]["code"], results[3]["code"]] == ["invoice.duplicate", "invoice.duplicate"]
    assert _invoices(runtime) == ["E-0", "E-1", "E-2", "E-3"]
    after = _audit(runtime)
    accepted = [i["invoice_id"] for i in results if i["status"] == "accepted"]
    assert _created(after[len(before) :]) == accepted
    assert outbox_types(runtime).count("InvoiceReceived") == 4


def test_a_batch_with_no_invoice_accepted_writes_no_audit_record(env):
    runtime, http = env
    line = open_budget(runtime)["line_ids"][0]
    assert http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(line, "F-0")).status_code == 201
    before = len(_audit(runtime))
    r = http.post("/budget/v1/invoices/bulk", headers=PROVIDER, json=[invoice_body(line, "F-0", "9.00")])
    assert r.status_code == 200 and r.json()["accepted"] == 0
    assert len(_audit(runtime)) == before


def test_a_batch_counts_the_invoices_it_accepted_before_against_the_line(env):
    # The batch reads a line's waiting claims once, under its lock, and adds each invoice it
    # accepts: the line (1,000.00) is never claimed beyond what it holds.
    runtime, http = env
    line = open_budget(runtime)["line_ids"][0]
    assert (
        http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(line, "H-0", "50.00")).status_code == 201
    )
    amounts = ["600.00", "300.00", "100.00", "50.00", "0.01"]
    batch = [invoice_body(line, f"H-{n}", amount) for n, amount in enumerate(amounts, start=1)]

    r = http.post("/budget/v1/invoices/bulk", headers=PROVIDER, json=batch)

    results = r.json()["results"]
    assert [i["status"] for i in results] == ["accepted", "accepted", "rejected", "accepted", "rejected"]
    assert results[2]["code"] == results[4]["code"] == "invoice.over_budget"
    late = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(line, "H-9", "0.01"))
    assert late.status_code == 422 and late.json()["code"] == "invoice.over_budget"
