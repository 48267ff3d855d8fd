"""Budget commands, one function each: authorise, load under the locks (repository), ask the
aggregate (domain/), store, emit the events it recorded, commit. Money moves only through the
ledger (domain/ledger.py), in the lock order budget -> line -> order/invoice.

Here: the finance policy, orders, periodic payments, decisions on invoices and credit notes.
Taking invoices in is in invoices_in.py, paying them in payments.py (the same pattern).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from contracts.events import BudgetThresholdReachedV1, Payload
from services.budget import providers, repository
from services.budget.domain.finance_policy import policy_from_dict, policy_to_dict
from services.budget.domain.invoice import Approval, credit_amount
from services.budget.domain.invoice_checks import (
    DuplicateInvoice,
)
from services.budget.domain.ledger import holdback_share, threshold_crossed
from services.budget.domain.provider_register import INVOICING
from services.budget.models import (
    Budget,
    BudgetLine,
    CreditNote,
    CreditNoteIn,
    CreditNotePublic,
    FinancePolicyRecord,
    Invoice,
    InvoicePublic,
    ItemResult,
    Order,
    OrderIn,
    OrderPublic,
    PeriodicPayment,
    PeriodicPaymentIn,
    PeriodicPaymentPublic,
    RejectInvoice,
)
from services.budget.permissions import Action, authorize
from services.budget.queries import invoice_public, order_public, periodic_public
from shared import audit
from shared.auth import Principal
from shared.contention import retry_on_contention
from shared.errors import Conflict, DomainError, RuleBroken
from shared.identifiers import IdentifierError, validate_kvk
from shared.money import Money
from shared.uow import UnitOfWork

T = TypeVar("T")


def emit_events(uow: UnitOfWork, events: list[Payload], *, tenant: str, subject: str) -> None:
    for payload in events:
        uow.emit(payload=payload, tenant=tenant, subject=subject)
    events.clear()


def each_in_a_savepoint(uow: UnitOfWork, work: Callable[[], T]) -> T:
    """One item of a bulk command: its rows and events stay only if it succeeds."""
    with uow.savepoint():
        return work()


def rejected(index: int, reference: str | None, exc: DomainError) -> ItemResult:
    return ItemResult(
        index=index, reference=reference, status="rejected", code=exc.code, field=exc.field, message=exc.message
    )


def audited_invoice(invoice: Invoice) -> dict[str, Any]:
    """An invoice as the audit trail records it (record_change keeps what changed): ids, amounts,
    state and findings; no name, no IBAN."""
    return {
        "invoice_id": invoice.id,
        "budget_line_id": invoice.budget_line_id,
        "flow": invoice.flow,
        "provider_kvk": invoice.provider_kvk,
        "amount_cents": invoice.amount_cents,
        "credited_cents": invoice.credited_cents,
        "status": invoice.status,
        "paid_on": invoice.paid_on.isoformat() if invoice.paid_on else None,
        "payment_hold": invoice.payment_hold,
        "findings": sorted(f["code"] for f in invoice.findings or []),
    }


def audit_invoice_change(uow: UnitOfWork, who: Principal, row: Invoice, before: dict[str, Any]) -> None:
    """A decision on an invoice, in the client's audit trail (shared.audit), in the command's unit of work."""
    audit.record_change(uow, who, row.client_id, audit.AuditAction.UPDATE, old=before, new=audited_invoice(row))


def check_thresholds(uow: UnitOfWork, budget: Budget, used_before: Money) -> None:
    """After money was used: BudgetThresholdReached once per policy threshold crossed."""
    granted, used_after = repository.used(repository.lines(uow.session, budget.id))
    policy = repository.finance_policy(uow.session, budget.municipality)
    reached = {int(p) for p in budget.thresholds_reached.split(",") if p}
    for pct in threshold_crossed(granted, used_before, used_after, policy.thresholds):
        if pct in reached:
            continue
        reached.add(pct)
        uow.emit(
            tenant=budget.municipality,
            subject=budget.plan_id,
            payload=BudgetThresholdReachedV1(
                budget_id=budget.id,
                plan_id=budget.plan_id,
                client_id=budget.client_id,
                percent=pct,
                used_cents=used_after.cents,
                granted_cents=granted.cents,
            ),
        )
    budget.thresholds_reached = ",".join(str(p) for p in sorted(reached))
    uow.session.add(budget)


# --- policy -------------------------------------------------------------------------------


def put_finance_policy(uow: UnitOfWork, who: Principal, document: dict[str, Any]) -> dict[str, Any]:
    authorize(who, Action.REPLACE_FINANCE_POLICY)
    stored = policy_to_dict(policy_from_dict({**document, "municipality": who.municipality}))
    record = uow.session.get(FinancePolicyRecord, who.municipality)
    if record is None:
        record = FinancePolicyRecord(
            municipality=who.municipality, document=stored, updated_by=who.subject, updated_at=uow.clock.now()
        )
    else:
        record.document, record.updated_by, record.updated_at = stored, who.subject, uow.clock.now()
    uow.session.add(record)
    uow.commit()
    return stored


# --- orders and periodic payments ----------------------------------------------------------


@retry_on_contention
def place_order(
    uow: UnitOfWork,
    who: Principal,
    budget_id: str,
    data: OrderIn,
    *,
    commit: bool = True,
) -> OrderPublic:
    """An accepted quote reserves money on a line; invoices quoting its reference draw on it."""
    authorize(who, Action.PLACE_ORDER)
    amount = Money.euros(data.amount)
    if amount.cents <= 0:
        raise RuleBroken(
            "order.amount",
            "An order needs an amount above zero.",
            "amount",
            message_nl="Een opdracht moet een bedrag hoger dan nul hebben.",
        )
    repository.budget_for(uow.session, who, budget_id)
    _ensure_provider_may_take_orders(uow, who.municipality, data.provider_kvk)
    budget = repository.lock_budget(uow.session, budget_id)
    if budget.status != "open":
        raise Conflict("budget.closed", "This budget is closed.", "budget_id", message_nl="Dit budget is gesloten.")
    found = uow.session.exec(
        select(BudgetLine.id).where(BudgetLine.id == data.budget_line_id, BudgetLine.budget_id == budget.id)
    ).first()
    line = repository.locked_line(uow.session, found) if found else None
    if line is None or line.status != "open":
        raise RuleBroken(
            "order.unknown_line",
            "This budget has no such open line.",
            "budget_line_id",
            message_nl="Dit budget heeft zo'n open regel niet.",
        )
    order = Order(
        municipality=budget.municipality,
        budget_id=budget.id,
        budget_line_id=line.id,
        order_reference=data.order_reference,
        provider_name=data.provider_name,
        provider_kvk=data.provider_kvk,
        amount_cents=amount.cents,
        created_by=who.subject,
        created_at=uow.clock.now(),
    )
    uow.session.add(order)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "order.reference_taken",
            "This order reference is already in use.",
            "order_reference",
            message_nl="Dit opdrachtkenmerk is al in gebruik.",
        ) from exc
    repository.move(uow.session, line, "commit", amount, uow.clock.now())
    audit.record_change(
        uow,
        who,
        budget.client_id,
        audit.AuditAction.CREATE,
        new={
            "order_id": order.id,
            "budget_line_id": line.id,
            "provider_kvk": order.provider_kvk,
            "amount_cents": order.amount_cents,
        },
    )
    if commit:
        uow.commit()
    return order_public(order)


def _ensure_provider_may_take_orders(uow: UnitOfWork, municipality: str, kvk: str | None) -> None:
    """No new order for a provider the register has suspended or ended (matched on its KvK)."""
    try:
        number = validate_kvk(kvk) if kvk else None
    except IdentifierError:
        return  # not a KvK number: nothing the register can say
    entry = providers.registered(uow.session, municipality, number) if number else None
    if entry is not None and entry.status not in INVOICING:
        raise RuleBroken(
            f"order.provider_{entry.status}",
            f"This provider is {entry.status} in the provider register; place no new order with it.",
            "provider_kvk",
            message_nl=f"Deze aanbieder heeft status {entry.status} in het aanbiedersregister; "
            "plaats geen nieuwe opdracht bij hem.",
        )


PERIODIC_CATEGORIES = {"employer": "wage_cost_subsidy", "supervisor": "job_coach"}


@retry_on_contention
def schedule_periodic_payment(
    uow: UnitOfWork, who: Principal, budget_id: str, data: PeriodicPaymentIn
) -> PeriodicPaymentPublic:
    """Reserve the months' total on the line; each month an invoice for it joins the approval queue."""
    authorize(who, Action.SCHEDULE_PERIODIC_PAYMENT)
    budget = repository.budget_for(uow.session, who, budget_id)
    if budget.scheme != "pgb_bw":
        raise RuleBroken(
            "periodic.scheme",
            "Periodic payments are for pgb begeleid werken budgets.",
            "budget_id",
            message_nl="Periodieke betalingen zijn alleen voor een pgb begeleid werken.",
        )
    line = uow.session.get(BudgetLine, data.budget_line_id)
    if line is None or line.budget_id != budget.id:
        raise RuleBroken(
            "periodic.unknown_line",
            "This budget has no such line.",
            "budget_line_id",
            message_nl="Dit budget heeft zo'n regel niet.",
        )
    category = PERIODIC_CATEGORIES[data.payee_kind]
    if line.category != category:
        raise RuleBroken(
            "periodic.category",
            f"Pay an {data.payee_kind} from a {category} line.",
            "budget_line_id",
            message_nl=f"Betaal een {data.payee_kind} uit een regel {category}.",
        )
    monthly = Money.euros(data.monthly_amount)
    if monthly.cents <= 0:
        raise RuleBroken(
            "periodic.amount",
            "The monthly amount must be above zero.",
            "monthly_amount",
            message_nl="Het bedrag per maand moet hoger zijn dan nul.",
        )
    schedule_id = str(uuid.uuid4())
    order = place_order(
        uow,
        who,
        budget_id,
        OrderIn(
            budget_line_id=line.id,
            order_reference=f"PERIODIEK-{schedule_id[:8].upper()}",
            provider_name=data.payee_name,
            provider_kvk=data.payee_kvk,
            amount=Money(monthly.cents * data.months).decimal,
        ),
        commit=False,
    )
    schedule = PeriodicPayment(
        id=schedule_id,
        municipality=budget.municipality,
        budget_id=budget.id,
        budget_line_id=line.id,
        order_id=order.id,
        order_reference=order.order_reference,
        payee_kind=data.payee_kind,
        payee_name=data.payee_name,
        payee_kvk=data.payee_kvk,
        payee_iban=data.payee_iban,
        monthly_cents=monthly.cents,
        first_due=data.first_due,
        months=data.months,
        created_by=who.subject,
    )
    uow.session.add(schedule)
    uow.commit()
    return periodic_public(schedule)


