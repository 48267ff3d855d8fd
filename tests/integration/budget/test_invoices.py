"""Invoices in by the three flows, their checks, bulk, idempotency, approval and the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.budget.models import Invoice
from shared.config import Settings
from tests.integration.budget.support import (
    COACH_PROVIDER_ID,
    IBAN,
    TODAY,
    budget_runtime,
    deliver,
    invoice_body,
    ledger_consistent,
    open_budget,
    outbox_types,
)
from tests.support.auth import auth
from tests.support.world import api_client

UTRECHT, GRONINGEN = "0344", "0014"
FIN = auth("finance", UTRECHT, subject="fin-1")
FIN2 = auth("finance", UTRECHT, subject="fin-2")
PROVIDER = auth("provider", UTRECHT, provider_id=COACH_PROVIDER_ID)


@pytest.fixture
def env(tmp_path):
    runtime = budget_runtime(Settings(data_dir=tmp_path, environment="test"))
    return runtime, api_client(runtime)


def _count(runtime, *where) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Invoice).where(*where)).scalar_one()


def test_provider_invoices_directly_and_the_balance_drops_when_approved(env):
    runtime, http = env
    b = open_budget(runtime)
    r = http.post(
        "/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-1", "250.00", vat="52.50")
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "received" and r.json()["total"] == "302.50" and r.json()["amount"] == "250.00"
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=b["client"]).json()["invoiced"] == "250.00"
    assert http.post(f"/budget/v1/invoices/{r.json()['id']}/approve", headers=FIN).status_code == 200
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=b["client"]).json()
    assert (budget["remaining"], budget["approved"], budget["invoiced"]) == ("750.00", "250.00", "0.00")
    ledger_consistent(runtime)


def test_client_forwards_a_providers_pdf_invoice(env):
    runtime, http = env
    b = open_budget(runtime)
    r = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/forwarded-invoices",
        headers=b["client"],
        files={"file": ("factuur.pdf", b"%PDF-1.4 test invoice", "application/pdf")},
        data={
            "budget_line_id": b["line_ids"][0],
            "provider_name": "Coach B.V.",
            "provider_iban": IBAN,
            "invoice_number": "C-77",
            "amount_excl_vat": "80.00",
            "vat": "16.80",
            "service_from": TODAY.isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    invoice = r.json()
    assert invoice["flow"] == "forwarded" and invoice["client_confirmed_at"] is not None
    doc = http.get(f"/budget/v1/invoices/{invoice['id']}/document", headers=b["client"])
    assert doc.content == b"%PDF-1.4 test invoice" and len(doc.headers["x-content-sha256"]) == 64


def test_client_declares_what_they_paid_and_is_reimbursed_to_their_own_iban(env):
    runtime, http = env
    b = open_budget(runtime, lines=[{"category": "study_material", "granted_cents": 300_00}])
    r = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/declarations",
        headers=b["client"],
        files={"receipt": ("bon.png", b"\x89PNG fake receipt", "image/png")},
        data={
            "budget_line_id": b["line_ids"][0],
            "description": "Messenset koksopleiding",
            "provider_name": "Horeca Groothandel",
            "amount": "89.95",
            "client_iban": "NL39RABO0300065264",
            "account_holder": "J. Jansen",
            "paid_on": TODAY.isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    with runtime.engine.connect() as conn:
        row = conn.execute(sa.select(Invoice).where(Invoice.id == r.json()["id"])).one()
    assert row.flow == "declaration" and row.creditor_iban == "NL39RABO0300065264"


def test_a_pdf_that_is_not_a_pdf_and_forbidden_types_are_refused(env):
    runtime, http = env
    b = open_budget(runtime)
    base = {
        "budget_line_id": b["line_ids"][0],
        "provider_name": "Coach BV",
        "provider_iban": IBAN,
        "invoice_number": "X",
        "amount_excl_vat": "1.00",
    }
    r = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/forwarded-invoices",
        headers=b["client"],
        files={"file": ("f.pdf", b"MZ...", "application/pdf")},
        data=base,
    )
    assert r.status_code == 422 and r.json()["code"] == "document.not_pdf"
    r = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/forwarded-invoices",
        headers=b["client"],
        files={"file": ("f.exe", b"MZ...", "application/x-msdownload")},
        data=base,
    )
    assert r.status_code == 422 and r.json()["code"] == "document.type"
    assert _count(runtime) == 0


@pytest.mark.parametrize(
    "change,code,field",
    [
        ({"amount_excl_vat": "0.00"}, "invoice.amount", "amount_excl_vat"),
        ({"amount_excl_vat": "-5.00"}, "invoice.amount", "amount_excl_vat"),
        ({"amount_excl_vat": "1000.01"}, "invoice.over_budget", "amount_excl_vat"),
        ({"currency": "USD"}, "invoice.currency", "currency"),
        # The provider's token proves its KvK (the line's); a KvK on the invoice must be that one.
        ({"provider_kvk": "87654321"}, "invoice.provider_mismatch", "provider_kvk"),
        ({"provider_kvk": "1234"}, "invoice.kvk", "provider_kvk"),
        ({"provider_vat": "NL123456789B02"}, "invoice.vat_number", "provider_vat"),
        ({"service_from": (TODAY - timedelta(days=90)).isoformat()}, "invoice.before_plan", "service_from"),
        ({"service_to": (TODAY + timedelta(days=400)).isoformat()}, "invoice.after_plan", "service_to"),
        ({"service_to": (TODAY - timedelta(days=1)).isoformat()}, "invoice.dates_order", "service_to"),
        ({"budget_line_id": "no-such-line"}, "invoice.unknown_line", "budget_line_id"),
    ],
)
def test_each_check_rejects_with_its_code_and_field_and_writes_nothing(env, change, code, field):
    runtime, http = env
    b = open_budget(runtime)
    before = outbox_types(runtime)
    r = http.post("/budget/v1/invoices", headers=PROVIDER, json={**invoice_body(b["line_ids"][0], "F-9"), **change})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code and r.json()["errors"][0]["field"] == field
    assert _count(runtime) == 0 and outbox_types(runtime) == before


def test_amounts_with_more_than_two_decimals_and_floats_are_refused(env):
    runtime, http = env
    b = open_budget(runtime)
    for amount in ("10.001", 10.5):
        r = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-d", amount))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount_excl_vat"


def test_an_invoice_for_another_municipalitys_budget_looks_like_an_unknown_line(env):
    runtime, http = env
    other = open_budget(runtime, GRONINGEN)
    r = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(other["line_ids"][0], "F-x"))
    assert r.status_code == 422 and r.json()["code"] == "invoice.unknown_line"
    assert "Groningen" not in r.text and other["client_id"] not in r.text


def test_duplicates_by_number_and_by_content_are_refused(env):
    runtime, http = env
    b = open_budget(runtime)
    body = invoice_body(b["line_ids"][0], "F-dup")
    assert http.post("/budget/v1/invoices", headers=PROVIDER, json=body).status_code == 201
    again = http.post("/budget/v1/invoices", headers=PROVIDER, json={**body, "amount_excl_vat": "5.00"})
    assert again.status_code == 409 and again.json()["code"] == "invoice.duplicate"
    assert _count(runtime) == 1


def test_bulk_gives_each_invoice_its_own_result_and_a_results_file(env):
    runtime, http = env
    b = open_budget(runtime)
    line = b["line_ids"][0]
    batch = [
        invoice_body(line, "B-1", "10.00"),
        invoice_body(line, "B-2", "99999.00"),
        invoice_body(line, "B-3", "20.00"),
        {**invoice_body(line, "B-4"), "colour": "red"},
        invoice_body(line, "B-1", "11.00"),
    ]
    r = http.post("/budget/v1/invoices/bulk", headers=PROVIDER, json=batch)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["accepted"], result["rejected"]) == (2, 3)
    assert [i["status"] for i in result["results"]] == ["accepted", "rejected", "accepted", "rejected", "rejected"]
    codes = [i["code"] for i in result["results"]]
    assert (codes[1], codes[4]) == ("invoice.over_budget", "invoice.duplicate")
    assert result["results"][3]["message"] == "unknown field"
    assert _count(runtime) == 2 and outbox_types(runtime).count("InvoiceReceived") == 2
    csv_text = http.get(result["results_file"], headers=PROVIDER).text
    assert csv_text.splitlines()[0].startswith("index;reference;status") and "invoice.over_budget" in csv_text
    assert http.get(result["results_file"], headers=auth("provider", UTRECHT, provider_id="other")).status_code == 404


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(env):
    runtime, http = env
    b = open_budget(runtime)
    body = invoice_body(b["line_ids"][0], "I-1")
    first = http.post("/budget/v1/invoices", headers={**PROVIDER, "Idempotency-Key": "k-1"}, json=body)
    second = http.post("/budget/v1/invoices", headers={**PROVIDER, "Idempotency-Key": "k-1"}, json=body)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert _count(runtime) == 1
    other = http.post(
        "/budget/v1/invoices", headers={**PROVIDER, "Idempotency-Key": "k-1"}, json={**body, "invoice_number": "I-2"}
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency.key_reused"


def test_a_retried_failure_returns_the_same_problem(env):
    runtime, http = env
    b = open_budget(runtime)
    body = invoice_body(b["line_ids"][0], "I-9", "5000.00")
    first = http.post("/budget/v1/invoices", headers={**PROVIDER, "Idempotency-Key": "k-9"}, json=body)
    second = http.post("/budget/v1/invoices", headers={**PROVIDER, "Idempotency-Key": "k-9"}, json=body)
    assert first.status_code == second.status_code == 422 and first.json()["code"] == second.json()["code"]


def test_above_the_threshold_a_second_person_approves(env):
    runtime, http = env
    b = open_budget(
        runtime, lines=[{"category": "training_skills", "granted_cents": 4000_00, "provider_name": "Coach BV"}]
    )
    inv = http.post(
        "/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "G-1", "3000.00")
    ).json()
    first = http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN).json()
    assert first["status"] == "awaiting_second_approval" and first["first_approved_by"] == "fin-1"
    same = http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN)
    assert same.status_code == 403 and same.json()["code"] == "invoice.same_approver"
    second = http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN2).json()
    assert second["status"] == "approved" and second["approved_by"] == "fin-2"
    ledger_consistent(runtime)


def test_where_the_client_contracts_the_client_confirms_before_approval(env):
    runtime, http = env
    b = open_budget(runtime, GRONINGEN)
    inv = http.post(
        "/budget/v1/invoices",
        headers=auth("provider", GRONINGEN, provider_id=COACH_PROVIDER_ID),
        json=invoice_body(b["line_ids"][0], "Q-1"),
    ).json()
    assert inv["status"] == "awaiting_client"
    fin = auth("finance", GRONINGEN)
    early = http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=fin)
    assert early.status_code == 409 and early.json()["code"] == "invoice.awaiting_client"
    assert http.post(f"/budget/v1/invoices/{inv['id']}/confirm", headers=fin).status_code == 403
    assert http.post(f"/budget/v1/invoices/{inv['id']}/confirm", headers=b["client"]).status_code == 200
    assert http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=fin).json()["status"] == "approved"


def test_rejection_carries_a_reason_for_provider_and_client(env):
    runtime, http = env
    b = open_budget(runtime)
    inv = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "R-1")).json()
    r = http.post(f"/budget/v1/invoices/{inv['id']}/reject", headers=FIN, json={"reason": "Geen aanwezigheidslijst"})
    assert r.json()["status"] == "rejected"
    assert (
        http.get(f"/budget/v1/invoices/{inv['id']}", headers=PROVIDER).json()["rejection_reason"]
        == "Geen aanwezigheidslijst"
    )
    assert http.get(f"/budget/v1/invoices/{inv['id']}", headers=b["client"]).json()["status"] == "rejected"
    assert "InvoiceRejected" in outbox_types(runtime)


def test_bulk_approve_reports_each_invoice(env):
    runtime, http = env
    b = open_budget(runtime)
    ids = [
        http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], f"A-{i}")).json()["id"]
        for i in range(3)
    ]
    http.post(f"/budget/v1/invoices/{ids[1]}/reject", headers=FIN, json={"reason": "x"})
    result = http.post("/budget/v1/invoices/approve", headers=FIN, json={"invoice_ids": [*ids, "nope"]}).json()
    assert [r["status"] for r in result] == ["accepted", "rejected", "accepted", "rejected"]
    assert result[1]["code"] == "invoice.wrong_state"


def test_thresholds_at_80_and_100_percent_are_reported_once(env):
    runtime, http = env
    b = open_budget(runtime)
    for number, amount in (("T-1", "700.00"), ("T-2", "150.00"), ("T-3", "100.00"), ("T-4", "50.00")):
        inv = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], number, amount))
        assert http.post(f"/budget/v1/invoices/{inv.json()['id']}/approve", headers=FIN).status_code == 200
    assert outbox_types(runtime).count("BudgetThresholdReached") == 2


def test_no_cure_less_pay_holds_back_until_work_is_found(env):
    runtime, http = env
    b = open_budget(
        runtime,
        lines=[
            {"category": "job_mediation", "granted_cents": 2000_00, "provider_name": "Coach BV", "holdback_percent": 20}
        ],
    )
    inv = http.post(
        "/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "N-1", "1000.00", vat="210.00")
    ).json()
    approved = http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN).json()
    assert approved["held"] == "242.00" and approved["holdback_status"] == "held"
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()
    assert budget["held"] == "200.00" and budget["remaining"] == "1000.00"
    deliver(
        runtime,
        "OutcomeRegistered",
        b["tenant"],
        b["plan_id"],
        {
            "outcome_id": "o-1",
            "plan_id": b["plan_id"],
            "client_id": b["client_id"],
            "outcome": "work_during",
            "durable": False,
        },
    )
    assert http.get(f"/budget/v1/invoices/{inv['id']}", headers=FIN).json()["holdback_status"] == "released"
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()["held"] == "0.00"
    ledger_consistent(runtime)


def test_without_an_outcome_the_holdback_is_cancelled_when_the_trajectory_closes(env):
    runtime, http = env
    b = open_budget(
        runtime,
        lines=[
            {"category": "job_mediation", "granted_cents": 1000_00, "provider_name": "Coach BV", "holdback_percent": 25}
        ],
    )
    inv = http.post(
        "/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "N-2", "400.00")
    ).json()
    http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN)
    deliver(
        runtime,
        "TrajectoryClosed",
        b["tenant"],
        b["plan_id"],
        {
            "plan_id": b["plan_id"],
            "client_id": b["client_id"],
            "reason": "stopped_early",
            "closed_on": TODAY.isoformat(),
        },
    )
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()
    assert budget["status"] == "closed" and budget["remaining"] == "0.00" and budget["held"] == "0.00"
    assert budget["granted"] == "300.00"  # what was approved and payable; the rest went back
    assert http.get(f"/budget/v1/invoices/{inv['id']}", headers=FIN).json()["holdback_status"] == "cancelled"
    assert "BudgetClosed" in outbox_types(runtime)
    ledger_consistent(runtime)


def test_a_late_invoice_on_a_closed_budget_goes_to_review(env):
    runtime, http = env
    b = open_budget(runtime)
    deliver(
        runtime,
        "TrajectoryClosed",
        b["tenant"],
        b["plan_id"],
        {"plan_id": b["plan_id"], "client_id": b["client_id"], "reason": "completed", "closed_on": TODAY.isoformat()},
    )
    inv = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "L-1", "60.00")).json()
    assert inv["status"] == "review"
    assert inv["id"] in {i["id"] for i in http.get("/budget/v1/approval-queue", headers=FIN).json()}
    assert http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN).json()["status"] == "approved"
    ledger_consistent(runtime)


def test_a_plan_change_moves_money_between_lines_within_the_total(env):
    runtime, http = env
    b = open_budget(
        runtime,
        lines=[
            {"category": "coaching", "granted_cents": 600_00, "provider_name": "Coach BV"},
            {"category": "training_skills", "granted_cents": 400_00, "provider_name": "ROC"},
        ],
    )
    lines = b["plan_lines"]
    changed = [
        {**lines[0], "granted_cents": 300_00},
        {**lines[1], "granted_cents": 500_00, "provider_name": "ROC 2"},
        {"plan_line_id": "new-line", "category": "driving_lessons", "granted_cents": 200_00},
    ]
    deliver(
        runtime,
        "PlanChanged",
        b["tenant"],
        b["plan_id"],
        {
            "plan_id": b["plan_id"],
            "client_id": b["client_id"],
            "plan_version": 4,
            "change_id": "ch-1",
            "granted_cents": 1000_00,
            "lines": changed,
            "execution_deadline": (TODAY + timedelta(days=300)).isoformat(),
        },
    )
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()
    assert sorted(line["granted"] for line in budget["lines"]) == ["200.00", "300.00", "500.00"]
    assert budget["granted"] == "1000.00"
    ledger_consistent(runtime)


def test_pgb_bw_deducts_the_execution_costs_at_opening(env):
    runtime, http = env
    b = open_budget(
        runtime,
        "0637",
        scheme="pgb_bw",
        lines=[
            {"category": "wage_cost_subsidy", "granted_cents": 20000_00},
            {"category": "job_coach", "granted_cents": 7080_00},
        ],
    )
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=auth("finance", "0637")).json()
    assert budget["execution_costs"] == "2708.00" and budget["granted"] == "24372.00"
    ledger_consistent(runtime)


def test_statement_exports_as_csv_and_pdf(env):
    runtime, http = env
    b = open_budget(runtime)
    http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "S-1"))
    csv_text = http.get(f"/budget/v1/budgets/{b['budget_id']}/statement", headers=b["client"]).text
    assert "S-1" in csv_text and csv_text.startswith("section;id;category")
    assert (
        http.get(f"/budget/v1/budgets/{b['budget_id']}/statement", headers=b["client"], params={"format": "csv"}).text
        == csv_text
    )
    for lang in ("nl", "en"):
        pdf = http.get(
            f"/budget/v1/budgets/{b['budget_id']}/statement",
            headers=b["client"],
            params={"format": "pdf", "lang": lang},
        )
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    for bad in ({"format": "xlsx"}, {"format": "pdf", "lang": "de"}):
        assert (
            http.get(f"/budget/v1/budgets/{b['budget_id']}/statement", headers=b["client"], params=bad).status_code
            == 422
        )
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}/statement.csv", headers=b["client"]).status_code == 404
    assert (
        http.get(f"/budget/v1/budgets/{b['budget_id']}/statement", headers=auth("finance", GRONINGEN)).status_code
        == 404
    )


def test_pgb_bw_pays_the_employer_monthly_from_a_reserved_schedule(env):
    from dateutil.relativedelta import relativedelta

    from services.budget.jobs import create_due_periodic_invoices

    runtime, http = env
    since = (TODAY - timedelta(days=70)).isoformat()
    b = open_budget(
        runtime,
        "0637",
        scheme="pgb_bw",
        lines=[
            {"category": "wage_cost_subsidy", "granted_cents": 20000_00, "starts_on": since},
            {"category": "job_coach", "granted_cents": 7080_00, "starts_on": since},
        ],
    )
    fin = auth("finance", "0637")
    wrong = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/periodic-payments",
        headers=fin,
        json={
            "budget_line_id": b["line_ids"][1],
            "payee_kind": "employer",
            "payee_name": "Bakkerij Jansen",
            "payee_iban": IBAN,
            "monthly_amount": "1500.00",
            "first_due": TODAY.isoformat(),
            "months": 12,
        },
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "periodic.category"
    r = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/periodic-payments",
        headers=fin,
        json={
            "budget_line_id": b["line_ids"][0],
            "payee_kind": "employer",
            "payee_name": "Bakkerij Jansen",
            "payee_iban": IBAN,
            "monthly_amount": "1500.00",
            "first_due": (TODAY - timedelta(days=40)).isoformat(),
            "months": 12,
        },
    )
    assert r.status_code == 201, r.text
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=fin).json()
    assert budget["committed"] == "18000.00"
    with runtime.uow("budget") as uow:
        assert create_due_periodic_invoices(uow) == 2  # last month's and this month's
    with runtime.uow("budget") as uow:
        assert create_due_periodic_invoices(uow) == 0  # never twice
    queue = http.get("/budget/v1/approval-queue", headers=fin).json()
    assert [i["amount"] for i in queue] == ["1500.00", "1500.00"] and {i["flow"] for i in queue} == {"periodic"}
    runtime.clock.advance(relativedelta(months=1))  # a month on: the next month has come due
    with runtime.uow("budget") as uow:
        assert create_due_periodic_invoices(uow) == 1
    due = sorted(i["service_from"] for i in http.get("/budget/v1/approval-queue", headers=fin).json())
    assert due == [(TODAY - timedelta(days=40) + relativedelta(months=n)).isoformat() for n in range(3)]
    ledger_consistent(runtime)


def test_credit_notes_are_new_entries_before_and_after_payment(env):
    runtime, http = env
    b = open_budget(runtime)
    inv = http.post(
        "/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "K-1", "300.00")
    ).json()
    http.post(f"/budget/v1/invoices/{inv['id']}/approve", headers=FIN)
    too_much = http.post(
        f"/budget/v1/invoices/{inv['id']}/credit-notes", headers=FIN, json={"amount": "300.01", "reason": "te veel"}
    )
    assert too_much.status_code == 422 and too_much.json()["code"] == "credit.too_large"
    credit = http.post(
        f"/budget/v1/invoices/{inv['id']}/credit-notes",
        headers=FIN,
        json={"amount": "50.00", "reason": "Een les ging niet door"},
    )
    assert credit.status_code == 201 and credit.json()["kind"] == "credit"
    assert http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()["remaining"] == "750.00"
    paid = http.post(f"/budget/v1/invoices/{inv['id']}/mark-paid", headers=FIN, json={"paid_on": TODAY.isoformat()})
    assert paid.json()["status"] == "paid"
    refund = http.post(
        f"/budget/v1/invoices/{inv['id']}/credit-notes",
        headers=FIN,
        json={"amount": "20.00", "reason": "Terugbetaald door aanbieder"},
    )
    assert refund.json()["kind"] == "refund"
    budget = http.get(f"/budget/v1/budgets/{b['budget_id']}", headers=FIN).json()
    assert (budget["paid"], budget["remaining"]) == ("230.00", "770.00")
    assert (
        http.post(
            f"/budget/v1/invoices/{inv['id']}/credit-notes", headers=PROVIDER, json={"amount": "1.00", "reason": "x"}
        ).status_code
        == 403
    )
    ledger_consistent(runtime)


def test_every_budget_list_is_paged_with_a_total_and_links(env):
    runtime, http = env
    b = open_budget(runtime)
    for n in range(3):
        runtime.clock.advance(timedelta(minutes=1))  # one after the other: the list is in arrival order
        r = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], f"P-{n}"))
        assert r.status_code == 201, r.text
    lists = {
        "/budget/v1/invoices": 3,
        "/budget/v1/approval-queue": 3,
        "/budget/v1/budgets": 1,
        f"/budget/v1/budgets/{b['budget_id']}/ledger": 2,  # the grant: funding and available
        f"/budget/v1/budgets/{b['budget_id']}/orders": 0,
        f"/budget/v1/budgets/{b['budget_id']}/periodic-payments": 0,
        "/budget/v1/payment-runs": 0,
    }
    for path, total in lists.items():
        r = http.get(path, headers=FIN, params={"page_size": 2})
        assert r.status_code == 200, (path, r.text)
        assert r.headers["X-Total-Count"] == str(total), path
        assert len(r.json()) == min(total, 2) and 'rel="first"' in r.headers["Link"], path
    second = http.get("/budget/v1/invoices", headers=FIN, params={"page_size": 2, "page": 2})
    first = http.get("/budget/v1/invoices", headers=FIN, params={"page_size": 2})
    assert [i["invoice_number"] for i in first.json() + second.json()] == ["P-0", "P-1", "P-2"]
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' in first.headers["Link"]
    assert http.get("/budget/v1/invoices", headers=FIN, params={"page_size": 501}).status_code == 422


def test_an_unknown_invoice_status_filter_is_a_422_not_an_empty_list(env):
    runtime, http = env
    b = open_budget(runtime)
    http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-1"))
    assert [
        i["status"] for i in http.get("/budget/v1/invoices", headers=FIN, params={"status": "received"}).json()
    ] == ["received"]
    assert http.get("/budget/v1/invoices", headers=FIN, params={"status": "approved"}).json() == []
    r = http.get("/budget/v1/invoices", headers=FIN, params={"status": "betaald"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "status", r.text
