"""The Dutch SI-UBL 2.0 rules (BR-NL), each checked on a real example changed in one place.

Fatal rules refuse the document naming the rule and the element; warnings let it through and
are returned on the parsed invoice. Credit notes are the real invoice turned into a CreditNote.
"""

from __future__ import annotations

import pytest
from lxml import etree

from services.budget.domain.einvoice import parse_einvoice
from services.budget.domain.einvoice_nl_rules import NL_RULES, Severity, nl_rule_findings
from services.budget.domain.ubl import DocumentKind, EInvoiceError
from shared.money import Money
from tests.unit.budget.einvoice_examples import (
    append_to,
    as_credit_note,
    changed,
    find,
    insert_after,
    insert_before,
    load,
    ok_example_names,
    remove,
    require_examples,
    set_amounts,
    xml,
)

SUPPLIER = "cac:AccountingSupplierParty/cac:Party"
CUSTOMER = "cac:AccountingCustomerParty/cac:Party"


@pytest.fixture(autouse=True)
def _examples():
    require_examples()


def refusal(raw: bytes) -> EInvoiceError:
    with pytest.raises(EInvoiceError) as caught:
        parse_einvoice(raw)
    return caught.value


def _set(path: str, value: str, attribute: str | None = None):
    def change(root: etree._Element) -> None:
        el = find(root, path)
        if attribute:
            el.set(attribute, value)
        else:
            el.text = value

    return change


def _also_buyer_reference(root: etree._Element) -> None:
    insert_after(root, "cbc:DocumentCurrencyCode", "<cbc:BuyerReference>47806</cbc:BuyerReference>")


def _order_line_reference_without_order(root: etree._Element) -> None:
    _also_buyer_reference(root)  # so BR-NL-2 (a reference at all) holds and BR-NL-13 is the one broken
    remove(root, "cac:OrderReference")
    insert_after(
        root,
        "cac:InvoiceLine/cbc:LineExtensionAmount",
        "<cac:OrderLineReference><cbc:LineID>1</cbc:LineID></cac:OrderLineReference>",
    )


def _tax_representative_without_street(root: etree._Element) -> None:
    insert_before(
        root,
        "cac:PaymentMeans",
        """<cac:TaxRepresentativeParty>
        <cac:PartyName><cbc:Name>Fiscaal Vertegenwoordiger BV</cbc:Name></cac:PartyName>
        <cac:PostalAddress><cbc:CityName>Utrecht</cbc:CityName><cbc:PostalZone>3511 AA</cbc:PostalZone>
          <cac:Country><cbc:IdentificationCode>NL</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
      </cac:TaxRepresentativeParty>""",
    )


FATAL_CASES = [
    # rule, the change, the code, the path the problem points at
    (
        "BR-NL-1",
        _set(f"{SUPPLIER}/cac:PartyLegalEntity/cbc:CompanyID", "0088", "schemeID"),
        "einvoice.BR-NL-1",
        "/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
    ),
    ("BR-NL-2", lambda r: remove(r, "cac:OrderReference"), "einvoice.BR-NL-2", "/Invoice/cbc:BuyerReference"),
    (
        "BR-NL-3",
        lambda r: remove(r, f"{SUPPLIER}/cac:PostalAddress/cbc:PostalZone"),
        "einvoice.BR-NL-3",
        "/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:PostalZone",
    ),
    (
        "BR-NL-4",
        lambda r: remove(r, f"{CUSTOMER}/cac:PostalAddress/cbc:CityName"),
        "einvoice.BR-NL-4",
        "/Invoice/cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:CityName",
    ),
    (
        "BR-NL-5",
        _tax_representative_without_street,
        "einvoice.BR-NL-5",
        "/Invoice/cac:TaxRepresentativeParty/cac:PostalAddress/cbc:StreetName",
    ),
    ("BR-NL-7", _set("cbc:InvoiceTypeCode", "386"), "einvoice.type_code", "/Invoice/cbc:InvoiceTypeCode"),
    ("BR-NL-8", _set("cbc:InvoiceTypeCode", "381"), "einvoice.type_code", "/Invoice/cbc:InvoiceTypeCode"),
    ("BR-NL-9", _set("cbc:InvoiceTypeCode", "384"), "einvoice.type_code", "/Invoice/cbc:InvoiceTypeCode"),
    (
        "BR-NL-10",
        _set(f"{CUSTOMER}/cac:PartyLegalEntity/cbc:CompanyID", "0088", "schemeID"),
        "einvoice.BR-NL-10",
        "/Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity",
    ),
    ("BR-NL-11", lambda r: remove(r, "cac:PaymentMeans"), "einvoice.BR-NL-11", "/Invoice/cac:PaymentMeans"),
    ("BR-NL-12", _set("cac:PaymentMeans/cbc:PaymentMeansCode", "31"), "einvoice.BR-NL-12", "/Invoice/cac:PaymentMeans"),
    ("BR-NL-13", _order_line_reference_without_order, "einvoice.BR-NL-13", "/Invoice/cac:OrderReference/cbc:ID"),
]


