"""On real PostgreSQL: every pair of money-moving commands racing on one small budget line.

Each round opens a fresh budget with one line of EUR 500.00, prepares invoices in every state
(waiting, approved, paid), then fires two kinds of command at the line from 16 threads at once.
Afterwards the ledger balances, no account is below zero, the cached totals equal the ledger,
nothing was drawn beyond the line, and every answer was a decision (done, or refused with a
domain code), never an unexpected error. PRB_RACE_ROUNDS raises the number of rounds
(docs/reliability.md records a long run).
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import build_runtime, load_service
from services.budget import commands, invoices_in, payments, submissions
from services.budget.models import BudgetLine, CreditNoteIn, InvoiceIn, MarkPaid, OrderIn, PeriodicPaymentIn
from shared.auth import Principal, Role
from shared.bus.consumer import HandlerFailed, consume
from shared.config import Settings
from shared.errors import DomainError, TemporarilyUnavailable
from shared.problems import Problem
from shared.runtime import Runtime
from tests.integration.budget.support import (
    COACH_PROVIDER_ID,
    TODAY,
    frozen_clock,
    invoice_body,
    ledger_consistent,
    open_budget,
)
from tests.support.events import event_of

TENANT = "0344"
THREADS = 16
ROUNDS = int(os.environ.get("PRB_RACE_ROUNDS", "2"))
LINE_CENTS = 500_00
FINANCE = [Principal(subject=f"fin-{i}", role=Role.FINANCE, municipality=TENANT) for i in range(2)]
PROVIDER = Principal(subject="p", role=Role.PROVIDER, municipality=TENANT, provider_id=COACH_PROVIDER_ID)
_numbers = itertools.count()


@dataclass
class Line:
    """One fresh budget line and invoices prepared in each state."""

    runtime: Runtime
    budget: dict
    pending: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    paid: list[str] = field(default_factory=list)

    @property
    def line_id(self) -> str:
        return self.budget["line_ids"][0]


def _submit(rt: Runtime, line_id: str, amount: str) -> str:
    with rt.uow("budget") as uow:
        sub = submissions.submission_from_json(
            PROVIDER, InvoiceIn(**invoice_body(line_id, f"R-{next(_numbers)}", amount))
        )
        return invoices_in.submit_invoice(uow, PROVIDER, sub).id


def _approve(rt: Runtime, invoice_id: str, who: int = 0) -> None:
    with rt.uow("budget") as uow:
        commands.approve_invoice(uow, FINANCE[who], invoice_id)


def _prepare(rt: Runtime, scheme: str = "prb", category: str = "coaching") -> Line:
    b = open_budget(
        rt,
        TENANT,
        scheme=scheme,
        lines=[{"category": category, "granted_cents": LINE_CENTS, "provider_name": "Coach BV"}],
    )
    line = Line(rt, b)
    for _ in range(3):  # 3 x 40.00 approved; the last one paid
        invoice_id = _submit(rt, line.line_id, "40.00")
        _approve(rt, invoice_id)
        line.approved.append(invoice_id)
    with rt.uow("budget") as uow:
        payments.mark_invoice_paid(uow, FINANCE[0], line.approved[-1], MarkPaid(paid_on=TODAY))
    line.paid.append(line.approved.pop())
    for _ in range(6):  # 6 x 55.00 waiting: 330.00 of the 380.00 left
        line.pending.append(_submit(rt, line.line_id, "55.00"))
    return line


# --- the commands, each as one attempt from one thread ----------------------------------------


def order(line: Line, i: int) -> None:
    with line.runtime.uow("budget") as uow:
        commands.place_order(
            uow,
            FINANCE[i % 2],
            line.budget["budget_id"],
            OrderIn(
                budget_line_id=line.line_id,
                order_reference=f"ORD-{uuid.uuid4().hex[:10]}",
                provider_name="Coach BV",
                amount="55.00",
            ),
        )


def invoice(line: Line, i: int) -> None:
    _submit(line.runtime, line.line_id, "10.00")  # five of these fit after the waiting ones


def approval(line: Line, i: int) -> None:
    _approve(line.runtime, line.pending[i % len(line.pending)], i % 2)


def plan_change(line: Line, i: int) -> None:
    """Intake moves the line's grant down to 420.00 and back to 500.00 (a change never adds to the total)."""
    b = line.budget
    granted = 420_00 if i % 2 else LINE_CENTS
    lines = [{**b["plan_lines"][0], "granted_cents": granted}]
    event = event_of(
        "PlanChanged",
        tenant=TENANT,
        subject=b["plan_id"],
        producer="intake",
        correlation_id="race",
        payload={
            "plan_id": b["plan_id"],
            "client_id": b["client_id"],
            "plan_version": 3,
            "change_id": str(uuid.uuid4()),
            "granted_cents": granted,
            "lines": lines,
            "execution_deadline": (TODAY + timedelta(days=365)).isoformat(),
        },
    )
    for attempt in range(1, 4):  # as Celery retries a failed try
        try:
            consume(
                line.runtime.engine,
                "budget",
                event.model_dump_json(),
                load_service("budget").event_handlers,
                attempt=attempt,
                max_attempts=3,
                clock=line.runtime.clock,
            )
            return
        except HandlerFailed:
            continue


