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
from decimal import Decimal, InvalidOperation

from lxml import etree

from services.budget.domain.einvoice_nl_rules import check_nl_rules
from services.budget.domain.supplier_contact import email_or_none
from services.budget.domain.ubl import (
    CAC_NS,
    CBC_NS,
    NS,
    DocumentKind,
    EInvoiceError,
    InvoiceLine,
    ParsedInvoice,
    PayeeAccount,
    PaymentHold,
    Supplier,
    Totals,
    UblDocument,
    document_kind,
    is_dutch_profile,
    parse_xml,
    validate_schema,
)
from services.budget.domain.ubl import clean as _clean
from shared.identifiers import IdentifierError, validate_iban
from shared.money import Money

# Real invoices with an embedded PDF stay well below this; anything larger is refused unread.
MAX_EINVOICE_BYTES = 20 * 1024 * 1024

# BR-NL-7: the invoice type codes NLCIUS (SI-UBL 2.0) allows.
NLCIUS_TYPE_CODES = frozenset({"380", "381", "384", "389"})
# PEPPOL-EN16931-P0100 and P0101: the type codes Peppol BIS Billing 3.0 allows per document.
PEPPOL_INVOICE_TYPE_CODES = frozenset(
    {
        "71",
        "80",
        "82",
        "84",
        "102",
        "218",
        "219",
        "326",
        "331",
        "380",
        "382",
        "383",
        "384",
        "386",
        "388",
        "393",
        "395",
        "553",
        "575",
        "623",
        "780",
        "817",
        "870",
        "875",
        "876",
        "877",
    }
)
PEPPOL_CREDIT_NOTE_TYPE_CODES = frozenset({"81", "83", "381", "396", "532"})
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


def parse_einvoice(raw: bytes) -> ParsedInvoice:
    """Check and map a UBL Invoice or CreditNote; raise EInvoiceError for the first problem."""
    if not isinstance(raw, (bytes, bytearray)):
        raise TypeError("parse_einvoice takes the document as bytes, exactly as received")
    raw = bytes(raw)
    if len(raw) > MAX_EINVOICE_BYTES:
        raise EInvoiceError(
            "einvoice.too_large", f"The document is larger than {MAX_EINVOICE_BYTES // (1024 * 1024)} MB."
        )
    root = parse_xml(raw)
    kind = document_kind(root)
    validate_schema(root, kind)
    doc = UblDocument(root, kind)
    _check_currency(doc)
    _check_decimals(doc)
    invoice_number = _bounded(
        doc.required_text("cbc:ID", "invoice number"), MAX_NUMBER_LENGTH, "invoice number", f"/{doc.root_name}/cbc:ID"
    )
    issue_date = doc.required_date("cbc:IssueDate", "issue date")
    supplier_name = _bounded(
        _supplier_name(doc),
        MAX_NAME_LENGTH,
        "supplier's name",
        f"/{doc.root_name}/cac:AccountingSupplierParty/cac:Party",
    )
    billing_references = tuple(
        _bounded(t, MAX_NUMBER_LENGTH, "invoice reference", f"/{doc.root_name}/cac:BillingReference")
        for el in doc.root.findall("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", NS)
        if (t := _clean(el.text))
    )
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
        raise EInvoiceError(
            "einvoice.too_long", f"The {what} may be at most {limit} characters; this one has {len(value)}.", path
        )
    return value


# --- Business rules -------------------------------------------------------------------------


def _check_currency(doc: UblDocument) -> None:
    currency = doc.text("cbc:DocumentCurrencyCode")
    if currency != "EUR":
        raise EInvoiceError(
            "einvoice.currency",
            f"Only invoices in euro (EUR) can be paid, not {currency!r}.",
            f"/{doc.root_name}/cbc:DocumentCurrencyCode",
        )
    tax_currency = doc.text("cbc:TaxCurrencyCode")
    if tax_currency not in (None, "EUR"):
        raise EInvoiceError(
            "einvoice.currency",
            f"VAT must be accounted in euro (EUR), not {tax_currency!r}.",
            f"/{doc.root_name}/cbc:TaxCurrencyCode",
        )
    for el in doc.root.iter(f"{{{CBC_NS}}}*"):
        currency_id = el.get("currencyID")
        if currency_id is not None and currency_id != "EUR":
            raise EInvoiceError(
                "einvoice.currency",
                f"Every amount must be in euro (EUR), this one is in {currency_id!r}.",
                doc.path_of(el),
            )