@pytest.mark.parametrize("rule,change,code,path", FATAL_CASES, ids=[c[0] for c in FATAL_CASES])
def test_a_fatal_dutch_rule_refuses_the_real_example_naming_the_rule_and_the_element(rule, change, code, path):
    raw = changed(change)
    assert parse_einvoice(xml(load())).warnings == (), "the unchanged example breaks no rule"

    error = refusal(raw)

    assert (error.rule, error.code, error.path) == (rule, code, path)
    assert error.message.startswith(f"[{rule}] ")
    assert "{" not in error.message and len(error.message) < 300  # plain language, filled in


def test_br_nl_13_is_the_rule_the_issue_is_about_and_holds_for_a_foreign_supplier_too():
    def foreign(root: etree._Element) -> None:
        _order_line_reference_without_order(root)
        find(root, f"{SUPPLIER}/cac:PostalAddress/cac:Country/cbc:IdentificationCode").text = "BE"

    assert refusal(changed(foreign)).rule == "BR-NL-13"
    assert (
        parse_einvoice(
            changed(
                lambda r: insert_after(
                    r,
                    "cac:InvoiceLine/cbc:LineExtensionAmount",
                    "<cac:OrderLineReference><cbc:LineID>1</cbc:LineID></cac:OrderLineReference>",
                )
            )
        ).order_reference
        == "47806"
    )


def test_rules_for_dutch_suppliers_do_not_bind_a_supplier_elsewhere():
    def belgian_without_kvk(root: etree._Element) -> None:
        find(root, f"{SUPPLIER}/cac:PostalAddress/cac:Country/cbc:IdentificationCode").text = "BE"
        find(root, f"{SUPPLIER}/cac:PartyLegalEntity/cbc:CompanyID").set("schemeID", "0088")
        remove(root, f"{SUPPLIER}/cac:PostalAddress/cbc:PostalZone")

    invoice = parse_einvoice(changed(belgian_without_kvk))

    assert invoice.supplier.country == "BE" and invoice.warnings == ()


def test_a_customer_outside_the_netherlands_needs_no_kvk_or_full_address():
    def german_customer(root: etree._Element) -> None:
        find(root, f"{CUSTOMER}/cac:PostalAddress/cac:Country/cbc:IdentificationCode").text = "DE"
        find(root, f"{CUSTOMER}/cac:PartyLegalEntity/cbc:CompanyID").set("schemeID", "0088")
        remove(root, f"{CUSTOMER}/cac:PostalAddress/cbc:CityName")

    assert parse_einvoice(changed(german_customer)).buyer_name == "Ontvanger"


def _allowance(charge: bool):
    def change(root: etree._Element) -> None:
        insert_before(
            root,
            "cac:TaxTotal",
            f"""<cac:AllowanceCharge>
            <cbc:ChargeIndicator>{"true" if charge else "false"}</cbc:ChargeIndicator>
            <cbc:AllowanceChargeReasonCode>{"FC" if charge else "95"}</cbc:AllowanceChargeReasonCode>
            <cbc:Amount currencyID="EUR">0.00</cbc:Amount>
            <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent>
              <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
          </cac:AllowanceCharge>""",
        )

    return change


def _sepa_with_bic(root: etree._Element) -> None:
    find(root, "cac:PaymentMeans/cbc:PaymentMeansCode").text = "58"
    append_to(
        root,
        "cac:PaymentMeans/cac:PayeeFinancialAccount",
        "<cac:FinancialInstitutionBranch><cbc:ID>ABNANL2A</cbc:ID></cac:FinancialInstitutionBranch>",
    )


