"""Hypothesis: random sequences of invoices, approvals, rejections, payments, outcomes and
closing, through the real handlers and database, never break the ledger's equations."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.budget import handlers
from services.budget.models import InvoiceIn, MarkPaid, RejectInvoice
from shared.auth import Principal, Role
from shared.config import Settings
from shared.errors import DomainError
from shared.problems import Problem
from tests.integration.budget.support import COACH_PROVIDER_ID, deliver, invoice_body, ledger_consistent, open_budget
from tests.support.runtime import migrated_runtime

FIN = Principal(subject="fin-a", role=Role.FINANCE, municipality="0344")
FIN2 = Principal(subject="fin-b", role=Role.FINANCE, municipality="0344")
PROVIDER = Principal(subject="p", role=Role.PROVIDER, municipality="0344", provider_id=COACH_PROVIDER_ID)

steps = st.lists(st.one_of(
    st.tuples(st.just("invoice"), st.integers(0, 1), st.integers(1, 3000_00)),
    st.tuples(st.just("approve"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("reject"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("pay"), st.integers(0, 30), st.just(0)),
    st.tuples(st.just("outcome"), st.just(0), st.just(0)),
    st.tuples(st.just("close"), st.just(0), st.just(0)),
), min_size=1, max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
def test_random_sequences_keep_the_ledger_balanced(tmp_path_factory, sequence):
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("prop"), environment="test"))
    b = open_budget(runtime, lines=[
        {"category": "coaching", "granted_cents": 2500_00, "provider_name": "Coach BV", "holdback_percent": 20},
        {"category": "training_skills", "granted_cents": 1500_00, "provider_name": "Coach BV"}])
    invoices: list[str] = []
    for n, (action, index, value) in enumerate(sequence):
        try:
            with runtime.uow("budget") as uow:
                if action == "invoice":
                    sub = handlers.submission_from_json(PROVIDER, InvoiceIn(**invoice_body(
                        b["line_ids"][index], f"H-{n}", str(value / 100) if value % 100 else str(value // 100))))
                    invoices.append(handlers.submit_invoice(uow, PROVIDER, sub).id)
                elif action == "approve" and invoices:
                    handlers.approve_invoice(uow, FIN if value else FIN2, invoices[index % len(invoices)])
                elif action == "reject" and invoices:
                    handlers.reject_invoice(uow, FIN, invoices[index % len(invoices)], RejectInvoice(reason="x"))
                elif action == "pay" and invoices:
                    handlers.mark_invoice_paid(uow, FIN, invoices[index % len(invoices)], MarkPaid(paid_on=date.today()))
            if action == "outcome":
                deliver(runtime, "OutcomeRegistered", "0344", b["plan_id"], {
                    "outcome_id": f"o-{n}", "plan_id": b["plan_id"], "client_id": b["client_id"],
                    "outcome": "work_during", "durable": False})
            elif action == "close":
                deliver(runtime, "TrajectoryClosed", "0344", b["plan_id"], {
                    "plan_id": b["plan_id"], "client_id": b["client_id"], "reason": "completed",
                    "closed_on": date.today().isoformat()})
        except (DomainError, Problem):
            pass  # a refused step must leave no trace; the check below proves it
        ledger_consistent(runtime)
    runtime.engine.dispose()
