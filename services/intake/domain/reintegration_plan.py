"""The reintegration plan (Groningen format, Doe-deel 4) as data: its sections, activities,
budget lines and attachments, and what the budget may be spent on. The checks are in
plan_checks.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from services.intake.domain.errors import RuleBroken
from services.intake.domain.policy import PlanElement, Scheme
from shared.money import Money


class SpendingCategory(StrEnum):
    """What the budget is spent on: Table 4.4 and the extra products listed under it (4.2)."""

    COACHING = "coaching"
    TRAINING_KNOWLEDGE = "training_knowledge"  # scholing/opleiding (kennis)
    TRAINING_SKILLS = "training_skills"  # scholing/opleiding vaardigheden
    STUDY_MATERIAL = "study_material"  # (studie)materiaal
    JOB_MEDIATION = "job_mediation"  # bemiddeling naar arbeid
    DRIVING_LESSONS = "driving_lessons"  # rijlessen
    COMPUTER = "computer"
    BUSINESS_START_SUPPORT = "business_start_support"  # steun starten eigen bedrijf (advice, not investment)
    OTHER = "other"  # "overig, nl" on the registration form, e.g. aftercare
    # pgb bw pays for other things (2.2, 3.2): the employer's wage-cost subsidy, the
    # supervising organisation, one-off workplace adaptations.
    WAGE_COST_SUBSIDY = "wage_cost_subsidy"
    JOB_COACHING = "job_coaching"
    WORKPLACE_ADAPTATION = "workplace_adaptation"


CATEGORY_LABELS: dict[SpendingCategory, tuple[str, str]] = {
    SpendingCategory.COACHING: ("coaching", "coaching"),
    SpendingCategory.TRAINING_KNOWLEDGE: ("opleiding (kennis)", "training (knowledge)"),
    SpendingCategory.TRAINING_SKILLS: ("training (vaardigheden)", "training (skills)"),
    SpendingCategory.STUDY_MATERIAL: ("studiemateriaal", "study material"),
    SpendingCategory.JOB_MEDIATION: ("bemiddeling naar werk", "job mediation"),
    SpendingCategory.DRIVING_LESSONS: ("rijlessen", "driving lessons"),
    SpendingCategory.COMPUTER: ("computer", "computer"),
    SpendingCategory.BUSINESS_START_SUPPORT: (
        "hulp bij het starten van een eigen bedrijf",
        "support for starting a business",
    ),
    SpendingCategory.OTHER: ("overig", "other"),
    SpendingCategory.WAGE_COST_SUBSIDY: ("loonkostensubsidie voor de werkgever", "wage-cost subsidy for the employer"),
    SpendingCategory.JOB_COACHING: ("begeleiding op het werk (jobcoach)", "supervision at work (job coach)"),
    SpendingCategory.WORKPLACE_ADAPTATION: ("aanpassing van de werkplek", "workplace adaptation"),
}

PGB_BW_CATEGORIES = frozenset(
    {SpendingCategory.WAGE_COST_SUBSIDY, SpendingCategory.JOB_COACHING, SpendingCategory.WORKPLACE_ADAPTATION}
)
# "dergelijke uitgaven mogen alleen bekostigd uit het budget als het aantoonbaar gerelateerd is
# aan de opleiding of de kans op werk" (4.2): things, as opposed to services.
MATERIAL_CATEGORIES = frozenset({SpendingCategory.STUDY_MATERIAL, SpendingCategory.COMPUTER})


class PlanSection(StrEnum):
    """The chapters of the Groningen plan format."""

    FOREWORD = "foreword"
    INTRODUCTION = "introduction"
    LABOUR_MARKET = "labour_market"
    PRECONDITIONS = "preconditions"
    STRUCTURE = "structure"
    BUDGET = "budget"
    ATTACHMENTS = "attachments"


SECTION_LABELS: dict[PlanSection, tuple[str, str]] = {
    PlanSection.FOREWORD: ("Voorwoord", "Foreword"),
    PlanSection.INTRODUCTION: ("Inleiding", "Introduction"),
    PlanSection.LABOUR_MARKET: ("Arbeidsmarktperspectief", "Labour-market perspective"),
    PlanSection.PRECONDITIONS: ("Randvoorwaarden", "Preconditions"),
    PlanSection.STRUCTURE: ("Opbouw van het traject", "Structure of the trajectory"),
    PlanSection.BUDGET: ("Begroting", "Budget"),
    PlanSection.ATTACHMENTS: ("Bijlagen", "Attachments"),
}


# --- the plan ------------------------------------------------------------------------------


def _enum(enum: type[StrEnum], value: object, field: str) -> StrEnum:
    try:
        return enum(str(value))
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum)
        raise RuleBroken(f"plan.invalid_{field}", f"{value!r} is not one of: {allowed}.", field) from exc


@dataclass(frozen=True)
class Foreword:
    situation: str = ""  # Hoe is uw situatie momenteel?
    steps_so_far: str = ""  # De stappen die u tot nu toe hebt ondernomen
    why_this_budget: str = ""  # Waarom de keuze voor een prb?


@dataclass(frozen=True)
class Introduction:
    work_goal: str = ""  # Het doel van het prb is dat u werk vindt
    other_goals: str = ""
    what_is_needed: str = ""


@dataclass(frozen=True)
class LabourMarketPerspective:
    occupation: str = ""  # het gekozen beroep, de gekozen richting
    regional_demand: str = ""  # is er voldoende werk in de regio? (vacatures, branchecijfers)
    why_suited: str = ""  # wat maakt dat u geschikt bent?


@dataclass(frozen=True)
class Preconditions:
    to_arrange: str = ""  # wat moet ten minste door u geregeld worden?
    obstacles: str = ""  # zijn er belemmeringen (childcare, debts, health)?


@dataclass(frozen=True)
class Activity:
    ref: str
    description: str
    start: date
    end: date
    expected_result: str = ""
    # Which required plan elements this activity covers (Breda: self-awareness, mediation, aftercare).
    elements: frozenset[PlanElement] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", frozenset(_enum(PlanElement, e, "elements") for e in self.elements))


@dataclass(frozen=True)
class BudgetLine:
    activity_ref: str
    provider_name: str
    category: SpendingCategory | None
    amount_excl_vat: Money
    vat_rate: Decimal = Decimal("21")  # percent; many courses are VAT-exempt (0)
    quote_attachment_ids: tuple[str, ...] = ()
    provider_kvk: str | None = None
    business_investment: bool = False
    material_tied_to_course_or_job: bool | None = None  # asked for study material and computers
    description: str = ""
    line_id: str | None = None  # the stored line's id, when there is one
    # A product of the municipality's price catalogue, and how many of its unit (1 when left out).
    product_code: str | None = None
    quantity: Decimal | None = None

    def __post_init__(self) -> None:
        if isinstance(self.quantity, float):
            raise RuleBroken(
                "plan.quantity", "A quantity must be exact (a Decimal, int or string), not a float.", "quantity"
            )
        if self.quantity is not None:
            try:
                object.__setattr__(self, "quantity", Decimal(str(self.quantity)))
            except InvalidOperation as exc:
                raise RuleBroken("plan.quantity", f"Not a quantity: {self.quantity!r}.", "quantity") from exc
        if isinstance(self.vat_rate, float):
            raise RuleBroken(
                "plan.vat_rate", "A VAT rate must be exact (a Decimal, int or string), not a float.", "vat_rate"
            )
        try:
            object.__setattr__(self, "vat_rate", Decimal(str(self.vat_rate)))
        except InvalidOperation as exc:
            raise RuleBroken("plan.vat_rate", f"Not a VAT rate: {self.vat_rate!r}.", "vat_rate") from exc
        if self.category is not None:
            object.__setattr__(self, "category", _enum(SpendingCategory, self.category, "category"))
        object.__setattr__(self, "quote_attachment_ids", tuple(self.quote_attachment_ids))

    @property
    def vat(self) -> Money:
        return self.amount_excl_vat.percent(self.vat_rate)

    @property
    def amount_incl_vat(self) -> Money:
        return self.amount_excl_vat + self.vat

    @property
    def counted_quantity(self) -> Decimal:
        """How many units of its catalogue product the line asks for: 1 when it does not say."""
        return Decimal(1) if self.quantity is None else self.quantity

    def counted_amount(self, excl_vat: bool) -> Money:
        """The amount that counts against the maximum under the policy's VAT setting."""
        return self.amount_excl_vat if excl_vat else self.amount_incl_vat


@dataclass(frozen=True)
class Attachment:
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ReintegrationPlan:
    scheme: Scheme = Scheme.PRB
    foreword: Foreword = Foreword()
    introduction: Introduction = Introduction()
    labour_market: LabourMarketPerspective = LabourMarketPerspective()
    preconditions: Preconditions = Preconditions()
    activities: tuple[Activity, ...] = ()
    budget_lines: tuple[BudgetLine, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    indication: str | None = None  # pgb bw: the Wsw indication that sets the yearly amount

    def __post_init__(self) -> None:
        object.__setattr__(self, "scheme", _enum(Scheme, self.scheme, "scheme"))
        for name in ("activities", "budget_lines", "attachments"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def total(self, excl_vat: bool = True) -> Money:
        return Money.total(line.counted_amount(excl_vat) for line in self.budget_lines)
