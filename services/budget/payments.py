"""Paying invoices: by hand (mark-paid) or in a payment run (a pain.001 file for the bank),
and the bank's confirmation. The PaymentRun aggregate decides what a run takes; each invoice
part paid is booked on its line (payable -> paid) and the Invoice aggregate records InvoicePaid.
"""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from services.budget import repository
from services.budget.commands import audit_invoice_change, audited_invoice, emit_events
from services.budget.domain import invoice as invoice_domain
from services.budget.domain.invoice import PaymentPart
from services.budget.domain.payment_file import Debtor
from services.budget.domain.payment_run import PaymentRun as PaymentRunAggregate
from services.budget.domain.payment_run import RunItem
from services.budget.models import (
    BudgetLine,
    Invoice,
    InvoicePublic,
    MarkPaid,
    PaymentItem,
    PaymentRun,
    PaymentRunCreate,
    PaymentRunPublic,
)
from services.budget.permissions import Action, authorize
from services.budget.queries import invoice_public, run_public
from shared.auth import Principal
from shared.contention import retry_on_contention
from shared.db import bulk_insert, insert_with_blob
from shared.errors import Conflict
from shared.metrics import count_payment_run
from shared.money import Money
from shared.uow import UnitOfWork

# --- payments -----------------------------------------------------------------------------


def _pay(
    uow: UnitOfWork, line: BudgetLine, row: Invoice, ledger: Money, transfer: Money, paid_on: date, part: str
) -> None:
    if ledger.cents:
        repository.move(uow.session, line, "pay", ledger, uow.clock.now(), row.id)
    invoice = repository.invoice_of(row)
    invoice.paid(part, transfer, paid_on)
    repository.store_invoice(uow.session, row, invoice)
    emit_events(uow, invoice.events, tenant=row.municipality, subject=row.plan_id)


def pay_item(uow: UnitOfWork, item: PaymentItem, line_id: str, paid_on: date) -> None:
    """One run item paid, the one way: the run's confirmation and a bank statement's booking alike
    (the ledger moves payable -> paid, the invoice records InvoicePaid). The caller holds the run's
    and the budget's locks, and records the item's `paid_on`."""
    line = repository.locked_line(uow.session, line_id)
    row = repository.locked_invoice(uow.session, item.invoice_id)
    pay_locked_item(uow, line, row, item, paid_on)


def pay_locked_item(uow: UnitOfWork, line: BudgetLine, row: Invoice, item: PaymentItem, paid_on: date) -> None:
    """As pay_item, for a caller that has locked (and looked at) the item's line and invoice."""
    _pay(uow, line, row, Money(item.ledger_cents), Money(item.amount_cents), paid_on, item.part)


@retry_on_contention
def mark_invoice_paid(uow: UnitOfWork, who: Principal, invoice_id: str, cmd: MarkPaid) -> InvoicePublic:
    """Manual "paid" (paid outside a payment run), for an approved invoice not in a run."""
    authorize(who, Action.MARK_INVOICE_PAID)
    _, line, row = repository.lock_for_invoice(uow.session, who, invoice_id)
    before = audited_invoice(row)
    invoice = repository.invoice_of(row)
    invoice.ensure_payable_by_hand()
    uow.session.add(
        PaymentItem(
            run_id="manual",
            invoice_id=row.id,
            part=PaymentPart.MAIN,
            end_to_end_id="manual",
            amount_cents=invoice.open_transfer.cents,
            ledger_cents=invoice.open_charge.cents,
            paid_on=cmd.paid_on,
        )
    )
    _pay(uow, line, row, invoice.open_charge, invoice.open_transfer, cmd.paid_on, PaymentPart.MAIN)
    audit_invoice_change(uow, who, row, before)
    uow.commit()
    return invoice_public(row)


RUN_CHUNK = 5_000  # invoices read, written into the file and stored per step of a payment run


