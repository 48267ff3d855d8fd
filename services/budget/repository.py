"""Rows <-> domain objects, and the locking reads: the ledger on rows.

One way to take money from a line, for every command that does: lock the budget row, then the
line (re-read under the lock: populate_existing), then the order or invoice involved; decide in
the domain (LineBalance); insert the ledger entries; commit. The budget lock comes first
everywhere, so money paths on one budget run one at a time and cannot deadlock; a command
touching several budgets locks them in id order (`lock_budgets`). The database derives the
line's cached totals from each entry inserted and refuses any account below zero (budget_0003),
so even a path that forgot a lock cannot overdraw a line.

Nothing here decides who may do something (permissions.py) or what happens next (domain/);
reading a record checks only that the caller may see it (a 404 otherwise).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from services.budget.domain import invoice as invoice_domain
from services.budget.domain.finance_policy import FinancePolicy, finance_policy_for
from services.budget.domain.invoice import PaymentPart
from services.budget.domain.ledger import Account, LineBalance, Transaction
from services.budget.domain.payment_run import PaymentRun as PaymentRunAggregate
from services.budget.domain.payment_run import PaymentRunStatus
from services.budget.domain.provider_register import INVOICING
from services.budget.models import (
    Budget,
    BudgetLine,
    FinancePolicyRecord,
    Invoice,
    LedgerEntry,
    Order,
    PaymentItem,
    PaymentRun,
)
from services.budget.models_providers import Provider
from shared.access import ensure_visible
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound
from shared.money import Money

FRESH = {"populate_existing": True}
_CACHED_TOTALS = ("granted_cents", "available_cents", "committed_cents", "held_cents", "payable_cents", "paid_cents")


def finance_policy(session: Session, municipality: str) -> FinancePolicy:
    record = session.get(FinancePolicyRecord, municipality)
    return finance_policy_for(municipality, record.document if record else None)


# --- the ledger on rows -------------------------------------------------------------------


def balance_of(line: BudgetLine) -> LineBalance:
    balance = LineBalance()
    balance.balances.update(
        {
            Account.FUNDING: Money(-line.granted_cents),
            Account.AVAILABLE: Money(line.available_cents),
            Account.COMMITTED: Money(line.committed_cents),
            Account.HELD: Money(line.held_cents),
            Account.PAYABLE: Money(line.payable_cents),
            Account.PAID: Money(line.paid_cents),
        }
    )
    return balance


def record(
    session: Session, line: BudgetLine, tx: Transaction, balance: LineBalance, invoice_id: str | None, at: datetime
) -> None:
    session.add(line)
    session.flush()  # the line row exists, and its other changes are written, before its entries
    tx_id = str(uuid.uuid4())
    session.add_all(
        [
            LedgerEntry(
                transaction_id=tx_id,
                budget_id=line.budget_id,
                budget_line_id=line.id,
                kind=tx.kind,
                account=posting.account,
                amount_cents=posting.amount.cents,
                invoice_id=invoice_id,
                created_at=at,
            )
            for posting in tx.postings
        ]
    )
    try:
        session.flush()
    except IntegrityError as exc:
        # The database's own guard: reached only if a code path decided on stale balances.
        raise Conflict(
            "ledger.overdraft_refused",
            "The budget line changed meanwhile; nothing was booked. Try again.",
            "amount",
            message_nl="De budgetregel is intussen veranderd; er is niets geboekt. Probeer het opnieuw.",
        ) from exc
    # The trigger has applied the entries to the row; mirror the totals without writing them.
    totals = (balance.granted, balance.remaining, balance.committed, balance.held, balance.payable, balance.paid)
    for column, value in zip(_CACHED_TOTALS, totals, strict=True):
        set_committed_value(line, column, value.cents)


def move(
    session: Session,
    line: BudgetLine,
    operation: str,
    amount: Money,
    at: datetime,
    invoice_id: str | None = None,
    **kwargs: Any,
) -> None:
    """Apply one ledger operation (LineBalance.<operation>) to a locked line and book its entries."""
    balance = balance_of(line)
    tx = getattr(balance, operation)(amount, **kwargs)
    record(session, line, tx, balance, invoice_id, at)


def lock_budget(session: Session, budget_id: str) -> Budget:
    """The first lock of every command that moves money on this budget."""
    query = select(Budget).where(Budget.id == budget_id)
    if budget_id not in budgets_locked(session):
        query = query.with_for_update()
    budget = session.exec(query.execution_options(**FRESH)).first()
    if budget is None:
        raise NotFound("budget")
    return budget


def lock_budgets(session: Session, budget_ids: Iterable[str]) -> None:
    """Lock several budgets up front, in id order, for a command that spans them."""
    ids = sorted(set(budget_ids))
    if ids:
        session.exec(
            select(Budget)
            .where(col(Budget.id).in_(ids))
            .order_by(Budget.id)
            .with_for_update()
            .execution_options(**FRESH)
        ).all()
        if not session.in_nested_transaction():
            budgets_locked(session).update(ids)


def budgets_locked(session: Session) -> set[str]:
    """Budgets this transaction locked up front (outside any savepoint, so the locks hold until
    it ends). Locking one again inside a savepoint would rewrite the row's lock for the
    savepoint (PostgreSQL), which in a bulk command costs more than the rest of an invoice."""
    root = session.get_transaction()
    held = session.info.get("budgets_locked")
    if held is None or held[0] is not root:
        held = session.info["budgets_locked"] = (root, set())
    return held[1]


def locked_line(session: Session, line_id: str) -> BudgetLine:
    # Under the budget's lock; the line's own lock also guards paths that lock only the line.
    return session.exec(
        select(BudgetLine).where(BudgetLine.id == line_id).with_for_update().execution_options(**FRESH)
    ).one()


def locked_invoice(session: Session, invoice_id: str) -> Invoice:
    return session.exec(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update().execution_options(**FRESH)
    ).one()


def locked_order(session: Session, order_id: str | None) -> Order | None:
    if not order_id:
        return None
    return session.exec(select(Order).where(Order.id == order_id).with_for_update().execution_options(**FRESH)).first()


def lines(session: Session, budget_id: str) -> list[BudgetLine]:
    return list(
        session.exec(
            select(BudgetLine)
            .where(BudgetLine.budget_id == budget_id)
            .order_by(BudgetLine.id)
            .execution_options(**FRESH)
        )
    )


def used(budget_lines: Iterable[BudgetLine]) -> tuple[Money, Money]:
    """Granted and used (held, payable or paid) over these lines."""
    budget_lines = list(budget_lines)
    granted = Money(sum(line.granted_cents for line in budget_lines))
    spent = Money(sum(line.held_cents + line.payable_cents + line.paid_cents for line in budget_lines))
    return granted, spent


def held_invoices_locked(session: Session, budget_id: str) -> list[Invoice]:
    """Invoices with a holdback still held, locked (under the budget's lock), line by line."""
    return list(
        session.exec(
            select(Invoice)
            .where(Invoice.budget_id == budget_id, Invoice.holdback_status == invoice_domain.HoldbackStatus.HELD)
            .order_by(Invoice.budget_line_id, Invoice.id)
            .with_for_update()
            .execution_options(**FRESH)
        ).all()
    )


# --- budgets ------------------------------------------------------------------------------


def budget_for(session: Session, who: Principal, budget_id: str) -> Budget:
    """The budget if `who` may see it (not locked)."""
    budget = session.get(Budget, budget_id)
    if budget is None:
        raise NotFound("budget")
    ensure_visible(who, municipality=budget.municipality, client_id=budget.client_id, what="budget")
    return budget


def budget_for_plan(session: Session, plan_id: str, *, lock: bool = False) -> Budget:
    query = select(Budget).where(Budget.plan_id == plan_id)
    budget = session.exec(query.with_for_update().execution_options(**FRESH) if lock else query).first()
    if budget is None:
        # The approval has not reached us yet (queues are independent): retry later.
        raise LookupError(f"no budget for plan {plan_id} yet")
    return budget


def budget_of_plan_locked(session: Session, plan_id: str) -> Budget | None:
    return session.exec(
        select(Budget).where(Budget.plan_id == plan_id).with_for_update().execution_options(**FRESH)
    ).first()


# --- invoices -----------------------------------------------------------------------------


def invoice_for(session: Session, who: Principal, invoice_id: str, *, lock: bool = False) -> Invoice:
    """The invoice if `who` may see it. `lock` takes the invoice's row lock alone: for changes that
    move no money; those that do lock through `lock_for_invoice`."""
    query = select(Invoice).where(Invoice.id == invoice_id)
    invoice = session.exec(query.with_for_update().execution_options(**FRESH) if lock else query).first()
    if invoice is None:
        raise NotFound("invoice", "rekening")
    ensure_visible(
        who,
        municipality=invoice.municipality,
        client_id=invoice.client_id,
        what="invoice",
        provider_id=invoice.provider_id,
    )
    if who.role == Role.PROVIDER and invoice.provider_id != who.provider_id:
        raise NotFound("invoice", "rekening")
    return invoice


def lock_for_invoice(session: Session, who: Principal, invoice_id: str) -> tuple[Budget, BudgetLine, Invoice]:
    """Budget, line, invoice: locked in the one order every money path uses, and re-read."""
    seen = invoice_for(session, who, invoice_id)
    budget = lock_budget(session, seen.budget_id)
    line = locked_line(session, seen.budget_line_id)
    return budget, line, locked_invoice(session, seen.id)


_AGGREGATE_FIELDS = (
    "id",
    "budget_id",
    "budget_line_id",
    "plan_id",
    "client_id",
    "amount_cents",
    "amount_excl_vat_cents",
    "vat_cents",
    "status",
    "client_confirmed_at",
    "first_approved_by",
    "approved_at",
    "approved_by",
    "rejection_code",
    "rejection_reason",
    "paid_on",
    "holdback_status",
    "held_cents",
    "held_pay_cents",
    "credited_cents",
    "credited_pay_cents",
    "payment_hold",
)


def invoice_of(row: Invoice) -> invoice_domain.Invoice:
    """The aggregate of an invoice row (read under whatever lock the caller holds)."""
    return invoice_domain.Invoice(
        **{name: getattr(row, name) for name in _AGGREGATE_FIELDS},
        # Read only: who sent it, as its events name it (not a provider id made from a name).
        provider_id=row.provider_id if row.provider_identified else None,
        provider_kvk=row.provider_kvk,
    )


def store_invoice(session: Session, row: Invoice, invoice: invoice_domain.Invoice) -> None:
    """Write what the aggregate decided back onto its row."""
    for name in _AGGREGATE_FIELDS:
        value = getattr(invoice, name)
        if getattr(row, name) != value:
            setattr(row, name, value)
    session.add(row)


# --- payment runs -------------------------------------------------------------------------


def _not_in_a_run(part: str) -> Any:
    # A transfer the bank returned no longer counts: the part may be paid again.
    return ~sa.exists().where(
        col(PaymentItem.invoice_id) == col(Invoice.id),
        col(PaymentItem.part) == part,
        col(PaymentItem.returned_on).is_(None),
    )


_PAYABLE_COLUMNS = (
    Invoice.id,
    Invoice.invoice_number,
    Invoice.creditor_name,
    Invoice.creditor_iban,
    Invoice.status,
    Invoice.holdback_status,
    Invoice.amount_excl_vat_cents,
    Invoice.vat_cents,
    Invoice.held_pay_cents,
    Invoice.credited_cents,
    Invoice.credited_pay_cents,
    Invoice.amount_cents,
    Invoice.held_cents,
)


def _payable_invoices_query(municipality: str) -> Any:
    """Approved (or paid with a released holdback) invoices, as plain rows, not ORM objects: a
    run may hold 100,000 invoices (docs/performance.md). The run decides which parts it pays."""
    # A registered provider is paid to the register's IBAN as it is now (finance may have changed
    # it since the invoice came in), and not at all while it is suspended or ended.
    registered = (
        (col(Provider.municipality) == col(Invoice.municipality))
        & (col(Provider.kvk) == col(Invoice.provider_kvk))
        & (col(Invoice.flow) != "declaration")
    )
    columns = [
        sa.func.coalesce(col(Provider.iban), col(Invoice.creditor_iban)).label("creditor_iban")
        if column is Invoice.creditor_iban
        else col(column)
        for column in _PAYABLE_COLUMNS
    ]
    query = (
        sa.select(
            *columns,
            _not_in_a_run(PaymentPart.MAIN).label("main_open"),
            _not_in_a_run(PaymentPart.HOLDBACK).label("holdback_open"),
        )
        .select_from(Invoice)
        .outerjoin(Provider, registered)
        .where(
            col(Invoice.municipality) == municipality,
            col(Invoice.status).in_(("approved", "scheduled", "paid")),
            # An invoice on hold is paid by hand (mark-paid) once finance has dealt with the hold.
            col(Invoice.payment_hold).is_(None),
            col(Provider.status).is_(None) | col(Provider.status).in_(sorted(s.value for s in INVOICING)),
        )
        .order_by(col(Invoice.approved_at))
    )
    return query


def payable_invoice_chunks(session: Session, municipality: str, size: int) -> Iterator[Sequence[Any]]:
    """The payable invoices in approval order, `size` rows at a time from a server-side cursor
    (PostgreSQL; `yield_per`), so a run never holds all its rows at once."""
    result = session.execute(_payable_invoices_query(municipality).execution_options(yield_per=size))
    try:
        yield from result.partitions()
    finally:
        result.close()


def count_payable_invoices(session: Session, municipality: str) -> int:
    query = _payable_invoices_query(municipality).order_by(None).subquery()
    return int(session.execute(sa.select(sa.func.count()).select_from(query)).scalar_one())


def run_for(session: Session, who: Principal, run_id: str, *, lock: bool = False) -> PaymentRun:
    query = select(PaymentRun).where(PaymentRun.id == run_id)
    run = session.exec(query.with_for_update().execution_options(**FRESH) if lock else query).first()
    if run is None or run.municipality != who.municipality:
        raise NotFound("payment run", "betaalrun")
    return run


def run_of(row: PaymentRun) -> PaymentRunAggregate:
    return PaymentRunAggregate(
        id=row.id,
        municipality=row.municipality,
        execution_date=row.execution_date,
        pain_schema=row.pain_schema,
        message_id=row.message_id,
        status=PaymentRunStatus(row.status),
        paid_on=row.paid_on,
    )


def invoices_of_run(session: Session, run_id: str) -> list[tuple[PaymentItem, str, str]]:
    """Each item of a run with its invoice's budget and line."""
    return [
        (item, budget_id, line_id)
        for item, budget_id, line_id in session.exec(
            select(PaymentItem, Invoice.budget_id, Invoice.budget_line_id)
            .join(Invoice, col(Invoice.id) == col(PaymentItem.invoice_id))
            .where(PaymentItem.run_id == run_id)
        )
    ]