WARNING_CASES = [
    (
        "BR-NL-19",
        lambda r: insert_after(r, "cbc:DocumentCurrencyCode", "<cbc:TaxCurrencyCode>EUR</cbc:TaxCurrencyCode>"),
        "/Invoice/cbc:TaxCurrencyCode",
    ),
    (
        "BR-NL-20",
        lambda r: insert_before(r, "cbc:DocumentCurrencyCode", "<cbc:TaxPointDate>2015-01-09</cbc:TaxPointDate>"),
        "/Invoice/cbc:TaxPointDate",
    ),
    (
        "BR-NL-21",
        lambda r: insert_before(
            r,
            "cac:OrderReference",
            "<cac:InvoicePeriod><cbc:DescriptionCode>35</cbc:DescriptionCode></cac:InvoicePeriod>",
        ),
        "/Invoice/cac:InvoicePeriod/cbc:DescriptionCode",
    ),
    (
        "BR-NL-24",
        lambda r: insert_after(
            r,
            "cac:OrderReference",
            "<cac:BillingReference><cac:InvoiceDocumentReference>"
            "<cbc:ID>12115117</cbc:ID><cbc:IssueDate>2014-12-01</cbc:IssueDate>"
            "</cac:InvoiceDocumentReference></cac:BillingReference>",
        ),
        "/Invoice/cac:BillingReference/cac:InvoiceDocumentReference/cbc:IssueDate",
    ),
    (
        "BR-NL-25",
        _set(f"{SUPPLIER}/cac:PartyTaxScheme/cac:TaxScheme/cbc:ID", "LOC"),
        "/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme",
    ),
    (
        "BR-NL-26",
        lambda r: append_to(
            r, f"{SUPPLIER}/cac:PartyLegalEntity", "<cbc:CompanyLegalForm>Besloten vennootschap</cbc:CompanyLegalForm>"
        ),
        "/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyLegalForm",
    ),
    (
        "BR-NL-27",
        lambda r: insert_before(
            r,
            f"{SUPPLIER}/cac:PostalAddress/cac:Country",
            "<cac:AddressLine><cbc:Line>Gebouw B</cbc:Line></cac:AddressLine>",
        ),
        "/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:AddressLine/cbc:Line",
    ),
    (
        "BR-NL-28",
        lambda r: insert_after(
            r, f"{SUPPLIER}/cac:PostalAddress/cbc:PostalZone", "<cbc:CountrySubentity>Utrecht</cbc:CountrySubentity>"
        ),
        "/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:CountrySubentity",
    ),
    (
        "BR-NL-29",
        _set("cac:PaymentMeans/cbc:PaymentMeansCode", "Credit transfer", "name"),
        "/Invoice/cac:PaymentMeans/cbc:PaymentMeansCode",
    ),
    (
        "BR-NL-30",
        lambda r: insert_after(
            r, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", "<cbc:Name>SimplerInvoicing</cbc:Name>"
        ),
        "/Invoice/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:Name",
    ),
    (
        "BR-NL-31",
        _sepa_with_bic,
        "/Invoice/cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID",
    ),
    ("BR-NL-32", _allowance(charge=False), "/Invoice/cac:AllowanceCharge/cbc:AllowanceChargeReasonCode"),
    ("BR-NL-34", _allowance(charge=True), "/Invoice/cac:AllowanceCharge/cbc:AllowanceChargeReasonCode"),
    (
        "BR-NL-35",
        lambda r: insert_before(
            r,
            "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme",
            "<cbc:TaxExemptionReasonCode>VATEX-EU-O</cbc:TaxExemptionReasonCode>",
        ),
        "/Invoice/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode",
    ),
]


