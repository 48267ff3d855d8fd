"""The Dutch rules of SI-UBL 2.0 (BR-NL-1 .. BR-NL-35), as data: one table, `NL_RULES`.

Each rule is an XPath context, an XPath test that must hold there, a severity and a scope.
Fatal rules refuse the document (code "einvoice.BR-NL-13", path of the element); warnings
("not recommended") come back as `RuleWarning`s and do not stop it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from lxml import etree

from services.budget.domain.ubl import (
    XPATH_NS,
    DocumentKind,
    EInvoiceError,
    RuleWarning,
    clean,
    is_dutch_profile,
    path_of,
    supplier_country,
)


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
_ADDRESSES = (
    f"{_SUPPLIER}/cac:PostalAddress",
    f"{_CUSTOMER}/cac:PostalAddress",
    "/*/cac:TaxRepresentativeParty/cac:PostalAddress",
    "//cac:Delivery/cac:DeliveryLocation/cac:Address",
)
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
            return f"{path_of(node, root_name)}/{first_missing}"
        if self.missing:
            return self.missing.format(root=root_name)
        return path_of(node, root_name)


def _must_have(rule: str, scope: Scope, context: str, requires: tuple[str, ...], message: str, **extra: Any) -> NLRule:
    return NLRule(rule, Severity.FATAL, scope, context, message, requires=requires, **extra)


def _must(rule: str, scope: Scope, context: str, test: str, message: str, **extra: Any) -> NLRule:
    return NLRule(rule, Severity.FATAL, scope, context, message, test=test, **extra)


def _not_recommended(rule: str, context: str, message: str, test: str = "false()") -> NLRule:
    return NLRule(rule, Severity.WARNING, Scope.DUTCH_PROFILE, context, message, test=test)


_ADDRESS_PARTS = ("cbc:StreetName", "cbc:CityName", "cbc:PostalZone")

NL_RULES: tuple[NLRule, ...] = (
    _must(
        "BR-NL-1",
        Scope.DUTCH_SUPPLIER,
        _SUPPLIER,
        "cac:PartyLegalEntity/cbc:CompanyID[@schemeID = '0106' or @schemeID = '0190'][normalize-space()]",
        "A supplier in the Netherlands must give its KvK number (schemeID 0106) or OIN (schemeID 0190) as "
        "its legal registration number.",
        missing=f"/{{root}}{_SUPPLIER[2:]}/cac:PartyLegalEntity/cbc:CompanyID",
    ),
    _must(
        "BR-NL-2",
        Scope.DUTCH_SUPPLIER,
        "/*",
        "cbc:BuyerReference[normalize-space()] or cac:OrderReference/cbc:ID[normalize-space()]",
        "A supplier in the Netherlands must quote the buyer reference (cbc:BuyerReference) or the order "
        "reference (cac:OrderReference/cbc:ID).",
        missing="/{root}/cbc:BuyerReference",
    ),
    _must_have(
        "BR-NL-3",
        Scope.DUTCH_SUPPLIER,
        f"{_SUPPLIER}/cac:PostalAddress",
        _ADDRESS_PARTS,
        "The address of a supplier in the Netherlands must have a street, a city and a postal code.",
    ),
    _must_have(
        "BR-NL-4",
        Scope.DUTCH_SUPPLIER,
        f"{_CUSTOMER}/cac:PostalAddress[{_NL.format('cac:Country/cbc:IdentificationCode')}]",
        _ADDRESS_PARTS,
        "The address of a customer in the Netherlands must have a street, a city and a postal code.",
    ),
    _must_have(
        "BR-NL-5",
        Scope.DUTCH_SUPPLIER,
        f"/*/cac:TaxRepresentativeParty/cac:PostalAddress[{_NL.format('cac:Country/cbc:IdentificationCode')}]",
        _ADDRESS_PARTS,
        "The address of a fiscal representative in the Netherlands must have a street, a city and a postal code.",
    ),
    _must(
        "BR-NL-7",
        Scope.DUTCH_PROFILE,
        "/*/cbc:InvoiceTypeCode | /*/cbc:CreditNoteTypeCode",
        "normalize-space(.) = '380' or normalize-space(.) = '381' or normalize-space(.) = '384' "
        "or normalize-space(.) = '389'",
        "[BR-NL-7] The document type code must be one of 380, 381, 384, 389; this document has '{value}'.",
        code="einvoice.type_code",
    ),
    _must(
        "BR-NL-8",
        Scope.DUTCH_PROFILE,
        "/*/cbc:InvoiceTypeCode",
        "normalize-space(.) != '381'",
        "[BR-NL-8] Type code 381 is a credit note and must be sent as a UBL CreditNote, not as an Invoice.",
        kinds=frozenset({DocumentKind.INVOICE}),
        code="einvoice.type_code",
    ),
    _must(
        "BR-NL-8",
        Scope.DUTCH_PROFILE,
        "/*/cbc:CreditNoteTypeCode",
        "normalize-space(.) = '381'",
        "[BR-NL-8] Type code '{value}' is an invoice and must be sent as a UBL Invoice, not as a CreditNote.",
        kinds=frozenset({DocumentKind.CREDIT_NOTE}),
        code="einvoice.type_code",
    ),
    _must(
        "BR-NL-9",
        Scope.DUTCH_SUPPLIER,
        "/*/cbc:InvoiceTypeCode[normalize-space(.) = '384']",
        "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID[normalize-space()]",
        "[BR-NL-9] A corrective invoice (384) must name the invoice it corrects "
        "(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID).",
        kinds=frozenset({DocumentKind.INVOICE}),
        code="einvoice.type_code",
    ),
    _must(
        "BR-NL-10",
        Scope.DUTCH_SUPPLIER,
        f"{_CUSTOMER}[{_NL.format('cac:PostalAddress/cac:Country/cbc:IdentificationCode')}]/cac:PartyLegalEntity",
        "cbc:CompanyID[@schemeID = '0106' or @schemeID = '0190'][normalize-space()]",
        "For a customer in the Netherlands the legal registration number (cbc:CompanyID) must be its KvK "
        "number (schemeID 0106) or OIN (schemeID 0190).",
    ),
    _must(
        "BR-NL-11",
        Scope.DUTCH_SUPPLIER,
        "/*/cac:LegalMonetaryTotal[number(cbc:PayableAmount) > 0]",
        "/*/cac:PaymentMeans",
        "A supplier in the Netherlands must say how to pay an amount due (cac:PaymentMeans).",
        missing="/{root}/cac:PaymentMeans",
        kinds=frozenset({DocumentKind.INVOICE}),
    ),
    _must(
        "BR-NL-12",
        Scope.DUTCH_SUPPLIER,
        "/*/cac:PaymentMeans",
        " or ".join(f"normalize-space(cbc:PaymentMeansCode) = '{c}'" for c in ("30", "48", "49", "57", "58", "59")),
        "The payment means code (cbc:PaymentMeansCode) of a supplier in the Netherlands must be one of "
        "30, 48, 49, 57, 58 or 59.",
    ),
    _must(
        "BR-NL-13",
        Scope.DUTCH_PROFILE,
        "//cac:OrderLineReference/cbc:LineID",
        "/*/cac:OrderReference/cbc:ID[normalize-space()]",
        "A line refers to an order line (cac:OrderLineReference), so the document must name the order "
        "itself (cac:OrderReference/cbc:ID).",
        missing="/{root}/cac:OrderReference/cbc:ID",
    ),
    # Recommendations: a document that breaks them is accepted, and the finding is kept.
    _not_recommended(
        "BR-NL-19", "/*/cbc:TaxCurrencyCode", "A tax currency code (cbc:TaxCurrencyCode) is not recommended."
    ),
    _not_recommended(
        "BR-NL-20", "/*/cbc:TaxPointDate", "A tax point date (cbc:TaxPointDate) is not recommended; it is ignored."
    ),
    _not_recommended(
        "BR-NL-21",
        "//cac:InvoicePeriod/cbc:DescriptionCode",
        "A tax point date code (cac:InvoicePeriod/cbc:DescriptionCode) is not recommended; it is ignored.",
    ),
    _not_recommended(
        "BR-NL-24",
        "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate",
        "The issue date of the preceding invoice is not recommended.",
    ),
    _not_recommended(
        "BR-NL-25",
        f"{_SUPPLIER}/cac:PartyTaxScheme[cbc:CompanyID]",
        "A supplier tax registration number under a tax scheme other than VAT is not recommended.",
        test="normalize-space(cac:TaxScheme/cbc:ID) = 'VAT'",
    ),
    _not_recommended(
        "BR-NL-26",
        f"{_SUPPLIER}/cac:PartyLegalEntity/cbc:CompanyLegalForm",
        "Additional legal information about the supplier (cbc:CompanyLegalForm) is not recommended.",
    ),
    _not_recommended(
        "BR-NL-27",
        " | ".join(f"{a}/cac:AddressLine/cbc:Line" for a in _ADDRESSES),
        "A third address line (cac:AddressLine/cbc:Line) is not recommended.",
    ),
    _not_recommended(
        "BR-NL-28",
        " | ".join(f"{a}/cbc:CountrySubentity" for a in _ADDRESSES),
        "A country subdivision (cbc:CountrySubentity) is not recommended.",
    ),
    _not_recommended(
        "BR-NL-29",
        "/*/cac:PaymentMeans/cbc:PaymentMeansCode[@name]",
        "A payment means text (cbc:PaymentMeansCode/@name) is not recommended.",
    ),
    _not_recommended(
        "BR-NL-30",
        "/*/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:Name",
        "A payment account name (cac:PayeeFinancialAccount/cbc:Name) is not recommended.",
    ),
    _not_recommended(
        "BR-NL-31",
        f"/*/cac:PaymentMeans[{_SEPA}]/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID",
        "A bank identifier (BIC) is not recommended for a SEPA payment (payment means 58 or 59).",
    ),
    _not_recommended(
        "BR-NL-32",
        "//cac:AllowanceCharge[normalize-space(cbc:ChargeIndicator) = 'false' or "
        "normalize-space(cbc:ChargeIndicator) = '0']/cbc:AllowanceChargeReasonCode",
        "An allowance reason code (cbc:AllowanceChargeReasonCode) is not recommended.",
    ),
    _not_recommended(
        "BR-NL-33",
        "//cac:TaxTotal/cbc:TaxAmount",
        "A tax total in another currency than the document currency is not recommended.",
        test="@currencyID = /*/cbc:DocumentCurrencyCode",
    ),
    _not_recommended(
        "BR-NL-34",
        "//cac:AllowanceCharge[normalize-space(cbc:ChargeIndicator) = 'true' or "
        "normalize-space(cbc:ChargeIndicator) = '1']/cbc:AllowanceChargeReasonCode",
        "A charge reason code (cbc:AllowanceChargeReasonCode) is not recommended.",
    ),
    _not_recommended(
        "BR-NL-35",
        "//cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode",
        "A tax exemption reason code (cbc:TaxExemptionReasonCode) is not recommended.",
    ),
)


@cache
def _xpath(expression: str) -> etree.XPath:
    return etree.XPath(expression, namespaces=XPATH_NS)


def _applies(rule: NLRule, kind: DocumentKind, dutch_profile: bool, dutch_supplier: bool) -> bool:
    if kind not in rule.kinds:
        return False
    return dutch_supplier if rule.scope is Scope.DUTCH_SUPPLIER else dutch_profile


def nl_rule_findings(
    root: etree._Element, kind: DocumentKind, rules: tuple[NLRule, ...] = NL_RULES
) -> Iterator[tuple[NLRule, str, str]]:
    """Every broken rule, in table order, as (rule, path, message)."""
    dutch_supplier = supplier_country(root) == "NL"
    dutch_profile = is_dutch_profile(root)
    root_name = "Invoice" if kind is DocumentKind.INVOICE else "CreditNote"
    for rule in rules:
        if not _applies(rule, kind, dutch_profile, dutch_supplier):
            continue
        for node in _xpath(rule.context)(root):
            if not rule.holds_at(node):
                value = (clean(node.text) or "")[:80] if isinstance(node.text, str) else ""
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