def _check_decimals(doc: UblDocument) -> None:
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
            raise EInvoiceError("einvoice.schema_invalid", f"{value[:40]!r} is not a number.", doc.path_of(el)) from exc
        if not number.is_finite() or abs(number) > MAX_AMOUNT:
            raise EInvoiceError(
                "einvoice.amount_too_large",
                f"An amount may be at most {MAX_AMOUNT} euro; this "
                f"one is {value[:40]}{'...' if len(value) > 40 else ''}.",
                doc.path_of(el),
            )
        if any(a.tag == price_tag for a in el.iterancestors()):
            continue
        if "." in value and len(value.split(".", 1)[1]) > 2:
            raise EInvoiceError(
                "einvoice.decimals",
                f"An amount may have at most two decimals, not {value!r}.",
                doc.path_of(el),
                rule="BR-DEC",
            )


def _party_name(party: etree._Element | None) -> str | None:
    if party is None:
        return None
    for path in ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"):
        el = party.find(path, NS)
        if el is not None and _clean(el.text):
            return _clean(el.text)
    return None


def _supplier_name(doc: UblDocument) -> str:
    name = _party_name(doc.root.find("cac:AccountingSupplierParty/cac:Party", NS))
    if not name:
        raise EInvoiceError(
            "einvoice.missing_field",
            "The supplier's name is missing.",
            f"/{doc.root_name}/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
            rule="BR-6",
        )
    return name


def _check_type_code(doc: UblDocument) -> str:
    """BR-4 and the Peppol code lists; the Dutch type-code rules (BR-NL-7/8/9) are in NL_RULES."""
    path = f"/{doc.root_name}/cbc:{doc.type_code_tag}"
    code = doc.text(f"cbc:{doc.type_code_tag}")
    if not code:
        raise EInvoiceError(
            "einvoice.type_code", f"The document type code (cbc:{doc.type_code_tag}) is missing.", path, rule="BR-4"
        )
    if doc.kind is DocumentKind.CREDIT_NOTE:
        if code not in PEPPOL_CREDIT_NOTE_TYPE_CODES:
            raise EInvoiceError(
                "einvoice.type_code",
                f"Credit note type code {code!r} is not one of "
                f"{', '.join(sorted(PEPPOL_CREDIT_NOTE_TYPE_CODES, key=int))}.",
                path,
                rule="PEPPOL-EN16931-P0101",
            )
    elif not is_dutch_profile(doc.root) and code not in PEPPOL_INVOICE_TYPE_CODES:
        raise EInvoiceError(
            "einvoice.type_code",
            f"Invoice type code {code!r} is not allowed in Peppol BIS Billing 3.0.",
            path,
            rule="PEPPOL-EN16931-P0100",
        )
    return code


def _line(doc: UblDocument, el: etree._Element) -> InvoiceLine:
    here = doc.path_of(el)
    line_id = doc.text("cbc:ID", el) or ""
    amount = doc.amount("cbc:LineExtensionAmount", el)
    if amount is None:  # required by the schema; kept so a wrong schema cannot make a line free
        raise EInvoiceError(
            "einvoice.missing_field", f"Line {line_id!r} has no amount.", f"{here}/cbc:LineExtensionAmount"
        )
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


