"""On real PostgreSQL: concurrent approvals on one small budget never overspend."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from services.budget import commands, invoices_in, submissions
from services.budget.models import BudgetLine, Invoice, InvoiceIn, OrderIn
from shared.auth import Principal, Role
from shared.config import Settings
from shared.errors import DomainError
from tests.integration.budget.support import (
    COACH_PROVIDER_ID,
    budget_runtime,
    invoice_body,
    ledger_consistent,
    open_budget,
    outbox_types,
)

FINANCE = [Principal(subject=f"fin-{i}", role=Role.FINANCE, municipality="0344") for i in range(2)]
PROVIDER = Principal(subject="p", role=Role.PROVIDER, municipality="0344", provider_id=COACH_PROVIDER_ID)


def test_many_simultaneous_approvals_on_one_small_budget_never_overspend(fresh_pg_url):
    runtime = budget_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    b = open_budget(runtime, lines=[{"category": "coaching", "granted_cents": 4000_00, "provider_name": "Coach BV"}])
    line_id = b["line_ids"][0]
    invoice_ids = []
    for i in range(40):
        with runtime.uow("budget") as uow:
            submission = submissions.submission_from_json(
                PROVIDER, InvoiceIn(**invoice_body(line_id, f"C-{i}", "100.00"))
            )
            invoice_ids.append(invoices_in.submit_invoice(uow, PROVIDER, submission).id)
    # An order made after the invoices arrived leaves room for only ten of them.
    with runtime.uow("budget") as uow:
        commands.place_order(
            uow,
            FINANCE[0],
            b["budget_id"],
            OrderIn(budget_line_id=line_id, order_reference="LATER-ORDER", provider_name="Other BV", amount="3000.00"),
        )

    start = threading.Barrier(16)

    def approve(index_and_id: tuple[int, str]) -> str:
        index, invoice_id = index_and_id
        start.wait() if index < 16 else None
        with runtime.uow("budget") as uow:
            try:
                commands.approve_invoice(uow, FINANCE[index % 2], invoice_id)
                return "approved"
            except DomainError as exc:
                return exc.code

    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(approve, enumerate(invoice_ids)))

    assert outcomes.count("approved") == 10
    assert set(outcomes) == {"approved", "budget.insufficient"}
    with runtime.engine.connect() as conn:
        line = conn.execute(sa.select(BudgetLine).where(BudgetLine.id == line_id)).one()
        approved = conn.execute(
            sa.select(sa.func.count()).select_from(Invoice).where(Invoice.status == "approved")
        ).scalar_one()
    assert line.available_cents == 0 and line.payable_cents == 1000_00 and approved == 10
    assert line.committed_cents == 3000_00
    assert outbox_types(runtime).count("InvoiceApproved") == 10
    ledger_consistent(runtime)


def test_the_database_itself_refuses_a_negative_balance(fresh_pg_url):
    """The last line of defence if code ever skipped the lock: a CHECK constraint."""
    runtime = budget_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    b = open_budget(runtime)
    with runtime.engine.begin() as conn:
        try:
            conn.execute(sa.update(BudgetLine).where(BudgetLine.id == b["line_ids"][0]).values(available_cents=-1))
        except sa.exc.IntegrityError as exc:
            assert "ck_budget_line_available_not_negative" in str(exc)
        else:
            raise AssertionError("negative balance was accepted")
