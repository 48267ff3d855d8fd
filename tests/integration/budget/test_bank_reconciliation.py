"""Reconciling a payment run from the bank's camt.053 statement: paid, returned, listed; once."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial

import pytest
import sqlalchemy as sa
from lxml import etree

from services.budget import payments, reconciliation
from services.budget.domain.bank_statement import MAX_STATEMENT_BYTES
from services.budget.models import BudgetLine, MarkPaid
from services.budget.models_bank import BankStatement
from shared.auth import Principal, Role
from shared.errors import DomainError, TemporarilyUnavailable
from tests.integration.budget.support import (
    COACH_PROVIDER_ID,
    TODAY,
    budget_app,
    deliver,
    invoice_body,
    ledger_consistent,
    open_budget,
    outbox_types,
)
from tests.support.auth import auth
from tests.support.world import api_client
from tests.unit.budget.test_bank_statement import camt, entry, transaction

FIN = auth("finance", "0344", subject="fin-1")
OTHER_FIN = auth("finance", "0014", subject="fin-9")
PAIN = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    return budget_app(request, tmp_path, request.param)


def _run_of_three(runtime, http):
    """Three approved invoices (100, 101 and 102 plus 21 VAT each) in one run: the run, its
    debtor IBAN and each invoice number's (end-to-end id, amount, invoice id)."""
    b = open_budget(runtime, lines=[{"category": "coaching", "granted_cents": 5000_00, "provider_name": "Coach BV"}])
    provider = auth("provider", "0344", provider_id=COACH_PROVIDER_ID)
    ids = {}
    for i in range(3):
        inv = http.post(
            "/budget/v1/invoices",
            headers=provider,
            json=invoice_body(b["line_ids"][0], f"P-{i}", f"{100 + i}.00", vat="21.00"),
        ).json()
        assert http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN).status_code == 200
        ids[f"Factuur P-{i}"] = inv["id"]
    run = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()}).json()
    pain = etree.fromstring(http.get(run["download"], headers=FIN).content)
    iban = pain.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=PAIN)
    items = {}
    for tx in pain.iterfind(".//p:CdtTrfTxInf", PAIN):
        number = tx.findtext("p:RmtInf/p:Ustrd", namespaces=PAIN)
        items[number[-3:]] = (
            tx.findtext("p:PmtId/p:EndToEndId", namespaces=PAIN),
            tx.findtext("p:Amt/p:InstdAmt", namespaces=PAIN),
            ids[number],
        )
    return b, run, iban, items


def _tx(e2e: str, amount: str, return_code: str | None = None) -> str:
    return transaction(e2e, amount, return_code=return_code, amount_in="AmtDtls")  # as camt.053.001.02 has it


def _statement(iban, items, msg_id="STMT-2026-11-24") -> bytes:
    """The day's statement: P-0 and P-2 booked, P-1 booked for a cent less, P-2 back (AC04), one stranger."""
    (e0, a0, _), (e1, a1, _), (e2, a2, _) = items["P-0"], items["P-1"], items["P-2"]
    wrong = str(Decimal(a1) - Decimal("0.01"))
    batch = entry(_tx(e0, a0) + _tx(e1, wrong) + _tx(e2, a2), amount="999.99", ref="BATCH-1")
    returned = entry(_tx(e2, a2, "AC04"), amount=a2, cd="CRDT", ref="RET-1")
    stranger = entry(_tx("SOMEONE-ELSES-REF", "12.34"), amount="12.34", ref="X-1")
    return camt([batch, returned, stranger], msg_id=msg_id, iban=iban)


def _post(http, raw: bytes, headers=FIN):
    return http.post("/budget/v1/bank-statements", headers={**headers, "Content-Type": "application/xml"}, content=raw)


