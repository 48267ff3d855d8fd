"""Invoices in, by every flow: JSON (one or in bulk), the client's forwarded invoices and
declarations, and one UBL document (an Invoice, or a CreditNote booked against the invoice it
names). Each command checks the invoice against its budget line under the budget's lock, asks
the Invoice aggregate for its first state, stores it and emits what the aggregate recorded.
"""

from __future__ import annotations

import hashlib
import uuid
from functools import partial
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from services.budget import commands, intake_lines, providers, repository
from services.budget.commands import audited_invoice, each_in_a_savepoint, emit_events, rejected
from services.budget.domain import invoice as invoice_domain
from services.budget.domain.finance_policy import FinancePolicy
from services.budget.domain.invoice_checks import (
    DuplicateInvoice,
    IncomingInvoice,
    InvoiceRejected,
    as_sent,
    charge,
    check_invoice,
    needs_client_confirmation,
    normalise_name,
)
from services.budget.domain.provider_register import (
    CataloguePrice,
    Finding,
    UnregisteredProviders,
    catalogue_findings,
    hold_reason,
    register_findings,
)
from services.budget.domain.ubl import DocumentKind, ParsedInvoice
from services.budget.models import (
    BudgetLine,
    CreditNoteIn,
    CreditNotePublic,
    Invoice,
    InvoiceBatch,
    InvoiceDocument,
    InvoicePublic,
    ItemResult,
)
from services.budget.permissions import Action, authorize
from services.budget.queries import invoice_public
from services.budget.submissions import Submission, invoice_submission, parsed_einvoice
from shared import audit
from shared.auth import Principal, Role
from shared.contention import retry_on_contention
from shared.errors import Conflict, DomainError
from shared.identifiers import IdentifierError, validate_iban, validate_kvk, validate_vat
from shared.uow import UnitOfWork

# --- JSON and the client's flows --------------------------------------------------------------------------


def accept_invoice(
    uow: UnitOfWork, who: Principal, submission: Submission, audit_entries: list[audit.AuditEntry] | None = None
) -> Invoice:
    """Check and store one invoice in the current transaction; raise InvoiceRejected if it fails.

    Under the budget's lock: the invoice must fit in what is left after orders and the invoices
    already waiting for approval (`headroom`), so two invoices arriving at once cannot both
    claim the same money. `audit_entries`: collect the audit record there, for the caller to
    append with the others of its batch (one chain lock and one insert for the batch), instead
    of appending it now."""
    budget, line, order, policy = intake_lines.line_for_submission(uow.session, who, submission.budget_line_id)
    incoming = submission.incoming
    late = budget.status == "closed"
    snapshot = intake_lines.snapshot(uow.session, who, budget, line, order)
    today = uow.clock.today()
    if late:
        amount = charge(incoming, policy.budgets_include_vat)  # checked when finance decides on the review
        if amount.cents <= 0 or incoming.currency != "EUR":
            check_invoice(snapshot, incoming, budgets_include_vat=policy.budgets_include_vat, today=today)
    else:
        amount = check_invoice(snapshot, incoming, budgets_include_vat=policy.budgets_include_vat, today=today)
    creditor_iban, findings = _register_and_catalogue(uow, budget.municipality, line, submission, policy)
    decided = invoice_domain.Invoice.receive(
        invoice_id=str(uuid.uuid4()),
        budget_id=budget.id,
        budget_line_id=line.id,
        plan_id=budget.plan_id,
        client_id=budget.client_id,
        charge=amount,
        amount_excl_vat=incoming.amount_excl_vat,
        vat=incoming.vat,
        budget_closed=late,
        needs_client_confirmation=not late
        and needs_client_confirmation(snapshot, incoming, policy_asks=policy.client_confirms_provider_invoices),
        provider_id=submission.provider_id if submission.provider_is_identified else None,
        provider_kvk=incoming.provider_kvk,
    )
    invoice = Invoice(
        id=decided.id,
        municipality=budget.municipality,
        budget_id=budget.id,
        budget_line_id=line.id,
        order_id=order.id if order else None,
        plan_id=budget.plan_id,
        client_id=budget.client_id,
        flow=incoming.flow,
        source=submission.source,
        provider_id=submission.provider_id,
        provider_name=incoming.provider_name,
        provider_kvk=incoming.provider_kvk,
        provider_vat=incoming.provider_vat,
        creditor_name=submission.creditor_name,
        creditor_iban=creditor_iban,
        invoice_number=incoming.invoice_number,
        issue_date=submission.issue_date,
        service_from=incoming.service_from,
        service_to=incoming.service_to,
        currency=incoming.currency,
        amount_excl_vat_cents=incoming.amount_excl_vat.cents,
        vat_cents=incoming.vat.cents,
        amount_cents=amount.cents,
        content_hash=submission.content_hash,
        payment_hold=submission.payment_hold or hold_reason(findings),
        findings=[f.as_dict() for f in findings] or None,
        status=decided.status,
        einvoice_warnings=list(submission.einvoice_warnings) or None,
        provider_identified=submission.provider_is_identified,
        supplier_email=submission.supplier_email,
        received_at=uow.clock.now(),
    )
    uow.session.add(invoice)
    if submission.document:
        filename, content_type, content = submission.document
        uow.session.add(
            InvoiceDocument(
                invoice_id=invoice.id,
                filename=filename,
                content_type=content_type,
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
            )
        )
    # The duplicate rules are the unique constraints (same provider and number, same document):
    # no query first, and no savepoint of its own. A bulk item runs in its own savepoint already;
    # elsewhere the refusal ends the command, whose transaction is rolled back.
    try:
        uow.session.flush()
    except IntegrityError as exc:
        raise DuplicateInvoice(
            "invoice.duplicate",
            "This invoice was already received (same provider and number, or the same document).",
            "invoice_number",
            message_nl="Deze rekening is al ontvangen (dezelfde aanbieder en hetzelfde nummer, of hetzelfde document).",
        ) from exc
    emit_events(uow, decided.events, tenant=invoice.municipality, subject=invoice.plan_id)
    change = audit.change_entry(uow, who, invoice.client_id, audit.AuditAction.CREATE, new=audited_invoice(invoice))
    if change is not None:
        if audit_entries is not None:
            audit_entries.append(change)
        else:
            audit.append(uow.session, uow.service, [change])
    return invoice