@pytest.mark.parametrize("rule,change,path", WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_a_dutch_recommendation_broken_is_accepted_with_the_warning_recorded(rule, change, path):
    invoice = parse_einvoice(changed(change))

    assert [(w.rule, w.path) for w in invoice.warnings] == [(rule, path)]
    assert invoice.warnings[0].as_dict() == {"rule": rule, "path": path, "message": invoice.warnings[0].message}
    assert invoice.totals.payable == Money.euros("242.00")


def test_br_nl_33_a_tax_total_in_another_currency_is_a_warning_that_our_euro_rule_outranks():
    root = load()
    find(root, "cac:TaxTotal/cbc:TaxAmount").set("currencyID", "USD")

    assert [(rule.rule, path) for rule, path, _ in nl_rule_findings(root, DocumentKind.INVOICE)] == [
        ("BR-NL-33", "/Invoice/cac:TaxTotal/cbc:TaxAmount")
    ]
    assert refusal(xml(root)).code == "einvoice.currency"  # a budget pays in euro only


def test_warnings_are_not_given_outside_the_dutch_profile():
    def peppol_from_belgium(root: etree._Element) -> None:
        find(
            root, "cbc:CustomizationID"
        ).text = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
        find(root, f"{SUPPLIER}/cac:PostalAddress/cac:Country/cbc:IdentificationCode").text = "BE"
        find(root, "cac:PaymentMeans/cbc:PaymentMeansCode").set("name", "Credit transfer")

    assert parse_einvoice(changed(peppol_from_belgium)).warnings == ()


def test_every_rule_in_the_list_is_in_the_table_once_with_its_severity():
    fatal = {f"BR-NL-{n}" for n in (1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13)}
    warnings = {f"BR-NL-{n}" for n in (19, 20, 21, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35)}

    assert {r.rule for r in NL_RULES if r.severity is Severity.FATAL} == fatal
    assert {r.rule for r in NL_RULES if r.severity is Severity.WARNING} == warnings
    tested = {c[0] for c in FATAL_CASES} | {c[0] for c in WARNING_CASES} | {"BR-NL-33"}
    assert tested == fatal | warnings


@pytest.mark.parametrize("name", ok_example_names())
def test_the_real_ok_examples_break_no_dutch_rule(name):
    assert parse_einvoice(xml(load(name, payable=False))).warnings == ()


def test_the_real_error_example_breaks_exactly_br_nl_7():
    root = load("SI-UBL-2.0_BR-NL-7_error_invoicetypecode_string.xml", payable=False)

    assert [rule.rule for rule, _, _ in nl_rule_findings(root, DocumentKind.INVOICE)] == ["BR-NL-7"]


# --- Credit notes -------------------------------------------------------------------------------


def test_the_real_invoice_as_a_credit_note_parses_as_a_credit_note_of_that_invoice():
    note = parse_einvoice(xml(as_credit_note(load())))

    assert note.kind is DocumentKind.CREDIT_NOTE
    assert (note.invoice_number, note.type_code, note.billing_references) == ("CN-12115118-1", "381", ("12115118",))
    assert note.totals.tax_exclusive == Money.euros("200.00") and note.totals.tax_amount == Money.euros("42.00")
    assert note.warnings == () and note.payment_holds == ()


def test_a_credit_note_is_held_to_the_dutch_rules_too():
    note = as_credit_note(load())
    remove(note, f"{SUPPLIER}/cac:PostalAddress/cbc:StreetName")

    error = refusal(xml(note))

    assert (error.rule, error.path) == (
        "BR-NL-3",
        "/CreditNote/cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cbc:StreetName",
    )


def test_a_credit_note_records_its_warnings():
    note = as_credit_note(load())
    find(note, "cac:PaymentMeans/cbc:PaymentMeansCode").set("name", "Overboeking")

    assert [w.rule for w in parse_einvoice(xml(note)).warnings] == ["BR-NL-29"]


def test_br_nl_8_a_credit_note_with_an_invoice_type_code_belongs_in_an_invoice():
    note = as_credit_note(load())
    find(note, "cbc:CreditNoteTypeCode").text = "384"

    assert [rule.rule for rule, _, _ in nl_rule_findings(note, DocumentKind.CREDIT_NOTE)] == ["BR-NL-8"]
    assert refusal(xml(note)).code == "einvoice.type_code"  # Peppol's code list says no first


def test_br_nl_11_asks_no_payment_means_of_a_credit_note():
    note = as_credit_note(load())
    remove(note, "cac:PaymentMeans")

    assert parse_einvoice(xml(note)).payee_accounts == ()


def test_a_negative_credit_note_parses_and_says_so_in_its_totals():
    note = set_amounts(as_credit_note(load()), net="-200.00", vat="-42.00")

    assert parse_einvoice(xml(note)).totals.payable == Money.euros("-242.00")


# --- Robustness: refused with a reason, never an exception of another kind ----------------------


HOSTILE = [
    b"<Invoice",
    b"\x00\x01\x02",
    b"<?xml version='1.0' encoding='UTF-16'?><Invoice/>",
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><Invoice>&lol3;</Invoice>',
    b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><x/>',
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-3"/>',
    b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>',
    b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'>"
    + b"<a>" * 300
    + b"</a>" * 300
    + b"</Invoice>",
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_or_foreign_documents_are_refused_as_einvoice_errors(raw):
    error = refusal(raw)

    assert error.code.startswith("einvoice.")


def test_the_real_example_in_wrong_namespaces_is_refused():
    raw = xml(load()).replace(b"CommonBasicComponents-2", b"CommonBasicComponents-9")

    assert refusal(raw).code == "einvoice.schema_invalid"


@pytest.mark.parametrize("amount", ["9" * 40 + ".00", "10000000.01", "-" + "9" * 30])
def test_an_absurdly_large_amount_is_refused_before_any_sum(amount):
    raw = changed(lambda r: setattr(find(r, "cac:LegalMonetaryTotal/cbc:PayableAmount"), "text", amount))

    error = refusal(raw)

    assert error.code == "einvoice.amount_too_large"
    assert error.path == "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount" and len(error.message) < 200


def test_a_huge_quantity_or_unit_price_is_no_crash():
    def huge(root: etree._Element) -> None:
        find(root, "cac:InvoiceLine/cbc:InvoicedQuantity").text = "9" * 60
        find(root, "cac:InvoiceLine/cac:Price/cbc:PriceAmount").text = "0." + "1" * 60

    invoice = parse_einvoice(changed(huge))

    assert invoice.lines[0].quantity > 0
