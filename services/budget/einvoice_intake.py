"""Turn uploaded documents (UBL e-invoices, PDFs with typed-in fields, receipts) into submissions."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any


from services.budget.domain.invoice_checks import IncomingInvoice, InvoiceRejected
from services.budget.handlers import Submission, _provider_id_for
from shared.auth import Principal
from shared.identifiers import IdentifierError, validate_iban
from shared.money import Money, MoneyError

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
PDF_TYPES = {"application/pdf"}
IMAGE_TYPES = {"image/png", "image/jpeg"}
XML_TYPES = {"application/xml", "text/xml"}


def _looks_like_xml(content: bytes) -> bool:
    return content.lstrip()[:1] == b"<"


def submission_from_ubl(who: Principal, content: bytes, filename: str, flow: str = "provider") -> Submission:
    from services.budget.domain.einvoice import DocumentKind, EInvoiceError, parse_einvoice

    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvoiceRejected("einvoice.too_large", "An e-invoice may be at most 10 MB.", "file")
    try:
        parsed = parse_einvoice(content)
    except EInvoiceError as exc:
        raise InvoiceRejected(exc.code, exc.message, exc.field or "file") from exc
    if parsed.kind != DocumentKind.INVOICE:
        raise InvoiceRejected("einvoice.credit_note", "Send credit notes to finance; they are booked as corrections.",
                              "file")
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
        service_from=parsed.service_period[0], service_to=parsed.service_period[1], flow=flow)
    return Submission(
        budget_line_id=reference, incoming=incoming,
        provider_id=_provider_id_for(who, None, parsed.supplier.kvk or _slug(parsed.supplier.name)),
        creditor_name=parsed.supplier.name, creditor_iban=iban, issue_date=parsed.issue_date, source="ubl",
        content_hash=parsed.content_sha256, document=(filename, "application/xml", content), payment_hold=hold)


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())[:60] or "unknown"


def submission_from_upload(who: Principal, content: bytes, filename: str, content_type: str, *, flow: str,
                           fields: dict[str, Any]) -> Submission:
    """Flow 2 (forwarded invoice) and 3 (declaration): UBL speaks for itself; a PDF or photo needs fields."""
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
            raise InvoiceRejected("invoice.missing_field", f"Fill in {required}.", required)
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
        service_from=service_from, service_to=fields.get("service_to"), flow=flow)
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


