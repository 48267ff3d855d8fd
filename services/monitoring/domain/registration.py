"""The case manager's registration form for the benchmark (the report's "klantregistratieformulier"):
the soft characteristics relative to an average client (Table 4.2), the municipal provisions used
at the same time (Table 4.5) and the contact hours compared with a regular trajectory (Table 4.6);
and the costs of a trajectory outside the client's budget. Plain Python: it decides, refuses
naming the field, and leaves storing to the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import RuleBroken

SOFT_CHARACTERISTICS = (
    "motivation",
    "self_reliance",
    "self_awareness",
    "initiative",
    "social_skills",
    "realistic_self_image",
)
PROVISIONS = ("debt_counselling", "special_assistance", "childcare", "victim_support", "health_provisions")


class Relative(StrEnum):
    """Compared with an average client on social assistance (Table 4.2)."""

    MORE = "more"
    SAME = "same"
    LESS = "less"


class ContactHours(StrEnum):
    """Contact hours compared with a regular trajectory (Table 4.6)."""

    MORE = "more"
    AVERAGE = "average"
    LESS = "less"


class CostKind(StrEnum):
    EXTERNAL_COACHING = "external_coaching"  # Almere buys the coach itself, outside the budget
    ASSESSMENT = "assessment"
    OTHER = "other"


@dataclass(frozen=True)
class Registration:
    soft: dict[str, Relative | None]
    provisions: frozenset[str] | None  # None: not recorded; empty: recorded, none used
    contact_hours: ContactHours | None


@dataclass(frozen=True)
class CostEntry:
    id: str
    plan_id: str
    municipality: str
    kind: CostKind
    amount_cents: int
    incurred_on: date
    note: str
    recorded_by: str


# A single cost outside the budget above this is a typing error, not a coach.
MAX_COST_CENTS = 100_000_00


def check_cost(*, amount_cents: int, incurred_on: date, started_on: date, today: date) -> None:
    if not 0 < amount_cents <= MAX_COST_CENTS:
        raise RuleBroken(
            "cost.amount",
            "A cost is more than EUR 0 and at most EUR 100,000.",
            "amount",
            message_nl="Een bedrag is meer dan 0 euro en hoogstens 100.000 euro.",
        )
    if incurred_on > today:
        raise RuleBroken(
            "cost.future",
            "The day of the cost cannot be in the future.",
            "incurred_on",
            message_nl="De datum van de kosten kan niet in de toekomst liggen.",
        )
    if incurred_on < started_on:
        raise RuleBroken(
            "cost.before_trajectory",
            f"The day of the cost cannot lie before the trajectory started ({started_on.isoformat()}).",
            "incurred_on",
            message_nl="De datum van de kosten kan niet voor de start van het traject liggen "
            f"({started_on.isoformat()}).",
        )
