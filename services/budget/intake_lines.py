"""The locking reads of invoices coming in: the budget line (or order) an invoice names, found and
its budget locked in one statement, with the municipality's finance policy; a batch's lines read
once under the locks it took up front; what the invoice checks see of a line (`snapshot`). The
locking rules are repository.py's: the budget lock first, budgets of a batch in id order.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.budget.domain.finance_policy import FinancePolicy, finance_policy_for
from services.budget.domain.invoice import PENDING_STATES
from services.budget.domain.invoice_checks import InvoiceRejected, LineSnapshot, headroom, pending_claims
from services.budget.models import Budget, BudgetLine, FinancePolicyRecord, Invoice, Order
from services.budget.repository import FRESH, budgets_locked
from shared.auth import Principal, Role
from shared.money import Money


def line_for_submission(
    session: Session,
    who: Principal,
    reference: str,
) -> tuple[Budget, BudgetLine, Order | None, FinancePolicy]:
    """The invoice's reference is a budget line id, or the reference of an order on a line.

    Found and locked in one statement, with the municipality's finance policy: the budget row (FOR
    UPDATE OF budget, re-read), and only among the budgets `who` may invoice, so no one can hold
    another municipality's or client's lock."""
    order = None
    found = line_and_budget(session, who, reference)
    if found is None:
        order = session.exec(
            select(Order).where(Order.municipality == who.municipality, Order.order_reference == reference)
        ).first()
        if order is not None:
            found = line_and_budget(session, who, order.budget_line_id)
            # Re-read under the budget's lock: approvals change what is left of the order.
            order = session.exec(select(Order).where(Order.id == order.id).execution_options(**FRESH)).one()
    if found is None:
        # Same answer for "no such line" and another municipality's or client's line: nothing leaks.
        raise InvoiceRejected(
            "invoice.unknown_line",
            "There is no open budget line with this reference.",
            "budget_line_id",
            message_nl="Er is geen open budgetregel met dit kenmerk.",
        )
    line, budget, policy = found
    return budget, line, order, finance_policy_for(budget.municipality, policy)


def line_and_budget(session: Session, who: Principal, line_id: str) -> Any:
    """(line, budget, the stored finance policy document or None), the budget locked."""
    query = (
        select(BudgetLine, Budget, FinancePolicyRecord.document)
        .join(Budget, col(Budget.id) == col(BudgetLine.budget_id))
        .outerjoin(FinancePolicyRecord, col(FinancePolicyRecord.municipality) == col(Budget.municipality))
        .where(BudgetLine.id == line_id, Budget.municipality == who.municipality)
    )
    if who.is_client_side():
        query = query.where(Budget.client_id == who.client_id)
    # The line needs no lock of its own here: intake moves no money, and every command that
    # changes a line holds its budget's lock.
    locked = budgets_locked(session)
    if not locked:
        return session.exec(query.with_for_update(of=Budget).execution_options(**FRESH)).first()
    read = _lines_read(session).get(line_id)
    if read is not None and read[1].id in locked:
        return read  # read by `read_locked_lines` under this transaction's lock, so still current
    found = session.exec(query.execution_options(**FRESH)).first()  # a batch locked its budgets up front
    if found is not None and found[1].id not in locked:
        found = session.exec(query.with_for_update(of=Budget).execution_options(**FRESH)).first()
    return found


def _lines_read(session: Session) -> dict[str, Any]:
    root = session.get_transaction()
    held = session.info.get("lines_read")
    if held is None or held[0] is not root:
        held = session.info["lines_read"] = (root, {})
    return held[1]


def read_locked_lines(session: Session, who: Principal, references: set[str]) -> None:
    """For a batch that locked its budgets up front (`lock_budgets`): read the lines it names, with
    their budgets and policy, and their reserves and waiting claims, in two statements, so neither
    `line_and_budget` nor `snapshot` need read them invoice by invoice. Nothing else changes them
    while this transaction holds their budgets' locks; the batch adds what it accepts (`accepted`)."""
    locked = budgets_locked(session)
    if not references or not locked:
        return
    query = (
        select(BudgetLine, Budget, FinancePolicyRecord.document)
        .join(Budget, col(Budget.id) == col(BudgetLine.budget_id))
        .outerjoin(FinancePolicyRecord, col(FinancePolicyRecord.municipality) == col(Budget.municipality))
        .where(col(BudgetLine.id).in_(references), Budget.municipality == who.municipality)
    )
    if who.is_client_side():
        query = query.where(Budget.client_id == who.client_id)
    read = _lines_read(session)
    for row in session.exec(query.execution_options(**FRESH)).all():
        if row[1].id in locked:
            read[row[0].id] = row
    _read_claims(session, [(row[1].id, line_id) for line_id, row in read.items()])