def _register_and_catalogue(
    uow: UnitOfWork, municipality: str, line: BudgetLine, submission: Submission, policy: FinancePolicy
) -> tuple[str, list[Finding]]:
    """What the provider register and the line's price catalogue product say about an invoice:
    the IBAN to pay to (the register's, for a registered provider) and the findings that hold it.
    Matched on the KvK of the token that sends it, else the KvK the invoice names; never on a name.
    A declaration pays the client back: the register has nothing to say about it."""
    incoming = submission.incoming
    findings: list[Finding] = []
    iban = submission.creditor_iban
    if incoming.flow != "declaration":
        kvk = incoming.sent_by.kvk if incoming.sent_by is not None else None
        if kvk is None and incoming.provider_kvk:
            kvk = validate_kvk(incoming.provider_kvk)  # check_invoice has checked it
        entry = providers.registered(uow.session, municipality, kvk) if kvk else None
        findings += register_findings(
            entry,
            kvk=kvk,
            invoice_iban=submission.creditor_iban,
            unregistered=UnregisteredProviders(policy.unregistered_providers),
        )
        if entry is not None:
            iban = entry.iban  # the payee comes from the register, never from the invoice
    price = (
        CataloguePrice(line.product_code, line.product_unit or "", line.max_unit_price_cents)
        if line.product_code and line.max_unit_price_cents
        else None
    )
    findings += catalogue_findings(price, list(submission.unit_prices))
    return iban, findings


@retry_on_contention
def submit_invoice(uow: UnitOfWork, who: Principal, submission: Submission) -> InvoicePublic:
    """One invoice: accepted (201) or a problem naming the failed check; nothing half-written."""
    authorize(who, Action.SEND_INVOICE)
    invoice = accept_invoice(uow, who, submission)
    uow.commit()
    return invoice_public(invoice)


