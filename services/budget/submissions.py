"""How an invoice arrives, in one shape: a `Submission`, from JSON, a UBL e-invoice, or an upload
(a PDF or photo with typed-in fields, or a receipt). Parsing and identifier checks only; the
invoice checks against the budget line run when the command accepts it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from services.budget.domain.einvoice import parse_einvoice
from services.budget.domain.invoice_checks import (
    DECLARATION_FIELDS,
    IncomingInvoice,
    InvoiceRejected,
    ProviderToken,
    as_sent,
    kvk_of_provider_id,
)
from services.budget.domain.ubl import DocumentKind, EInvoiceError, ParsedInvoice
from services.budget.models import InvoiceIn
from shared.auth import Principal, Role
from shared.errors import DomainError, RuleBroken
from shared.identifiers import IdentifierError, validate_iban
from shared.money import Money, MoneyError
from shared.text import Line

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
PDF_TYPES = {"application/pdf"}
IMAGE_TYPES = {"image/png", "image/jpeg"}
XML_TYPES = {"application/xml", "text/xml"}
_FILENAME = TypeAdapter(Line)


def _checked_filename(filename: str) -> str:
    """An uploaded file's name is stored and shown: one line, no control characters (such as NUL)."""
    try:
        return _FILENAME.validate_python(filename)
    except ValidationError as exc:
        raise InvoiceRejected(
            "document.filename", "The file name " + exc.errors()[0]["msg"].removeprefix("Value error, ") + ".", "file"
        ) from exc


def _looks_like_xml(content: bytes) -> bool:
    return content.lstrip()[:1] == b"<"


def parsed_einvoice(content: bytes) -> ParsedInvoice:
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InvoiceRejected("einvoice.too_large", "An e-invoice may be at most 10 MB.", "file")
    try:
        return parse_einvoice(content)
    except EInvoiceError as exc:
        raise InvoiceRejected(exc.code, exc.message, exc.field or "file") from exc


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
    # False when provider_id was made up from a name (or is the declaring client's): then the
    # invoice events do not carry it, since events carry identifiers only, never a name.
    provider_is_identified: bool = True
    supplier_email: str | None = None  # where to tell the supplier about its invoice; never in an event
    # The unit prices (euros, excl. VAT) the invoice charges: its UBL lines', or a JSON invoice's
    # amount over its `quantity`; checked against the line's price catalogue product.
    unit_prices: tuple[Decimal, ...] = ()