def credit(line: Line, i: int) -> None:
    with line.runtime.uow("budget") as uow:
        commands.credit_invoice(
            uow, FINANCE[0], line.approved[i % len(line.approved)], CreditNoteIn(amount="7.00", reason="race")
        )


def refund(line: Line, i: int) -> None:
    with line.runtime.uow("budget") as uow:
        commands.credit_invoice(uow, FINANCE[0], line.paid[0], CreditNoteIn(amount="3.00", reason="race"))


def payment(line: Line, i: int) -> None:
    with line.runtime.uow("budget") as uow:
        payments.mark_invoice_paid(uow, FINANCE[1], line.approved[i % len(line.approved)], MarkPaid(paid_on=TODAY))


def periodic(line: Line, i: int) -> None:
    with line.runtime.uow("budget") as uow:
        commands.schedule_periodic_payment(
            uow,
            FINANCE[0],
            line.budget["budget_id"],
            PeriodicPaymentIn(
                budget_line_id=line.line_id,
                payee_kind="employer",
                payee_name="Werkgever BV",
                payee_iban="NL91ABNA0417164300",
                monthly_amount="30.00",
                months=2,
                first_due=TODAY,
            ),
        )


Command = Callable[[Line, int], None]
# An unexpected error is a 500; the database's overdraft guard firing means a command decided on
# stale balances (the guard saved the money, but the locking is wrong).
_NEVER = ("UNEXPECTED", "problem 5", "ledger.overdraft_refused")


def _outcome(command: Command, line: Line, i: int, start: threading.Barrier) -> str:
    start.wait()
    try:
        command(line, i)
        return "done"
    except TemporarilyUnavailable:
        return "busy"
    except DomainError as exc:
        return exc.code
    except Problem as exc:
        return f"problem {exc.status}"
    except Exception as exc:  # noqa: BLE001 - the thing this test exists to catch
        return f"UNEXPECTED {type(exc).__name__}: {str(exc)[:200]}"


def _race(
    rt: Runtime, first: Command, second: Command, *, per_kind: int = 16, scheme: str = "prb", category: str = "coaching"
) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        line = _prepare(rt, scheme, category)
        jobs = [(first, i) for i in range(per_kind)] + [(second, i) for i in range(per_kind)]
        start = threading.Barrier(THREADS)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(_outcome, cmd, line, i, _Gate(start, n)) for n, (cmd, i) in enumerate(jobs)]
            round_outcomes = Counter(f.result() for f in futures)
        outcomes.update(round_outcomes)
        unexpected = [o for o in round_outcomes if o.startswith(_NEVER)]
        assert not unexpected, f"{first.__name__} x {second.__name__}: {round_outcomes}"
        ledger_consistent(rt)
        _assert_within_line(rt, line)
    print(f"{first.__name__} x {second.__name__}, {ROUNDS} rounds: {dict(outcomes)}")  # figures for reliability.md
    return outcomes


class _Gate:
    """The first THREADS jobs start together; the rest follow as threads come free."""

    def __init__(self, barrier: threading.Barrier, n: int) -> None:
        self.barrier, self.n = barrier, n

    def wait(self) -> None:
        if self.n < THREADS:
            self.barrier.wait(timeout=30)


def _assert_within_line(rt: Runtime, line: Line) -> None:
    with rt.engine.connect() as conn:
        row = conn.execute(sa.select(BudgetLine).where(BudgetLine.id == line.line_id)).one()
    drawn = row.committed_cents + row.held_cents + row.payable_cents + row.paid_cents
    assert drawn <= row.granted_cents <= LINE_CENTS, row


PAIRS = [
    (order, order),
    (order, approval),
    (order, invoice),
    (invoice, invoice),
    (approval, approval),
    (approval, plan_change),
    (order, plan_change),
    (invoice, plan_change),
    (credit, approval),
    (refund, order),
    (payment, credit),
    (invoice, approval),
    (payment, order),
]


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a.__name__}-x-{b.__name__}" for a, b in PAIRS])
def test_two_money_commands_racing_on_one_small_line_never_overdraw_it(race_runtime, first, second):
    runtime = race_runtime
    outcomes = _race(runtime, first, second)
    assert outcomes["done"] > 0, outcomes
    if first is second is invoice:
        assert outcomes["done"] == 5 * ROUNDS, outcomes


