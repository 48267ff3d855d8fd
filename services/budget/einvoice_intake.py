"""Turn uploaded documents (UBL e-invoices, PDFs with typed-in fields, receipts) into submissions.

UBL Invoice and CreditNote documents come in through `submit_einvoice`: an invoice is accepted
onto a budget line like a JSON invoice (with the Dutch rule warnings kept beside it); a credit
note is booked against the invoice it names through the credit note command.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, select

from services.budget import handlers
from services.budget.domain.einvoice import DocumentKind, EInvoiceError, ParsedInvoice, parse_einvoice
from services.budget.domain.invoice_checks import (
    DECLARATION_FIELDS,
    DuplicateInvoice,
    IncomingInvoice,
    InvoiceRejected,
    as_sent,
    charge,
    normalise_name,
)
from services.budget.handlers import Submission, _provider_id_for, provider_token
from services.budget.models import CreditNoteIn, CreditNotePublic, Invoice
from shared.auth import Principal, Role, require_role
from shared.errors import ConflictError, DomainError, ForbiddenError
from shared.identifiers import IdentifierError, validate_iban, validate_kvk, validate_vat
from shared.contention import retry_on_contention
from shared.money import Money, MoneyError
from shared.text import Line
from shared.uow import UnitOfWork

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
PDF_TYPES = {"application/pdf"}
IMAGE_TYPES = {"image/png", "image/jpeg"}
XML_TYPES = {"application/xml", "text/xml"}
_BILLING_REFERENCE = "/CreditNote/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
_FILENAME = TypeAdapter(Line)


def _checked_filename(filename: str) -> str:
    """An uploaded file's name is stored and shown: one line, no control characters (such as NUL)."""
    try:
        return _FILENAME.validate_python(filename)
    except ValidationError as exc:
        raise InvoiceRejected("document.filename", "The file name " + exc.errors()[0]["msg"].removeprefix(
            "Value error, ") + ".", "file") from exc


def _looks_like_xml(content: bytes) -> bool:
    return content.lstrip()[:1] == b"<"


def _parsed(content: bytes) -> ParsedInvoice:
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvoiceRejected("einvoice.too_large", "An e-invoice may be at most 10 MB.", "file")
    try:
        return parse_einvoice(content)
    except EInvoiceError as exc:
        raise InvoiceRejected(exc.code, exc.message, exc.field or "file") from exc


def submission_from_ubl(who: Principal, content: bytes, filename: str, flow: str = "provider") -> Submission:
    """A UBL Invoice as a submission (bulk and forwarded flows); a credit note is refused here."""
    filename = _checked_filename(filename)
    parsed = _parsed(content)
    if parsed.kind != DocumentKind.INVOICE:
        raise InvoiceRejected("einvoice.credit_note", "Send a UBL credit note on its own to POST /budget/v1/invoices/ubl; "
                              "finance books it against the invoice it corrects.", "file")
    return _invoice_submission(who, parsed, content, filename, flow)


def _invoice_submission(who: Principal, parsed: ParsedInvoice, content: bytes, filename: str,
                        flow: str) -> Submission:
    reference = next(iter(parsed.references), None)
    if not reference:
        raise InvoiceRejected("einvoice.no_reference", "The e-invoice needs the budget line as OrderReference or "
                              "BuyerReference.", "OrderReference")
    refused = [h for h in parsed.payment_holds if h.code != "einvoice.g_account"]
    if refused:
        raise InvoiceRejected(refused[0].code, refused[0].reason, "PaymentMeans")
    hold = next((h.reason for h in parsed.payment_holds), None)
    if not parsed.supplier.iban:
        raise InvoiceRejected("einvoice.no_iban", "The e-invoice has no IBAN to pay to (PaymentMeans).",
                              "PaymentMeans")
    try:
        iban = validate_iban(parsed.supplier.iban)
    except IdentifierError as exc:
        raise InvoiceRejected("invoice.iban", str(exc), "PaymentMeans") from exc
    totals = parsed.totals
    incoming = IncomingInvoice(
        invoice_number=parsed.invoice_number, provider_name=parsed.supplier.name, provider_kvk=parsed.supplier.kvk,
        provider_vat=parsed.supplier.vat_number, currency=parsed.currency,
        amount_excl_vat=totals.tax_exclusive, vat=totals.tax_amount,
        service_from=parsed.service_period[0], service_to=parsed.service_period[1], flow=flow,
        issue_date=parsed.issue_date, sent_by=provider_token(who) if flow == "provider" else None)
    return Submission(
        budget_line_id=reference, incoming=incoming,
        provider_id=_provider_id_for(who, None, parsed.supplier.kvk or _slug(parsed.supplier.name)),
        creditor_name=parsed.supplier.name, creditor_iban=iban, issue_date=parsed.issue_date, source="ubl",
        content_hash=parsed.content_sha256, document=(filename, "application/xml", content), payment_hold=hold,
        einvoice_warnings=tuple(w.as_dict() for w in parsed.warnings))


