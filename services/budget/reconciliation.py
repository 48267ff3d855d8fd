"""Reconciling payment runs from the bank's own account of them: a camt.053 statement or a camt.054
notification. Each booked transaction is matched to a payment-run item of the caller's
municipality by its EndToEndId; a payment the bank booked is paid the one way a confirmed run
pays it (payments.pay_item: the ledger and InvoicePaid), a payment the bank returned is payable
again (the ledger moves paid -> payable), and anything else is listed and changes nothing.

The same file twice changes nothing the second time and answers the same result: a file is
stored once per municipality and message id (unique), with each transaction's outcome.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from services.budget import repository
from services.budget.commands import each_in_a_savepoint, emit_events
from services.budget.domain.bank_statement import (
    BankStatement as ParsedStatement,
)
from services.budget.domain.bank_statement import (
    BankTransaction,
    Decision,
    ItemState,
    Outcome,
    decide,
    parse_bank_statement,
    return_reason,
)
from services.budget.domain.invoice import HoldbackStatus, InvoiceStatus, PaymentPart
from services.budget.domain.payment_run import PaymentRunStatus
from services.budget.models import Invoice, PaymentItem, PaymentRun
from services.budget.models_bank import (
    BankEntryPublic,
    BankStatement,
    BankStatementEntry,
    BankStatementPublic,
    outcome_counts,
)
from services.budget.payments import pay_locked_item
from services.budget.permissions import Action, authorize
from shared.auth import Principal
from shared.contention import retry_on_contention
from shared.db import bulk_insert
from shared.errors import Conflict, DomainError, NotFound, RuleBroken
from shared.money import Money
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

_CHUNK = 5000  # end-to-end ids per query (SQLite and PostgreSQL both take that many parameters)
Match = tuple[PaymentItem, str, str]  # the item, its invoice's budget and line


@retry_on_contention
def import_bank_statement(uow: UnitOfWork, who: Principal, content: bytes) -> tuple[bool, BankStatementPublic]:
    """Import a camt.053/054 file: (True, its result) the first time, (False, the stored result)
    when this municipality imported the same file before."""
    authorize(who, Action.PAYMENT_RUNS)
    parsed = parse_bank_statement(content)
    sha256 = hashlib.sha256(content).hexdigest()
    earlier = _stored(uow.session, who.municipality, parsed.message_id)
    if earlier is not None:
        return False, _repeat(uow.session, earlier, sha256)
    _check_account(uow.session, who.municipality, parsed)

    ids = {tx.end_to_end_id for tx in parsed.transactions if tx.end_to_end_id}
    found = _items(uow.session, who.municipality, ids)
    # Locks in the order every money path takes them: the runs (in id order), then the budgets.
    run_ids = sorted({item.run_id for item, _, _ in found.values()})
    runs = {
        run.id: run
        for run in uow.session.exec(
            select(PaymentRun)
            .where(col(PaymentRun.id).in_(run_ids))
            .order_by(PaymentRun.id)
            .with_for_update()
            .execution_options(**repository.FRESH)
        )
    }
    repository.lock_budgets(uow.session, (budget_id for _, budget_id, _ in found.values()))
    found = _items(uow.session, who.municipality, ids)  # re-read under the locks

    statement = BankStatement(
        municipality=who.municipality,
        message=parsed.message,
        schema_version=parsed.schema,
        message_id=parsed.message_id,
        statement_ids=list(parsed.statement_ids),
        account_iban=parsed.accounts[0] if parsed.accounts else None,
        sha256=sha256,
        size=len(content),
        document=content,
        transaction_count=len(parsed.transactions),
        outcomes={},
        imported_by=who.subject,
        imported_at=uow.clock.now(),
    )
    uow.session.add(statement)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:  # the same file, imported at the same moment by someone else
        uow.rollback()  # nothing was changed yet; the other import has committed: answer its result
        earlier = _stored(uow.session, who.municipality, parsed.message_id)
        if earlier is None:
            raise Conflict(
                "bank_statement.concurrent",
                "This bank statement is being imported right now; try again to see its result.",
                "file",
                message_nl="Dit bankafschrift wordt op dit moment ingelezen; probeer het opnieuw voor het resultaat.",
            ) from exc
        return False, _repeat(uow.session, earlier, sha256)

    paid: list[tuple[str, date]] = []  # the items this file pays, and on which day
    entries = [_reconcile(uow, statement.id, tx, found.get(tx.end_to_end_id or ""), paid) for tx in parsed.transactions]
    _record_paid(uow, paid)
    _settle_runs(uow, runs.values())
    statement.outcomes = outcome_counts([entry["outcome"] for entry in entries])
    uow.session.add(statement)
    uow.session.flush()
    bulk_insert(uow.session, BankStatementEntry.__table__, entries)  # type: ignore[attr-defined]  # set by SQLModel
    uow.commit()
    return True, statement_public(statement, [BankStatementEntry(**entry) for entry in entries])


def _stored(session: Session, municipality: str, message_id: str) -> BankStatement | None:
    return session.exec(
        select(BankStatement).where(BankStatement.municipality == municipality, BankStatement.message_id == message_id)
    ).first()


def _repeat(session: Session, earlier: BankStatement, sha256: str) -> BankStatementPublic:
    if earlier.sha256 != sha256:
        raise Conflict(
            "bank_statement.message_id_reused",
            f"A different bank statement with message id {earlier.message_id} was imported before.",
            "GrpHdr/MsgId",
            message_nl=f"Er is al een ander bankafschrift met bericht-id {earlier.message_id} ingelezen.",
        )
    return statement_public(earlier, _entries(session, earlier.id))


def _check_account(session: Session, municipality: str, parsed: ParsedStatement) -> None:
    """A statement of another account than the one the runs are paid from is the wrong file."""
    own = repository.finance_policy(session, municipality).debtor_iban.replace(" ", "").upper()
    others = [iban for iban in parsed.accounts if iban != own]
    if others:
        raise RuleBroken(
            "bank_statement.account",
            f"The statement is about account {others[0]}, not the municipality's payment account.",
            "Acct/Id/IBAN",
            message_nl=f"Het afschrift gaat over rekening {others[0]}, niet over de betaalrekening van de gemeente.",
        )


def _items(session: Session, municipality: str, ids: set[str]) -> dict[str, Match]:
    """This municipality's run items by end-to-end id (one not returned before one returned)."""
    found: dict[str, Match] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), _CHUNK):
        rows = session.exec(
            select(PaymentItem, Invoice.budget_id, Invoice.budget_line_id)
            .join(PaymentRun, col(PaymentRun.id) == col(PaymentItem.run_id))
            .join(Invoice, col(Invoice.id) == col(PaymentItem.invoice_id))
            .where(
                col(PaymentItem.end_to_end_id).in_(wanted[start : start + _CHUNK]),
                PaymentRun.municipality == municipality,
                Invoice.municipality == municipality,
            )
            .execution_options(**repository.FRESH)
        )
        for item, budget_id, line_id in rows:
            known = found.get(item.end_to_end_id)
            if known is None or (known[0].returned_on is not None and item.returned_on is None):
                found[item.end_to_end_id] = (item, budget_id, line_id)
    return found