@retry_on_contention
def submit_invoices(
    uow: UnitOfWork,
    who: Principal,
    submissions: list[tuple[str | None, Submission | DomainError]],
) -> tuple[InvoiceBatch, list[ItemResult]]:
    """Many invoices at once: each gets its own result; one bad invoice never rejects the others."""
    authorize(who, Action.SEND_INVOICE)
    references = {s.budget_line_id for _, s in submissions if isinstance(s, Submission)}
    repository.lock_budgets(uow.session, intake_lines.budgets_referenced(uow.session, who, references))
    intake_lines.read_locked_lines(uow.session, who, references)
    results: list[ItemResult] = []
    # The accepted invoices' audit records go in at the end, in their order: the municipality's
    # chain is locked from then until the commit, not for the whole batch.
    audit_entries: list[audit.AuditEntry] = []
    for index, (reference, submission) in enumerate(submissions):
        if isinstance(submission, DomainError):
            results.append(rejected(index, reference, submission))
            continue
        entries: list[audit.AuditEntry] = []
        try:
            invoice = each_in_a_savepoint(uow, partial(accept_invoice, uow, who, submission, entries))
            results.append(ItemResult(index=index, reference=reference, status="accepted", invoice_id=invoice.id))
            audit_entries += entries
            intake_lines.accepted(uow.session, invoice)
        except DomainError as exc:
            results.append(rejected(index, reference, exc))
    audit.append(uow.session, uow.service, audit_entries)
    batch = InvoiceBatch(
        municipality=who.municipality,
        submitted_by=who.subject,
        provider_id=who.provider_id,
        results=[r.model_dump(mode="json") for r in results],
        created_at=uow.clock.now(),
    )
    uow.session.add(batch)
    uow.commit()
    return batch, results


@retry_on_contention
def submit_client_invoice(uow: UnitOfWork, who: Principal, submission: Submission) -> InvoicePublic:
    """Flows 2 and 3: the client forwards a provider's invoice, or declares what they paid."""
    authorize(who, Action.SEND_INVOICE_FOR_CLIENT)
    try:
        row = accept_invoice(uow, who, submission)
    except DomainError as exc:
        raise as_sent(exc, submission.incoming.flow) from exc
    if who.is_client_side():
        invoice = repository.invoice_of(row)
        invoice.sent_by_client(uow.clock.now())
        repository.store_invoice(uow.session, row, invoice)
    uow.commit()
    return invoice_public(row)


# --- one UBL document: an invoice or a credit note ------------------------------------------------

_BILLING_REFERENCE = "/CreditNote/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"


@retry_on_contention
def submit_einvoice(
    uow: UnitOfWork,
    who: Principal,
    content: bytes,
    filename: str = "invoice.xml",
) -> dict[str, Any]:
    """Accept one UBL Invoice or CreditNote (the root element decides); nothing is written on a refusal.

    The answer is the invoice (or the credit note) as JSON with `document_kind` and the BR-NL
    warnings as `einvoice_warnings`."""
    parsed = parsed_einvoice(content)
    warnings = [w.as_dict() for w in parsed.warnings]
    if parsed.kind is DocumentKind.CREDIT_NOTE:
        note = book_credit_note(uow, who, parsed, content, filename)
        return {
            "document_kind": "credit_note",
            **note.model_dump(mode="json"),
            "credit_note_number": parsed.invoice_number,
            "einvoice_warnings": warnings,
        }
    authorize(who, Action.SEND_INVOICE)
    invoice = accept_invoice(uow, who, invoice_submission(who, parsed, content, filename, "provider"))
    uow.commit()
    return {
        "document_kind": "invoice",
        **invoice_public(invoice).model_dump(mode="json"),
        "einvoice_warnings": warnings,
    }