# --- decisions ----------------------------------------------------------------------------


def confirm_invoice(uow: UnitOfWork, who: Principal, invoice_id: str) -> InvoicePublic:
    """The client directs their budget: they confirm a provider's invoice before finance approves."""
    authorize(who, Action.CONFIRM_INVOICE)
    row = repository.invoice_for(uow.session, who, invoice_id, lock=True)
    before = audited_invoice(row)
    invoice = repository.invoice_of(row)
    invoice.confirm_by_client(uow.clock.now())
    repository.store_invoice(uow.session, row, invoice)
    audit_invoice_change(uow, who, row, before)
    emit_events(uow, invoice.events, tenant=row.municipality, subject=row.plan_id)
    uow.commit()
    return invoice_public(row)


@retry_on_contention
def approve_invoice(uow: UnitOfWork, who: Principal, invoice_id: str) -> InvoicePublic:
    authorize(who, Action.DECIDE_INVOICE)
    row = _approve(uow, who, invoice_id)
    uow.commit()
    return invoice_public(row)


def _approve(uow: UnitOfWork, who: Principal, invoice_id: str) -> Invoice:
    budget, line, row = repository.lock_for_invoice(uow.session, who, invoice_id)
    before = audited_invoice(row)
    invoice = repository.invoice_of(row)
    policy = repository.finance_policy(uow.session, row.municipality)
    if invoice.approve(who.subject, four_eyes_threshold=policy.invoice_four_eyes_threshold) is Approval.FIRST_OF_TWO:
        repository.store_invoice(uow.session, row, invoice)
        audit_invoice_change(uow, who, row, before)
        return row
    now = uow.clock.now()
    _, used_before = repository.used(repository.lines(uow.session, budget.id))
    if invoice.needs_new_grant or budget.status == "closed":
        # A late invoice on a closed budget: approving it grants the amount again from funding.
        repository.move(uow.session, line, "grant", invoice.charge, now, invoice.id)
    order = repository.locked_order(uow.session, row.order_id)
    reserved = Money(0)
    if order is not None and order.status == "open":
        reserved = min(Money(order.amount_cents - order.used_cents), invoice.charge)
        order.used_cents += reserved.cents
        order.status = "used" if order.used_cents >= order.amount_cents else "open"
        uow.session.add(order)
    holdback_percent = 0 if budget.outcome_reached else line.holdback_percent
    repository.move(
        uow.session,
        line,
        "approve_invoice",
        invoice.charge,
        now,
        invoice.id,
        holdback_percent=holdback_percent,
        from_committed=reserved,
    )
    invoice.booked(
        who.subject,
        now,
        remaining=Money(line.available_cents),
        held=holdback_share(invoice.charge, holdback_percent),
        held_transfer=holdback_share(invoice.total, line.holdback_percent),
    )
    repository.store_invoice(uow.session, row, invoice)
    audit_invoice_change(uow, who, row, before)
    emit_events(uow, invoice.events, tenant=row.municipality, subject=row.plan_id)
    check_thresholds(uow, budget, used_before)
    return row


