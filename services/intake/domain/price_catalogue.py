"""A municipality's price catalogue: the products it knows, each with the most it pays per unit.

The Groningen plan format asks the price of every product or activity in the budget
("Wat is de prijs van de producten/activiteiten die u nodig hebt?", Doe-deel 4) and preferably
two quotes per activity. A municipality that knows what an hour of coaching or a driving
course costs can write that down: a plan line that names a product (`product_code`, with a
`quantity` in the product's unit) is checked against its maximum price × quantity
(budget_checks.py). The catalogue lives in the policy document (policy.py); the products are
validated here, the list as a whole (no code twice) by the policy.

Prices are on the same VAT footing as the policy's other amounts (`amounts_excl_vat`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from services.intake.domain.errors import PolicyError
from shared.money import Money

if TYPE_CHECKING:
    from services.intake.domain.reintegration_plan import SpendingCategory

# A catalogue is a list a person keeps by hand; a limit keeps a policy document readable.
MAX_CATALOGUE_PRODUCTS = 500
MAX_DESCRIPTION_LENGTH = 200
# Short codes a person can type on a plan line: "COACH-UUR", "rijles.b", "VCA_basis".
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


class Unit(StrEnum):
    """What one maximum price buys."""

    HOUR = "hour"
    DAY = "day"
    MONTH = "month"
    SESSION = "session"  # a lesson, a coaching talk
    COURSE = "course"  # a whole course or training, whatever its length
    PIECE = "piece"  # a thing: a laptop, a set of knives


# (Dutch singular, Dutch plural, English singular, English plural)
UNIT_WORDS: dict[Unit, tuple[str, str, str, str]] = {
    Unit.HOUR: ("uur", "uur", "hour", "hours"),
    Unit.DAY: ("dag", "dagen", "day", "days"),
    Unit.MONTH: ("maand", "maanden", "month", "months"),
    Unit.SESSION: ("keer", "keer", "session", "sessions"),
    Unit.COURSE: ("opleiding", "opleidingen", "course", "courses"),
    Unit.PIECE: ("stuk", "stuks", "piece", "pieces"),
}


def _spending_category(value: object) -> SpendingCategory:
    # reintegration_plan imports policy, which holds the catalogue: import it when first needed.
    from services.intake.domain.reintegration_plan import SpendingCategory

    try:
        return SpendingCategory(str(value))
    except ValueError as exc:
        allowed = ", ".join(c.value for c in SpendingCategory)
        raise PolicyError("policy.invalid", f"category: {value!r} is not one of: {allowed}.", "category") from exc


@dataclass(frozen=True)
class CatalogueProduct:
    code: str
    description: str
    category: SpendingCategory  # one of the plan line categories (Table 4.4)
    unit: Unit
    maximum_price: Money  # the most the municipality pays per unit

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not _CODE.match(self.code):
            raise PolicyError(
                "policy.invalid",
                f"code: {self.code!r} is not a product code (1 to 40 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit).",
                "code",
            )
        if not isinstance(self.description, str) or not self.description.strip():
            raise PolicyError("policy.invalid", "description: a product needs a description.", "description")
        if len(self.description) > MAX_DESCRIPTION_LENGTH:
            raise PolicyError(
                "policy.invalid",
                f"description: at most {MAX_DESCRIPTION_LENGTH} characters, got {len(self.description)}.",
                "description",
            )
        object.__setattr__(self, "category", _spending_category(self.category))
        try:
            object.__setattr__(self, "unit", Unit(self.unit))
        except ValueError as exc:
            allowed = ", ".join(u.value for u in Unit)
            raise PolicyError("policy.invalid", f"unit: {self.unit!r} is not one of: {allowed}.", "unit") from exc
        if not isinstance(self.maximum_price, Money) or self.maximum_price.cents <= 0:
            raise PolicyError(
                "policy.invalid", "maximum_price: must be an amount above zero (euros per unit).", "maximum_price"
            )

    @property
    def key(self) -> str:
        """Codes are compared without regard to case: "coach-uur" names "COACH-UUR"."""
        return self.code.casefold()

    def maximum_for(self, quantity: Decimal) -> Money:
        """The most the municipality pays for `quantity` units (rounded half up to a cent)."""
        return self.maximum_price.times(quantity)


def check_catalogue(products: Iterable[CatalogueProduct]) -> tuple[CatalogueProduct, ...]:
    """The catalogue as a tuple; raises a PolicyError naming the product that breaks a rule."""
    found = tuple(products)
    if len(found) > MAX_CATALOGUE_PRODUCTS:
        raise PolicyError(
            "policy.invalid",
            f"price_catalogue: at most {MAX_CATALOGUE_PRODUCTS} products, got {len(found)}.",
            "price_catalogue",
        )
    seen: dict[str, int] = {}
    for i, product in enumerate(found):
        if not isinstance(product, CatalogueProduct):
            raise PolicyError("policy.invalid", f"price_catalogue[{i}]: not a product.", f"price_catalogue[{i}]")
        if product.key in seen:
            raise PolicyError(
                "policy.invalid",
                f"price_catalogue[{i}].code: {product.code!r} is already the code of "
                f"price_catalogue[{seen[product.key]}]; give every product its own code.",
                f"price_catalogue[{i}].code",
            )
        seen[product.key] = i
    return found


def find_product(products: Iterable[CatalogueProduct], code: str) -> CatalogueProduct | None:
    key = code.casefold()
    return next((p for p in products if p.key == key), None)


def product_to_dict(product: CatalogueProduct) -> dict[str, str]:
    return {
        "code": product.code,
        "description": product.description,
        "category": product.category.value,
        "unit": product.unit.value,
        "maximum_price": str(product.maximum_price.decimal),
    }


def quantity_words(quantity: Decimal, unit: Unit) -> tuple[str, str]:
    """("1,5 uur", "1.5 hours"): a quantity in the product's unit, for messages."""
    nl_one, nl_many, en_one, en_many = UNIT_WORDS[unit]
    text = format(quantity.normalize(), "f")
    one = quantity == 1
    return f"{text.replace('.', ',')} {nl_one if one else nl_many}", f"{text} {en_one if one else en_many}"