def _state(item: PaymentItem) -> ItemState:
    if item.returned_on is not None:
        return ItemState.RETURNED
    return ItemState.PAID if item.paid_on is not None else ItemState.OPEN


def _reconcile(
    uow: UnitOfWork, statement_id: str, tx: BankTransaction, match: Match | None, paid: list[tuple[str, date]]
) -> dict[str, Any]:
    item = match[0] if match else None
    decision = decide(tx, Money(item.amount_cents) if item else None, _state(item) if item else None)
    if match is not None and decision.outcome is Outcome.PAID:
        decision = _pay(uow, tx, match, decision, paid)
    elif match is not None and decision.outcome is Outcome.RETURNED:
        try:
            each_in_a_savepoint(uow, lambda: _return_item(uow, *match, tx))
        except DomainError as exc:  # the invoice changed since it was paid (a refund, say): listed, not booked
            decision = Decision(Outcome.REFUSED, f"{exc.code}: {exc.message}")
    return {
        "id": str(uuid.uuid4()),
        "bank_statement_id": statement_id,
        "position": tx.position,
        "statement_id": tx.statement_id,
        "entry_ref": tx.entry_ref,
        "end_to_end_id": tx.end_to_end_id,
        "booking_date": tx.booking_date,
        "status": tx.status,
        "credit_debit": tx.credit_debit,
        "amount_cents": tx.amount.cents if tx.amount is not None else None,
        "currency": tx.currency,
        "outcome": decision.outcome.value,
        "reason_code": tx.return_code if tx.returned else None,
        "payment_run_id": item.run_id if item else None,
        "payment_item_id": item.id if item else None,
        "invoice_id": item.invoice_id if item else None,
        "message": decision.message[:300],
    }


def _pay(
    uow: UnitOfWork, tx: BankTransaction, match: Match, decision: Decision, paid: list[tuple[str, date]]
) -> Decision:
    """Pay the item as a confirmed run pays it. Checked first rather than tried in a savepoint:
    a savepoint per item re-locks the line for each (PostgreSQL), which doubled an import's time."""
    item, _budget_id, line_id = match
    line = repository.locked_line(uow.session, line_id)
    row = repository.locked_invoice(uow.session, item.invoice_id)
    if item.part == PaymentPart.MAIN:
        payable = row.status == InvoiceStatus.SCHEDULED
    else:
        payable = row.holdback_status == HoldbackStatus.RELEASED
    if not payable or line.payable_cents < item.ledger_cents:
        return Decision(Outcome.REFUSED, f"The invoice is {row.status} and cannot be paid from this run now.")
    on = tx.booking_date or uow.clock.today()
    pay_locked_item(uow, line, row, item, on)
    # Seen by the file's later transactions now; written for all of them in one update (_record_paid).
    set_committed_value(item, "paid_on", on)
    paid.append((item.id, on))
    return decision


