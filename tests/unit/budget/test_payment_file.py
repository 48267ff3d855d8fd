"""pain.001 payment files: valid against the bank's XSD, totals that are the payments' sum,
and a run with a single bad payment refused before any file exists."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
import sepaxml
import xmlschema
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from services.budget.domain.payment_file import (
    SUPPORTED_SCHEMAS,
    Debtor,
    Payment,
    PaymentFileError,
    build_pain001,
    parse_pain001_totals,
    read_back_pain001,
    validate_pain001,
)
from shared.money import Money

MUNICIPALITY = Debtor("Gemeente Zwolle", "NL91ABNA0417164300", "ABNANL2A")
RUN_DAY = date(2026, 12, 1)


def payment(n: int = 1, cents: int = 15000, **changes) -> Payment:
    base = Payment(
        end_to_end_id=f"PRB-2026-12-{n:05d}",
        creditor_name="Coaching Van Dijk B.V.",
        creditor_iban="NL02ABNA0123456789",
        creditor_bic=None,
        amount=Money(cents),
        remittance=f"Factuur F-2026-{n:04d} budgetregel BL-2026-0042",
    )
    return replace(base, **changes)


def refusal(payments, **kwargs) -> PaymentFileError:
    with pytest.raises(PaymentFileError) as caught:
        build_pain001(
            kwargs.pop("debtor", MUNICIPALITY),
            payments,
            kwargs.pop("execution_date", RUN_DAY),
            kwargs.pop("message_id", "RUN-2026-12-01"),
            **kwargs,
        )
    return caught.value


def elements(xml_bytes: bytes, local_name: str) -> list[str]:
    root = etree.fromstring(xml_bytes)
    return [el.text for el in root.iter(f"{{{etree.QName(root).namespace}}}{local_name}")]


@pytest.mark.parametrize("schema", SUPPORTED_SCHEMAS)
def test_pain001_is_valid_against_the_xsd_sepaxml_ships_for_both_versions(schema):
    payments = [payment(1), payment(2, 9999, creditor_bic="INGBNL2A", creditor_iban="NL69 INGB 0123 4567 89")]

    file = build_pain001(MUNICIPALITY, payments, RUN_DAY, "RUN-2026-12-01", schema)

    assert file.schema == schema
    assert validate_pain001(file.xml_bytes) == schema
    # Cross-check with the other validator, the one sepaxml itself uses, on the same XSD file.
    xsd = Path(sepaxml.__file__).parent / "schemas" / f"{schema}.xsd"
    xmlschema.XMLSchema(str(xsd)).validate(file.xml_bytes.decode())


def test_default_schema_is_pain_001_001_09():
    file = build_pain001(MUNICIPALITY, [payment()], RUN_DAY, "RUN-1")

    assert file.schema == "pain.001.001.09"
    assert b"urn:iso:std:iso:20022:tech:xsd:pain.001.001.09" in file.xml_bytes


def test_control_sum_and_count_are_those_of_the_payments():
    payments = [payment(1, 15000), payment(2, 1), payment(3, 123456)]

    file = build_pain001(MUNICIPALITY, payments, RUN_DAY, "RUN-2026-12-01")

    assert file.number_of_transactions == 3
    assert file.control_sum == Money(138457)
    assert parse_pain001_totals(file.xml_bytes) == (3, Money(138457))
    assert elements(file.xml_bytes, "CtrlSum") == ["1384.57", "1384.57"]  # group header and the one batch


def test_file_carries_our_message_id_execution_date_references_and_clean_accounts():
    file = build_pain001(
        MUNICIPALITY, [payment(1, creditor_iban="nl02 abna 0123 4567 89")], RUN_DAY, "RUN-2026-12-01", "pain.001.001.09"
    )

    assert file.message_id == "RUN-2026-12-01"
    assert elements(file.xml_bytes, "MsgId") == ["RUN-2026-12-01"]
    assert elements(file.xml_bytes, "Dt") == ["2026-12-01"]
    assert elements(file.xml_bytes, "EndToEndId") == ["PRB-2026-12-00001"]
    assert elements(file.xml_bytes, "IBAN") == ["NL91ABNA0417164300", "NL02ABNA0123456789"]
    assert elements(file.xml_bytes, "Ustrd") == ["Factuur F-2026-0001 budgetregel BL-2026-0042"]
    assert elements(file.xml_bytes, "InstdAmt") == ["150.00"]


def test_accented_names_and_texts_are_transliterated_for_the_bank():
    file = build_pain001(
        MUNICIPALITY, [payment(creditor_name="Café Ørsted Coaching", remittance="Factuur 12 – € 150")], RUN_DAY, "RUN-1"
    )

    assert "Cafe Orsted Coaching" in elements(file.xml_bytes, "Nm")
    assert elements(file.xml_bytes, "Ustrd") == ["Factuur 12 - EUR 150"]


def test_creditor_name_longer_than_seventy_characters_is_cut_to_seventy():
    file = build_pain001(MUNICIPALITY, [payment(creditor_name="Stichting " + "Re-integratie " * 10)], RUN_DAY, "RUN-1")

    creditor = elements(file.xml_bytes, "Nm")[-1]
    assert len(creditor) <= 70 and creditor.startswith("Stichting Re-integratie")


def test_remittance_of_exactly_140_characters_fits():
    file = build_pain001(MUNICIPALITY, [payment(remittance="x" * 140)], RUN_DAY, "RUN-1")

    assert elements(file.xml_bytes, "Ustrd") == ["x" * 140]


def test_remittance_longer_than_140_characters_is_refused_not_cut():
    error = refusal([payment(1), payment(2, remittance="F" * 141)])

    assert (error.code, error.field) == ("payment_file.remittance_too_long", "payments[1].remittance")


def test_remittance_that_grows_past_140_when_transliterated_is_refused():
    assert refusal([payment(remittance="€" * 50)]).code == "payment_file.remittance_too_long"  # "EUR" x 50


def test_duplicate_end_to_end_id_is_refused():
    error = refusal([payment(1), payment(2), payment(1, cents=500)])

    assert (error.code, error.field) == ("payment_file.duplicate_end_to_end_id", "payments[2].end_to_end_id")


@pytest.mark.parametrize("iban", ["NL11BANK1111111111", "NL02ABNA0123456788", "not an iban", ""])
def test_invalid_creditor_iban_is_refused(iban):
    error = refusal([payment(1), payment(2, creditor_iban=iban)])

    assert (error.code, error.field) == ("payment_file.iban", "payments[1].creditor_iban")


def test_iban_outside_the_sepa_zone_is_refused():
    assert "SEPA" in refusal([payment(creditor_iban="BR1500000000000010932840814P2")]).message


def test_invalid_debtor_iban_or_bic_is_refused():
    assert refusal([payment()], debtor=replace(MUNICIPALITY, iban="NL91ABNA0417164301")).field == "debtor.iban"
    assert refusal([payment()], debtor=replace(MUNICIPALITY, bic="ABNA")).field == "debtor.bic"


def test_invalid_creditor_bic_is_refused():
    assert refusal([payment(creditor_bic="ZZZZ")]).code == "payment_file.bic"


def test_empty_run_is_refused():
    assert refusal([]).code == "payment_file.empty"


@pytest.mark.parametrize("cents", [0, -1, -15000])
def test_zero_or_negative_amount_is_refused(cents):
    error = refusal([payment(1), payment(2, cents=cents)])

    assert (error.code, error.field) == ("payment_file.amount", "payments[1].amount")


def test_amount_above_the_sepa_maximum_is_refused():
    assert refusal([payment(cents=999_999_999_99 + 1)]).code == "payment_file.amount"


@pytest.mark.parametrize("bad_id", ["", "x" * 36, "/starts-with-slash", "a//b", "naïve", "under_score"])
def test_end_to_end_id_outside_the_sepa_rules_is_refused(bad_id):
    assert refusal([payment(end_to_end_id=bad_id)]).code == "payment_file.end_to_end_id"


def test_message_id_outside_the_sepa_rules_is_refused():
    assert refusal([payment()], message_id="x" * 36).code == "payment_file.message_id"


def test_unknown_schema_is_refused():
    assert refusal([payment()], schema="pain.001.001.02").code == "payment_file.schema"


def test_execution_date_must_be_a_date_without_time():
    assert refusal([payment()], execution_date=datetime(2026, 12, 1, 9, 0)).code == "payment_file.execution_date"


def test_tampered_control_sum_is_caught_when_totals_are_read_back():
    file = build_pain001(MUNICIPALITY, [payment(1), payment(2)], RUN_DAY, "RUN-1")
    tampered = file.xml_bytes.replace(b"<CtrlSum>300.00</CtrlSum>", b"<CtrlSum>310.00</CtrlSum>", 1)

    with pytest.raises(PaymentFileError) as caught:
        parse_pain001_totals(tampered)
    assert caught.value.code == "payment_file.totals_mismatch"


def test_tampered_file_fails_the_xsd():
    file = build_pain001(MUNICIPALITY, [payment()], RUN_DAY, "RUN-1")
    tampered = file.xml_bytes.replace(b"<IBAN>NL02ABNA0123456789</IBAN>", b"<IBAN>NL02 ABNA 0123</IBAN>")

    with pytest.raises(PaymentFileError) as caught:
        validate_pain001(tampered)
    assert caught.value.code == "payment_file.schema_invalid" and "IBAN" in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        b"<not-closed",
        b'<Document xmlns="urn:example"/>',
        b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>',
    ],
)
def test_reading_totals_refuses_what_is_not_a_pain001_file(raw):
    with pytest.raises(PaymentFileError) as caught:
        parse_pain001_totals(raw)
    assert caught.value.code == "payment_file.malformed"


@settings(max_examples=60, deadline=None)
@given(
    cents=st.lists(st.integers(min_value=1, max_value=999_999_999_99), min_size=1, max_size=40),
    schema=st.sampled_from(SUPPORTED_SCHEMAS),
)
def test_control_sum_is_always_the_exact_sum_of_the_payments(cents, schema):
    payments = [payment(n, c) for n, c in enumerate(cents, start=1)]

    file = build_pain001(MUNICIPALITY, payments, RUN_DAY, "RUN-PROPERTY", schema)

    assert file.control_sum == Money(sum(cents))
    assert file.number_of_transactions == len(cents)
    assert parse_pain001_totals(file.xml_bytes) == (len(cents), Money(sum(cents)))


def _without_random_parts(xml_bytes: bytes) -> bytes:
    """The file without its creation time and the random tail of its PmtInfId."""
    xml_bytes = re.sub(rb"<CreDtTm>[^<]*</CreDtTm>", b"<CreDtTm/>", xml_bytes)
    return re.sub(rb"<PmtInfId>([^<]*)-[0-9a-f]{12}</PmtInfId>", rb"<PmtInfId>\1-</PmtInfId>", xml_bytes)


@pytest.mark.parametrize("schema", SUPPORTED_SCHEMAS)
def test_streamed_file_is_the_file_sepaxml_wrote_byte_for_byte(schema):
    debtor = Debtor("Gemeente Zwolle & Omstreken", "NL91ABNA0417164300", "ABNANL2A")
    payments = [
        payment(n, 1 + n * 1234, creditor_bic="ABNANL2A" if n % 2 else None, creditor_name=f"Coach <{n}> & Co")
        for n in range(1, 8)
    ]
    transfer = sepaxml.SepaTransfer(
        {"name": debtor.name, "IBAN": debtor.iban, "BIC": debtor.bic, "batch": True, "currency": "EUR"},
        schema=schema,
        clean=False,
    )
    for p in payments:
        entry = {"name": p.creditor_name, "IBAN": p.creditor_iban, "amount": p.amount.cents}
        entry |= {"execution_date": RUN_DAY, "description": p.remittance, "endtoend_id": p.end_to_end_id}
        transfer.add_payment(entry | ({"BIC": p.creditor_bic} if p.creditor_bic else {}))
    theirs = re.sub(rb"<MsgId>[^<]*</MsgId>", b"<MsgId>RUN-1</MsgId>", transfer.export(validate=False))

    ours = build_pain001(debtor, payments, RUN_DAY, "RUN-1", schema).xml_bytes

    assert _without_random_parts(ours) == _without_random_parts(theirs)


def test_a_streamed_file_of_many_payments_is_valid_and_its_totals_are_the_payments():
    payments = [payment(n, 100 + n, creditor_bic="ABNANL2A" if n % 3 == 0 else None) for n in range(1, 2501)]

    file = build_pain001(MUNICIPALITY, payments, RUN_DAY, "RUN-MANY", "pain.001.001.03")

    assert validate_pain001(file.xml_bytes) == "pain.001.001.03"
    xsd = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
    xmlschema.XMLSchema(str(xsd)).validate(file.xml_bytes.decode())  # a second, independent validator
    expected = Money(sum(100 + n for n in range(1, 2501)))
    assert (file.number_of_transactions, file.control_sum) == (2500, expected)
    assert parse_pain001_totals(file.xml_bytes) == (2500, expected)
    assert file.size == len(file.xml_bytes)


def test_reading_back_a_streamed_file_catches_a_block_total_that_disagrees():
    file = build_pain001(MUNICIPALITY, [payment(1), payment(2)], RUN_DAY, "RUN-1")
    block_start = file.xml_bytes.index(b"<PmtInf>")
    head, block = file.xml_bytes[:block_start], file.xml_bytes[block_start:]
    tampered = head + block.replace(b"<CtrlSum>300.00</CtrlSum>", b"<CtrlSum>310.00</CtrlSum>", 1)

    with pytest.raises(PaymentFileError) as caught:
        read_back_pain001(io.BytesIO(tampered), "pain.001.001.09")
    assert caught.value.code == "payment_file.totals_mismatch" and "payment block" in caught.value.message


def test_reading_back_a_streamed_file_validates_it_against_the_xsd():
    file = build_pain001(MUNICIPALITY, [payment()], RUN_DAY, "RUN-1")
    tampered = file.xml_bytes.replace(b"<IBAN>NL02ABNA0123456789</IBAN>", b"<IBAN>NL02 ABNA 0123</IBAN>")

    with pytest.raises(PaymentFileError) as caught:
        read_back_pain001(io.BytesIO(tampered), "pain.001.001.09")
    assert caught.value.code == "payment_file.schema_invalid"
    assert read_back_pain001(io.BytesIO(file.xml_bytes), "pain.001.001.09") == (1, Money(15000))