def test_a_statement_pays_the_booked_items_returns_the_returned_one_and_lists_the_rest_once(env):
    runtime, http = env
    b, run, iban, items = _run_of_three(runtime, http)
    raw = _statement(iban, items)

    imported = _post(http, raw)
    assert imported.status_code == 201, imported.text
    result = imported.json()
    outcomes = [(e["end_to_end_id"], e["outcome"]) for e in result["entries"]]
    assert outcomes == [
        (items["P-0"][0], "paid"),
        (items["P-1"][0], "amount_mismatch"),
        (items["P-2"][0], "paid"),
        (items["P-2"][0], "returned"),
        ("SOMEONE-ELSES-REF", "not_found"),
    ]
    assert result["outcomes"] == {"paid": 2, "amount_mismatch": 1, "returned": 1, "not_found": 1}
    back = result["entries"][3]
    assert (back["reason_code"], back["reason"], back["reason_nl"]) == (
        "AC04",
        "Closed account number",
        "Rekening opgeheven",
    )
    assert result["entries"][0]["payment_run_id"] == run["id"] and result["entries"][4]["invoice_id"] is None

    invoice = {n: http.get(f"/budget/v1/invoices/{items[n][2]}", headers=FIN).json() for n in ("P-0", "P-1", "P-2")}
    assert invoice["P-0"]["status"] == "paid" and invoice["P-0"]["paid_on"] == "2026-11-24"
    assert invoice["P-1"]["status"] == "scheduled"  # the wrong amount changed nothing
    assert invoice["P-2"]["status"] == "approved" and invoice["P-2"]["paid_on"] is None
    assert "AC04" in invoice["P-2"]["payment_hold"] and "Rekening opgeheven" in invoice["P-2"]["payment_hold"]
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()
    assert budget["paid"] == "100.00" and budget["approved"] == "303.00"  # budget terms: excl. VAT
    with runtime.engine.connect() as conn:  # P-2's payment is payable again, beside P-1's
        line = conn.execute(sa.select(BudgetLine).where(BudgetLine.id == b["line_ids"][0])).one()
    assert (line.paid_cents, line.payable_cents) == (100_00, 101_00 + 102_00)
    types = outbox_types(runtime)
    assert types.count("InvoicePaid") == 2 and types.count("InvoicePaymentReturned") == 1
    assert http.get(f"/budget/v1/payment-runs/{run['id']}", headers=FIN).json()["status"] == "scheduled"
    ledger_consistent(runtime)

    again = _post(http, raw)  # the same file again: the same answer, nothing changed
    assert again.status_code == 200 and again.json() == result
    assert outbox_types(runtime) == types
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json() == budget
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(BankStatement)).scalar_one() == 1
    changed = _post(http, raw.replace(b"12.34", b"12.35"))  # another file with a message id used before
    assert changed.status_code == 409 and changed.json()["code"] == "bank_statement.message_id_reused"

    # Confirming the run by hand pays what the bank has not settled (P-1) and leaves the rest.
    confirmed = http.post(
        f"/budget/v1/payment-runs/{run['id']}/confirm", headers=FIN, json={"paid_on": TODAY.isoformat()}
    )
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "paid"
    assert outbox_types(runtime).count("InvoicePaid") == 3
    assert http.get(f"/budget/v1/invoices/{items['P-2'][2]}", headers=FIN).json()["status"] == "approved"
    # The returned invoice stays out of runs (its hold) and finance pays it by hand.
    assert (
        http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()}).status_code == 422
    )
    paid = http.post(
        f"/budget/v1/invoices/{items['P-2'][2]}/mark-paid", headers=FIN, json={"paid_on": TODAY.isoformat()}
    )
    assert paid.status_code == 200, paid.text
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()["paid"] == "303.00"
    ledger_consistent(runtime)


