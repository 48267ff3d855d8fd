"""Budget reads, shaped for their callers: each authorises, scopes to what the caller may see,
and pages its lists in SQL (shared.pagination)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from services.budget import repository
from services.budget.domain.finance_policy import policy_to_dict
from services.budget.domain.invoice import APPROVABLE_STATES, OPEN_STATES, InvoiceStatus
from services.budget.domain.invoice_checks import InvoiceRejected
from services.budget.domain.states import BudgetKind, BudgetStatus, LineStatus
from services.budget.models import (
    Budget,
    BudgetLine,
    BudgetLinePublic,
    BudgetPublic,
    Invoice,
    InvoiceBatch,
    InvoiceDocument,
    InvoicePublic,
    LedgerEntry,
    Order,
    OrderPublic,
    PaymentRun,
    PaymentRunPublic,
    PeriodicPayment,
    PeriodicPaymentPublic,
)
from services.budget.models_invoices_in import SupplierContactPublic
from services.budget.permissions import Action, authorize
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.money import Money
from shared.pagination import Page, PageRequest, page_of, page_of_list


def _euros(cents: int) -> Any:
    return Money(cents).decimal


def get_finance_policy(session: Session, who: Principal) -> dict[str, Any]:
    authorize(who, Action.READ_FINANCE_POLICY)
    return policy_to_dict(repository.finance_policy(session, who.municipality))


# --- budgets ------------------------------------------------------------------------------


def _invoiced_by_line(session: Session, budget_id: str) -> dict[str, int]:
    rows = session.exec(
        select(Invoice.budget_line_id, Invoice.amount_cents).where(
            Invoice.budget_id == budget_id, col(Invoice.status).in_(OPEN_STATES)
        )
    ).all()
    totals: dict[str, int] = {}
    for line_id, cents in rows:
        totals[line_id] = totals.get(line_id, 0) + cents
    return totals


def budget_public(session: Session, budget: Budget) -> BudgetPublic:
    return _budget_public(budget, repository.lines(session, budget.id), _invoiced_by_line(session, budget.id))


def budgets_public(session: Session, budgets: list[Budget]) -> list[BudgetPublic]:
    """A page of budgets with two statements for all their lines and open invoices, not two per budget."""
    ids = [b.id for b in budgets]
    if not ids:
        return []
    lines: dict[str, list[BudgetLine]] = {i: [] for i in ids}
    for line in session.exec(
        select(BudgetLine)
        .where(col(BudgetLine.budget_id).in_(ids))
        .order_by(BudgetLine.id)
        .execution_options(**repository.FRESH)
    ):
        lines[line.budget_id].append(line)
    invoiced: dict[str, dict[str, int]] = {i: {} for i in ids}
    for budget_id, line_id, cents in session.exec(
        select(Invoice.budget_id, Invoice.budget_line_id, Invoice.amount_cents).where(
            col(Invoice.budget_id).in_(ids), col(Invoice.status).in_(OPEN_STATES)
        )
    ).all():
        totals = invoiced[budget_id]
        totals[line_id] = totals.get(line_id, 0) + cents
    return [_budget_public(b, lines[b.id], invoiced[b.id]) for b in budgets]


def _budget_public(budget: Budget, lines: list[BudgetLine], invoiced: dict[str, int]) -> BudgetPublic:
    public_lines = [
        BudgetLinePublic(
            id=line.id,
            plan_line_id=line.plan_line_id,
            category=line.category,
            provider_name=line.provider_name,
            starts_on=line.starts_on,
            ends_on=line.ends_on,
            holdback_percent=line.holdback_percent,
            status=LineStatus(line.status),
            granted=_euros(line.granted_cents),
            committed=_euros(line.committed_cents),
            invoiced=_euros(invoiced.get(line.id, 0)),
            approved=_euros(line.held_cents + line.payable_cents + line.paid_cents),
            held=_euros(line.held_cents),
            paid=_euros(line.paid_cents),
            remaining=_euros(line.available_cents),
        )
        for line in lines
    ]
    return BudgetPublic(
        id=budget.id,
        municipality=budget.municipality,
        plan_id=budget.plan_id,
        client_id=budget.client_id,
        kind=BudgetKind(budget.kind),
        scheme=budget.scheme,
        status=BudgetStatus(budget.status),
        execution_deadline=budget.execution_deadline,
        closed_on=budget.closed_on,
        execution_costs=_euros(budget.execution_cost_cents),
        granted=_euros(sum(line.granted_cents for line in lines)),
        committed=_euros(sum(line.committed_cents for line in lines)),
        invoiced=_euros(sum(invoiced.values())),
        approved=_euros(sum(line.held_cents + line.payable_cents + line.paid_cents for line in lines)),
        held=_euros(sum(line.held_cents for line in lines)),
        paid=_euros(sum(line.paid_cents for line in lines)),
        remaining=_euros(sum(line.available_cents for line in lines)),
        lines=public_lines,
    )


def get_budget(session: Session, who: Principal, budget_id: str) -> BudgetPublic:
    authorize(who, Action.READ_BUDGET)
    return budget_public(session, repository.budget_for(session, who, budget_id))


def list_budgets(
    session: Session,
    who: Principal,
    page: PageRequest,
    plan_id: str | None = None,
    client_ids: list[str] | None = None,
    status: BudgetStatus | None = None,
) -> Page[BudgetPublic]:
    authorize(who, Action.READ_BUDGET)
    query = (
        select(Budget).where(Budget.municipality == who.municipality).order_by(col(Budget.opened_at), col(Budget.id))
    )
    if who.is_client_side():
        query = query.where(Budget.client_id == who.client_id)
    if plan_id:
        query = query.where(Budget.plan_id == plan_id)
    if client_ids:
        query = query.where(col(Budget.client_id).in_(client_ids))
    if status is not None:
        query = query.where(Budget.status == status)
    found = page_of(session, query, page)
    return Page(budgets_public(session, list(found.items)), found.total, found.request)


def ledger_entries(session: Session, who: Principal, budget_id: str, page: PageRequest) -> Page[LedgerEntry]:
    authorize(who, Action.READ_BUDGET)
    repository.budget_for(session, who, budget_id)
    return page_of(
        session, select(LedgerEntry).where(LedgerEntry.budget_id == budget_id).order_by(col(LedgerEntry.id)), page
    )


def budget_statement(session: Session, who: Principal, budget_id: str) -> tuple[BudgetPublic, list[InvoicePublic]]:
    budget = get_budget(session, who, budget_id)
    invoices = [
        invoice_public(i)
        for i in session.exec(
            select(Invoice).where(Invoice.budget_id == budget_id).order_by(col(Invoice.received_at), col(Invoice.id))
        )
    ]
    return budget, invoices


def check_budget_reference(session: Session, who: Principal, budget_id: str, budget_line_id: str) -> None:
    """For routes under /budgets/{budget_id}: the line must belong to that budget (which the caller may see)."""
    budget = session.get(Budget, budget_id)
    if (
        budget is None
        or budget.municipality != who.municipality
        or (who.is_client_side() and budget.client_id != who.client_id)
    ):
        raise NotFound("budget")
    line = session.get(BudgetLine, budget_line_id)
    if line is None or line.budget_id != budget.id:
        raise InvoiceRejected(
            "invoice.unknown_line",
            "This budget has no such line.",
            "budget_line_id",
            message_nl="Dit budget heeft zo'n regel niet.",
        )


def order_public(order: Order) -> OrderPublic:
    return OrderPublic(
        **order.model_dump(exclude={"amount_cents", "used_cents", "municipality", "created_by"}),
        amount=_euros(order.amount_cents),
        used=_euros(order.used_cents),
    )


def list_orders(session: Session, who: Principal, budget_id: str, page: PageRequest) -> Page[OrderPublic]:
    authorize(who, Action.READ_BUDGET)
    repository.budget_for(session, who, budget_id)
    query = select(Order).where(Order.budget_id == budget_id).order_by(col(Order.created_at), col(Order.id))
    return page_of(session, query, page).map(order_public)


def periodic_public(p: PeriodicPayment) -> PeriodicPaymentPublic:
    return PeriodicPaymentPublic(**p.model_dump(exclude={"monthly_cents"}), monthly_amount=_euros(p.monthly_cents))


def list_periodic_payments(
    session: Session,
    who: Principal,
    budget_id: str,
    page: PageRequest,
) -> Page[PeriodicPaymentPublic]:
    authorize(who, Action.READ_PERIODIC_PAYMENTS)
    repository.budget_for(session, who, budget_id)
    query = (
        select(PeriodicPayment)
        .where(PeriodicPayment.budget_id == budget_id)
        .order_by(col(PeriodicPayment.first_due), col(PeriodicPayment.id))
    )
    return page_of(session, query, page).map(periodic_public)


# --- invoices -----------------------------------------------------------------------------


def invoice_public(invoice: Invoice) -> InvoicePublic:
    return InvoicePublic(
        **invoice.model_dump(
            include=set(InvoicePublic.model_fields) - {"amount", "amount_excl_vat", "vat", "total", "held", "credited"}
        ),
        amount=_euros(invoice.amount_cents),
        amount_excl_vat=_euros(invoice.amount_excl_vat_cents),
        vat=_euros(invoice.vat_cents),
        total=_euros(invoice.amount_excl_vat_cents + invoice.vat_cents),
        held=_euros(invoice.held_pay_cents),
        credited=_euros(invoice.credited_cents),
    )


def get_invoice(session: Session, who: Principal, invoice_id: str) -> InvoicePublic:
    authorize(who, Action.READ_INVOICE)
    return invoice_public(repository.invoice_for(session, who, invoice_id))


def supplier_contact(session: Session, who: Principal, invoice_id: str) -> SupplierContactPublic:
    """Where to reach the supplier about an invoice: its e-mail address, if the invoice gave one."""
    authorize(who, Action.READ_SUPPLIER_CONTACT)
    return SupplierContactPublic(email=repository.invoice_for(session, who, invoice_id).supplier_email)


def einvoice_warnings(
    session: Session,
    who: Principal,
    invoice_id: str,
    page: PageRequest,
) -> Page[dict[str, str]]:
    """The BR-NL warnings recorded when the invoice came in as UBL (empty if there were none)."""
    authorize(who, Action.READ_INVOICE)
    return page_of_list(list(repository.invoice_for(session, who, invoice_id).einvoice_warnings or []), page)


def list_invoices(
    session: Session,
    who: Principal,
    page: PageRequest,
    *,
    budget_id: str | None = None,
    status: InvoiceStatus | None = None,
    narrow: InvoiceFilter | None = None,
) -> Page[InvoicePublic]:
    authorize(who, Action.READ_INVOICE)
    query = (
        select(Invoice)
        .where(Invoice.municipality == who.municipality)
        .order_by(col(Invoice.received_at), col(Invoice.id))
    )
    if who.is_client_side():
        query = query.where(Invoice.client_id == who.client_id)
    elif who.role == Role.PROVIDER:
        query = query.where(Invoice.provider_id == who.provider_id)
    if budget_id:
        query = query.where(Invoice.budget_id == budget_id)
    if status:
        query = query.where(Invoice.status == status)
    return page_of(session, narrowed(query, narrow), page).map(invoice_public)


@dataclass(frozen=True)
class InvoiceFilter:
    """Narrowing a list of invoices: the provider (its id, or a part of its name, any case) and
    the amount (in budget terms) from and to, both included."""

    provider: str | None = None
    min_amount: Money | None = None
    max_amount: Money | None = None


def narrowed(query: Any, narrow: InvoiceFilter | None) -> Any:
    if narrow is None:
        return query
    if narrow.provider:
        words = narrow.provider.strip()
        query = query.where(
            sa.or_(
                col(Invoice.provider_id) == words,
                sa.func.lower(col(Invoice.provider_name)).contains(words.lower(), autoescape=True),
            )
        )
    if narrow.min_amount is not None:
        query = query.where(col(Invoice.amount_cents) >= narrow.min_amount.cents)
    if narrow.max_amount is not None:
        query = query.where(col(Invoice.amount_cents) <= narrow.max_amount.cents)
    return query


def approval_queue(
    session: Session, who: Principal, page: PageRequest, narrow: InvoiceFilter | None = None
) -> Page[InvoicePublic]:
    authorize(who, Action.DECIDE_INVOICE)
    query = select(Invoice).where(Invoice.municipality == who.municipality, col(Invoice.status).in_(APPROVABLE_STATES))
    query = narrowed(query.order_by(col(Invoice.received_at), col(Invoice.id)), narrow)
    return page_of(session, query, page).map(invoice_public)


def document_of(session: Session, who: Principal, invoice_id: str) -> InvoiceDocument:
    authorize(who, Action.READ_INVOICE)
    repository.invoice_for(session, who, invoice_id)
    document = session.exec(select(InvoiceDocument).where(InvoiceDocument.invoice_id == invoice_id)).first()
    if document is None:
        raise NotFound("document")
    return document


def batch_results(session: Session, who: Principal, batch_id: str) -> InvoiceBatch:
    authorize(who, Action.SEND_INVOICE)
    batch = session.get(InvoiceBatch, batch_id)
    if (
        batch is None
        or batch.municipality != who.municipality
        or (who.role == Role.PROVIDER and batch.provider_id != who.provider_id)
    ):
        raise NotFound("batch")
    return batch


# --- payment runs -------------------------------------------------------------------------


def run_public(run: PaymentRun) -> PaymentRunPublic:
    return PaymentRunPublic(
        **run.model_dump(exclude={"xml", "total_cents", "municipality"}),
        total=_euros(run.total_cents),
        download=f"/budget/v1/payment-runs/{run.id}/pain001.xml",
    )


def get_payment_run(session: Session, who: Principal, run_id: str) -> PaymentRunPublic:
    authorize(who, Action.PAYMENT_RUNS)
    return run_public(repository.run_for(session, who, run_id))


def payment_file_of(session: Session, who: Principal, run_id: str) -> PaymentRun:
    authorize(who, Action.PAYMENT_RUNS)
    return repository.run_for(session, who, run_id)


def list_payment_runs(session: Session, who: Principal, page: PageRequest) -> Page[PaymentRunPublic]:
    authorize(who, Action.PAYMENT_RUNS)
    query = (
        select(PaymentRun)
        .where(PaymentRun.municipality == who.municipality)
        .order_by(col(PaymentRun.created_at), col(PaymentRun.id))
    )
    return page_of(session, query, page).map(run_public)


def clients_of(session: Session, municipality: str, refs: Mapping[str, set[str]]) -> set[str]:
    """The audit trail's resolver: the clients whose budgets, invoices or plans a read named
    (in its path, or `budget_id` in its answer; shared.audit_http)."""
    found: set[str] = set()
    if budget_ids := refs.get("budget_id"):
        found |= set(
            session.exec(
                select(Budget.client_id).where(Budget.municipality == municipality, col(Budget.id).in_(budget_ids))
            ).all()
        )
    if invoice_ids := refs.get("invoice_id"):
        found |= set(
            session.exec(
                select(Invoice.client_id).where(Invoice.municipality == municipality, col(Invoice.id).in_(invoice_ids))
            ).all()
        )
    if plan_ids := refs.get("plan_id"):
        found |= set(
            session.exec(
                select(Budget.client_id).where(Budget.municipality == municipality, col(Budget.plan_id).in_(plan_ids))
            ).all()
        )
    return found