def test_forty_orders_of_55_on_a_500_line_reserve_exactly_nine(race_runtime):
    runtime = race_runtime
    """The review's first finding: 40 concurrent orders of 55.00 from 16 threads on a 500.00 line."""
    b = open_budget(
        runtime, TENANT, lines=[{"category": "coaching", "granted_cents": LINE_CENTS, "provider_name": "Coach BV"}]
    )
    line = Line(runtime, b)
    start = threading.Barrier(THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        outcomes = Counter(pool.map(lambda i: _outcome(order, line, i, _Gate(start, i)), range(40)))
    assert outcomes == {"done": 9, "budget.insufficient": 31}, outcomes
    ledger_consistent(runtime)
    with runtime.engine.connect() as conn:
        row = conn.execute(sa.select(BudgetLine).where(BudgetLine.id == line.line_id)).one()
    assert (row.committed_cents, row.available_cents) == (495_00, 5_00)


def test_periodic_payments_racing_with_orders_never_overdraw_a_wage_cost_line(race_runtime):
    runtime = race_runtime
    outcomes = _race(runtime, periodic, order, per_kind=10, scheme="pgb_bw", category="wage_cost_subsidy")
    assert outcomes["done"] > 0, outcomes


def test_every_command_at_once_on_one_line_never_overdraws_it(race_runtime):
    runtime = race_runtime
    kinds = [order, invoice, approval, plan_change, credit, refund, payment]
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        line = _prepare(runtime)
        jobs = [(kind, i) for i in range(6) for kind in kinds]
        start = threading.Barrier(THREADS)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(_outcome, cmd, line, i, _Gate(start, n)) for n, (cmd, i) in enumerate(jobs)]
            round_outcomes = Counter(f.result() for f in futures)
        assert not [o for o in round_outcomes if o.startswith(_NEVER)], round_outcomes
        outcomes.update(round_outcomes)
        ledger_consistent(runtime)
        _assert_within_line(runtime, line)
    print(f"every command at once, {ROUNDS} rounds: {dict(outcomes)}")
    assert outcomes["done"] > 0


def test_an_invoice_that_does_not_fit_after_waiting_invoices_is_refused_at_intake_with_the_amounts(race_runtime):
    runtime = race_runtime
    b = open_budget(
        runtime, TENANT, lines=[{"category": "coaching", "granted_cents": LINE_CENTS, "provider_name": "Coach BV"}]
    )
    line_id = b["line_ids"][0]
    for _ in range(9):
        _submit(runtime, line_id, "55.00")  # 495.00 waiting for approval
    finance = FINANCE[0]
    with runtime.uow("budget") as uow, pytest.raises(DomainError) as refused:
        sub = submissions.submission_from_json(finance, InvoiceIn(**invoice_body(line_id, "R-too-much", "55.00")))
        invoices_in.submit_invoice(uow, finance, sub)
    assert refused.value.code == "invoice.over_budget"
    assert "€55.00" in refused.value.message and "€5.00" in refused.value.message
    with runtime.uow("budget") as uow, pytest.raises(DomainError) as refused_for_provider:
        invoices_in.submit_invoice(
            uow,
            PROVIDER,
            submissions.submission_from_json(PROVIDER, InvoiceIn(**invoice_body(line_id, "R-too-much-2", "55.00"))),
        )
    assert "€5.00" not in refused_for_provider.value.message  # a provider never learns the balance
    _submit(runtime, line_id, "5.00")  # what is left still fits


def test_a_write_that_skips_the_lock_cannot_push_an_account_below_zero(race_runtime):
    runtime = race_runtime
    """The database's own guard: ledger entries update the line's totals and its checks refuse a
    negative account, whatever the code did or did not lock."""
    b = open_budget(runtime, TENANT)
    line_id = b["line_ids"][0]
    with runtime.engine.begin() as conn:
        available = conn.execute(sa.select(BudgetLine.available_cents).where(BudgetLine.id == line_id)).scalar_one()
    with (
        pytest.raises(sa.exc.IntegrityError, match="ck_budget_line_available_not_negative"),
        runtime.engine.begin() as conn,
    ):
        tx = str(uuid.uuid4())
        for account, cents in (("available", -(available + 1)), ("committed", available + 1)):
            conn.execute(
                sa.text(
                    "INSERT INTO budget.ledger_entry (transaction_id, budget_id, budget_line_id, kind, account, "
                    "amount_cents, created_at) VALUES (:tx, :b, :l, 'commit', :a, :c, now())"
                ),
                {"tx": tx, "b": b["budget_id"], "l": line_id, "a": account, "c": cents},
            )
    ledger_consistent(runtime)