def test_a_statement_that_settles_every_item_makes_the_run_paid(env):
    runtime, http = env
    _, run, iban, items = _run_of_three(runtime, http)
    booked = entry("".join(_tx(e2e, amount) for e2e, amount, _ in items.values()), amount="366.00")
    result = _post(http, camt([booked], message="camt.054", version="08", msg_id="NTF-1", iban=iban))
    assert result.status_code == 201 and result.json()["outcomes"] == {"paid": 3}
    assert result.json()["message"] == "camt.054" and result.json()["schema_version"] == "camt.054.001.08"
    run_now = http.get(f"/budget/v1/payment-runs/{run['id']}", headers=FIN).json()
    assert run_now["status"] == "paid" and run_now["paid_on"] == "2026-11-24"
    confirm = http.post(
        f"/budget/v1/payment-runs/{run['id']}/confirm", headers=FIN, json={"paid_on": TODAY.isoformat()}
    )
    assert confirm.status_code == 409
    # The end-of-day statement books the same payments again: already paid, nothing changes.
    later = _post(http, camt([booked], msg_id="STMT-EOD", iban=iban)).json()
    assert later["outcomes"] == {"already_paid": 3} and outbox_types(runtime).count("InvoicePaid") == 3
    ledger_consistent(runtime)


def test_another_municipality_never_matches_our_runs_and_cannot_see_our_statements(env):
    runtime, http = env
    _, _, iban, items = _run_of_three(runtime, http)
    ours = _post(http, _statement(iban, items)).json()
    assert http.get(f"/budget/v1/bank-statements/{ours['id']}", headers=OTHER_FIN).status_code == 404
    assert http.get("/budget/v1/bank-statements", headers=OTHER_FIN).json() == []
    listed = http.get("/budget/v1/bank-statements", headers=FIN)
    assert [s["id"] for s in listed.json()] == [ours["id"]] and listed.json()[0]["entries"] is None
    assert len(http.get(f"/budget/v1/bank-statements/{ours['id']}", headers=FIN).json()["entries"]) == 5

    other_iban = http.get("/budget/v1/finance-policy", headers=OTHER_FIN).json()["debtor_iban"]
    theirs = _post(http, _statement(other_iban, items, msg_id="THEIRS-1"), headers=OTHER_FIN)
    assert theirs.status_code == 201
    assert {e["outcome"] for e in theirs.json()["entries"]} == {"not_found"}
    assert (
        http.post("/budget/v1/bank-statements", headers=auth("case_manager", "0344"), content=b"<x/>").status_code
        == 403
    )


def test_a_wrong_file_is_refused_with_its_problem_and_nothing_is_stored(env):
    runtime, http = env
    _, _, iban, items = _run_of_three(runtime, http)
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><Document><x>&lol3;</x></Document>'
    )
    refused = _post(http, bomb)
    assert refused.status_code == 422 and refused.json()["code"] == "bank_statement.dtd_forbidden"
    assert refused.headers["content-type"].startswith("application/problem+json")
    pain = _post(http, b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.09'/>")
    assert pain.status_code == 422 and pain.json()["code"] == "bank_statement.unsupported"
    assert "pain.001.001.09" in pain.json()["detail"]
    wrong_account = _post(http, _statement("NL91ABNA0417164300", items))
    assert wrong_account.status_code == 422 and wrong_account.json()["code"] == "bank_statement.account"
    too_big = _post(http, b"<" + b" " * MAX_STATEMENT_BYTES)
    assert too_big.status_code == 422 and too_big.json()["code"] == "bank_statement.too_large"
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(BankStatement)).scalar_one() == 0
    assert {i["status"] for i in http.get("/budget/v1/invoices", headers=FIN).json()} == {"scheduled"}