@retry_on_contention
def approve_invoices(uow: UnitOfWork, who: Principal, invoice_ids: list[str]) -> list[ItemResult]:
    """Bulk approval: each invoice its own result; a refused one leaves the others approved."""
    authorize(who, Action.DECIDE_INVOICE)
    repository.lock_budgets(
        uow.session,
        uow.session.exec(
            select(Invoice.budget_id).where(col(Invoice.id).in_(invoice_ids), Invoice.municipality == who.municipality)
        ).all(),
    )
    results = []
    for index, invoice_id in enumerate(invoice_ids):
        try:
            row = each_in_a_savepoint(uow, partial(_approve, uow, who, invoice_id))
            results.append(
                ItemResult(
                    index=index, reference=invoice_id, status="accepted", invoice_id=invoice_id, message=row.status
                )
            )
        except DomainError as exc:  # a refusal, or not found (or not yours); database errors go up
            results.append(rejected(index, invoice_id, exc))
    uow.commit()
    return results


def reject_invoice(uow: UnitOfWork, who: Principal, invoice_id: str, cmd: RejectInvoice) -> InvoicePublic:
    authorize(who, Action.DECIDE_INVOICE)
    row = repository.invoice_for(uow.session, who, invoice_id, lock=True)
    before = audited_invoice(row)
    invoice = repository.invoice_of(row)
    invoice.reject(cmd.reason)
    repository.store_invoice(uow.session, row, invoice)
    audit_invoice_change(uow, who, row, before)
    emit_events(uow, invoice.events, tenant=row.municipality, subject=row.plan_id)
    uow.commit()
    return invoice_public(row)