def budgets_referenced(session: Session, who: Principal, references: set[str]) -> set[str]:
    """The budgets a batch of invoices names (by line id or order reference), to lock in id order."""
    if not references:
        return set()
    # Only this municipality's budgets: a batch naming another's lines must not hold their locks.
    by_line = session.exec(
        select(BudgetLine.budget_id)
        .join(Budget, col(Budget.id) == col(BudgetLine.budget_id))
        .where(col(BudgetLine.id).in_(references), Budget.municipality == who.municipality)
    ).all()
    by_order = session.exec(
        select(Order.budget_id).where(
            Order.municipality == who.municipality, col(Order.order_reference).in_(references)
        )
    ).all()
    return {*by_line, *by_order}


def _reserves_and_claims(budget_ids: list[str], line_ids: list[str]) -> Any:
    """One statement: what open orders still reserve on the lines, and the waiting invoices per
    line and order."""
    return sa.union_all(
        sa.select(
            sa.literal("order").label("kind"),
            col(Order.budget_line_id).label("line_id"),
            col(Order.id).label("order_id"),
            (col(Order.amount_cents) - col(Order.used_cents)).label("cents"),
        ).where(col(Order.budget_line_id).in_(line_ids), col(Order.status) == "open"),
        sa.select(
            sa.literal("claim").label("kind"),
            col(Invoice.budget_line_id).label("line_id"),
            col(Invoice.order_id).label("order_id"),
            sa.func.sum(Invoice.amount_cents).label("cents"),
        )
        .where(
            col(Invoice.budget_id).in_(budget_ids),
            col(Invoice.budget_line_id).in_(line_ids),
            col(Invoice.status).in_(PENDING_STATES),
        )
        .group_by(col(Invoice.budget_line_id), col(Invoice.order_id)),
    )


def _claims_read(session: Session) -> dict[str, list[tuple[str, str | None, int]]]:
    root = session.get_transaction()
    held = session.info.get("claims_read")
    if held is None or held[0] is not root:
        held = session.info["claims_read"] = (root, {})
    return held[1]


def _read_claims(session: Session, lines: list[tuple[str, str]]) -> None:
    """The reserves and waiting claims of these (budget id, line id), under their budgets' locks,
    kept for this transaction; `accepted` adds each invoice the batch accepts."""
    read = _claims_read(session)
    for _, line_id in lines:
        read[line_id] = []
    statement = _reserves_and_claims(sorted({b for b, _ in lines}), sorted({li for _, li in lines}))
    for row in session.execute(statement):
        read[row.line_id].append((row.kind, row.order_id, int(row.cents)))


def accepted(session: Session, invoice: Invoice) -> None:
    """A batch accepted this invoice (its savepoint is released): it claims its line from now on."""
    read = _claims_read(session).get(invoice.budget_line_id)
    if read is not None and invoice.status in PENDING_STATES:
        read.append(("claim", invoice.order_id, invoice.amount_cents))


def snapshot(session: Session, who: Principal, budget: Budget, line: BudgetLine, order: Order | None) -> LineSnapshot:
    """What the invoice checks see of a line, under its budget's lock."""
    rows = _claims_read(session).get(line.id) if budget.id in budgets_locked(session) else None
    if rows is None:
        statement = _reserves_and_claims([budget.id], [line.id])
        rows = [(r.kind, r.order_id, int(r.cents)) for r in session.execute(statement)]
    reserves = {order_id: Money(cents) for kind, order_id, cents in rows if kind == "order" and order_id}
    claims = pending_claims((order_id, cents) for kind, order_id, cents in rows if kind == "claim")
    return LineSnapshot(
        line_id=line.id,
        budget_status=budget.status,
        line_status=line.status,
        remaining=headroom(Money(line.available_cents), reserves, claims, order.id if order else None),
        reveal_amounts=who.role != Role.PROVIDER,
        provider_name=order.provider_name if order else line.provider_name,
        provider_kvk=order.provider_kvk if order else line.provider_kvk,
        starts_on=line.starts_on,
        ends_on=line.ends_on,
        execution_deadline=budget.execution_deadline,
        opened_on=budget.opened_at.date(),
    )