# --- one UBL document: an invoice or a credit note ------------------------------------------------


@retry_on_contention
def submit_einvoice(uow: UnitOfWork, who: Principal, content: bytes, filename: str = "invoice.xml",
                    ) -> dict[str, Any]:
    """Accept one UBL Invoice or CreditNote (the root element decides); nothing is written on a refusal.

    The answer is the invoice (or the credit note) as JSON with `document_kind` and the BR-NL
    warnings as `einvoice_warnings`."""
    parsed = _parsed(content)
    warnings = [w.as_dict() for w in parsed.warnings]
    if parsed.kind is DocumentKind.CREDIT_NOTE:
        note = book_credit_note(uow, who, parsed, content, filename)
        return {"document_kind": "credit_note", **note.model_dump(mode="json"),
                "credit_note_number": parsed.invoice_number, "einvoice_warnings": warnings}
    require_role(who, Role.FINANCE, Role.PROVIDER)
    invoice = handlers.accept_invoice(uow, who, _invoice_submission(who, parsed, content, filename, "provider"))
    uow.commit()
    return {"document_kind": "invoice", **handlers.invoice_public(invoice).model_dump(mode="json"),
            "einvoice_warnings": warnings}


def einvoice_warnings_of(session: Session, who: Principal, invoice_id: str) -> list[dict[str, str]]:
    """The BR-NL warnings recorded when the invoice came in as UBL (empty if there were none)."""
    return list(handlers.get_invoice_row(session, who, invoice_id).einvoice_warnings or [])


def book_credit_note(uow: UnitOfWork, who: Principal, parsed: ParsedInvoice, content: bytes,
                     filename: str) -> CreditNotePublic:
    """Book a UBL CreditNote against the invoice it names, through the credit note command.

    Refused (and nothing written) when it names no invoice or several, names one this supplier did
    not send in this municipality, was booked before, is not above zero, or is more than can be
    credited (the command decides that last part)."""
    if who.role != Role.FINANCE:
        # The credit note command is finance's: it lowers what is paid, or records a refund.
        raise ForbiddenError("einvoice.credit_note_by_finance", "Credit notes are booked by finance: send the UBL "
                             "credit note to the municipality's finance department.")
    _check_credit_note_identifiers(parsed)
    invoice = _credited_invoice(uow.session, who, parsed)
    policy = handlers.finance_policy(uow.session, invoice.municipality)
    incoming = IncomingInvoice(
        invoice_number=parsed.invoice_number, provider_name=parsed.supplier.name, provider_kvk=parsed.supplier.kvk,
        provider_vat=parsed.supplier.vat_number, currency=parsed.currency,
        amount_excl_vat=parsed.totals.tax_exclusive, vat=parsed.totals.tax_amount, service_from=None,
        service_to=None, flow="provider")
    amount = charge(incoming, policy.budgets_include_vat)
    if amount.cents <= 0 or incoming.amount_excl_vat.cents <= 0 or incoming.vat.cents < 0:
        raise InvoiceRejected("einvoice.credit_note_amount", "A credit note must credit an amount above zero (and "
                              "its VAT cannot be negative).", "/CreditNote/cac:LegalMonetaryTotal/cbc:PayableAmount")
    reason = f"UBL credit note {parsed.invoice_number[:80]} of {parsed.issue_date.isoformat()}"
    if parsed.warnings:
        reason += "; not recommended (BR-NL): " + ", ".join(sorted({w.rule for w in parsed.warnings}))
    try:
        cmd = CreditNoteIn(amount=amount.decimal, reason=reason[:1000])
    except ValidationError as exc:  # cannot happen for an amount above zero; kept so it is never a 500
        raise InvoiceRejected("einvoice.credit_note_amount", "The credit note amount is not usable.",
                              "/CreditNote/cac:LegalMonetaryTotal") from exc
    try:
        return handlers.credit_invoice(uow, who, invoice.id, cmd, document=(parsed.invoice_number, content))
    except DuplicateInvoice as exc:
        raise DuplicateInvoice(exc.code, exc.message, "/CreditNote/cbc:ID") from exc