def create_payment_run(uow: UnitOfWork, who: Principal, cmd: PaymentRunCreate) -> PaymentRunPublic:
    """Every approved, unpaid invoice part into one pain.001 file for the bank, in one transaction.

    Streamed in chunks of RUN_CHUNK invoices (docs/performance.md): each chunk is read from a
    server-side cursor, written into the file and its items stored with COPY; the file is then
    validated once and stored, and the invoices' status is set in one UPDATE."""
    authorize(who, Action.PAYMENT_RUNS)
    policy = repository.finance_policy(uow.session, who.municipality)
    run = PaymentRunAggregate.start(
        run_id=str(uuid.uuid4()),
        municipality=who.municipality,
        execution_date=cmd.execution_date,
        today=uow.clock.today(),
        debtor=Debtor(name=policy.debtor_name[:70], iban=policy.debtor_iban, bic=policy.debtor_bic),
        pain_schema=cmd.pain_schema or policy.pain_schema,
        created_at=uow.clock.now(),
    )
    try:
        for invoices in repository.payable_invoice_chunks(uow.session, who.municipality, RUN_CHUNK):
            _store_items(uow, run.id, run.take(invoices))
        run.finish()
    finally:
        run.discard()
    assert run.file is not None
    row = PaymentRun(
        id=run.id,
        municipality=run.municipality,
        pain_schema=run.pain_schema,
        message_id=run.message_id,
        execution_date=run.execution_date,
        item_count=run.item_count,
        total_cents=run.total.cents,
        xml=b"",  # the file goes into the column straight from its temporary file, below
        created_by=who.subject,
        created_at=uow.clock.now(),
    )
    with run.file.content as content:
        content.seek(0)
        insert_with_blob(uow.session, PaymentRun.__table__, row.model_dump(exclude={"xml"}), "xml", content)  # type: ignore[attr-defined]
    # Set-based: one update however many invoices the run holds.
    uow.session.execute(
        sa.update(Invoice)
        .where(
            col(Invoice.id) == col(PaymentItem.invoice_id),
            col(PaymentItem.run_id) == run.id,
            col(PaymentItem.part) == PaymentPart.MAIN,
            col(Invoice.status) == invoice_domain.InvoiceStatus.APPROVED,
        )
        .values(status=invoice_domain.InvoiceStatus.SCHEDULED)
        .execution_options(synchronize_session=False)
    )
    emit_events(uow, run.events, tenant=who.municipality, subject=run.id)
    uow.commit()
    count_payment_run("created", run.item_count)
    return run_public(row)


def _store_items(uow: UnitOfWork, run_id: str, items: list[RunItem]) -> None:
    """One chunk of a run's items, with COPY (a multi-row insert on SQLite)."""
    rows = [
        {
            "id": str(uuid.uuid4()),
            "run_id": run_id,
            "invoice_id": planned.item.invoice_id,
            "part": planned.item.part.value,
            "end_to_end_id": planned.end_to_end_id,
            "amount_cents": planned.item.amount.cents,
            "ledger_cents": planned.item.ledger.cents,
        }
        for planned in items
    ]
    try:
        bulk_insert(uow.session, PaymentItem.__table__, rows)  # type: ignore[attr-defined]  # set by SQLModel at runtime
    except IntegrityError as exc:  # another run took one of these invoices meanwhile
        raise Conflict(
            "payment_run.concurrent",
            "Another payment run took some of these invoices; try again.",
            message_nl="Een andere betaalrun nam intussen een deel van deze rekeningen; probeer het opnieuw.",
        ) from exc


@retry_on_contention
def confirm_payment_run(uow: UnitOfWork, who: Principal, run_id: str, cmd: MarkPaid) -> PaymentRunPublic:
    """The bank executed the run: every item is paid, once (those a bank statement already booked
    as paid or returned stay as they are)."""
    authorize(who, Action.PAYMENT_RUNS)
    row = repository.run_for(uow.session, who, run_id, lock=True)
    run = repository.run_of(row)
    run.confirm(cmd.paid_on)
    repository.lock_budgets(
        uow.session,
        uow.session.exec(
            select(Invoice.budget_id)
            .join(PaymentItem, col(PaymentItem.invoice_id) == col(Invoice.id))
            .where(PaymentItem.run_id == row.id)
        ).all(),
    )
    for item, _budget_id, line_id in repository.invoices_of_run(uow.session, row.id):
        if item.paid_on is None and item.returned_on is None:  # a bank statement may have settled it
            pay_item(uow, item, line_id, cmd.paid_on)
    # Set-based: one update however many items the run holds.
    uow.session.execute(
        sa.update(PaymentItem)
        .where(
            col(PaymentItem.run_id) == row.id,
            col(PaymentItem.paid_on).is_(None),
            col(PaymentItem.returned_on).is_(None),
        )
        .values(paid_on=cmd.paid_on)
        .execution_options(synchronize_session=False)
    )
    row.status, row.paid_on = run.status, run.paid_on
    uow.session.add(row)
    uow.commit()
    count_payment_run("confirmed")
    return run_public(row)