def _checked_totals(doc: UblDocument, lines: tuple[InvoiceLine, ...]) -> Totals:
    """The EN 16931 sums (BR-CO-10 .. BR-CO-16) must hold to the cent."""
    total_path = f"/{doc.root_name}/cac:LegalMonetaryTotal"

    def stated(name: str, required: bool) -> Money:
        value = doc.amount(f"cac:LegalMonetaryTotal/cbc:{name}")
        if value is None and required:
            raise EInvoiceError(
                "einvoice.missing_field", f"The total cbc:{name} is missing.", f"{total_path}/cbc:{name}"
            )
        return value or Money.zero()

    def must_equal(actual: Money, expected: Money, rule: str, what: str, path: str) -> None:
        if actual != expected:
            raise EInvoiceError(
                "einvoice.totals_mismatch",
                f"[{rule}] {what}: the document says {actual}, the sum is {expected}.",
                path,
                rule=rule,
            )

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
    must_equal(
        totals.line_extension,
        Money.total(line.line_extension_amount for line in lines),
        "BR-CO-10",
        "The line total is not the sum of the lines",
        f"{total_path}/cbc:LineExtensionAmount",
    )
    document_allowances: dict[bool, list[Money]] = {False: [], True: []}
    for el in doc.root.findall("cac:AllowanceCharge", NS):
        is_charge = (doc.text("cbc:ChargeIndicator", el) or "").lower() == "true"
        document_allowances[is_charge].append(doc.amount("cbc:Amount", el) or Money.zero())
    must_equal(
        totals.allowances,
        Money.total(document_allowances[False]),
        "BR-CO-11",
        "The allowance total is not the sum of the allowances",
        f"{total_path}/cbc:AllowanceTotalAmount",
    )
    must_equal(
        totals.charges,
        Money.total(document_allowances[True]),
        "BR-CO-12",
        "The charge total is not the sum of the charges",
        f"{total_path}/cbc:ChargeTotalAmount",
    )
    must_equal(
        totals.tax_exclusive,
        totals.line_extension - totals.allowances + totals.charges,
        "BR-CO-13",
        "The total without VAT does not follow from lines, allowances and charges",
        f"{total_path}/cbc:TaxExclusiveAmount",
    )
    tax_total = doc.root.find("cac:TaxTotal", NS)
    if tax_total is not None and tax_total.find("cac:TaxSubtotal", NS) is not None:
        subtotals = [doc.amount("cbc:TaxAmount", s) or Money.zero() for s in tax_total.findall("cac:TaxSubtotal", NS)]
        must_equal(
            totals.tax_amount,
            Money.total(subtotals),
            "BR-CO-14",
            "The VAT total is not the sum of the VAT breakdown",
            f"/{doc.root_name}/cac:TaxTotal/cbc:TaxAmount",
        )
    must_equal(
        totals.tax_inclusive,
        totals.tax_exclusive + totals.tax_amount,
        "BR-CO-15",
        "The total with VAT is not the total without VAT plus the VAT",
        f"{total_path}/cbc:TaxInclusiveAmount",
    )
    must_equal(
        totals.payable,
        totals.tax_inclusive - totals.prepaid + totals.rounding,
        "BR-CO-16",
        "The amount due is not the total with VAT less prepaid amounts plus rounding",
        f"{total_path}/cbc:PayableAmount",
    )
    return totals


# --- Supplier and payment -------------------------------------------------------------------


def _payee_accounts(doc: UblDocument) -> tuple[PayeeAccount, ...]:
    accounts = []
    for means in doc.root.findall("cac:PaymentMeans", NS):
        account_id = doc.text("cac:PayeeFinancialAccount/cbc:ID", means)
        if not account_id:
            continue
        accounts.append(
            PayeeAccount(
                iban="".join(account_id.split()).upper(),
                means_code=doc.text("cbc:PaymentMeansCode", means),
                means_id=doc.text("cbc:ID", means),
                payment_id=doc.text("cbc:PaymentID", means),
                bic=doc.text("cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID", means),
            )
        )
    return tuple(accounts)


def _payee(accounts: tuple[PayeeAccount, ...]) -> PayeeAccount | None:
    """The supplier's own account: the first one that is not a G-account."""
    return next((a for a in accounts if (a.means_id or "").upper() != G_ACCOUNT_MEANS_ID), None)


def _payment_holds(
    kind: DocumentKind, totals: Totals, accounts: tuple[PayeeAccount, ...], payee: PayeeAccount | None
) -> tuple[PaymentHold, ...]:
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
            holds.append(
                PaymentHold(
                    "einvoice.direct_debit",
                    f"The supplier collects this by direct debit (payment means {payee.means_code}); "
                    "paying it as well would pay twice.",
                )
            )
    if any((a.means_id or "").upper() == G_ACCOUNT_MEANS_ID for a in accounts):
        holds.append(
            PaymentHold(
                "einvoice.g_account",
                "Part of this invoice must go to a G-account (chain "
                "liability); a payment run pays one account, so pay this one by hand.",
            )
        )
    return tuple(holds)


def _supplier(doc: UblDocument, name: str, payee: PayeeAccount | None) -> Supplier:
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
        email=email_or_none(doc.text("cac:Contact/cbc:ElectronicMail", party)),
    )
