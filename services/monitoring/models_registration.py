"""API shapes of the case manager's registration form and of the costs outside the budget (the
table of costs is CostEntry in models.py; the form's answers are columns of the trajectory)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from services.monitoring.domain.registration import ContactHours, CostKind, Relative
from shared.money import CENT, EuroAmount, MoneyError
from shared.text import FreeText


def _fits_in_a_decimal(value: Any) -> Any:
    """More digits than a decimal holds (1e30, forty nines) cannot be money: a 422 naming the field
    here, before shared.money's EuroAmount, whose rounding would raise InvalidOperation (a 500)."""
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            Decimal(str(value).strip()).quantize(CENT)
        except InvalidOperation as exc:
            raise MoneyError("not an amount of money: too many digits") from exc
    return value


# A euro amount in a request body (EuroAmount, its number of digits checked first).
EuroInput = Annotated[EuroAmount, BeforeValidator(_fits_in_a_decimal)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SoftCharacteristics(Strict):
    """Compared with an average client on social assistance (Table 4.2); leave out what you did not judge."""

    motivation: Relative | None = None
    self_reliance: Relative | None = None
    self_awareness: Relative | None = Field(default=None, description="Self-awareness and acting on it.")
    initiative: Relative | None = Field(default=None, description="Initiative shown.")
    social_skills: Relative | None = None
    realistic_self_image: Relative | None = None


class Provisions(Strict):
    """Other municipal provisions the client uses at the same time (Table 4.5)."""

    debt_counselling: bool = False
    special_assistance: bool = False
    childcare: bool = False
    victim_support: bool = False
    health_provisions: bool = False


class RegistrationForm(Strict):
    soft_characteristics: SoftCharacteristics = Field(default_factory=SoftCharacteristics)
    provisions: Provisions | None = Field(default=None, description="Leave out (null) when not known.")
    contact_hours: ContactHours | None = Field(
        default=None, description="Contact hours compared with a regular trajectory (Table 4.6)."
    )


class CostCreate(Strict):
    kind: CostKind
    amount: EuroInput = Field(description='Euros, e.g. "450.00": more than 0, at most 100,000.')
    incurred_on: date
    note: FreeText = Field(default="", max_length=500)


class CostPublic(BaseModel):
    id: str
    plan_id: str
    kind: CostKind
    amount: EuroAmount
    incurred_on: date
    note: str
    recorded_at: datetime
