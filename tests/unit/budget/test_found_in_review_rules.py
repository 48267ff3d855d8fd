"""The domain rules behind the review's findings, without a database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.budget.domain.invoice_checks import (
    IncomingInvoice,
    InvoiceRejected,
    LineSnapshot,
    ProviderToken,
    as_sent,
    check_invoice,
    kvk_of_provider_id,
    needs_client_confirmation,
)
from services.budget.domain.payment_file import PaymentFileError, check_execution_date
from shared.money import Money

DAY = date(2026, 6, 1)


def line(**kw) -> LineSnapshot:
    return LineSnapshot(
        **{
            "line_id": "l",
            "budget_status": "open",
            "line_status": "open",
            "remaining": Money(10_000),
            "provider_name": "Coach BV",
            "provider_kvk": None,
            "starts_on": DAY,
            "ends_on": None,
            "execution_deadline": DAY + timedelta(days=365),
            "opened_on": DAY,
            **kw,
        }
    )


def invoice(**kw) -> IncomingInvoice:
    return IncomingInvoice(
        **{
            "invoice_number": "F-1",
            "provider_name": "Coach BV",
            "provider_kvk": None,
            "provider_vat": None,
            "currency": "EUR",
            "amount_excl_vat": Money(100),
            "vat": Money(0),
            "service_from": DAY,
            "service_to": None,
            "flow": "provider",
            **kw,
        }
    )


@pytest.mark.parametrize(
    "provider_id,kvk",
    [
        ("kvk:30212345", "30212345"),
        ("KVK-30212345", "30212345"),
        ("30212345", "30212345"),
        ("coach-bv", None),
        (None, None),
        ("kvk:1234", None),
    ],
)
def test_the_kvk_a_provider_id_proves(provider_id, kvk):
    assert kvk_of_provider_id(provider_id) == kvk


def test_a_token_with_another_kvk_is_refused_and_a_line_without_kvk_waits_for_the_client():
    with pytest.raises(InvoiceRejected) as refused:
        check_invoice(
            line(provider_kvk="30212345"), invoice(sent_by=ProviderToken("12345678")), budgets_include_vat=False
        )
    assert (refused.value.code, refused.value.field) == ("invoice.provider_mismatch", "provider_kvk")
    with pytest.raises(InvoiceRejected):
        check_invoice(line(provider_kvk="30212345"), invoice(sent_by=ProviderToken(None)), budgets_include_vat=False)
    check_invoice(line(provider_kvk="30212345"), invoice(sent_by=ProviderToken("30212345")), budgets_include_vat=False)
    sent = invoice(sent_by=ProviderToken("12345678"))
    assert needs_client_confirmation(line(), sent, policy_asks=False)
    assert not needs_client_confirmation(line(provider_kvk="12345678"), sent, policy_asks=False)
    assert not needs_client_confirmation(line(), invoice(), policy_asks=False)  # finance entered it


def test_issue_date_margin_and_declarations_paid_in_the_future():
    check_invoice(line(), invoice(issue_date=DAY - timedelta(days=31)), budgets_include_vat=False)
    with pytest.raises(InvoiceRejected) as refused:
        check_invoice(line(), invoice(issue_date=DAY - timedelta(days=32)), budgets_include_vat=False)
    assert refused.value.field == "issue_date"
    future = invoice(flow="declaration", service_from=DAY + timedelta(days=1))
    with pytest.raises(InvoiceRejected) as refused:
        check_invoice(line(), future, budgets_include_vat=False, today=DAY)
    assert as_sent(refused.value, "declaration").field == "paid_on"
    assert as_sent(refused.value, "forwarded").field == "service_to"


def test_a_payment_run_is_executed_today_or_later():
    check_execution_date(DAY, DAY)
    with pytest.raises(PaymentFileError) as refused:
        check_execution_date(DAY - timedelta(days=1), DAY)
    assert refused.value.field == "execution_date"