def _check_credit_note_identifiers(parsed: ParsedInvoice) -> None:
    """The identifier checks an invoice gets, for the parts a credit note has."""
    supplier = parsed.supplier
    where = "/CreditNote/cac:AccountingSupplierParty/cac:Party"
    for value, check, code in ((supplier.kvk, validate_kvk, "invoice.kvk"),
                               (supplier.vat_number, validate_vat, "invoice.vat_number")):
        if value:
            try:
                check(value)
            except IdentifierError as exc:
                raise InvoiceRejected(code, str(exc), where) from exc
    for account in parsed.payee_accounts:
        try:
            validate_iban(account.iban)
        except IdentifierError as exc:
            raise InvoiceRejected("einvoice.iban_invalid", f"invalid IBAN: {account.iban} fails the IBAN check.",
                                  "/CreditNote/cac:PaymentMeans") from exc


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
        raise InvoiceRejected("einvoice.credit_note_no_invoice", "A credit note must name the invoice it corrects "
                              "(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID).", _BILLING_REFERENCE)
    if len(set(references)) > 1:
        raise InvoiceRejected("einvoice.credit_note_several_invoices", "This credit note names several invoices; "
                              "send one credit note per invoice.", _BILLING_REFERENCE)
    query = select(Invoice).where(Invoice.municipality == who.municipality, Invoice.invoice_number == references[0])
    if who.role == Role.PROVIDER:
        query = query.where(Invoice.provider_id == who.provider_id)
    found = [invoice for invoice in session.exec(query) if _same_supplier(invoice, parsed)]
    if not found:
        # The same answer for "no such invoice", another supplier's and another municipality's.
        raise InvoiceRejected("einvoice.credit_note_unknown_invoice", f"There is no invoice {references[0][:80]!r} "
                              "from this supplier to credit.", _BILLING_REFERENCE)
    if len(found) > 1:
        raise ConflictError("einvoice.credit_note_ambiguous", f"Several invoices {references[0][:80]!r} of this "
                            "supplier are known; book this credit note by hand.", _BILLING_REFERENCE)
    return found[0]


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())[:60] or "unknown"


def submission_from_upload(who: Principal, content: bytes, filename: str, content_type: str, *, flow: str,
                           fields: dict[str, Any]) -> Submission:
    """Flow 2 (forwarded invoice) and 3 (declaration): UBL speaks for itself; a PDF or photo needs fields.

    `fields` use the invoice's names; a refusal names the field as the flow's form calls it."""
    try:
        return _submission_from_upload(who, content, filename, content_type, flow=flow, fields=fields)
    except DomainError as exc:
        raise as_sent(exc, flow) from exc


def _submission_from_upload(who: Principal, content: bytes, filename: str, content_type: str, *, flow: str,
                            fields: dict[str, Any]) -> Submission:
    filename = _checked_filename(filename)
    if not content:
        raise InvoiceRejected("document.empty", "The uploaded file is empty.", "file")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvoiceRejected("document.too_large", "A document may be at most 10 MB.", "file")
    kind = content_type.split(";")[0].strip().lower()
    if kind in XML_TYPES or (not kind and _looks_like_xml(content)):
        submission = submission_from_ubl(who, content, filename, flow=flow)
        if submission.budget_line_id != fields["budget_line_id"]:
            submission = _with_line(submission, fields["budget_line_id"])
        return submission
    if kind in PDF_TYPES and not content.startswith(b"%PDF"):
        raise InvoiceRejected("document.not_pdf", "The file says it is a PDF but is not.", "file")
    if kind not in PDF_TYPES | IMAGE_TYPES:
        raise InvoiceRejected("document.type", "Upload a PDF, a photo (PNG, JPEG) or an e-invoice (UBL XML).", "file")
    for required in ("provider_name", "provider_iban", "invoice_number", "amount_excl_vat"):
        if not fields.get(required):
            shown = DECLARATION_FIELDS.get(required, required) if flow == "declaration" else required
            raise InvoiceRejected("invoice.missing_field", f"Fill in {shown}.", required)
    try:
        amount, vat = Money.euros(fields["amount_excl_vat"]), Money.euros(fields.get("vat") or "0")
    except MoneyError as exc:
        raise InvoiceRejected("invoice.amount", str(exc), "amount_excl_vat") from exc
    try:
        iban = validate_iban(fields["provider_iban"])
    except IdentifierError as exc:
        raise InvoiceRejected("invoice.iban", str(exc), "provider_iban") from exc
    service_from: date | None = fields.get("service_from")
    incoming = IncomingInvoice(
        invoice_number=str(fields["invoice_number"])[:80], provider_name=str(fields["provider_name"])[:200],
        provider_kvk=fields.get("provider_kvk"), provider_vat=None, currency="EUR", amount_excl_vat=amount, vat=vat,
        service_from=service_from, service_to=fields.get("service_to"), flow=flow, issue_date=service_from)
    provider_id = _provider_id_for(who, None, fields.get("provider_kvk") or _slug(incoming.provider_name))
    if flow == "declaration":
        provider_id = f"client:{who.client_id or who.subject}"
    return Submission(
        budget_line_id=fields["budget_line_id"], incoming=incoming, provider_id=provider_id,
        creditor_name=str(fields.get("creditor_name") or incoming.provider_name)[:70], creditor_iban=iban,
        issue_date=service_from, source="pdf" if kind in PDF_TYPES else "image",
        content_hash=hashlib.sha256(content).hexdigest(), document=(filename, kind, content))


def _with_line(submission: Submission, line_id: str) -> Submission:
    from dataclasses import replace

    return replace(submission, budget_line_id=line_id)


