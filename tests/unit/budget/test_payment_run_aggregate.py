"""The PaymentRun aggregate decides which invoice parts go in a run, refuses a past execution
date or an empty run, builds the pain.001 file and records PaymentScheduled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import PaymentScheduledV1
from services.budget.domain.invoice import PaymentPart
from services.budget.domain.payment_file import Debtor, PaymentFileError, parse_pain001_totals
from services.budget.domain.payment_run import PaymentRun, PaymentRunStatus, payable_items
from shared.errors import Conflict, RuleBroken
from shared.money import Money

TODAY = date(2026, 11, 23)
DEBTOR = Debtor("Gemeente Utrecht", "NL91ABNA0417164300", "ABNANL2A")


@dataclass
class Row:
    """An invoice as the repository reads it for a run."""

    id: str
    status: str = "approved"
    holdback_status: str | None = None
    amount_excl_vat_cents: int = 100_00
    vat_cents: int = 21_00
    amount_cents: int = 100_00
    held_cents: int = 0
    held_pay_cents: int = 0
    credited_cents: int = 0
    credited_pay_cents: int = 0
    main_open: bool = True
    holdback_open: bool = True
    invoice_number: str = "F-1"
    creditor_name: str = "Coach BV"
    creditor_iban: str = "NL91ABNA0417164300"


def plan(rows: list[Row], execution_date: date = TODAY) -> PaymentRun:
    return PaymentRun.plan(
        run_id="4f1c8a0e-0000-4000-8000-000000000001",
        municipality="0344",
        execution_date=execution_date,
        today=TODAY,
        invoices=rows,
        debtor=DEBTOR,
        pain_schema="pain.001.001.09",
    )


def test_a_run_pays_approved_main_parts_and_released_holdbacks_not_yet_in_a_run():
    rows = [
        Row("a", held_cents=20_00, held_pay_cents=24_20),  # main part: total less the holdback
        Row("b", main_open=False),  # already in a run
        Row("c", status="paid", holdback_status="released", held_cents=20_00, held_pay_cents=24_20),
        Row("d", status="paid", holdback_status="released", holdback_open=False, held_pay_cents=10_00),
        Row("e", status="scheduled"),
        Row("f", credited_cents=100_00, credited_pay_cents=121_00),  # credited in full: nothing to transfer
    ]
    assert [(i.invoice_id, i.part, i.amount, i.ledger) for i in payable_items(rows)] == [
        ("a", PaymentPart.MAIN, Money.euros("96.80"), Money.euros("80.00")),
        ("c", PaymentPart.HOLDBACK, Money.euros("24.20"), Money.euros("20.00")),
    ]


def test_a_run_builds_one_checked_file_and_records_payment_scheduled():
    run = plan([Row("a"), Row("b", invoice_number="F-2", amount_excl_vat_cents=50_00, vat_cents=0)])
    assert run.status == PaymentRunStatus.SCHEDULED and len(run.items) == 2
    assert run.file is not None and parse_pain001_totals(run.file.xml_bytes) == (2, Money.euros("171.00"))
    assert len({item.end_to_end_id for item in run.items}) == 2
    assert run.events == [
        PaymentScheduledV1(payment_run_id=run.id, invoice_count=2, total_cents=171_00, execution_date=TODAY)
    ]


def test_a_run_with_an_execution_date_in_the_past_is_refused():
    with pytest.raises(PaymentFileError) as refused:
        plan([Row("a")], execution_date=date(2026, 11, 22))
    assert (refused.value.code, refused.value.field) == ("payment_run.execution_date_past", "execution_date")


def test_a_run_with_nothing_to_pay_is_refused():
    with pytest.raises(RuleBroken) as refused:
        plan([Row("a", main_open=False)])
    assert refused.value.code == "payment_run.empty"


def test_a_run_is_confirmed_once():
    run = plan([Row("a")])
    run.confirm(date(2026, 11, 25))
    assert (run.status, run.paid_on) == (PaymentRunStatus.PAID, date(2026, 11, 25))
    with pytest.raises(Conflict) as refused:
        run.confirm(date(2026, 11, 26))
    assert refused.value.code == "payment_run.already_paid"


def start() -> PaymentRun:
    return PaymentRun.start(
        run_id="4f1c8a0e-0000-4000-8000-000000000002",
        municipality="0344",
        execution_date=TODAY,
        today=TODAY,
        debtor=DEBTOR,
        pain_schema="pain.001.001.09",
    )


@settings(max_examples=40, deadline=None)
@given(
    parts=st.lists(
        st.tuples(st.integers(min_value=1, max_value=5_000_00), st.integers(min_value=0, max_value=2_000_00)),
        min_size=1,
        max_size=30,
    ),
    chunk=st.integers(min_value=1, max_value=7),
)
def test_a_run_taken_in_chunks_totals_exactly_what_its_items_transfer(parts, chunk):
    rows = [
        Row(f"inv-{n}", amount_excl_vat_cents=excl, vat_cents=vat, amount_cents=excl, invoice_number=f"F-{n}")
        for n, (excl, vat) in enumerate(parts)
    ]
    run = start()
    items = []
    for first in range(0, len(rows), chunk):
        items += run.take(rows[first : first + chunk])
    run.finish()

    assert run.file is not None
    assert run.item_count == len(items) == len(rows)
    assert run.total == Money.total(i.item.amount for i in items) == Money(sum(e + v for e, v in parts))
    assert parse_pain001_totals(run.file.xml_bytes) == (len(rows), run.total)
    assert run.events[0].total_cents == run.total.cents and run.events[0].invoice_count == len(rows)
    assert len({i.end_to_end_id for i in items}) == len(items)


def test_a_run_that_took_nothing_is_refused_at_finish_and_leaves_no_file():
    run = start()
    assert run.take([Row("a", main_open=False)]) == []
    with pytest.raises(RuleBroken) as caught:
        run.finish()
    assert caught.value.code == "payment_run.empty" and run.file is None
    run.discard()