def test_a_return_before_the_debit_was_seen_changes_no_ledger_and_the_later_debit_changes_nothing(env):
    runtime, http = env
    b, run, iban, items = _run_of_three(runtime, http)
    e2e, amount, invoice_id = items["P-1"]
    early = camt(
        [entry(_tx(e2e, amount, "MS03"), amount=amount, cd="CRDT")], message="camt.054", msg_id="N-1", iban=iban
    )
    result = _post(http, early).json()
    assert (
        result["outcomes"] == {"returned": 1} and result["entries"][0]["reason"] == "Reason not specified by the bank"
    )
    assert "InvoicePaymentReturned" not in outbox_types(runtime)  # it was never announced as paid
    later = _post(http, camt([entry(_tx(e2e, amount))], msg_id="S-1", iban=iban)).json()
    assert later["outcomes"] == {"already_returned": 1}
    http.post(f"/budget/v1/payment-runs/{run['id']}/confirm", headers=FIN, json={"paid_on": TODAY.isoformat()})
    assert http.get(f"/budget/v1/invoices/{invoice_id}", headers=FIN).json()["status"] == "approved"
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()["paid"] == "202.00"  # P-0 and P-2
    assert outbox_types(runtime).count("InvoicePaid") == 2
    ledger_consistent(runtime)


def test_a_returned_holdback_is_payable_again_and_the_ledger_balances(env):
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
    http.post(f"/budget/v1/payment-runs/{first['id']}/confirm", headers=FIN, json={"paid_on": TODAY.isoformat()})
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
    pain = etree.fromstring(http.get(second["download"], headers=FIN).content)
    e2e = pain.findtext(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", namespaces=PAIN)
    iban = pain.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=PAIN)
    statement = camt(
        [entry(_tx(e2e, "100.00")), entry(_tx(e2e, "100.00", "AC04"), amount="100.00", cd="CRDT", ref="R2")], iban=iban
    )
    assert _post(http, statement).json()["outcomes"] == {"paid": 1, "returned": 1}
    invoice = http.get(f"/budget/v1/invoices/{inv['id']}", headers=FIN).json()
    assert (invoice["status"], invoice["holdback_status"]) == ("paid", "released") and invoice["payment_hold"]
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()["paid"] == "400.00"
    assert outbox_types(runtime).count("InvoicePaymentReturned") == 1
    ledger_consistent(runtime)


def _attempt(work) -> str:
    try:
        return work()
    except TemporarilyUnavailable:
        return "busy"
    except DomainError as exc:
        return exc.code
    except Exception as exc:  # noqa: BLE001 - what this test exists to catch
        return f"UNEXPECTED {type(exc).__name__}: {str(exc)[:200]}"


def test_imports_of_two_files_and_the_confirm_racing_pay_each_item_exactly_once(race_runtime):
    rt = race_runtime
    http = api_client(rt)
    _, run, iban, items = _run_of_three(rt, http)
    booked = entry("".join(_tx(e2e, amount) for e2e, amount, _ in items.values()), amount="366.00")
    files = [camt([booked], msg_id=f"RACE-{uuid.uuid4().hex[:8]}", iban=iban) for _ in range(2)]
    finance = Principal(subject="fin-1", role=Role.FINANCE, municipality="0344")
    paid_before = outbox_types(rt).count("InvoicePaid")
    start = threading.Barrier(12)

    def import_file(raw: bytes) -> str:
        start.wait()
        with rt.uow("budget") as uow:
            created, _ = reconciliation.import_bank_statement(uow, finance, raw)
        return "imported" if created else "stored"

    def confirm() -> str:
        start.wait()
        with rt.uow("budget") as uow:
            payments.confirm_payment_run(uow, finance, run["id"], MarkPaid(paid_on=TODAY))
        return "confirmed"

    jobs = [partial(import_file, files[i % 2]) for i in range(8)] + [confirm] * 4
    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = Counter(pool.map(_attempt, jobs))
    print(f"bank statements x confirm: {dict(outcomes)}")
    assert set(outcomes) <= {"imported", "stored", "confirmed", "payment_run.already_paid"}
    assert outcomes["imported"] == 2  # each file once; its twins wait, then answer the stored result
    assert outbox_types(rt).count("InvoicePaid") - paid_before == 3
    assert http.get(f"/budget/v1/payment-runs/{run['id']}", headers=FIN).json()["status"] == "paid"
    ledger_consistent(rt)
