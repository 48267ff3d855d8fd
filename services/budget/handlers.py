"""Budget commands and event handlers. Money moves only through the ledger domain.

Every balance change takes a row lock on the budget line (SELECT ... FOR UPDATE on
PostgreSQL; SQLite serialises writers), applies a ledger transaction in plain Python, and
writes its postings and the new cached balances in the same unit of work as its events.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from services.budget.domain.finance_policy import FinancePolicy, finance_policy_for, policy_from_dict, policy_to_dict
from services.budget.domain.invoice_checks import (
    DuplicateInvoice,
    IncomingInvoice,
    InvoiceRejected,
    LineSnapshot,
    ProviderToken,
    as_sent,
    charge,
    check_invoice,
    headroom,
    kvk_of_provider_id,
    needs_client_confirmation,
    pending_claims,
)
from services.budget.domain.ledger import (
    Account,
    LineBalance,
    Transaction,
    holdback_share,
    threshold_crossed,
    transfer_share,
)
from services.budget.models import (
    Budget,
    BudgetLine,
    BudgetLinePublic,
    BudgetPublic,
    CreditNote,
    CreditNoteIn,
    CreditNotePublic,
    FinancePolicyRecord,
    Invoice,
    InvoiceBatch,
    InvoiceDocument,
    InvoiceIn,
    InvoicePublic,
    ItemResult,
    LedgerEntry,
    MarkPaid,
    Order,
    OrderIn,
    OrderPublic,
    PaymentItem,
    PaymentRun,
    PeriodicPayment,
    PeriodicPaymentIn,
    PeriodicPaymentPublic,
    PaymentRunCreate,
    PaymentRunPublic,
    RejectInvoice,
)
from shared.access import ensure_visible
from shared.auth import STAFF_ROLES, Principal, Role, require_role
from shared.bus.consumer import EventHandlers
from shared.db import bulk_insert
from shared.errors import ConflictError, DomainError, ForbiddenError
from contracts.events import (
    BudgetClosedV1,
    BudgetOpenedV1,
    BudgetThresholdReachedV1,
    GrantedLine,
    InvoiceApprovedV1,
    InvoicePaidV1,
    InvoiceReceivedV1,
    InvoiceRejectedV1,
    OrientationStartedV1,
    OutcomeRegisteredV1,
    PaymentScheduledV1,
    PlanApprovedV1,
    PlanChangedV1,
    PlanChangeRefusedV1,
    TrajectoryClosedV1,
)
from shared.events import Envelope
from shared.money import Money
from shared.contention import retry_on_contention
from shared.errors import NotFound
from shared.problems import Problem
from shared.uow import UnitOfWork

# In a fixed order: a 403 names them (a frozenset's order changes from one process to the next).
STAFF = tuple(sorted(STAFF_ROLES))
READ_ROLES = (*STAFF, Role.FINANCE, Role.CLIENT, Role.REPRESENTATIVE)
APPROVERS = (Role.FINANCE, Role.TEAM_LEAD)
WORK_FOUND = frozenset({"work_during", "work_after"})


def _now() -> datetime:
    return datetime.now(timezone.utc)


_NETHERLANDS = ZoneInfo("Europe/Amsterdam")


def latest_today() -> date:
    """Today where it is latest of the server's clock and the Netherlands: a date after this is in
    the future for everyone (a client in Utrecht just after midnight has already reached it)."""
    return max(date.today(), _now().astimezone(_NETHERLANDS).date())


def earliest_today() -> date:
    """Today where it is earliest: a date before this is in the past for everyone (the jobs and the
    tests use the server's `date.today()`)."""
    return min(date.today(), _now().astimezone(_NETHERLANDS).date())


# --- policy -------------------------------------------------------------------------------


def finance_policy(session: Session, municipality: str) -> FinancePolicy:
    record = session.get(FinancePolicyRecord, municipality)
    return finance_policy_for(municipality, record.document if record else None)


def get_finance_policy(session: Session, who: Principal) -> dict[str, Any]:
    require_role(who, Role.FINANCE, Role.POLICY, Role.TEAM_LEAD, Role.CASE_MANAGER)
    return policy_to_dict(finance_policy(session, who.municipality))


def put_finance_policy(uow: UnitOfWork, who: Principal, document: dict[str, Any]) -> dict[str, Any]:
    require_role(who, Role.POLICY, Role.FINANCE)
    policy = policy_from_dict({**document, "municipality": who.municipality})
    stored = policy_to_dict(policy)
    record = uow.session.get(FinancePolicyRecord, who.municipality)
    if record is None:
        record = FinancePolicyRecord(municipality=who.municipality, document=stored, updated_by=who.subject)
    else:
        record.document, record.updated_by, record.updated_at = stored, who.subject, _now()
    uow.session.add(record)
    uow.commit()
    return stored


# --- the ledger on rows -------------------------------------------------------------------
#
# One way to take money from a line, for every command that does: lock the budget row, then
# the line (re-read under the lock: populate_existing), then the order or invoice involved;
# decide in the domain (LineBalance); insert the ledger entries; commit. The budget lock comes
# first everywhere, so money paths on one budget run one at a time and cannot deadlock; a
# command touching several budgets locks them in id order (`_lock_budgets`). The database
# derives the line's cached totals from each entry inserted and refuses any account below zero
# (budget_0003), so even a path that forgot a lock cannot overdraw a line.

_FRESH = {"populate_existing": True}
_CACHED_TOTALS = ("granted_cents", "available_cents", "committed_cents", "held_cents", "payable_cents",
                  "paid_cents")


def _balance_of(line: BudgetLine) -> LineBalance:
    balance = LineBalance()
    balance.balances.update({
        Account.FUNDING: Money(-line.granted_cents), Account.AVAILABLE: Money(line.available_cents),
        Account.COMMITTED: Money(line.committed_cents), Account.HELD: Money(line.held_cents),
        Account.PAYABLE: Money(line.payable_cents), Account.PAID: Money(line.paid_cents),
    })
    return balance


def _record(uow: UnitOfWork, line: BudgetLine, tx: Transaction, balance: LineBalance, invoice_id: str | None) -> None:
    session = uow.session
    session.add(line)
    session.flush()  # the line row exists, and its other changes are written, before its entries
    tx_id = str(uuid.uuid4())
    session.add_all([LedgerEntry(transaction_id=tx_id, budget_id=line.budget_id, budget_line_id=line.id,
                                 kind=tx.kind, account=posting.account, amount_cents=posting.amount.cents,
                                 invoice_id=invoice_id) for posting in tx.postings])
    try:
        session.flush()
    except IntegrityError as exc:
        # The database's own guard: reached only if a code path decided on stale balances.
        raise ConflictError("ledger.overdraft_refused", "The budget line changed meanwhile; nothing was booked. "
                            "Try again.", "amount") from exc
    # The trigger has applied the entries to the row; mirror the totals without writing them.
    totals = (balance.granted, balance.remaining, balance.committed, balance.held, balance.payable, balance.paid)
    for column, value in zip(_CACHED_TOTALS, totals, strict=True):
        set_committed_value(line, column, value.cents)


def _lock_budget(session: Session, budget_id: str) -> Budget:
    """The first lock of every command that moves money on this budget."""
    query = select(Budget).where(Budget.id == budget_id)
    if budget_id not in _budgets_locked(session):
        query = query.with_for_update()
    budget = session.exec(query.execution_options(**_FRESH)).first()
    if budget is None:
        raise NotFound("budget")
    return budget


def _lock_budgets(session: Session, budget_ids: Iterable[str]) -> None:
    """Lock several budgets up front, in id order, for a command that spans them."""
    ids = sorted(set(budget_ids))
    if ids:
        session.exec(select(Budget).where(col(Budget.id).in_(ids)).order_by(Budget.id).with_for_update()
                     .execution_options(**_FRESH)).all()
        if not session.in_nested_transaction():
            _budgets_locked(session).update(ids)


def _budgets_locked(session: Session) -> set[str]:
    """Budgets this transaction locked up front (outside any savepoint, so the locks hold until
    it ends). Locking one again inside a savepoint would rewrite the row's lock for the
    savepoint (PostgreSQL), which in a bulk command costs more than the rest of an invoice."""
    root = session.get_transaction()
    held = session.info.get("budgets_locked")
    if held is None or held[0] is not root:
        held = session.info["budgets_locked"] = (root, set())
    return held[1]


def _locked_line(session: Session, line_id: str) -> BudgetLine:
    # Under the budget's lock; the line's own lock also guards paths that lock only the line.
    return session.exec(select(BudgetLine).where(BudgetLine.id == line_id).with_for_update()
                        .execution_options(**_FRESH)).one()


def _locked_invoice(session: Session, invoice_id: str) -> Invoice:
    return session.exec(select(Invoice).where(Invoice.id == invoice_id).with_for_update()
                        .execution_options(**_FRESH)).one()


def _move(uow: UnitOfWork, line: BudgetLine, operation: str, amount: Money, invoice_id: str | None = None,
          **kwargs: Any) -> None:
    balance = _balance_of(line)
    tx = getattr(balance, operation)(amount, **kwargs)
    _record(uow, line, tx, balance, invoice_id)


def _lines(session: Session, budget_id: str) -> list[BudgetLine]:
    return list(session.exec(select(BudgetLine).where(BudgetLine.budget_id == budget_id).order_by(BudgetLine.id)
                             .execution_options(**_FRESH)))


def _used(lines: Iterable[BudgetLine]) -> tuple[Money, Money]:
    lines = list(lines)
    granted = Money(sum(line.granted_cents for line in lines))
    used = Money(sum(line.held_cents + line.payable_cents + line.paid_cents for line in lines))
    return granted, used


def _check_thresholds(uow: UnitOfWork, budget: Budget, used_before: Money) -> None:
    granted, used_after = _used(_lines(uow.session, budget.id))
    policy = finance_policy(uow.session, budget.municipality)
    reached = {int(p) for p in budget.thresholds_reached.split(",") if p}
    for pct in threshold_crossed(granted, used_before, used_after, policy.thresholds):
        if pct in reached:
            continue
        reached.add(pct)
        uow.emit(tenant=budget.municipality, subject=budget.plan_id,
                 payload=BudgetThresholdReachedV1(budget_id=budget.id, plan_id=budget.plan_id,
                                                  client_id=budget.client_id, percent=pct,
                                                  used_cents=used_after.cents, granted_cents=granted.cents))
    budget.thresholds_reached = ",".join(str(p) for p in sorted(reached))
    uow.session.add(budget)


# --- events in ----------------------------------------------------------------------------


def _deduct_execution_costs(lines: tuple[GrantedLine, ...], cost: Money) -> list[Money]:
    """Spread the municipality's execution costs over the lines in proportion, to the cent."""
    total = sum(line.granted_cents for line in lines)
    shares = [Money(cost.cents * line.granted_cents // total) if total else Money(0) for line in lines]
    leftover = cost.cents - sum(s.cents for s in shares)
    if lines and leftover:
        largest = max(range(len(lines)), key=lambda i: lines[i].granted_cents)
        shares[largest] = shares[largest] + Money(leftover)
    return [Money(line.granted_cents) - share for line, share in zip(lines, shares, strict=True)]


def _open_budget(uow: UnitOfWork, event: Envelope, *, trajectory_id: str, client_id: str, kind: str, scheme: str,
                 lines: tuple[GrantedLine, ...], deadline: date) -> None:
    if uow.session.exec(select(Budget).where(Budget.plan_id == trajectory_id)).first():
        return  # one budget per trajectory
    policy = finance_policy(uow.session, event.tenant)
    granted = Money(sum(line.granted_cents for line in lines))
    cost = granted.percent(policy.pgb_bw_execution_cost_percent) if scheme == "pgb_bw" else Money(0)
    amounts = _deduct_execution_costs(lines, cost) if cost else [Money(line.granted_cents) for line in lines]
    budget = Budget(municipality=event.tenant, plan_id=trajectory_id, client_id=client_id, kind=kind, scheme=scheme,
                    granted_cents=(granted - cost).cents, execution_cost_cents=cost.cents,
                    execution_deadline=deadline)
    uow.session.add(budget)
    for granted_line, amount in zip(lines, amounts, strict=True):
        line = BudgetLine(budget_id=budget.id, plan_line_id=granted_line.plan_line_id, category=granted_line.category,
                          provider_name=granted_line.provider_name, provider_kvk=granted_line.provider_kvk,
                          starts_on=granted_line.starts_on, ends_on=granted_line.ends_on,
                          holdback_percent=granted_line.holdback_percent)
        uow.session.add(line)
        if amount.cents > 0:
            _move(uow, line, "grant", amount)
    uow.emit(tenant=budget.municipality, subject=trajectory_id, payload=BudgetOpenedV1(
        budget_id=budget.id, plan_id=trajectory_id, client_id=client_id, granted_cents=budget.granted_cents))


def open_budget_on_plan_approved(uow: UnitOfWork, plan: PlanApprovedV1, event: Envelope) -> None:
    _open_budget(uow, event, trajectory_id=plan.plan_id, client_id=plan.client_id, kind="plan", scheme=plan.scheme,
                 lines=plan.lines, deadline=plan.execution_deadline)


def open_orientation_budget_on_orientation_started(uow: UnitOfWork, started: OrientationStartedV1, event: Envelope) -> None:
    if started.budget_cents <= 0:
        return  # the policy has no orientation budget
    line = GrantedLine(plan_line_id=started.orientation_id, category="orientation",
                       granted_cents=started.budget_cents, ends_on=started.ends_on)
    _open_budget(uow, event, trajectory_id=started.orientation_id, client_id=started.client_id, kind="orientation",
                 scheme=started.scheme, lines=(line,), deadline=started.ends_on)


def _budget_for_plan(session: Session, plan_id: str, *, lock: bool = False) -> Budget:
    query = select(Budget).where(Budget.plan_id == plan_id)
    budget = session.exec(query.with_for_update().execution_options(**_FRESH) if lock else query).first()
    if budget is None:
        # The approval has not reached us yet (queues are independent): retry later.
        raise LookupError(f"no budget for plan {plan_id} yet")
    return budget


def change_budget_on_plan_changed(uow: UnitOfWork, change: PlanChangedV1, event: Envelope) -> None:
    budget = _budget_for_plan(uow.session, change.plan_id, lock=True)
    current = {line.plan_line_id: _locked_line(uow.session, line.id) for line in _lines(uow.session, budget.id)}
    wanted = {line.plan_line_id: line for line in change.lines}
    refusal = None
    if change.granted_cents > budget.granted_cents + budget.execution_cost_cents:
        refusal = "change_above_total"  # a change moves money between lines, it does not add to the total
    elif any((wanted[pid].granted_cents if pid in wanted else 0)
             < line.committed_cents + line.held_cents + line.payable_cents + line.paid_cents
             for pid, line in current.items()):
        refusal = "change_below_spent"  # a line cannot go below what is already ordered or approved
    if refusal:
        # Not a failure to retry: the budget stays as it is and intake restores the grants.
        uow.emit(tenant=budget.municipality, subject=change.plan_id, payload=PlanChangeRefusedV1(
            plan_id=change.plan_id, client_id=change.client_id, change_id=change.change_id, reason_code=refusal))
        return
    # Release first, so money moved between lines is free before it is granted again.
    for plan_line_id, line in current.items():
        target = wanted.get(plan_line_id)
        target_cents = target.granted_cents if target else 0
        if line.granted_cents > target_cents:
            _move(uow, line, "release", Money(line.granted_cents - target_cents))
        if target is None:
            line.status = "closed"
        current[plan_line_id] = line
    for plan_line_id, target in wanted.items():
        line = current.get(plan_line_id)
        if line is None:
            line = BudgetLine(budget_id=budget.id, plan_line_id=plan_line_id, category=target.category)
            uow.session.add(line)
        line.provider_name, line.provider_kvk = target.provider_name, target.provider_kvk
        line.starts_on, line.ends_on, line.holdback_percent = target.starts_on, target.ends_on, target.holdback_percent
        line.category, line.status = target.category, "open"
        if target.granted_cents > line.granted_cents:
            _move(uow, line, "grant", Money(target.granted_cents - line.granted_cents))
        uow.session.add(line)
    budget.execution_deadline = change.execution_deadline
    uow.session.add(budget)


def close_budget_on_trajectory_closed(uow: UnitOfWork, closed: TrajectoryClosedV1, event: Envelope) -> None:
    budget = _budget_for_plan(uow.session, closed.plan_id, lock=True)
    if budget.status == "closed":
        return
    released = Money(0)
    if not budget.outcome_reached:
        _settle_holdbacks(uow, budget, "cancel_holdback", "cancelled")
    for order in uow.session.exec(select(Order).where(Order.budget_id == budget.id, Order.status == "open")).all():
        order.status = "closed"
        uow.session.add(order)
    for line in _lines(uow.session, budget.id):
        line = _locked_line(uow.session, line.id)
        if line.committed_cents:
            _move(uow, line, "uncommit", Money(line.committed_cents))
        if line.available_cents:
            released = released + Money(line.available_cents)
            _move(uow, line, "release", Money(line.available_cents))
        line.status = "closed"
        uow.session.add(line)
    budget.status, budget.closed_on, budget.close_reason = "closed", closed.closed_on, closed.reason
    uow.session.add(budget)
    uow.emit(tenant=budget.municipality, subject=budget.plan_id, payload=BudgetClosedV1(
        budget_id=budget.id, plan_id=budget.plan_id, client_id=budget.client_id, released_cents=released.cents))


def _settle_holdbacks(uow: UnitOfWork, budget: Budget, operation: str, status: str) -> None:
    held = uow.session.exec(select(Invoice).where(Invoice.budget_id == budget.id, Invoice.holdback_status == "held")
                            .order_by(Invoice.budget_line_id, Invoice.id).with_for_update()
                            .execution_options(**_FRESH)).all()
    for invoice in held:
        line = _locked_line(uow.session, invoice.budget_line_id)
        _move(uow, line, operation, Money(invoice.held_cents), invoice.id)
        invoice.holdback_status = status
        uow.session.add(invoice)


def release_holdback_on_outcome_registered(uow: UnitOfWork, outcome: OutcomeRegisteredV1, event: Envelope) -> None:
    if outcome.outcome not in WORK_FOUND:
        return
    budget = uow.session.exec(select(Budget).where(Budget.plan_id == outcome.plan_id).with_for_update()
                              .execution_options(**_FRESH)).first()
    if budget is None or budget.outcome_reached:
        return  # no budget for this trajectory (e.g. no prb), or already released
    budget.outcome_reached = True
    uow.session.add(budget)
    _settle_holdbacks(uow, budget, "release_holdback", "released")


EVENT_HANDLERS: EventHandlers = {
    PlanApprovedV1: open_budget_on_plan_approved,
    OrientationStartedV1: open_orientation_budget_on_orientation_started,
    PlanChangedV1: change_budget_on_plan_changed,
    TrajectoryClosedV1: close_budget_on_trajectory_closed,
    OutcomeRegisteredV1: release_holdback_on_outcome_registered,
}


# --- reading ------------------------------------------------------------------------------

_OPEN_INVOICE_STATES = ("received", "awaiting_client", "awaiting_second_approval", "review")


def _invoiced_by_line(session: Session, budget_id: str) -> dict[str, int]:
    rows = session.exec(select(Invoice.budget_line_id, Invoice.amount_cents).where(
        Invoice.budget_id == budget_id, Invoice.status.in_(_OPEN_INVOICE_STATES))).all()
    totals: dict[str, int] = {}
    for line_id, cents in rows:
        totals[line_id] = totals.get(line_id, 0) + cents
    return totals


def _budget_public(session: Session, budget: Budget) -> BudgetPublic:
    lines = _lines(session, budget.id)
    invoiced = _invoiced_by_line(session, budget.id)

    def euros(cents: int) -> Any:
        return Money(cents).decimal

    public_lines = [
        BudgetLinePublic(
            id=line.id, plan_line_id=line.plan_line_id, category=line.category, provider_name=line.provider_name,
            starts_on=line.starts_on, ends_on=line.ends_on, holdback_percent=line.holdback_percent, status=line.status,
            granted=euros(line.granted_cents), committed=euros(line.committed_cents),
            invoiced=euros(invoiced.get(line.id, 0)),
            approved=euros(line.held_cents + line.payable_cents + line.paid_cents), held=euros(line.held_cents),
            paid=euros(line.paid_cents), remaining=euros(line.available_cents),
        )
        for line in lines
    ]
    return BudgetPublic(
        id=budget.id, municipality=budget.municipality, plan_id=budget.plan_id, client_id=budget.client_id,
        kind=budget.kind, scheme=budget.scheme, status=budget.status, execution_deadline=budget.execution_deadline,
        closed_on=budget.closed_on, execution_costs=euros(budget.execution_cost_cents),
        granted=euros(sum(line.granted_cents for line in lines)),
        committed=euros(sum(line.committed_cents for line in lines)), invoiced=euros(sum(invoiced.values())),
        approved=euros(sum(line.held_cents + line.payable_cents + line.paid_cents for line in lines)),
        held=euros(sum(line.held_cents for line in lines)), paid=euros(sum(line.paid_cents for line in lines)),
        remaining=euros(sum(line.available_cents for line in lines)), lines=public_lines,
    )


def _budget_for(session: Session, who: Principal, budget_id: str) -> Budget:
    budget = session.get(Budget, budget_id)
    if budget is None:
        raise NotFound("budget")
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


def invoice_public(invoice: Invoice) -> InvoicePublic:
    def euros(cents: int) -> Any:
        return Money(cents).decimal

    return InvoicePublic(
        **invoice.model_dump(include=set(InvoicePublic.model_fields) - {
            "amount", "amount_excl_vat", "vat", "total", "held", "credited"}),
        amount=euros(invoice.amount_cents), amount_excl_vat=euros(invoice.amount_excl_vat_cents),
        vat=euros(invoice.vat_cents), total=euros(invoice.amount_excl_vat_cents + invoice.vat_cents),
        held=euros(invoice.held_pay_cents), credited=euros(invoice.credited_cents),
    )


def _invoice_for(session: Session, who: Principal, invoice_id: str, *, lock: bool = False) -> Invoice:
    """The invoice if `who` may see it. `lock` takes the invoice's row lock alone: for changes that
    move no money; those that do lock through `_lock_for_invoice`."""
    require_role(who, *READ_ROLES, Role.PROVIDER)
    query = select(Invoice).where(Invoice.id == invoice_id)
    invoice = session.exec(query.with_for_update().execution_options(**_FRESH) if lock else query).first()
    if invoice is None:
        raise NotFound("invoice")
    ensure_visible(who, municipality=invoice.municipality, client_id=invoice.client_id, what="invoice",
                   provider_id=invoice.provider_id)
    if who.role == Role.PROVIDER and invoice.provider_id != who.provider_id:
        raise NotFound("invoice")
    return invoice


def _lock_for_invoice(session: Session, who: Principal, invoice_id: str) -> tuple[Budget, BudgetLine, Invoice]:
    """Budget, line, invoice: locked in the one order every money path uses, and re-read."""
    seen = _invoice_for(session, who, invoice_id)
    budget = _lock_budget(session, seen.budget_id)
    line = _locked_line(session, seen.budget_line_id)
    return budget, line, _locked_invoice(session, seen.id)


def get_invoice(session: Session, who: Principal, invoice_id: str) -> InvoicePublic:
    return invoice_public(_invoice_for(session, who, invoice_id))


def get_invoice_row(session: Session, who: Principal, invoice_id: str) -> Invoice:
    """The invoice itself, if `who` may see it: for readers in this service beside the public shape."""
    return _invoice_for(session, who, invoice_id)


def list_invoices(session: Session, who: Principal, *, budget_id: str | None = None,
                  status: str | None = None) -> list[InvoicePublic]:
    require_role(who, *READ_ROLES, Role.PROVIDER)
    query = select(Invoice).where(Invoice.municipality == who.municipality).order_by(Invoice.received_at)
    if who.is_client_side():
        query = query.where(Invoice.client_id == who.client_id)
    elif who.role == Role.PROVIDER:
        query = query.where(Invoice.provider_id == who.provider_id)
    if budget_id:
        query = query.where(Invoice.budget_id == budget_id)
    if status:
        query = query.where(Invoice.status == status)
    return [invoice_public(i) for i in session.exec(query)]


def approval_queue(session: Session, who: Principal) -> list[InvoicePublic]:
    require_role(who, *APPROVERS)
    query = select(Invoice).where(Invoice.municipality == who.municipality,
                                  Invoice.status.in_(("received", "awaiting_second_approval", "review")))
    return [invoice_public(i) for i in session.exec(query.order_by(Invoice.received_at))]


# --- invoices in --------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """One invoice as it arrives by any of the three flows, before the checks."""

    budget_line_id: str
    incoming: IncomingInvoice
    provider_id: str
    creditor_name: str
    creditor_iban: str
    issue_date: date | None
    source: str  # json | ubl | pdf
    content_hash: str
    document: tuple[str, str, bytes] | None = None  # filename, content type, bytes
    payment_hold: str | None = None
    einvoice_warnings: tuple[dict[str, str], ...] = ()  # BR-NL advice on a UBL document


def content_hash_of_json(data: InvoiceIn, provider_id: str) -> str:
    canonical = json.dumps({"provider": provider_id, **data.model_dump(mode="json", exclude={"amount"})},
                           sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _provider_id_for(who: Principal, given: str | None, kvk: str | None) -> str:
    if who.role == Role.PROVIDER:
        return who.provider_id or ""
    if given:
        return given
    if kvk:
        return f"kvk:{kvk}"
    raise DomainError("invoice.provider", "Name the provider (provider_id or provider_kvk).", "provider_id")


def provider_token(who: Principal) -> ProviderToken | None:
    """For a provider's own token: the identity it proves (its KvK, if its provider id carries one)."""
    return ProviderToken(kvk_of_provider_id(who.provider_id)) if who.role == Role.PROVIDER else None


def submission_from_json(who: Principal, data: InvoiceIn) -> Submission:
    provider_id = _provider_id_for(who, data.provider_id, data.provider_kvk)
    incoming = IncomingInvoice(
        invoice_number=data.invoice_number, provider_name=data.provider_name, provider_kvk=data.provider_kvk,
        provider_vat=data.provider_vat, currency=data.currency, amount_excl_vat=Money.euros(data.amount_excl_vat),
        vat=Money.euros(data.vat), service_from=data.service_from, service_to=data.service_to, flow="provider",
        issue_date=data.issue_date, sent_by=provider_token(who))
    return Submission(budget_line_id=data.budget_line_id, incoming=incoming, provider_id=provider_id,
                      creditor_name=data.provider_name, creditor_iban=data.provider_iban, issue_date=data.issue_date,
                      source="json", content_hash=content_hash_of_json(data, provider_id))


def _line_for_submission(session: Session, who: Principal, reference: str,
                         ) -> tuple[Budget, BudgetLine, Order | None]:
    """The invoice's reference is a budget line id, or the reference of an order on a line.

    Found and locked in one statement: the budget row (FOR UPDATE OF budget, re-read), and only
    among the budgets `who` may invoice, so no one can hold another municipality's or client's lock."""
    order = None
    found = _line_and_budget(session, who, reference)
    if found is None:
        order = session.exec(select(Order).where(Order.municipality == who.municipality,
                                                 Order.order_reference == reference)).first()
        if order is not None:
            found = _line_and_budget(session, who, order.budget_line_id)
            # Re-read under the budget's lock: approvals change what is left of the order.
            order = session.exec(select(Order).where(Order.id == order.id).execution_options(**_FRESH)).one()
    if found is None:
        # Same answer for "no such line" and another municipality's or client's line: nothing leaks.
        raise InvoiceRejected("invoice.unknown_line", "There is no open budget line with this reference.",
                              "budget_line_id")
    line, budget = found
    return budget, line, order


def _line_and_budget(session: Session, who: Principal, line_id: str) -> Any:
    query = (select(BudgetLine, Budget).join(Budget, col(Budget.id) == col(BudgetLine.budget_id))
             .where(BudgetLine.id == line_id, Budget.municipality == who.municipality))
    if who.is_client_side():
        query = query.where(Budget.client_id == who.client_id)
    # The line needs no lock of its own here: intake moves no money, and every command that
    # changes a line holds its budget's lock.
    locked = _budgets_locked(session)
    if not locked:
        return session.exec(query.with_for_update(of=Budget).execution_options(**_FRESH)).first()
    found = session.exec(query.execution_options(**_FRESH)).first()  # a batch locked its budgets up front
    if found is not None and found[1].id not in locked:
        found = session.exec(query.with_for_update(of=Budget).execution_options(**_FRESH)).first()
    return found


def accept_invoice(uow: UnitOfWork, who: Principal, submission: Submission) -> Invoice:
    """Check and store one invoice in the current transaction; raise InvoiceRejected if it fails.

    Under the budget's lock: the invoice must fit in what is left after orders and the invoices
    already waiting for approval (`headroom`), so two invoices arriving at once cannot both
    claim the same money."""
    budget, line, order = _line_for_submission(uow.session, who, submission.budget_line_id)
    policy = finance_policy(uow.session, budget.municipality)
    incoming = submission.incoming
    late = budget.status == "closed"
    snapshot = _snapshot(uow.session, who, budget, line, order)
    if late:
        amount = charge(incoming, policy.budgets_include_vat)  # checked when finance decides on the review
        if amount.cents <= 0 or incoming.currency != "EUR":
            check_invoice(snapshot, incoming, budgets_include_vat=policy.budgets_include_vat, today=latest_today())
    else:
        amount = check_invoice(snapshot, incoming, budgets_include_vat=policy.budgets_include_vat,
                               today=latest_today())
    status = "review" if late else ("awaiting_client" if needs_client_confirmation(
        snapshot, incoming, policy_asks=policy.client_confirms_provider_invoices) else "received")
    invoice = Invoice(
        municipality=budget.municipality, budget_id=budget.id, budget_line_id=line.id,
        order_id=order.id if order else None, plan_id=budget.plan_id,
        client_id=budget.client_id, flow=incoming.flow, source=submission.source, provider_id=submission.provider_id,
        provider_name=incoming.provider_name, provider_kvk=incoming.provider_kvk, provider_vat=incoming.provider_vat,
        creditor_name=submission.creditor_name, creditor_iban=submission.creditor_iban,
        invoice_number=incoming.invoice_number, issue_date=submission.issue_date, service_from=incoming.service_from,
        service_to=incoming.service_to, currency=incoming.currency,
        amount_excl_vat_cents=incoming.amount_excl_vat.cents, vat_cents=incoming.vat.cents, amount_cents=amount.cents,
        content_hash=submission.content_hash, payment_hold=submission.payment_hold, status=status,
        einvoice_warnings=list(submission.einvoice_warnings) or None,
    )
    _ensure_not_duplicate(uow.session, invoice)
    uow.session.add(invoice)
    if submission.document:
        filename, content_type, content = submission.document
        uow.session.add(InvoiceDocument(invoice_id=invoice.id, filename=filename, content_type=content_type,
                                        size=len(content), sha256=hashlib.sha256(content).hexdigest(),
                                        content=content))
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:
        raise DuplicateInvoice("invoice.duplicate", "This invoice was already received.", "invoice_number") from exc
    uow.emit(tenant=invoice.municipality, subject=invoice.plan_id, payload=InvoiceReceivedV1(
        invoice_id=invoice.id, budget_id=budget.id, budget_line_id=line.id, amount_cents=amount.cents))
    return invoice


def _ensure_not_duplicate(session: Session, invoice: Invoice) -> None:
    same = session.exec(select(Invoice.id).where(
        Invoice.municipality == invoice.municipality,
        ((Invoice.provider_id == invoice.provider_id) & (Invoice.invoice_number == invoice.invoice_number))
        | (Invoice.content_hash == invoice.content_hash))).first()
    if same:
        raise DuplicateInvoice("invoice.duplicate", "This invoice was already received (same provider and number, "
                              "or the same document).", "invoice_number")


_PENDING_INVOICE_STATES = ("received", "awaiting_client", "awaiting_second_approval")


def _snapshot(session: Session, who: Principal, budget: Budget, line: BudgetLine, order: Order | None) -> LineSnapshot:
    # One statement: what open orders still reserve on the line, and the waiting invoices per order.
    reserves_and_claims = sa.union_all(
        sa.select(sa.literal("order").label("kind"), col(Order.id).label("order_id"),
                  (col(Order.amount_cents) - col(Order.used_cents)).label("cents"))
        .where(Order.budget_line_id == line.id, Order.status == "open"),
        sa.select(sa.literal("claim").label("kind"), col(Invoice.order_id).label("order_id"),
                  sa.func.sum(Invoice.amount_cents).label("cents"))
        .where(Invoice.budget_id == budget.id, Invoice.budget_line_id == line.id,
               col(Invoice.status).in_(_PENDING_INVOICE_STATES))
        .group_by(Invoice.order_id))
    rows = session.execute(reserves_and_claims).all()
    reserves = {row.order_id: Money(int(row.cents)) for row in rows if row.kind == "order"}
    claims = pending_claims((row.order_id, row.cents) for row in rows if row.kind == "claim")
    return LineSnapshot(
        line_id=line.id, budget_status=budget.status, line_status=line.status,
        remaining=headroom(Money(line.available_cents), reserves, claims, order.id if order else None),
        reveal_amounts=who.role != Role.PROVIDER,
        provider_name=order.provider_name if order else line.provider_name,
        provider_kvk=order.provider_kvk if order else line.provider_kvk, starts_on=line.starts_on,
        ends_on=line.ends_on, execution_deadline=budget.execution_deadline, opened_on=budget.opened_at.date(),
    )


@retry_on_contention
def submit_invoice(uow: UnitOfWork, who: Principal, submission: Submission) -> InvoicePublic:
    """One invoice: accepted (201) or a problem naming the failed check; nothing half-written."""
    require_invoice_sender(who)
    invoice = accept_invoice(uow, who, submission)
    uow.commit()
    return invoice_public(invoice)


@retry_on_contention
def submit_invoices(uow: UnitOfWork, who: Principal, submissions: list[tuple[str | None, Submission | DomainError]],
                    ) -> tuple[InvoiceBatch, list[ItemResult]]:
    """Many invoices at once: each gets its own result; one bad invoice never rejects the others."""
    require_invoice_sender(who)
    references = {s.budget_line_id for _, s in submissions if isinstance(s, Submission)}
    _lock_budgets(uow.session, _budgets_referenced(uow.session, who, references))
    results: list[ItemResult] = []
    for index, (reference, submission) in enumerate(submissions):
        if isinstance(submission, DomainError):
            results.append(_rejected(index, reference, submission))
            continue
        try:
            with uow.session.begin_nested():
                events_before = len(uow.events)
                try:
                    invoice = accept_invoice(uow, who, submission)
                except Exception:
                    del uow.events[events_before:]
                    raise
            results.append(ItemResult(index=index, reference=reference, status="accepted", invoice_id=invoice.id))
        except DomainError as exc:
            results.append(_rejected(index, reference, exc))
    batch = InvoiceBatch(municipality=who.municipality, submitted_by=who.subject, provider_id=who.provider_id,
                         results=[r.model_dump(mode="json") for r in results])
    uow.session.add(batch)
    uow.commit()
    return batch, results


def _budgets_referenced(session: Session, who: Principal, references: set[str]) -> set[str]:
    """The budgets a batch of invoices names (by line id or order reference), to lock in id order."""
    if not references:
        return set()
    # Only this municipality's budgets: a batch naming another's lines must not hold their locks.
    by_line = session.exec(select(BudgetLine.budget_id).join(Budget, col(Budget.id) == col(BudgetLine.budget_id))
                           .where(col(BudgetLine.id).in_(references), Budget.municipality == who.municipality)).all()
    by_order = session.exec(select(Order.budget_id).where(Order.municipality == who.municipality,
                                                          col(Order.order_reference).in_(references))).all()
    return {*by_line, *by_order}


def _rejected(index: int, reference: str | None, exc: DomainError) -> ItemResult:
    return ItemResult(index=index, reference=reference, status="rejected", code=exc.code, field=exc.field,
                      message=exc.message)


def batch_results(session: Session, who: Principal, batch_id: str) -> InvoiceBatch:
    require_invoice_sender(who)
    batch = session.get(InvoiceBatch, batch_id)
    if batch is None or batch.municipality != who.municipality or (
            who.role == Role.PROVIDER and batch.provider_id != who.provider_id):
        raise NotFound("batch")
    return batch


CLIENT_INVOICE_ROLES = (Role.CLIENT, Role.REPRESENTATIVE, Role.CASE_MANAGER, Role.FINANCE)
INVOICE_SENDERS = (Role.FINANCE, Role.PROVIDER)


def require_client_invoice_role(who: Principal) -> None:
    """Who may forward an invoice or declare an expense for a client (checked before anything is read)."""
    require_role(who, *CLIENT_INVOICE_ROLES)


def require_invoice_sender(who: Principal) -> None:
    """Who may send invoices (single or bulk): finance, and providers with their own token."""
    require_role(who, *INVOICE_SENDERS)


@retry_on_contention
def submit_client_invoice(uow: UnitOfWork, who: Principal, submission: Submission) -> InvoicePublic:
    """Flows 2 and 3: the client forwards a provider's invoice, or declares what they paid."""
    require_client_invoice_role(who)
    try:
        invoice = accept_invoice(uow, who, submission)
    except DomainError as exc:
        raise as_sent(exc, submission.incoming.flow) from exc
    if who.is_client_side():
        invoice.client_confirmed_at = _now()  # the client sent it: that is their confirmation
        if invoice.status == "awaiting_client":
            invoice.status = "received"
    uow.commit()
    return invoice_public(invoice)


def document_of(session: Session, who: Principal, invoice_id: str) -> InvoiceDocument:
    _invoice_for(session, who, invoice_id)
    document = session.exec(select(InvoiceDocument).where(InvoiceDocument.invoice_id == invoice_id)).first()
    if document is None:
        raise NotFound("document")
    return document


# --- decisions ----------------------------------------------------------------------------


def confirm_invoice(uow: UnitOfWork, who: Principal, invoice_id: str) -> InvoicePublic:
    """The client directs their budget: they confirm a provider's invoice before finance approves."""
    if not who.is_client_side():
        raise ForbiddenError("invoice.confirm_by_client", "Only the client (or their representative) confirms.")
    invoice = _invoice_for(uow.session, who, invoice_id, lock=True)
    if invoice.status != "awaiting_client":
        raise ConflictError("invoice.wrong_state", f"An invoice that is {invoice.status} needs no confirmation.",
                            "status")
    invoice.status, invoice.client_confirmed_at = "received", _now()
    uow.session.add(invoice)
    uow.commit()
    return invoice_public(invoice)


@retry_on_contention
def approve_invoice(uow: UnitOfWork, who: Principal, invoice_id: str) -> InvoicePublic:
    require_role(who, *APPROVERS)
    invoice = _approve(uow, who, invoice_id)
    uow.commit()
    return invoice_public(invoice)


def _approve(uow: UnitOfWork, who: Principal, invoice_id: str) -> Invoice:
    budget, line, invoice = _lock_for_invoice(uow.session, who, invoice_id)
    if invoice.status == "awaiting_client":
        raise ConflictError("invoice.awaiting_client", "The client has not confirmed this invoice yet.", "status")
    if invoice.status not in ("received", "awaiting_second_approval", "review"):
        raise ConflictError("invoice.wrong_state", f"An invoice that is {invoice.status} cannot be approved.", "status")
    policy = finance_policy(uow.session, invoice.municipality)
    total = Money(invoice.amount_excl_vat_cents + invoice.vat_cents)
    if total > policy.invoice_four_eyes_threshold:
        if invoice.first_approved_by is None:
            invoice.first_approved_by, invoice.status = who.subject, "awaiting_second_approval"
            uow.session.add(invoice)
            return invoice
        if invoice.first_approved_by == who.subject:
            raise ForbiddenError("invoice.same_approver", "A second approver must be someone else.", "approved_by")
    _, used_before = _used(_lines(uow.session, budget.id))
    if invoice.status == "review" or budget.status == "closed":
        # A late invoice on a closed budget: approving it grants the amount again from funding.
        _move(uow, line, "grant", Money(invoice.amount_cents), invoice.id)
    order = uow.session.exec(select(Order).where(Order.id == invoice.order_id).with_for_update()
                             .execution_options(**_FRESH)).first() if invoice.order_id else None
    reserved = Money(0)
    if order is not None and order.status == "open":
        reserved = min(Money(order.amount_cents - order.used_cents), Money(invoice.amount_cents))
        order.used_cents += reserved.cents
        order.status = "used" if order.used_cents >= order.amount_cents else "open"
        uow.session.add(order)
    _move(uow, line, "approve_invoice", Money(invoice.amount_cents), invoice.id,
          holdback_percent=0 if budget.outcome_reached else line.holdback_percent, from_committed=reserved)
    held_ledger = Money(0) if budget.outcome_reached else holdback_share(Money(invoice.amount_cents),
                                                                          line.holdback_percent)
    if held_ledger.cents:
        invoice.holdback_status = "held"
        invoice.held_cents = held_ledger.cents
        invoice.held_pay_cents = holdback_share(total, line.holdback_percent).cents
    invoice.status, invoice.approved_at, invoice.approved_by = "approved", _now(), who.subject
    uow.session.add(invoice)
    uow.emit(tenant=invoice.municipality, subject=invoice.plan_id, payload=InvoiceApprovedV1(
        invoice_id=invoice.id, budget_id=invoice.budget_id, budget_line_id=line.id,
        amount_cents=invoice.amount_cents, remaining_cents=line.available_cents))
    _check_thresholds(uow, budget, used_before)
    return invoice


@retry_on_contention
def approve_invoices(uow: UnitOfWork, who: Principal, invoice_ids: list[str]) -> list[ItemResult]:
    """Bulk approval: each invoice its own result; a refused one leaves the others approved."""
    require_role(who, *APPROVERS)
    _lock_budgets(uow.session, uow.session.exec(select(Invoice.budget_id).where(
        col(Invoice.id).in_(invoice_ids), Invoice.municipality == who.municipality)).all())
    results = []
    for index, invoice_id in enumerate(invoice_ids):
        try:
            with uow.session.begin_nested():
                events_before = len(uow.events)
                try:
                    invoice = _approve(uow, who, invoice_id)
                except Exception:
                    del uow.events[events_before:]
                    raise
            results.append(ItemResult(index=index, reference=invoice_id, status="accepted", invoice_id=invoice_id,
                                      message=invoice.status))
        except DomainError as exc:
            results.append(_rejected(index, invoice_id, exc))
        except Problem as exc:  # not found (or not yours), reported per item; database errors go up
            results.append(ItemResult(index=index, reference=invoice_id, status="rejected", code="invoice.not_found",
                                      message=exc.detail))
    uow.commit()
    return results


def reject_invoice(uow: UnitOfWork, who: Principal, invoice_id: str, cmd: RejectInvoice) -> InvoicePublic:
    require_role(who, *APPROVERS)
    invoice = _invoice_for(uow.session, who, invoice_id, lock=True)
    if invoice.status not in ("received", "awaiting_client", "awaiting_second_approval", "review"):
        raise ConflictError("invoice.wrong_state", f"An invoice that is {invoice.status} cannot be rejected.", "status")
    invoice.status, invoice.rejection_code, invoice.rejection_reason = "rejected", "invoice.rejected", cmd.reason
    uow.session.add(invoice)
    uow.emit(tenant=invoice.municipality, subject=invoice.plan_id, payload=InvoiceRejectedV1(
        invoice_id=invoice.id, budget_id=invoice.budget_id, client_id=invoice.client_id,
        reason_code="invoice.rejected"))
    uow.commit()
    return invoice_public(invoice)


# --- payments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PayableItem:
    invoice: Any  # a row with the invoice's id, number, creditor name and IBAN
    part: str  # main | holdback
    amount: Money  # to transfer
    ledger: Money  # to move from payable to paid


def _not_in_a_run(part: str) -> Any:
    return ~sa.exists().where(PaymentItem.invoice_id == Invoice.id, PaymentItem.part == part)


def payable_items(session: Session, municipality: str) -> list[PayableItem]:
    """Approved, unpaid invoice parts not yet in a payment run. Plain rows, not ORM objects: a run
    may hold 100,000 invoices (docs/performance.md)."""
    query = sa.select(
        Invoice.id, Invoice.invoice_number, Invoice.creditor_name, Invoice.creditor_iban, Invoice.status,
        Invoice.holdback_status, Invoice.amount_excl_vat_cents, Invoice.vat_cents, Invoice.held_pay_cents,
        Invoice.credited_cents, Invoice.credited_pay_cents, Invoice.amount_cents, Invoice.held_cents,
        _not_in_a_run("main").label("main_open"), _not_in_a_run("holdback").label("holdback_open"),
    ).where(Invoice.municipality == municipality, Invoice.status.in_(("approved", "scheduled", "paid")),
            # An invoice on hold is paid by hand (mark-paid) once finance has dealt with the hold.
            Invoice.payment_hold.is_(None)).order_by(Invoice.approved_at)
    items: list[PayableItem] = []
    for invoice in session.execute(query):
        total = Money(invoice.amount_excl_vat_cents + invoice.vat_cents)
        if invoice.status == "approved" and invoice.main_open:
            items.append(PayableItem(
                invoice, "main", total - Money(invoice.held_pay_cents) - Money(invoice.credited_pay_cents),
                Money(invoice.amount_cents - invoice.held_cents - invoice.credited_cents)))
        if invoice.holdback_status == "released" and invoice.holdback_open:
            items.append(PayableItem(invoice, "holdback", Money(invoice.held_pay_cents), Money(invoice.held_cents)))
    return [item for item in items if item.amount.cents > 0]


def _run_public(run: PaymentRun) -> PaymentRunPublic:
    return PaymentRunPublic(**run.model_dump(exclude={"xml", "total_cents", "municipality"}),
                            total=Money(run.total_cents).decimal,
                            download=f"/budget/v1/payment-runs/{run.id}/pain001.xml")


def create_payment_run(uow: UnitOfWork, who: Principal, cmd: PaymentRunCreate) -> PaymentRunPublic:
    from services.budget.domain.payment_file import (
        Debtor,
        Payment,
        build_pain001,
        check_execution_date,
    )

    require_role(who, Role.FINANCE)
    check_execution_date(cmd.execution_date, earliest_today())
    policy = finance_policy(uow.session, who.municipality)
    items = payable_items(uow.session, who.municipality)
    if not items:
        raise DomainError("payment_run.empty", "There are no approved, unpaid invoices to pay.")
    run_id = str(uuid.uuid4())
    message_id = f"PRB-{run_id.replace('-', '')[:28]}"
    payments, rows = [], []
    for n, item in enumerate(items, start=1):
        e2e = f"{item.invoice.id.replace('-', '')[:26]}-{item.part[0].upper()}{n % 1000:03d}"[:35]
        remittance = f"Factuur {item.invoice.invoice_number}" + (" (ingehouden deel)" if item.part == "holdback" else "")
        payments.append(Payment(end_to_end_id=e2e, creditor_name=item.invoice.creditor_name[:70],
                                creditor_iban=item.invoice.creditor_iban, creditor_bic=None, amount=item.amount,
                                remittance=remittance[:140]))
        rows.append({"id": str(uuid.uuid4()), "run_id": run_id, "invoice_id": item.invoice.id, "part": item.part,
                     "end_to_end_id": e2e, "amount_cents": item.amount.cents, "ledger_cents": item.ledger.cents})
    schema = cmd.pain_schema or policy.pain_schema
    debtor = Debtor(name=policy.debtor_name[:70], iban=policy.debtor_iban, bic=policy.debtor_bic)
    payment_file = build_pain001(debtor, payments, cmd.execution_date, message_id, schema=schema)
    run = PaymentRun(id=run_id, municipality=who.municipality, pain_schema=schema, message_id=message_id,
                     execution_date=cmd.execution_date, item_count=len(rows),
                     total_cents=payment_file.control_sum.cents, xml=payment_file.xml_bytes, created_by=who.subject)
    uow.session.add(run)
    try:
        uow.session.flush()
        # Set-based: one multi-row insert and one update, however many invoices the run holds.
        bulk_insert(uow.session, PaymentItem.__table__, rows)
    except IntegrityError as exc:  # another run took one of these invoices meanwhile
        raise ConflictError("payment_run.concurrent", "Another payment run took some of these invoices; try again.") \
            from exc
    uow.session.execute(sa.update(Invoice).where(
        Invoice.id == PaymentItem.invoice_id, PaymentItem.run_id == run_id, PaymentItem.part == "main",
        Invoice.status == "approved").values(status="scheduled").execution_options(synchronize_session=False))
    uow.emit(tenant=who.municipality, subject=run.id, payload=PaymentScheduledV1(
        payment_run_id=run.id, invoice_count=len(rows), total_cents=run.total_cents,
        execution_date=cmd.execution_date))
    uow.commit()
    return _run_public(run)


def _run_for(session: Session, who: Principal, run_id: str, *, lock: bool = False) -> PaymentRun:
    require_role(who, Role.FINANCE)
    query = select(PaymentRun).where(PaymentRun.id == run_id)
    run = session.exec(query.with_for_update().execution_options(**_FRESH) if lock else query).first()
    if run is None or run.municipality != who.municipality:
        raise NotFound("payment run")
    return run


def get_payment_run(session: Session, who: Principal, run_id: str) -> PaymentRunPublic:
    return _run_public(_run_for(session, who, run_id))


def payment_file_of(session: Session, who: Principal, run_id: str) -> PaymentRun:
    return _run_for(session, who, run_id)


def list_payment_runs(session: Session, who: Principal) -> list[PaymentRunPublic]:
    require_role(who, Role.FINANCE)
    runs = session.exec(select(PaymentRun).where(PaymentRun.municipality == who.municipality)
                        .order_by(PaymentRun.created_at)).all()
    return [_run_public(r) for r in runs]


@retry_on_contention
def confirm_payment_run(uow: UnitOfWork, who: Principal, run_id: str, cmd: MarkPaid) -> PaymentRunPublic:
    """The bank executed the run: every item is paid, once."""
    run = _run_for(uow.session, who, run_id, lock=True)
    if run.status == "paid":
        raise ConflictError("payment_run.already_paid", "This payment run was already confirmed.", "status")
    _lock_budgets(uow.session, uow.session.exec(select(Invoice.budget_id).join(
        PaymentItem, col(PaymentItem.invoice_id) == col(Invoice.id)).where(PaymentItem.run_id == run.id)).all())
    for item in uow.session.exec(select(PaymentItem).where(PaymentItem.run_id == run.id)).all():
        line = _locked_line(uow.session, uow.session.exec(select(Invoice.budget_line_id).where(
            Invoice.id == item.invoice_id)).one())
        _pay(uow, line, _locked_invoice(uow.session, item.invoice_id), Money(item.ledger_cents),
             Money(item.amount_cents), cmd.paid_on, item.part)
    run.status, run.paid_on = "paid", cmd.paid_on
    uow.session.add(run)
    uow.commit()
    return _run_public(run)


def _pay(uow: UnitOfWork, line: BudgetLine, invoice: Invoice, ledger: Money, amount: Money, paid_on: date,
         part: str) -> None:
    if ledger.cents:
        _move(uow, line, "pay", ledger, invoice.id)
    if part == "main":
        invoice.status, invoice.paid_on = "paid", paid_on
    else:
        invoice.holdback_status = "paid"
    uow.session.add(invoice)
    uow.emit(tenant=invoice.municipality, subject=invoice.plan_id, payload=InvoicePaidV1(
        invoice_id=invoice.id, budget_id=invoice.budget_id, plan_id=invoice.plan_id, client_id=invoice.client_id,
        amount_cents=amount.cents, paid_on=paid_on))


@retry_on_contention
def mark_invoice_paid(uow: UnitOfWork, who: Principal, invoice_id: str, cmd: MarkPaid) -> InvoicePublic:
    """Manual "paid" (paid outside a payment run), for an approved invoice not in a run."""
    require_role(who, Role.FINANCE)
    _, line, invoice = _lock_for_invoice(uow.session, who, invoice_id)
    if invoice.status != "approved":
        raise ConflictError("invoice.wrong_state", f"An invoice that is {invoice.status} cannot be marked paid.",
                            "status")
    total = Money(invoice.amount_excl_vat_cents + invoice.vat_cents)
    to_pay = total - Money(invoice.held_pay_cents) - Money(invoice.credited_pay_cents)
    ledger = Money(invoice.amount_cents - invoice.held_cents - invoice.credited_cents)
    uow.session.add(PaymentItem(run_id="manual", invoice_id=invoice.id, part="main", end_to_end_id="manual",
                                amount_cents=to_pay.cents, ledger_cents=ledger.cents))
    _pay(uow, line, invoice, ledger, to_pay, cmd.paid_on, "main")
    uow.commit()
    return invoice_public(invoice)


def ledger_entries(session: Session, who: Principal, budget_id: str) -> list[LedgerEntry]:
    require_role(who, *READ_ROLES)
    _budget_for(session, who, budget_id)
    return list(session.exec(select(LedgerEntry).where(LedgerEntry.budget_id == budget_id).order_by(LedgerEntry.id)))


def budget_statement(session: Session, who: Principal, budget_id: str) -> tuple[BudgetPublic, list[InvoicePublic]]:
    budget = get_budget(session, who, budget_id)
    invoices = [invoice_public(i) for i in session.exec(
        select(Invoice).where(Invoice.budget_id == budget_id).order_by(Invoice.received_at))]
    return budget, invoices


def get_budget_reference(session: Session, who: Principal, budget_id: str, budget_line_id: str) -> None:
    """For routes under /budgets/{id}: the line must belong to that budget (which the caller may see)."""
    budget = session.get(Budget, budget_id)
    if budget is None or budget.municipality != who.municipality or (
            who.is_client_side() and budget.client_id != who.client_id):
        raise NotFound("budget")
    line = session.get(BudgetLine, budget_line_id)
    if line is None or line.budget_id != budget.id:
        raise InvoiceRejected("invoice.unknown_line", "This budget has no such line.", "budget_line_id")


# --- orders (accepted quotes) --------------------------------------------------------------


def _order_public(order: Order) -> OrderPublic:
    return OrderPublic(**order.model_dump(exclude={"amount_cents", "used_cents", "municipality", "created_by"}),
                       amount=Money(order.amount_cents).decimal, used=Money(order.used_cents).decimal)


@retry_on_contention
def place_order(uow: UnitOfWork, who: Principal, budget_id: str, data: OrderIn, *, commit: bool = True,
                ) -> OrderPublic:
    """An accepted quote reserves money on a line; invoices quoting its reference draw on it."""
    require_role(who, Role.FINANCE, *STAFF)
    amount = Money.euros(data.amount)
    if amount.cents <= 0:
        raise DomainError("order.amount", "An order needs an amount above zero.", "amount")
    _budget_for(uow.session, who, budget_id)
    budget = _lock_budget(uow.session, budget_id)
    if budget.status != "open":
        raise ConflictError("budget.closed", "This budget is closed.", "budget_id")
    found = uow.session.exec(select(BudgetLine.id).where(BudgetLine.id == data.budget_line_id,
                                                         BudgetLine.budget_id == budget.id)).first()
    line = _locked_line(uow.session, found) if found else None
    if line is None or line.status != "open":
        raise DomainError("order.unknown_line", "This budget has no such open line.", "budget_line_id")
    order = Order(municipality=budget.municipality, budget_id=budget.id, budget_line_id=line.id,
                  order_reference=data.order_reference, provider_name=data.provider_name,
                  provider_kvk=data.provider_kvk, amount_cents=amount.cents, created_by=who.subject)
    uow.session.add(order)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:
        raise ConflictError("order.reference_taken", "This order reference is already in use.",
                            "order_reference") from exc
    _move(uow, line, "commit", amount)
    if commit:
        uow.commit()
    return _order_public(order)


def list_orders(session: Session, who: Principal, budget_id: str) -> list[OrderPublic]:
    require_role(who, *READ_ROLES)
    _budget_for(session, who, budget_id)
    return [_order_public(o) for o in session.exec(select(Order).where(Order.budget_id == budget_id)
                                                   .order_by(Order.created_at))]


# --- pgb bw: periodic payments to employer and job coach ----------------------------------

PERIODIC_CATEGORIES = {"employer": "wage_cost_subsidy", "supervisor": "job_coach"}
SYSTEM_FINANCE = "system:periodic-payments"


def _periodic_public(p: PeriodicPayment) -> PeriodicPaymentPublic:
    return PeriodicPaymentPublic(**p.model_dump(exclude={"monthly_cents"}), monthly_amount=Money(p.monthly_cents).decimal)


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@retry_on_contention
def schedule_periodic_payment(uow: UnitOfWork, who: Principal, budget_id: str,
                              data: PeriodicPaymentIn) -> PeriodicPaymentPublic:
    """Reserve the months' total on the line; each month an invoice for it joins the approval queue."""
    require_role(who, Role.FINANCE)
    budget = _budget_for(uow.session, who, budget_id)
    if budget.scheme != "pgb_bw":
        raise DomainError("periodic.scheme", "Periodic payments are for pgb begeleid werken budgets.", "budget_id")
    line = uow.session.get(BudgetLine, data.budget_line_id)
    if line is None or line.budget_id != budget.id:
        raise DomainError("periodic.unknown_line", "This budget has no such line.", "budget_line_id")
    if line.category != PERIODIC_CATEGORIES[data.payee_kind]:
        raise DomainError("periodic.category", f"Pay an {data.payee_kind} from a "
                          f"{PERIODIC_CATEGORIES[data.payee_kind]} line.", "budget_line_id")
    monthly = Money.euros(data.monthly_amount)
    if monthly.cents <= 0:
        raise DomainError("periodic.amount", "The monthly amount must be above zero.", "monthly_amount")
    schedule_id = str(uuid.uuid4())
    order = place_order(uow, who, budget_id, OrderIn(
        budget_line_id=line.id, order_reference=f"PERIODIEK-{schedule_id[:8].upper()}", provider_name=data.payee_name,
        provider_kvk=data.payee_kvk, amount=Money(monthly.cents * data.months).decimal), commit=False)
    schedule = PeriodicPayment(id=schedule_id, municipality=budget.municipality, budget_id=budget.id,
                               budget_line_id=line.id, order_id=order.id, order_reference=order.order_reference,
                               payee_kind=data.payee_kind, payee_name=data.payee_name, payee_kvk=data.payee_kvk,
                               payee_iban=data.payee_iban, monthly_cents=monthly.cents, first_due=data.first_due,
                               months=data.months, created_by=who.subject)
    uow.session.add(schedule)
    uow.commit()
    return _periodic_public(schedule)


@retry_on_contention
def create_due_periodic_invoices(uow: UnitOfWork, today: date) -> int:
    """Scheduled daily: one invoice per schedule and month that has come due."""
    created = 0
    schedules = uow.session.exec(select(PeriodicPayment).where(
        PeriodicPayment.created_months < PeriodicPayment.months).order_by(PeriodicPayment.budget_id)).all()
    _lock_budgets(uow.session, (schedule.budget_id for schedule in schedules))
    for schedule in schedules:
        system = Principal(subject=SYSTEM_FINANCE, role=Role.FINANCE, municipality=schedule.municipality)
        while schedule.created_months < schedule.months:
            due = add_months(schedule.first_due, schedule.created_months)
            if due > today:
                break
            n = schedule.created_months + 1
            incoming = IncomingInvoice(
                invoice_number=f"{schedule.order_reference}-{n:02d}", provider_name=schedule.payee_name,
                provider_kvk=schedule.payee_kvk, provider_vat=None, currency="EUR",
                amount_excl_vat=Money(schedule.monthly_cents), vat=Money(0), service_from=due, service_to=due,
                flow="periodic", issue_date=due)
            accept_invoice(uow, system, Submission(
                budget_line_id=schedule.order_reference, incoming=incoming, provider_id=f"payee:{schedule.id}",
                creditor_name=schedule.payee_name[:70], creditor_iban=schedule.payee_iban, issue_date=due,
                source="json", content_hash=f"periodic:{schedule.id}:{n}"))
            schedule.created_months = n
            uow.session.add(schedule)
            created += 1
    uow.commit()
    return created


def list_periodic_payments(session: Session, who: Principal, budget_id: str) -> list[PeriodicPaymentPublic]:
    require_role(who, Role.FINANCE, *STAFF)
    _budget_for(session, who, budget_id)
    return [_periodic_public(p) for p in session.exec(select(PeriodicPayment).where(
        PeriodicPayment.budget_id == budget_id))]


# --- corrections ------------------------------------------------------------------------------


@retry_on_contention
def credit_invoice(uow: UnitOfWork, who: Principal, invoice_id: str, cmd: CreditNoteIn, *,
                   document: tuple[str, bytes] | None = None) -> CreditNotePublic:
    """A credit note: before payment it lowers what will be paid; after payment it records money
    coming back. Either way the amount returns to the budget line as new ledger entries.

    `cmd.amount` is in budget terms (what the invoice charged the budget); the transfer (incl. VAT)
    goes down by the same share. `document` is the provider's own credit note (number, original),
    booked on an invoice once."""
    require_role(who, Role.FINANCE)
    amount = Money.euros(cmd.amount)
    if amount.cents <= 0:
        raise DomainError("credit.amount", "A credit note needs an amount above zero.", "amount")
    _, line, invoice = _lock_for_invoice(uow.session, who, invoice_id)
    open_charge = Money(invoice.amount_cents - invoice.held_cents - invoice.credited_cents)
    if invoice.status == "approved":
        if amount > open_charge:
            raise DomainError("credit.too_large", "A credit note cannot exceed what is still to pay.", "amount")
        _move(uow, line, "credit", amount, invoice.id)
        kind = "credit"
    elif invoice.status == "paid":
        if amount > open_charge:
            raise DomainError("credit.too_large", "A refund cannot exceed what was paid.", "amount")
        _move(uow, line, "refund", amount, invoice.id)
        kind = "refund"
    else:
        raise ConflictError("credit.wrong_state", f"An invoice that is {invoice.status} cannot be credited.",
                            "status")
    total = Money(invoice.amount_excl_vat_cents + invoice.vat_cents)
    pay = transfer_share(amount, charge=Money(invoice.amount_cents), total=total, open_charge=open_charge,
                         open_transfer=total - Money(invoice.held_pay_cents) - Money(invoice.credited_pay_cents))
    invoice.credited_cents += amount.cents
    invoice.credited_pay_cents += pay.cents
    note = CreditNote(municipality=invoice.municipality, invoice_id=invoice.id, kind=kind, amount_cents=amount.cents,
                      pay_cents=pay.cents, reason=cmd.reason, created_by=who.subject,
                      document_number=document[0] if document else None, document=document[1] if document else None)
    uow.session.add_all([invoice, note])
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:
        raise DuplicateInvoice("einvoice.credit_note_duplicate", f"Credit note {note.document_number} on this "
                               "invoice was already booked.", "document_number") from exc
    uow.commit()
    return CreditNotePublic(**note.model_dump(exclude={"amount_cents", "pay_cents", "municipality", "document"}),
                            amount=amount.decimal, transfer=pay.decimal)
