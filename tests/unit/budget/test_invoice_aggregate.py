"""The Invoice aggregate decides an invoice's next state, refuses with a stable code, and records
the events its moves cause. No database, no clock: plain objects."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from contracts.events import (
    InvoiceApprovedV2,
    InvoiceAwaitingConfirmationV1,
    InvoiceConfirmedByClientV1,
    InvoicePaidV2,
    InvoiceReceivedV2,
    InvoiceRejectedV2,
)
from services.budget.domain.invoice import (
    Approval,
    CreditKind,
    HoldbackStatus,
    Invoice,
    InvoiceStatus,
    PaymentPart,
    credit_amount,
)
from shared.errors import Conflict, Forbidden, RuleBroken
from shared.money import Money

AT = datetime(2026, 11, 23, 9, tzinfo=UTC)
THRESHOLD = Money.euros("2500.00")


def received(charge: str = "100.00", vat: str = "0.00", **flags: bool) -> Invoice:
    return Invoice.receive(
        invoice_id="inv-1",
        budget_id="b-1",
        budget_line_id="l-1",
        plan_id="p-1",
        client_id="c-1",
        charge=Money.euros(charge),
        amount_excl_vat=Money.euros(charge),
        vat=Money.euros(vat),
        budget_closed=flags.get("budget_closed", False),
        needs_client_confirmation=flags.get("needs_client_confirmation", False),
        provider_id="coach-bv",
        provider_kvk="12345678",
    )


def approved(charge: str = "100.00", vat: str = "0.00", held: str = "0.00") -> Invoice:
    invoice = received(charge, vat)
    assert invoice.approve("fin-1", four_eyes_threshold=THRESHOLD) is Approval.FINAL
    invoice.booked(
        "fin-1", AT, remaining=Money.euros("900.00"), held=Money.euros(held), held_transfer=Money.euros(held)
    )
    invoice.events.clear()
    return invoice


PROVIDER = {"provider_id": "coach-bv", "provider_kvk": "12345678"}


def test_an_invoice_arrives_received_and_records_invoice_received_naming_its_provider():
    invoice = received()
    assert invoice.status == InvoiceStatus.RECEIVED
    assert invoice.events == [
        InvoiceReceivedV2(
            invoice_id="inv-1", budget_id="b-1", budget_line_id="l-1", client_id="c-1", amount_cents=100_00, **PROVIDER
        )
    ]


def test_an_invoice_that_waits_for_the_client_says_so_once_when_it_arrives():
    invoice = received(needs_client_confirmation=True)
    awaiting = [e for e in invoice.events if isinstance(e, InvoiceAwaitingConfirmationV1)]
    assert awaiting == [
        InvoiceAwaitingConfirmationV1(
            invoice_id="inv-1", budget_id="b-1", client_id="c-1", provider_id="coach-bv", amount_cents=100_00
        )
    ]
    invoice.events.clear()
    invoice.confirm_by_client(AT)  # and says it was confirmed: the reminder to confirm stops
    assert invoice.events == [InvoiceConfirmedByClientV1(invoice_id="inv-1", budget_id="b-1", client_id="c-1")]


@pytest.mark.parametrize(
    "flags", [{}, {"budget_closed": True}, {"budget_closed": True, "needs_client_confirmation": True}]
)
def test_an_invoice_that_needs_no_confirmation_does_not_say_it_waits_for_one(flags):
    assert not [e for e in received(**flags).events if isinstance(e, InvoiceAwaitingConfirmationV1)]


@pytest.mark.parametrize(
    ("flags", "status"),
    [
        ({"needs_client_confirmation": True}, InvoiceStatus.AWAITING_CLIENT),
        ({"budget_closed": True}, InvoiceStatus.REVIEW),
        ({"budget_closed": True, "needs_client_confirmation": True}, InvoiceStatus.REVIEW),
    ],
)
def test_an_invoice_waits_for_the_client_or_for_review(flags, status):
    assert received(**flags).status == status


def test_the_client_confirms_once_and_then_it_needs_no_confirmation():
    invoice = received(needs_client_confirmation=True)
    invoice.confirm_by_client(AT)
    assert (invoice.status, invoice.client_confirmed_at) == (InvoiceStatus.RECEIVED, AT)
    with pytest.raises(Conflict) as refused:
        invoice.confirm_by_client(AT)
    assert refused.value.code == "invoice.wrong_state"


def test_sent_by_the_client_is_their_confirmation():
    invoice = received(needs_client_confirmation=True)
    invoice.sent_by_client(AT)
    assert (invoice.status, invoice.client_confirmed_at) == (InvoiceStatus.RECEIVED, AT)


def test_an_invoice_waiting_for_the_client_cannot_be_approved():
    with pytest.raises(Conflict) as refused:
        received(needs_client_confirmation=True).approve("fin-1", four_eyes_threshold=THRESHOLD)
    assert refused.value.code == "invoice.awaiting_client"


def test_approval_books_and_records_invoice_approved_with_the_remaining_money():
    invoice = received()
    assert invoice.approve("fin-1", four_eyes_threshold=THRESHOLD) is Approval.FINAL
    assert invoice.status == InvoiceStatus.RECEIVED and invoice.events[1:] == []  # not booked yet
    invoice.booked("fin-1", AT, remaining=Money.euros("900.00"), held=Money(0), held_transfer=Money(0))
    assert (invoice.status, invoice.approved_by, invoice.approved_at) == (InvoiceStatus.APPROVED, "fin-1", AT)
    assert invoice.holdback_status is None
    assert invoice.events[-1] == InvoiceApprovedV2(
        invoice_id="inv-1",
        budget_id="b-1",
        budget_line_id="l-1",
        client_id="c-1",
        amount_cents=100_00,
        remaining_cents=900_00,
        **PROVIDER,
    )


def test_above_the_four_eyes_threshold_a_second_different_person_approves():
    invoice = received("3000.00")
    invoice.events.clear()
    assert invoice.approve("fin-1", four_eyes_threshold=THRESHOLD) is Approval.FIRST_OF_TWO
    assert (invoice.status, invoice.first_approved_by) == (InvoiceStatus.AWAITING_SECOND_APPROVAL, "fin-1")
    assert invoice.events == []
    with pytest.raises(Forbidden) as refused:
        invoice.approve("fin-1", four_eyes_threshold=THRESHOLD)
    assert refused.value.code == "invoice.same_approver"
    assert invoice.approve("fin-2", four_eyes_threshold=THRESHOLD) is Approval.FINAL


def test_the_threshold_counts_the_total_incl_vat():
    invoice = received("2400.00", vat="504.00")
    assert invoice.approve("fin-1", four_eyes_threshold=THRESHOLD) is Approval.FIRST_OF_TWO


def test_a_holdback_is_recorded_on_the_booked_invoice():
    invoice = approved(held="20.00")
    assert (invoice.holdback_status, invoice.held_cents, invoice.held_pay_cents) == (HoldbackStatus.HELD, 20_00, 20_00)
    assert invoice.open_charge == Money.euros("80.00") and invoice.open_transfer == Money.euros("80.00")


@pytest.mark.parametrize(
    "status", [InvoiceStatus.APPROVED, InvoiceStatus.SCHEDULED, InvoiceStatus.PAID, InvoiceStatus.REJECTED]
)
def test_a_decided_invoice_cannot_be_approved_or_rejected_again(status):
    invoice = received()
    invoice.status = status
    for decide in (lambda: invoice.approve("fin-1", four_eyes_threshold=THRESHOLD), lambda: invoice.reject("no")):
        with pytest.raises(Conflict) as refused:
            decide()
        assert refused.value.code == "invoice.wrong_state"


def test_a_late_invoice_in_review_needs_money_granted_again():
    assert received(budget_closed=True).needs_new_grant
    assert not received().needs_new_grant


def test_rejection_records_invoice_rejected():
    invoice = received()
    invoice.events.clear()
    invoice.reject("Dubbel gestuurd")
    assert (invoice.status, invoice.rejection_code, invoice.rejection_reason) == (
        InvoiceStatus.REJECTED,
        "invoice.rejected",
        "Dubbel gestuurd",
    )
    assert invoice.events == [
        InvoiceRejectedV2(
            invoice_id="inv-1", budget_id="b-1", client_id="c-1", reason_code="invoice.rejected", **PROVIDER
        )
    ]


def test_only_an_approved_invoice_is_paid_by_hand():
    with pytest.raises(Conflict):
        received().ensure_payable_by_hand()
    approved().ensure_payable_by_hand()


def test_paying_the_main_part_and_the_holdback_record_invoice_paid_each():
    invoice = approved(held="20.00")
    invoice.paid(PaymentPart.MAIN, Money.euros("80.00"), date(2026, 11, 24))
    assert (invoice.status, invoice.paid_on) == (InvoiceStatus.PAID, date(2026, 11, 24))
    invoice.paid(PaymentPart.HOLDBACK, Money.euros("20.00"), date(2026, 12, 1))
    assert invoice.holdback_status == HoldbackStatus.PAID and invoice.paid_on == date(2026, 11, 24)
    paid = [e for e in invoice.events if isinstance(e, InvoicePaidV2)]
    assert [(e.amount_cents, e.provider_id, e.provider_kvk) for e in paid] == [
        (80_00, "coach-bv", "12345678"),
        (20_00, "coach-bv", "12345678"),
    ]


def test_a_credit_before_payment_lowers_what_is_paid_and_after_payment_is_a_refund():
    invoice = approved("300.00")
    credit = invoice.credit(Money.euros("50.00"))
    assert (credit.kind, credit.amount, credit.transfer) == (
        CreditKind.CREDIT,
        Money.euros("50.00"),
        Money.euros("50.00"),
    )
    assert invoice.open_charge == Money.euros("250.00") and invoice.credited_cents == 50_00
    with pytest.raises(RuleBroken) as refused:
        invoice.credit(Money.euros("250.01"))
    assert refused.value.code == "credit.too_large"
    invoice.paid(PaymentPart.MAIN, invoice.open_transfer, date(2026, 11, 24))
    assert invoice.credit(Money.euros("20.00")).kind == CreditKind.REFUND
    assert invoice.open_charge == Money.euros("230.00")


def test_a_credit_takes_the_transfer_down_by_the_same_share_incl_vat():
    invoice = approved("100.00", vat="21.00")
    assert invoice.credit(Money.euros("50.00")).transfer == Money.euros("60.50")


def test_an_invoice_not_yet_approved_cannot_be_credited_and_a_credit_is_above_zero():
    with pytest.raises(Conflict) as refused:
        received().credit(Money.euros("1.00"))
    assert refused.value.code == "credit.wrong_state"
    with pytest.raises(RuleBroken) as refused_amount:
        credit_amount(Money.euros("0.00").decimal)
    assert refused_amount.value.code == "credit.amount"