def _record_paid(uow: UnitOfWork, paid: list[tuple[str, date]]) -> None:
    by_day: dict[date, list[str]] = {}
    for item_id, on in paid:
        by_day.setdefault(on, []).append(item_id)
    for on, ids in by_day.items():
        for start in range(0, len(ids), _CHUNK):
            uow.session.execute(
                sa.update(PaymentItem)
                .where(col(PaymentItem.id).in_(ids[start : start + _CHUNK]))
                .values(paid_on=on)
                .execution_options(synchronize_session=False)
            )


def _return_item(uow: UnitOfWork, item: PaymentItem, _budget_id: str, line_id: str, tx: BankTransaction) -> None:
    """The bank returned the transfer: what it had paid is payable again, and the invoice waits
    on a payment hold naming the reason (the account may be closed: finance pays it by hand)."""
    on = tx.booking_date or uow.clock.today()
    was_paid = item.paid_on is not None
    line = repository.locked_line(uow.session, line_id)
    row = repository.locked_invoice(uow.session, item.invoice_id)
    if was_paid and item.ledger_cents:
        repository.move(uow.session, line, "return_payment", Money(item.ledger_cents), uow.clock.now(), row.id)
    reason = return_reason(tx.return_code)
    code = f"{reason.code}: " if reason.code else ""
    invoice = repository.invoice_of(row)
    invoice.payment_returned(
        item.part,
        Money(item.amount_cents),
        was_paid=was_paid,
        reason_code=reason.code or None,
        hold=f"Teruggeboekt door de bank ({code}{reason.nl}) / Returned by the bank ({code}{reason.en})",
        returned_on=on,
    )
    repository.store_invoice(uow.session, row, invoice)
    emit_events(uow, invoice.events, tenant=row.municipality, subject=row.plan_id)
    item.returned_on, item.return_code = on, reason.code or None
    uow.session.add(item)
    uow.session.flush()


def _settle_runs(uow: UnitOfWork, runs: Iterable[PaymentRun]) -> None:
    """A run whose every item the bank has now paid or returned is paid, as a confirmed one."""
    for run in runs:
        if run.status != PaymentRunStatus.SCHEDULED:
            continue
        items = uow.session.exec(select(PaymentItem).where(PaymentItem.run_id == run.id)).all()
        if any(item.paid_on is None and item.returned_on is None for item in items):
            continue
        days = [day for item in items for day in (item.paid_on, item.returned_on) if day is not None]
        aggregate = repository.run_of(run)
        aggregate.confirm(max(days))
        run.status, run.paid_on = aggregate.status, aggregate.paid_on
        uow.session.add(run)


# --- reading ------------------------------------------------------------------------------


def _entries(session: Session, statement_id: str) -> list[BankStatementEntry]:
    return list(
        session.exec(
            select(BankStatementEntry)
            .where(BankStatementEntry.bank_statement_id == statement_id)
            .order_by(col(BankStatementEntry.position))
        )
    )


def entry_public(entry: BankStatementEntry) -> BankEntryPublic:
    reason = return_reason(entry.reason_code) if entry.outcome == Outcome.RETURNED or entry.reason_code else None
    return BankEntryPublic(
        **entry.model_dump(exclude={"amount_cents", "id", "bank_statement_id", "payment_item_id"}),
        amount=Money(entry.amount_cents).decimal if entry.amount_cents is not None else None,
        reason=reason.en if reason else None,
        reason_nl=reason.nl if reason else None,
    )


def statement_public(statement: BankStatement, entries: list[BankStatementEntry] | None = None) -> BankStatementPublic:
    return BankStatementPublic(
        **statement.model_dump(include=set(BankStatementPublic.model_fields) - {"entries"}),
        entries=[entry_public(entry) for entry in entries] if entries is not None else None,
    )


def list_bank_statements(session: Session, who: Principal, page: PageRequest) -> Page[BankStatementPublic]:
    authorize(who, Action.PAYMENT_RUNS)
    query = (
        select(BankStatement)
        .where(BankStatement.municipality == who.municipality)
        .order_by(col(BankStatement.imported_at), col(BankStatement.id))
    )
    return page_of(session, query, page).map(statement_public)


def get_bank_statement(session: Session, who: Principal, statement_id: str) -> BankStatementPublic:
    authorize(who, Action.PAYMENT_RUNS)
    statement = session.get(BankStatement, statement_id)
    if statement is None or statement.municipality != who.municipality:
        raise NotFound("bank statement", "bankafschrift")
    return statement_public(statement, _entries(session, statement.id))
