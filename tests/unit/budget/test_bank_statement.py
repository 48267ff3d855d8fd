"""Reading camt.053 / camt.054 bank statements, and what each transaction means for its item."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.events import InvoicePaymentReturnedV1
from services.budget.domain.bank_statement import (
    MAX_STATEMENT_BYTES,
    BankStatementError,
    ItemState,
    Outcome,
    decide,
    parse_bank_statement,
    return_reason,
)
from services.budget.domain.invoice import HoldbackStatus, Invoice, InvoiceStatus, PaymentPart
from services.budget.domain.ledger import LineBalance, TransactionKind
from shared.errors import Conflict, DomainError
from shared.money import Money

IBAN = "NL39RABO0300065264"


def transaction(
    e2e: str, amount: str, *, ccy: str = "EUR", return_code: str | None = None, amount_in: str = "Amt"
) -> str:
    amount_xml = (
        f'<Amt Ccy="{ccy}">{amount}</Amt>'
        if amount_in == "Amt"
        else f'<AmtDtls><TxAmt><Amt Ccy="{ccy}">{amount}</Amt></TxAmt></AmtDtls>'
    )
    back = f"<RtrInf><Rsn><Cd>{return_code}</Cd></Rsn></RtrInf>" if return_code else ""
    return f"<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>{amount_xml}{back}</TxDtls>"


def camt(
    entries: list[str], *, message: str = "camt.053", version: str = "02", msg_id: str = "STMT-1", iban: str = IBAN
) -> bytes:
    root, block = ("BkToCstmrStmt", "Stmt") if message == "camt.053" else ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{message}.001.{version}"><{root}>'
        f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>2026-11-24T06:00:00</CreDtTm></GrpHdr>"
        f"<{block}><Id>{msg_id}-A</Id><Acct><Id><IBAN>{iban}</IBAN></Id></Acct>{''.join(entries)}</{block}>"
        f"</{root}></Document>"
    ).encode()


def entry(
    details: str,
    *,
    amount: str = "100.00",
    cd: str = "DBIT",
    status: str = "BOOK",
    version: str = "02",
    ref: str = "R1",
) -> str:
    sts = f"<Sts><Cd>{status}</Cd></Sts>" if int(version) >= 8 else f"<Sts>{status}</Sts>"
    return (
        f'<Ntry><NtryRef>{ref}</NtryRef><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{cd}</CdtDbtInd>{sts}'
        f"<BookgDt><Dt>2026-11-24</Dt></BookgDt><AcctSvcrRef>BANK-{ref}</AcctSvcrRef>"
        f"<NtryDtls>{details}</NtryDtls></Ntry>"
    )


def test_a_camt053_v02_batch_entry_gives_one_transaction_per_end_to_end_id_with_its_own_amount():
    raw = camt(
        [entry(transaction("E2E-1", "60.00", amount_in="AmtDtls") + transaction("E2E-2", "40.00", amount_in="AmtDtls"))]
    )
    statement = parse_bank_statement(raw)
    assert (statement.message, statement.schema, statement.message_id) == ("camt.053", "camt.053.001.02", "STMT-1")
    assert statement.accounts == (IBAN,)
    first, second = statement.transactions
    assert (first.end_to_end_id, first.amount, first.currency) == ("E2E-1", Money(6000), "EUR")
    assert (second.end_to_end_id, second.amount, second.position) == ("E2E-2", Money(4000), 2)
    assert first.booked and first.credit_debit == "DBIT" and first.booking_date == date(2026, 11, 24)
    assert first.entry_ref == "BANK-R1" and not first.returned


@pytest.mark.parametrize("version", ["08", "13"])
def test_a_camt054_of_a_later_version_reads_the_status_code_and_a_return_with_its_reason(version):
    raw = camt(
        [entry(transaction("E2E-9", "25.50", return_code="AC04"), amount="25.50", cd="CRDT", version=version)],
        message="camt.054",
        version=version,
    )
    (tx,) = parse_bank_statement(raw).transactions
    assert tx.booked and tx.returned and tx.return_code == "AC04" and tx.amount == Money(2550)


def test_an_entry_without_transaction_details_is_one_transaction_without_reference():
    raw = camt(['<Ntry><Amt Ccy="EUR">5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts></Ntry>'])
    (tx,) = parse_bank_statement(raw).transactions
    assert tx.end_to_end_id is None and tx.amount == Money(500) and tx.entry_ref == "STMT-1-A/1"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.052.001.02'/>", "bank_statement.unsupported"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.99'/>", "bank_statement.unsupported"),
        (b"<Invoice/>", "bank_statement.unsupported"),
        (b"not xml", "bank_statement.malformed"),
        (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'/>", "bank_statement.malformed"),
    ],
)
def test_anything_but_a_supported_camt_document_is_refused_with_its_problem(raw, code):
    with pytest.raises(BankStatementError) as refused:
        parse_bank_statement(raw)
    assert refused.value.code == code and refused.value.status == 422


def test_a_doctype_with_an_entity_bomb_is_refused_without_expanding_it():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'><BkToCstmrStmt><GrpHdr>"
        b"<MsgId>&c;</MsgId></GrpHdr></BkToCstmrStmt></Document>"
    )
    with pytest.raises(BankStatementError) as refused:
        parse_bank_statement(bomb)
    assert refused.value.code == "bank_statement.dtd_forbidden"
    external = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>'
    with pytest.raises(BankStatementError) as refused:
        parse_bank_statement(external)
    assert refused.value.code == "bank_statement.dtd_forbidden"


def test_a_file_above_the_size_limit_is_refused_before_it_is_parsed():
    with pytest.raises(BankStatementError) as refused:
        parse_bank_statement(b" " * (MAX_STATEMENT_BYTES + 1))
    assert refused.value.code == "bank_statement.too_large" and refused.value.field == "file"


def test_return_reasons_have_english_and_dutch_texts_and_unknown_codes_are_named():
    assert return_reason("AC04").en == "Closed account number" and return_reason("AC04").nl == "Rekening opgeheven"
    assert return_reason("AM04").nl == "Onvoldoende saldo"
    assert "ZZ99" in return_reason("ZZ99").en and "ZZ99" in return_reason("ZZ99").nl


def _one(details: str, **kwargs: str):
    return parse_bank_statement(camt([entry(details, **kwargs)])).transactions[0]


@pytest.mark.parametrize(
    ("details", "kwargs", "state", "outcome"),
    [
        (transaction("E", "100.00"), {}, ItemState.OPEN, Outcome.PAID),
        (transaction("E", "100.00"), {}, ItemState.PAID, Outcome.ALREADY_PAID),
        (transaction("E", "100.00"), {}, ItemState.RETURNED, Outcome.ALREADY_RETURNED),
        (transaction("E", "99.99"), {}, ItemState.OPEN, Outcome.AMOUNT_MISMATCH),
        (transaction("E", "100.00", ccy="USD"), {}, ItemState.OPEN, Outcome.CURRENCY_MISMATCH),
        (transaction("E", "100.00"), {"status": "PDNG"}, ItemState.OPEN, Outcome.NOT_BOOKED),
        (transaction("E", "100.00", return_code="AC04"), {"cd": "CRDT"}, ItemState.PAID, Outcome.RETURNED),
        (transaction("E", "100.00", return_code="AC04"), {"cd": "CRDT"}, ItemState.OPEN, Outcome.RETURNED),
        (transaction("E", "100.00", return_code="AC04"), {"cd": "CRDT"}, ItemState.RETURNED, Outcome.ALREADY_RETURNED),
        (transaction("E", "100.00"), {"cd": "CRDT"}, ItemState.PAID, Outcome.NOT_A_PAYMENT),
    ],
)
def test_each_transaction_changes_its_item_only_when_booked_in_euro_for_the_exact_amount(
    details, kwargs, state, outcome
):
    assert decide(_one(details, **kwargs), Money(100_00), state).outcome is outcome


def test_a_transaction_naming_no_known_item_is_not_found():
    assert decide(_one(transaction("E", "100.00")), None, None).outcome is Outcome.NOT_FOUND


# --- what a return does to the invoice and the ledger -----------------------------------------


def _invoice(status: str, **extra: object) -> Invoice:
    return Invoice(
        id="inv-1",
        budget_id="b-1",
        budget_line_id="l-1",
        plan_id="p-1",
        client_id="c-1",
        amount_cents=100_00,
        amount_excl_vat_cents=100_00,
        vat_cents=21_00,
        status=status,
        provider_id="coach-bv",
        **extra,  # type: ignore[arg-type]
    )


def test_a_returned_payment_puts_the_invoice_back_to_approved_on_a_hold_and_says_so():
    invoice = _invoice(InvoiceStatus.PAID, paid_on=date(2026, 11, 24))
    invoice.payment_returned(
        PaymentPart.MAIN, Money(121_00), was_paid=True, reason_code="AC04", hold="AC04", returned_on=date(2026, 11, 26)
    )
    assert (invoice.status, invoice.paid_on, invoice.payment_hold) == (InvoiceStatus.APPROVED, None, "AC04")
    (event,) = invoice.events
    assert isinstance(event, InvoicePaymentReturnedV1)
    assert (event.amount_cents, event.reason_code, event.part) == (121_00, "AC04", "main")


def test_a_transfer_returned_before_it_was_booked_paid_announces_nothing():
    invoice = _invoice(InvoiceStatus.SCHEDULED)
    invoice.payment_returned(
        PaymentPart.MAIN, Money(121_00), was_paid=False, reason_code=None, hold="x", returned_on=date(2026, 11, 26)
    )
    assert invoice.status == InvoiceStatus.APPROVED and invoice.events == []


def test_a_returned_holdback_is_released_again_and_an_unpaid_invoice_cannot_be_returned():
    holdback = _invoice(InvoiceStatus.PAID, holdback_status=HoldbackStatus.PAID)
    holdback.payment_returned(
        PaymentPart.HOLDBACK, Money(10_00), was_paid=True, reason_code="AC01", hold="x", returned_on=date(2026, 11, 26)
    )
    assert (holdback.status, holdback.holdback_status) == (InvoiceStatus.PAID, HoldbackStatus.RELEASED)
    with pytest.raises(Conflict):
        _invoice(InvoiceStatus.APPROVED).payment_returned(
            PaymentPart.MAIN, Money(1), was_paid=True, reason_code=None, hold="x", returned_on=date(2026, 11, 26)
        )


def test_the_ledger_moves_a_returned_payment_from_paid_back_to_payable_and_never_more_than_was_paid():
    line = LineBalance()
    line.grant(Money(500_00))
    line.approve_invoice(Money(100_00))
    line.pay(Money(100_00))
    tx = line.return_payment(Money(100_00))
    assert tx.kind == TransactionKind.PAYMENT_RETURNED
    assert (line.paid, line.payable, line.granted) == (Money(0), Money(100_00), Money(500_00))
    with pytest.raises(DomainError):
        line.return_payment(Money(1))
