"""Money as whole euro cents.

Every amount in the system is an integer number of cents wrapped in `Money`. Floats are
refused outright: a float cannot say 0.10 exactly and public money must add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

CENT = Decimal("0.01")
MAX_EUROS = Decimal(10) ** 16


class MoneyError(ValueError):
    """An amount that cannot be money: a float, more than two decimals, not a number."""


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, (bool, float)):
        raise MoneyError("amounts must be given as a string or integer, never as a float")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, (int, str)):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise MoneyError(f"not an amount: {value!r}") from exc
    else:
        raise MoneyError(f"not an amount: {value!r}")
    if not amount.is_finite():
        raise MoneyError("an amount must be a finite number")
    # Cents must fit a 64-bit column; and a number with more digits than a Decimal holds cannot
    # even be rounded to cents (quantize raises InvalidOperation on "1e30").
    if abs(amount) >= MAX_EUROS:
        raise MoneyError("an amount must be less than 10,000,000,000,000,000 euros")
    if amount != amount.quantize(CENT):
        raise MoneyError("an amount may have at most two decimals")
    return amount


@dataclass(frozen=True, order=True, slots=True)
class Money:
    cents: int

    def __post_init__(self) -> None:
        if isinstance(self.cents, bool) or not isinstance(self.cents, int):
            raise MoneyError("Money holds whole cents as an int")

    @classmethod
    def euros(cls, value: Decimal | str | int) -> Money:
        """`Money.euros("12.50")` is 1250 cents. Refuses floats and sub-cent precision."""
        return cls(int(_to_decimal(value) * 100))

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @property
    def decimal(self) -> Decimal:
        return (Decimal(self.cents) / 100).quantize(CENT)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.cents + other.cents)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.cents - other.cents)

    def __neg__(self) -> Money:
        return Money(-self.cents)

    def __bool__(self) -> bool:
        return self.cents != 0

    def times(self, factor: Decimal | int | str) -> Money:
        """Multiply by an exact factor (a VAT rate, a share), rounding half up to a cent."""
        if isinstance(factor, float):
            raise MoneyError("factors must be exact (Decimal, int or str), never a float")
        product = Decimal(self.cents) * Decimal(str(factor))
        return Money(int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP)))

    def percent(self, pct: Decimal | int | str) -> Money:
        return self.times(Decimal(str(pct)) / 100)

    def split(self, parts: int) -> list[Money]:
        """Split into `parts` amounts that differ by at most a cent and add up exactly."""
        if parts <= 0:
            raise MoneyError("split needs at least one part")
        base, rest = divmod(self.cents, parts)
        return [Money(base + (1 if i < rest else 0)) for i in range(parts)]

    @staticmethod
    def total(amounts: Any) -> Money:
        return Money(sum((a.cents for a in amounts), 0))

    def __str__(self) -> str:
        return f"{self.decimal}"

    def format_nl(self) -> str:
        """Dutch notation for letters: EUR 1.234,56."""
        sign = "-" if self.cents < 0 else ""
        whole, frac = divmod(abs(self.cents), 100)
        grouped = f"{whole:,}".replace(",", ".")
        return f"{sign}€ {grouped},{frac:02d}"

    def format_en(self) -> str:
        sign = "-" if self.cents < 0 else ""
        whole, frac = divmod(abs(self.cents), 100)
        return f"{sign}€{whole:,}.{frac:02d}"


def _euro_amount(value: Any) -> Decimal:
    return _to_decimal(value)


# A euro amount in an API body: "1234.56" or 1234; never a float, at most two decimals.
# Serialised as a string so no JSON client turns it into a float.
EuroAmount = Annotated[
    Decimal,
    BeforeValidator(_euro_amount),
    PlainSerializer(lambda d: f"{Decimal(d).quantize(CENT)}", return_type=str),
]


def cents_to_str(cents: int) -> str:
    return str(Money(cents))