def book_credit_note(
    uow: UnitOfWork, who: Principal, parsed: ParsedInvoice, content: bytes, filename: str
) -> CreditNotePublic:
    """Book a UBL CreditNote against the invoice it names, through the credit note command.

    Refused (and nothing written) when it names no invoice or several, names one this supplier did
    not send in this municipality, was booked before, is not above zero, or is more than can be
    credited (the command decides that last part)."""
    # The credit note command is finance's: it lowers what is paid, or records a refund.
    authorize(who, Action.BOOK_CREDIT_NOTE)
    _check_credit_note_identifiers(parsed)
    invoice = _credited_invoice(uow.session, who, parsed)
    policy = repository.finance_policy(uow.session, invoice.municipality)
    incoming = IncomingInvoice(
        invoice_number=parsed.invoice_number,
        provider_name=parsed.supplier.name,
        provider_kvk=parsed.supplier.kvk,
        provider_vat=parsed.supplier.vat_number,
        currency=parsed.currency,
        amount_excl_vat=parsed.totals.tax_exclusive,
        vat=parsed.totals.tax_amount,
        service_from=None,
        service_to=None,
        flow="provider",
    )
    amount = charge(incoming, policy.budgets_include_vat)
    if amount.cents <= 0 or incoming.amount_excl_vat.cents <= 0 or incoming.vat.cents < 0:
        raise InvoiceRejected(
            "einvoice.credit_note_amount",
            "A credit note must credit an amount above zero (and its VAT cannot be negative).",
            "/CreditNote/cac:LegalMonetaryTotal/cbc:PayableAmount",
        )
    reason = f"UBL credit note {parsed.invoice_number[:80]} of {parsed.issue_date.isoformat()}"
    if parsed.warnings:
        reason += "; not recommended (BR-NL): " + ", ".join(sorted({w.rule for w in parsed.warnings}))
    try:
        cmd = CreditNoteIn(amount=amount.decimal, reason=reason[:1000])
    except ValidationError as exc:  # cannot happen for an amount above zero; kept so it is never a 500
        raise InvoiceRejected(
            "einvoice.credit_note_amount", "The credit note amount is not usable.", "/CreditNote/cac:LegalMonetaryTotal"
        ) from exc
    try:
        return commands.credit_invoice(uow, who, invoice.id, cmd, document=(parsed.invoice_number, content))
    except DuplicateInvoice as exc:
        raise DuplicateInvoice(exc.code, exc.message, "/CreditNote/cbc:ID") from exc


def _check_credit_note_identifiers(parsed: ParsedInvoice) -> None:
    """The identifier checks an invoice gets, for the parts a credit note has."""
    supplier = parsed.supplier
    where = "/CreditNote/cac:AccountingSupplierParty/cac:Party"
    for value, check, code in (
        (supplier.kvk, validate_kvk, "invoice.kvk"),
        (supplier.vat_number, validate_vat, "invoice.vat_number"),
    ):
        if value:
            try:
                check(value)
            except IdentifierError as exc:
                raise InvoiceRejected(code, str(exc), where) from exc
    for account in parsed.payee_accounts:
        try:
            validate_iban(account.iban)
        except IdentifierError as exc:
            raise InvoiceRejected(
                "einvoice.iban_invalid",
                f"invalid IBAN: {account.iban} fails the IBAN check.",
                "/CreditNote/cac:PaymentMeans",
            ) from exc


def _same_supplier(invoice: Invoice, parsed: ParsedInvoice) -> bool:
    if invoice.provider_kvk and parsed.supplier.kvk:
        try:
            return validate_kvk(invoice.provider_kvk) == validate_kvk(parsed.supplier.kvk)
        except IdentifierError:
            return False
    return normalise_name(invoice.provider_name) == normalise_name(parsed.supplier.name)


def _credited_invoice(session: Session, who: Principal, parsed: ParsedInvoice) -> Invoice:
    references = parsed.billing_references
    if not references:
        raise InvoiceRejected(
            "einvoice.credit_note_no_invoice",
            "A credit note must name the invoice it corrects "
            "(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID).",
            _BILLING_REFERENCE,
        )
    if len(set(references)) > 1:
        raise InvoiceRejected(
            "einvoice.credit_note_several_invoices",
            "This credit note names several invoices; send one credit note per invoice.",
            _BILLING_REFERENCE,
        )
    query = select(Invoice).where(Invoice.municipality == who.municipality, Invoice.invoice_number == references[0])
    if who.role == Role.PROVIDER:
        query = query.where(Invoice.provider_id == who.provider_id)
    found = [invoice for invoice in session.exec(query) if _same_supplier(invoice, parsed)]
    if not found:
        # The same answer for "no such invoice", another supplier's and another municipality's.
        raise InvoiceRejected(
            "einvoice.credit_note_unknown_invoice",
            f"There is no invoice {references[0][:80]!r} from this supplier to credit.",
            _BILLING_REFERENCE,
        )
    if len(found) > 1:
        raise Conflict(
            "einvoice.credit_note_ambiguous",
            f"Several invoices {references[0][:80]!r} of this supplier are known; book this credit note by hand.",
            _BILLING_REFERENCE,
            message_nl=f"Er zijn meerdere rekeningen {references[0][:80]!r} van deze leverancier; "
            "boek deze creditnota met de hand.",
        )
    return found[0]