def test_ledger_entries_cannot_be_edited_or_deleted(race_runtime):
    runtime = race_runtime
    open_budget(runtime, TENANT)
    for statement in (
        "UPDATE budget.ledger_entry SET amount_cents = amount_cents + 1",
        "DELETE FROM budget.ledger_entry",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="never edited"), runtime.engine.begin() as conn:
            conn.execute(sa.text(statement))


def test_a_grant_above_21_million_euro_fits_the_money_columns(race_runtime):
    runtime = race_runtime
    b = open_budget(
        runtime, TENANT, lines=[{"category": "coaching", "granted_cents": 30_000_000_00, "provider_name": "Coach BV"}]
    )
    with runtime.engine.connect() as conn:
        assert (
            conn.execute(sa.select(BudgetLine.granted_cents).where(BudgetLine.id == b["line_ids"][0])).scalar_one()
            == 30_000_000_00
        )


def _runtime_with_lock_timeout(runtime: Runtime, milliseconds: int) -> Runtime:
    url = runtime.engine.url.render_as_string(hide_password=False)
    engine = sa.create_engine(url, connect_args={"options": f"-c lock_timeout={milliseconds}"})
    return build_runtime(Settings(database_url=url, environment="test"), engine_override=engine, clock=frozen_clock())


def test_a_budget_held_by_another_transaction_is_retried_and_then_answered_503(race_runtime):
    runtime = race_runtime
    b = open_budget(runtime, TENANT)
    impatient = _runtime_with_lock_timeout(runtime, 100)
    with runtime.engine.connect() as holder:
        holder.execute(sa.text("SELECT id FROM budget.budget WHERE id = :id FOR UPDATE"), {"id": b["budget_id"]})
        with impatient.uow("budget") as uow, pytest.raises(TemporarilyUnavailable) as busy:
            commands.place_order(
                uow,
                FINANCE[0],
                b["budget_id"],
                OrderIn(
                    budget_line_id=b["line_ids"][0], order_reference="WAITS", provider_name="Coach BV", amount="5.00"
                ),
            )
        holder.rollback()
    assert busy.value.status == 503
    with impatient.uow("budget") as uow:  # nothing was half-written: the same order goes through now
        commands.place_order(
            uow,
            FINANCE[0],
            b["budget_id"],
            OrderIn(budget_line_id=b["line_ids"][0], order_reference="WAITS", provider_name="Coach BV", amount="5.00"),
        )
    impatient.engine.dispose()
    ledger_consistent(runtime)


def test_a_budget_released_while_a_command_waits_lets_the_retry_succeed(race_runtime):
    runtime = race_runtime
    b = open_budget(runtime, TENANT)
    impatient = _runtime_with_lock_timeout(runtime, 150)
    holder = runtime.engine.connect()
    holder.execute(sa.text("SELECT id FROM budget.budget WHERE id = :id FOR UPDATE"), {"id": b["budget_id"]})
    release = threading.Timer(0.2, holder.rollback)
    release.start()
    try:
        with impatient.uow("budget") as uow:
            placed = commands.place_order(
                uow,
                FINANCE[0],
                b["budget_id"],
                OrderIn(
                    budget_line_id=b["line_ids"][0], order_reference="RETRIED", provider_name="Coach BV", amount="5.00"
                ),
            )
        assert placed.amount == 5
    finally:
        release.join()
        holder.close()
        impatient.engine.dispose()


def test_a_batch_naming_another_municipalitys_line_does_not_wait_for_or_lock_its_budget(race_runtime):
    runtime = race_runtime
    theirs = open_budget(runtime, "0014")  # Groningen's budget, held by Groningen's finance meanwhile
    impatient = _runtime_with_lock_timeout(runtime, 100)
    with runtime.engine.connect() as holder:
        holder.execute(sa.text("SELECT id FROM budget.budget WHERE id = :id FOR UPDATE"), {"id": theirs["budget_id"]})
        with impatient.uow("budget") as uow:
            sub = submissions.submission_from_json(PROVIDER, InvoiceIn(**invoice_body(theirs["line_ids"][0], "X-1")))
            _, results = invoices_in.submit_invoices(uow, PROVIDER, [(None, sub)])
        holder.rollback()
    impatient.engine.dispose()
    assert [r.code for r in results] == ["invoice.unknown_line"]