def content_hash_of_json(data: InvoiceIn, provider_id: str) -> str:
    canonical = json.dumps(
        {"provider": provider_id, **data.model_dump(mode="json", exclude={"amount", "supplier_email"})},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def provider_id_for(who: Principal, given: str | None, kvk: str | None) -> str:
    if who.role == Role.PROVIDER:
        return who.provider_id or ""
    if given:
        return given
    if kvk:
        return f"kvk:{kvk}"
    raise RuleBroken(
        "invoice.provider",
        "Name the provider (provider_id or provider_kvk).",
        "provider_id",
        message_nl="Noem de aanbieder (provider_id of provider_kvk).",
    )


def provider_token(who: Principal) -> ProviderToken | None:
    """For a provider's own token: the identity it proves (its KvK, if its provider id carries one)."""
    return ProviderToken(kvk_of_provider_id(who.provider_id)) if who.role == Role.PROVIDER else None


def submission_from_json(who: Principal, data: InvoiceIn) -> Submission:
    provider_id = provider_id_for(who, data.provider_id, data.provider_kvk)
    incoming = IncomingInvoice(
        invoice_number=data.invoice_number,
        provider_name=data.provider_name,
        provider_kvk=data.provider_kvk,
        provider_vat=data.provider_vat,
        currency=data.currency,
        amount_excl_vat=Money.euros(data.amount_excl_vat or data.amount or 0),  # one_amount set the first
        vat=Money.euros(data.vat),
        service_from=data.service_from,
        service_to=data.service_to,
        flow="provider",
        issue_date=data.issue_date,
        sent_by=provider_token(who),
    )
    return Submission(
        budget_line_id=data.budget_line_id,
        incoming=incoming,
        provider_id=provider_id,
        creditor_name=data.provider_name,
        creditor_iban=data.provider_iban,
        issue_date=data.issue_date,
        source="json",
        content_hash=content_hash_of_json(data, provider_id),
        supplier_email=data.supplier_email,
        unit_prices=(incoming.amount_excl_vat.decimal / data.quantity,) if data.quantity else (),
    )


def submission_from_ubl(who: Principal, content: bytes, filename: str, flow: str = "provider") -> Submission:
    """A UBL Invoice as a submission (bulk and forwarded flows); a credit note is refused here."""
    filename = _checked_filename(filename)
    parsed = parsed_einvoice(content)
    if parsed.kind != DocumentKind.INVOICE:
        raise InvoiceRejected(
            "einvoice.credit_note",
            "Send a UBL credit note on its own to POST "
            "/budget/v1/invoices/ubl; finance books it against the invoice it corrects.",
            "file",
        )
    return invoice_submission(who, parsed, content, filename, flow)


def invoice_submission(who: Principal, parsed: ParsedInvoice, content: bytes, filename: str, flow: str) -> Submission:
    reference = next(iter(parsed.references), None)
    if not reference:
        raise InvoiceRejected(
            "einvoice.no_reference",
            "The e-invoice needs the budget line as OrderReference or BuyerReference.",
            "OrderReference",
        )
    refused = [h for h in parsed.payment_holds if h.code != "einvoice.g_account"]
    if refused:
        raise InvoiceRejected(refused[0].code, refused[0].reason, "PaymentMeans")
    hold = next((h.reason for h in parsed.payment_holds), None)
    if not parsed.supplier.iban:
        raise InvoiceRejected("einvoice.no_iban", "The e-invoice has no IBAN to pay to (PaymentMeans).", "PaymentMeans")
    try:
        iban = validate_iban(parsed.supplier.iban)
    except IdentifierError as exc:
        raise InvoiceRejected("invoice.iban", str(exc), "PaymentMeans") from exc
    totals = parsed.totals
    incoming = IncomingInvoice(
        invoice_number=parsed.invoice_number,
        provider_name=parsed.supplier.name,
        provider_kvk=parsed.supplier.kvk,
        provider_vat=parsed.supplier.vat_number,
        currency=parsed.currency,
        amount_excl_vat=totals.tax_exclusive,
        vat=totals.tax_amount,
        service_from=parsed.service_period[0],
        service_to=parsed.service_period[1],
        flow=flow,
        issue_date=parsed.issue_date,
        sent_by=provider_token(who) if flow == "provider" else None,
    )
    return Submission(
        budget_line_id=reference,
        incoming=incoming,
        provider_id=provider_id_for(who, None, parsed.supplier.kvk or _slug(parsed.supplier.name)),
        creditor_name=parsed.supplier.name,
        creditor_iban=iban,
        issue_date=parsed.issue_date,
        source="ubl",
        content_hash=parsed.content_sha256,
        provider_is_identified=who.role == Role.PROVIDER or bool(parsed.supplier.kvk),
        supplier_email=parsed.supplier.email,
        document=(filename, "application/xml", content),
        payment_hold=hold,
        einvoice_warnings=tuple(w.as_dict() for w in parsed.warnings),
        unit_prices=tuple(line.unit_price for line in parsed.lines if line.unit_price is not None),
    )


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())[:60] or "unknown"


def submission_from_upload(
    who: Principal, content: bytes, filename: str, content_type: str, *, flow: str, fields: dict[str, Any]
) -> Submission:
    """Flow 2 (forwarded invoice) and 3 (declaration): UBL speaks for itself; a PDF or photo needs fields.

    `fields` use the invoice's names; a refusal names the field as the flow's form calls it."""
    try:
        return _submission_from_upload(who, content, filename, content_type, flow=flow, fields=fields)
    except DomainError as exc:
        raise as_sent(exc, flow) from exc


def _submission_from_upload(
    who: Principal, content: bytes, filename: str, content_type: str, *, flow: str, fields: dict[str, Any]
) -> Submission:
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
        invoice_number=str(fields["invoice_number"])[:80],
        provider_name=str(fields["provider_name"])[:200],
        provider_kvk=fields.get("provider_kvk"),
        provider_vat=None,
        currency="EUR",
        amount_excl_vat=amount,
        vat=vat,
        service_from=service_from,
        service_to=fields.get("service_to"),
        flow=flow,
        issue_date=service_from,
    )
    provider_id = provider_id_for(who, None, fields.get("provider_kvk") or _slug(incoming.provider_name))
    if flow == "declaration":
        provider_id = f"client:{who.client_id or who.subject}"
    return Submission(
        budget_line_id=fields["budget_line_id"],
        incoming=incoming,
        provider_id=provider_id,
        creditor_name=str(fields.get("creditor_name") or incoming.provider_name)[:70],
        creditor_iban=iban,
        issue_date=service_from,
        source="pdf" if kind in PDF_TYPES else "image",
        content_hash=hashlib.sha256(content).hexdigest(),
        document=(filename, kind, content),
        provider_is_identified=flow != "declaration"
        and (who.role == Role.PROVIDER or bool(fields.get("provider_kvk"))),
    )


def _with_line(submission: Submission, line_id: str) -> Submission:
    return replace(submission, budget_line_id=line_id)
