from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.money import Money, MoneyError


def test_euros_become_whole_cents():
    assert Money.euros("12.50").cents == 1250
    assert Money.euros(7).cents == 700
    assert Money.euros(Decimal("0.01")).cents == 1


@pytest.mark.parametrize("bad", [0.1, 12.5, "1.005", "abc", "NaN", "Infinity", True, None])
def test_floats_sub_cents_and_non_numbers_are_refused(bad):
    with pytest.raises(MoneyError):
        Money.euros(bad)


def test_arithmetic_and_comparison():
    a, b = Money.euros("10.10"), Money.euros("0.20")
    assert (a + b).cents == 1030 and (a - b).cents == 990 and b < a and -b == Money(-20)


def test_ten_cents_three_times_is_exactly_thirty():
    assert Money.total([Money.euros("0.10")] * 3) == Money.euros("0.30")


def test_vat_rounds_half_up_to_the_cent():
    assert Money.euros("10.05").percent(21).cents == 211  # 211.05 -> 211
    assert Money(50).percent(1).cents == 1  # 0.5 -> 1


def test_multiplying_by_a_float_is_refused():
    with pytest.raises(MoneyError):
        Money(100).times(0.21)


def test_dutch_and_english_notation():
    assert Money.euros("1234.56").format_nl() == "€ 1.234,56"
    assert Money.euros("1234.56").format_en() == "€1,234.56"
    assert Money(-5).format_nl() == "-€ 0,05"


@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(min_value=1, max_value=500))
def test_split_adds_up_exactly_and_parts_differ_by_at_most_a_cent(cents, parts):
    pieces = Money(cents).split(parts)
    assert Money.total(pieces) == Money(cents)
    assert max(p.cents for p in pieces) - min(p.cents for p in pieces) <= 1


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False))
def test_euros_round_trip_through_cents(amount):
    assert Money.euros(amount).decimal == amount


@pytest.mark.parametrize("value", ["1e30", "10000000000000000", "-1e17", 10**20])
def test_an_amount_too_large_for_cents_in_a_64_bit_column_is_refused_not_crashed(value):
    with pytest.raises(MoneyError):
        Money.euros(value)


def test_the_largest_amount_still_fits_in_cents():
    assert Money.euros("9999999999999999.99").cents == 999_999_999_999_999_999 < 2**63
