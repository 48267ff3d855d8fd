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
    their budgets and policy, in one statement, so `line_and_budget` need not read them one by one.
    Nothing else changes them while this transaction holds their budgets' locks."""
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


def snapshot(session: Session, who: Principal, budget: Budget, line: BudgetLine, order: Order | None) -> LineSnapshot:
    """What the invoice checks see of a line, under its budget's lock."""
    # One statement: what open orders still reserve on the line, and the waiting invoices per order.
    reserves_and_claims: Any = sa.union_all(
        sa.select(
            sa.literal("order").label("kind"),
            col(Order.id).label("order_id"),
            (col(Order.amount_cents) - col(Order.used_cents)).label("cents"),
        ).where(col(Order.budget_line_id) == line.id, col(Order.status) == "open"),
        sa.select(
            sa.literal("claim").label("kind"),
            col(Invoice.order_id).label("order_id"),
            sa.func.sum(Invoice.amount_cents).label("cents"),
        )
        .where(
            col(Invoice.budget_id) == budget.id,
            col(Invoice.budget_line_id) == line.id,
            col(Invoice.status).in_(PENDING_STATES),
        )
        .group_by(Invoice.order_id),
    )
    rows = session.execute(reserves_and_claims).all()
    reserves = {row.order_id: Money(int(row.cents)) for row in rows if row.kind == "order"}
    claims = pending_claims((row.order_id, row.cents) for row in rows if row.kind == "claim")
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
