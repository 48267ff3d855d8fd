"""Budget commands and event handlers. Money moves only through the ledger domain."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from services.budget.domain.ledger import Account, LineBalance, Posting, Transaction
from services.budget.models import (
    Budget,
    BudgetLine,
    BudgetLinePublic,
    BudgetPublic,
    Invoice,
    InvoiceCreate,
    InvoicePublic,
    LedgerEntry,
    MarkPaid,
)
from shared.access import ensure_visible
from shared.auth import STAFF_ROLES, Principal, Role, require_role
from shared.bus.consumer import EventHandler
from shared.errors import ConflictError, DomainError
from shared.events import (
    BudgetOpenedV1,
    Envelope,
    InvoiceApprovedV1,
    InvoicePaidV1,
    InvoiceReceivedV1,
    PlanApprovedV1,
)
from shared.money import Money
from shared.problems import not_found
from shared.uow import UnitOfWork

READ_ROLES = (*STAFF_ROLES, Role.FINANCE, Role.CLIENT, Role.REPRESENTATIVE)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- the ledger on rows -------------------------------------------------------------------


def _balance_of(line: BudgetLine) -> LineBalance:
    balance = LineBalance()
    balance.balances[Account.FUNDING] = Money(-line.granted_cents)
    balance.balances[Account.AVAILABLE] = Money(line.available_cents)
    balance.balances[Account.PAYABLE] = Money(line.payable_cents)
    balance.balances[Account.PAID] = Money(line.paid_cents)
    return balance


def _record(uow: UnitOfWork, line: BudgetLine, tx: Transaction, balance: LineBalance, invoice_id: str | None) -> None:
    tx_id = str(uuid.uuid4())
    for posting in tx.postings:
        uow.session.add(LedgerEntry(transaction_id=tx_id, budget_id=line.budget_id, budget_line_id=line.id,
                                    kind=tx.kind, account=posting.account, amount_cents=posting.amount.cents,
                                    invoice_id=invoice_id))
    line.granted_cents = balance.granted.cents
    line.available_cents = balance.remaining.cents
    line.payable_cents = balance.balances[Account.PAYABLE].cents
    line.paid_cents = balance.paid.cents
    uow.session.add(line)


def ledger_postings(session: Session, budget_line_id: str) -> list[Posting]:
    entries = session.exec(select(LedgerEntry).where(LedgerEntry.budget_line_id == budget_line_id)).all()
    return [Posting(Account(e.account), Money(e.amount_cents)) for e in entries]


# --- events in ----------------------------------------------------------------------------


def open_budget_on_plan_approved(event: Envelope, uow: UnitOfWork) -> None:
    plan = PlanApprovedV1.model_validate(event.payload)
    existing = uow.session.exec(select(Budget).where(Budget.plan_id == plan.plan_id)).first()
    if existing:
        return  # the same plan approved twice would be a bug upstream; one budget per plan
    budget = Budget(municipality=event.tenant, plan_id=plan.plan_id, client_id=plan.client_id, scheme=plan.scheme,
                    granted_cents=plan.granted_cents, execution_deadline=plan.execution_deadline)
    uow.session.add(budget)
    for granted in plan.lines:
        line = BudgetLine(budget_id=budget.id, plan_line_id=granted.plan_line_id, category=granted.category)
        uow.session.add(line)
        balance = LineBalance()
        _record(uow, line, balance.grant(Money(granted.granted_cents)), balance, None)
    uow.emit("BudgetOpened", tenant=budget.municipality, subject=plan.plan_id, payload=BudgetOpenedV1(
        budget_id=budget.id, plan_id=plan.plan_id, client_id=plan.client_id, granted_cents=plan.granted_cents))


EVENT_HANDLERS: dict[str, EventHandler] = {
    "PlanApproved": open_budget_on_plan_approved,
}


# --- reading ------------------------------------------------------------------------------


def _budget_public(session: Session, budget: Budget) -> BudgetPublic:
    lines = session.exec(select(BudgetLine).where(BudgetLine.budget_id == budget.id).order_by(BudgetLine.id)).all()
    public_lines = [
        BudgetLinePublic(
            id=line.id, plan_line_id=line.plan_line_id, category=line.category,
            granted=Money(line.granted_cents).decimal,
            approved=Money(line.payable_cents + line.paid_cents).decimal,
            paid=Money(line.paid_cents).decimal, remaining=Money(line.available_cents).decimal,
        )
        for line in lines
    ]
    return BudgetPublic(
        id=budget.id, municipality=budget.municipality, plan_id=budget.plan_id, client_id=budget.client_id,
        scheme=budget.scheme, status=budget.status, execution_deadline=budget.execution_deadline,
        granted=Money(sum(line.granted_cents for line in lines)).decimal,
        approved=Money(sum(line.payable_cents + line.paid_cents for line in lines)).decimal,
        paid=Money(sum(line.paid_cents for line in lines)).decimal,
        remaining=Money(sum(line.available_cents for line in lines)).decimal,
        lines=public_lines,
    )


def _budget_for(session: Session, who: Principal, budget_id: str) -> Budget:
    budget = session.get(Budget, budget_id)
    if budget is None:
        raise not_found("budget")
    ensure_visible(who, municipality=budget.municipality, client_id=budget.client_id, what="budget")
    return budget


def get_budget(session: Session, who: Principal, budget_id: str) -> BudgetPublic:
    require_role(who, *READ_ROLES)
    return _budget_public(session, _budget_for(session, who, budget_id))


def list_budgets(session: Session, who: Principal, plan_id: str | None = None) -> list[BudgetPublic]:
    require_role(who, *READ_ROLES)
    query = select(Budget).where(Budget.municipality == who.municipality).order_by(Budget.opened_at)
    if who.is_client_side():
        query = query.where(Budget.client_id == who.client_id)
    if plan_id:
        query = query.where(Budget.plan_id == plan_id)
    return [_budget_public(session, b) for b in session.exec(query)]


def _invoice_public(invoice: Invoice) -> InvoicePublic:
    return InvoicePublic(**invoice.model_dump(exclude={"amount_cents"}), amount=Money(invoice.amount_cents).decimal)


def _invoice_for(session: Session, who: Principal, invoice_id: str, *, lock: bool = False) -> Invoice:
    query = select(Invoice).where(Invoice.id == invoice_id)
    if lock:
        query = query.with_for_update()
    invoice = session.exec(query).first()
    if invoice is None:
        raise not_found("invoice")
    ensure_visible(who, municipality=invoice.municipality, client_id=invoice.client_id, what="invoice",
                   provider_id=invoice.provider_id)
    return invoice


def get_invoice(session: Session, who: Principal, invoice_id: str) -> InvoicePublic:
    return _invoice_public(_invoice_for(session, who, invoice_id))


def list_invoices(session: Session, who: Principal, *, budget_id: str | None = None,
                  status: str | None = None) -> list[InvoicePublic]:
    query = select(Invoice).where(Invoice.municipality == who.municipality).order_by(Invoice.received_at)
    if who.is_client_side():
        query = query.where(Invoice.client_id == who.client_id)
    elif who.role == Role.PROVIDER:
        query = query.where(Invoice.provider_id == who.provider_id)
    else:
        require_role(who, *READ_ROLES)
    if budget_id:
        query = query.where(Invoice.budget_id == budget_id)
    if status:
        query = query.where(Invoice.status == status)
    return [_invoice_public(i) for i in session.exec(query)]


# --- commands -----------------------------------------------------------------------------


def receive_invoice(uow: UnitOfWork, who: Principal, budget_id: str, data: InvoiceCreate) -> InvoicePublic:
    require_role(who, Role.FINANCE, Role.PROVIDER)
    budget = uow.session.get(Budget, budget_id)
    if budget is None or budget.municipality != who.municipality:
        raise not_found("budget")
    if budget.status != "open":
        raise ConflictError("budget.closed", "This budget is closed; the invoice goes to review.", "budget_id")
    line = uow.session.get(BudgetLine, data.budget_line_id)
    if line is None or line.budget_id != budget.id:
        raise DomainError("invoice.unknown_line", "This budget has no such line.", "budget_line_id")
    amount = Money.euros(data.amount)
    if amount.cents <= 0:
        raise DomainError("invoice.amount", "An invoice amount must be above zero.", "amount")
    if amount.cents > line.available_cents:
        raise DomainError("budget.insufficient", "The invoice is more than what is left on this budget line.",
                          "amount")
    if who.role == Role.PROVIDER:
        provider_id = who.provider_id or ""
    elif data.provider_id:
        provider_id = data.provider_id
    else:
        raise DomainError("invoice.provider", "Name the provider (provider_id).", "provider_id")
    invoice = Invoice(municipality=budget.municipality, budget_id=budget.id, budget_line_id=line.id,
                      plan_id=budget.plan_id, client_id=budget.client_id, provider_id=provider_id,
                      provider_name=data.provider_name, provider_iban=data.provider_iban,
                      invoice_number=data.invoice_number, amount_cents=amount.cents)
    uow.session.add(invoice)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        raise ConflictError("invoice.duplicate", "This provider already sent an invoice with this number.",
                            "invoice_number") from exc
    uow.emit("InvoiceReceived", tenant=invoice.municipality, subject=budget.plan_id, payload=InvoiceReceivedV1(
        invoice_id=invoice.id, budget_id=budget.id, budget_line_id=line.id, amount_cents=amount.cents))
    uow.commit()
    return _invoice_public(invoice)


def approve_invoice(uow: UnitOfWork, who: Principal, invoice_id: str) -> InvoicePublic:
    require_role(who, Role.FINANCE)
    invoice = _invoice_for(uow.session, who, invoice_id, lock=True)
    if invoice.status != "received":
        raise ConflictError("invoice.wrong_state", f"An invoice that is {invoice.status} cannot be approved.", "status")
    # The row lock on the line serialises every approval on it, across processes.
    line = uow.session.exec(select(BudgetLine).where(BudgetLine.id == invoice.budget_line_id).with_for_update()).one()
    balance = _balance_of(line)
    tx = balance.approve_invoice(Money(invoice.amount_cents))
    _record(uow, line, tx, balance, invoice.id)
    invoice.status, invoice.approved_at, invoice.approved_by = "approved", _now(), who.subject
    uow.session.add(invoice)
    uow.emit("InvoiceApproved", tenant=invoice.municipality, subject=invoice.plan_id, payload=InvoiceApprovedV1(
        invoice_id=invoice.id, budget_id=invoice.budget_id, budget_line_id=line.id,
        amount_cents=invoice.amount_cents, remaining_cents=line.available_cents))
    uow.commit()
    return _invoice_public(invoice)


def mark_invoice_paid(uow: UnitOfWork, who: Principal, invoice_id: str, cmd: MarkPaid) -> InvoicePublic:
    require_role(who, Role.FINANCE)
    invoice = _invoice_for(uow.session, who, invoice_id, lock=True)
    if invoice.status != "approved":
        raise ConflictError("invoice.wrong_state", f"An invoice that is {invoice.status} cannot be paid.", "status")
    line = uow.session.exec(select(BudgetLine).where(BudgetLine.id == invoice.budget_line_id).with_for_update()).one()
    balance = _balance_of(line)
    _record(uow, line, balance.pay_invoice(Money(invoice.amount_cents)), balance, invoice.id)
    invoice.status, invoice.paid_on = "paid", cmd.paid_on
    uow.session.add(invoice)
    uow.emit("InvoicePaid", tenant=invoice.municipality, subject=invoice.plan_id, payload=InvoicePaidV1(
        invoice_id=invoice.id, budget_id=invoice.budget_id, plan_id=invoice.plan_id, client_id=invoice.client_id,
        amount_cents=invoice.amount_cents, paid_on=cmd.paid_on))
    uow.commit()
    return _invoice_public(invoice)