# --- corrections --------------------------------------------------------------------------


@retry_on_contention
def credit_invoice(
    uow: UnitOfWork, who: Principal, invoice_id: str, cmd: CreditNoteIn, *, document: tuple[str, bytes] | None = None
) -> CreditNotePublic:
    """A credit note: before payment it lowers what will be paid; after payment it records money
    coming back. Either way the amount returns to the budget line as new ledger entries.

    `cmd.amount` is in budget terms (what the invoice charged the budget); the transfer (incl. VAT)
    goes down by the same share. `document` is the provider's own credit note (number, original),
    booked on an invoice once."""
    authorize(who, Action.CREDIT_INVOICE)
    amount = credit_amount(cmd.amount)
    _, line, row = repository.lock_for_invoice(uow.session, who, invoice_id)
    before = audited_invoice(row)
    invoice = repository.invoice_of(row)
    credit = invoice.credit(amount)
    now = uow.clock.now()
    repository.move(uow.session, line, credit.kind.value, credit.amount, now, invoice.id)
    repository.store_invoice(uow.session, row, invoice)
    note = CreditNote(
        municipality=row.municipality,
        invoice_id=row.id,
        kind=credit.kind,
        amount_cents=amount.cents,
        pay_cents=credit.transfer.cents,
        reason=cmd.reason,
        created_by=who.subject,
        created_at=now,
        document_number=document[0] if document else None,
        document=document[1] if document else None,
    )
    uow.session.add(note)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:
        raise DuplicateInvoice(
            "einvoice.credit_note_duplicate",
            f"Credit note {note.document_number} on this invoice was already booked.",
            "document_number",
            message_nl=f"Creditnota {note.document_number} is al op deze rekening geboekt.",
        ) from exc
    audit_invoice_change(uow, who, row, before)
    uow.commit()
    return CreditNotePublic(
        **note.model_dump(exclude={"amount_cents", "pay_cents", "municipality", "document"}),
        amount=amount.decimal,
        transfer=credit.transfer.decimal,
    )
