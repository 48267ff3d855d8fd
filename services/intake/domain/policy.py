"""A municipality's policy for personal budgets, as data.

Every municipality sets its own rules (Divosa, *In eigen hand*, chapter 3): which schemes it
offers and up to what amount, who may apply (Table 3.2), how plans are reviewed (Doe-boek
Table B1), how long a plan may run. `MunicipalPolicy` holds those choices; the rest of the
domain reads them and never hard-codes a municipality. A policy is stored as JSON through
`policy_to_dict` / `policy_from_dict` (policy_parsing.py) and can be edited as data.

The presets (policy_presets.py) follow the report. Where the report is silent (decision term,
four-eyes threshold, orientation budget) they use the neutral defaults below, marked as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from services.intake.domain.criteria import BenefitTypeRule, NoRunningTrajectoryRule, ResidentRule
from services.intake.domain.eligibility import AdmissionRule, BenefitType
from services.intake.domain.errors import PolicyError, RuleBroken
from services.intake.domain.price_catalogue import CatalogueProduct, check_catalogue, find_product, product_to_dict
from shared.clock import add_months  # relativedelta: 31 Jan + 1 month = 28/29 Feb
from shared.identifiers import IdentifierError, validate_kvk
from shared.money import Money

POLICY_FORMAT = 1


class Scheme(StrEnum):
    PRB = "prb"  # persoonsgebonden re-integratiebudget (WWB and NUG)
    PGB_BW = "pgb_bw"  # pgb begeleid werken (Wsw indication)
    PIB = "pib"  # persoonlijk inburgeringsbudget
    RIO_IRO = "rio_iro"  # Rotterdam's rio / UWV's iro: choose a contracted reintegration company


# pgb bw is a legal right: "Op grond van de pgb bw-regeling is het niet mogelijk om klanten voor
# een pgb bw te selecteren of uit te sluiten" (3.4). pib is not: the inburgeraar has the right to
# ASK for one, and "De gemeente beoordeelt welke inburgeraar voor een pib in aanmerking komt" (2.2;
# "de aanspraak op een prb of pib [is] afhankelijk van het beleid van de gemeente", Samenvatting).
# So prb, pib and rio (which replaced prb in Rotterdam) let the municipality choose who may apply.
SCHEMES_WITH_MUNICIPAL_SELECTION = frozenset({Scheme.PRB, Scheme.PIB, Scheme.RIO_IRO})


class ContractingParty(StrEnum):
    """Who signs the contract with the provider the client chose (Table 3.3; for pib 2.2: "De gemeente
    sluit de contracten met de gekozen aanbieders")."""

    CLIENT = "client"  # Almere, Groningen (prb): the client asks quotes, signs; the municipality pays
    MUNICIPALITY = "municipality"


class ReviewModel(StrEnum):
    """Doe-boek Table B1: the three ways to set up a personal budget."""

    MARGINAL = "marginal"  # fully client-directed: "ja, tenzij", approve unless a contra-indication
    RECIPROCAL = "reciprocal"  # client-directed with reciprocity: the case manager coaches and reviews content
    DEMAND_ORIENTED = "demand_oriented"  # the case manager keeps control; providers contracted by the municipality


class PlanElement(StrEnum):
    """Elements a municipality may require in every plan (Breda: all three)."""

    SELF_AWARENESS = "self_awareness"  # zelfbewustwording
    JOB_MEDIATION = "job_mediation"  # bemiddeling
    AFTERCARE = "aftercare"  # nazorg
    # The two parts of a pib "duaal traject" (2.2): "een gecombineerd traject gericht op inburgering
    # (taalkennis) en inschakeling op de arbeidsmarkt (scholing, solliciteren)".
    CIVIC_INTEGRATION = "civic_integration"  # inburgering: a language course, the civic integration exam
    REINTEGRATION = "reintegration"  # inschakeling op de arbeidsmarkt: training, applying for jobs


class QuoteShortfall(StrEnum):
    """What fewer quotes than asked for does to a plan: the report says "bij voorkeur" (preferably)."""

    WARNING = "warning"
    BLOCK = "block"


class PriceOverrun(StrEnum):
    """What a plan line above the price catalogue's maximum does to a plan."""

    WARNING = "warning"
    BLOCK = "block"


_MONTHS_NL = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_date_nl(d: date) -> str:
    """10 maart 2026 (no locale needed, so the same on every server)."""
    return f"{d.day} {_MONTHS_NL[d.month - 1]} {d.year}"


def format_date_en(d: date) -> str:
    """10 March 2026."""
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def _euros(text: str) -> Money:
    return Money.euros(text)


@dataclass(frozen=True)
class IndicationBudget:
    """pgb bw: the yearly amount depends on the Wsw indication."""

    indication: str
    maximum: Money


@dataclass(frozen=True)
class SchemeOffer:
    scheme: Scheme
    maximum_budget: Money
    per_year: bool = False  # pgb bw is a yearly amount; a prb is per trajectory
    indication_maximums: tuple[IndicationBudget, ...] = ()
    # Elements every plan under this scheme must have, on top of the policy's own (pib: both parts
    # of the duaal traject).
    required_plan_elements: tuple[PlanElement, ...] = ()
    # Who signs the contracts with the chosen providers under this scheme; None: not set (the
    # policy's client_confirms_invoices says how invoices are handled).
    contracting_party: ContractingParty | None = None
    # This scheme's own admission rules; None: the policy's (for the schemes with municipal
    # selection). pib's are not prb's: an inburgeraar need not be on WWB or a NUG.
    admission_rules: tuple[AdmissionRule, ...] | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "scheme", Scheme(self.scheme))
        except ValueError as exc:
            raise PolicyError("policy.invalid", f"scheme: {self.scheme!r} is not a known scheme.", "scheme") from exc
        try:
            object.__setattr__(
                self, "required_plan_elements", tuple(PlanElement(e) for e in self.required_plan_elements)
            )
        except ValueError as exc:
            raise PolicyError("policy.invalid", f"required_plan_elements: {exc}.", "required_plan_elements") from exc
        if self.contracting_party is not None:
            try:
                object.__setattr__(self, "contracting_party", ContractingParty(self.contracting_party))
            except ValueError as exc:
                allowed = ", ".join(m.value for m in ContractingParty)
                raise PolicyError(
                    "policy.invalid", f"contracting_party: must be one of: {allowed}.", "contracting_party"
                ) from exc
        if self.admission_rules is not None:
            object.__setattr__(self, "admission_rules", tuple(self.admission_rules))
            for i, rule in enumerate(self.admission_rules):
                if not isinstance(rule, AdmissionRule):
                    raise PolicyError(
                        "policy.invalid", f"admission_rules[{i}]: not an admission rule.", f"admission_rules[{i}]"
                    )
        if not isinstance(self.maximum_budget, Money) or self.maximum_budget.cents <= 0:
            raise PolicyError("policy.invalid", "maximum_budget: must be an amount above zero.", "maximum_budget")
        object.__setattr__(self, "indication_maximums", tuple(self.indication_maximums))
        names = [i.indication for i in self.indication_maximums]
        if len(set(names)) != len(names):
            raise PolicyError(
                "policy.invalid", "indication_maximums: an indication is listed twice.", "indication_maximums"
            )
        for item in self.indication_maximums:
            if not item.indication or not isinstance(item.maximum, Money) or item.maximum.cents <= 0:
                raise PolicyError(
                    "policy.invalid",
                    f"indication_maximums.{item.indication}: needs a name and an amount above zero.",
                    "indication_maximums",
                )

    def maximum_for(self, indication: str | None = None) -> Money:
        if indication is None:
            return self.maximum_budget
        for item in self.indication_maximums:
            if item.indication == indication:
                return item.maximum
        raise RuleBroken(
            "plan.unknown_indication",
            f"The policy has no budget for indication {indication!r} under {self.scheme.value}.",
            "indication",
        )


@dataclass(frozen=True)
class OrientationPhase:
    """A few months to draft the plan, optionally with part of the budget (3.4, "Oriëntatiefase")."""

    enabled: bool = True
    months: int = 3
    budget: Money = Money(0)

    def __post_init__(self) -> None:
        if isinstance(self.months, bool) or not isinstance(self.months, int) or not 0 <= self.months <= 24:
            raise PolicyError(
                "policy.invalid", "orientation.months: must be a whole number from 0 to 24.", "orientation.months"
            )
        if not isinstance(self.budget, Money) or self.budget.cents < 0:
            raise PolicyError(
                "policy.invalid", "orientation.budget: must be an amount of 0 or more.", "orientation.budget"
            )


@dataclass(frozen=True)
class ContractedProvider:
    """A provider the municipality contracted (demand-oriented model, and rio)."""

    name: str
    kvk: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.strip():
            raise PolicyError(
                "policy.invalid", "contracted_providers.name: a provider needs a name.", "contracted_providers"
            )
        if self.kvk is not None:
            try:
                object.__setattr__(self, "kvk", validate_kvk(self.kvk))
            except IdentifierError as exc:
                raise PolicyError("policy.invalid", f"contracted_providers.kvk: {exc}", "contracted_providers") from exc

    def matches(self, name: str, kvk: str | None) -> bool:
        # A KvK number is the surer match; names only when one side has no number.
        if self.kvk and kvk:
            return self.kvk == kvk.replace(" ", "").strip()
        return _normalise_name(self.name) == _normalise_name(name)


def _normalise_name(name: str) -> str:
    return " ".join(name.casefold().split())


def general_rules(municipality_code: str) -> tuple[AdmissionRule, ...]:
    """The criteria every municipality uses (3.4): WWB or NUG, resident, no other trajectory."""
    return (
        BenefitTypeRule((BenefitType.WWB, BenefitType.NUG)),
        ResidentRule((municipality_code,)),
        NoRunningTrajectoryRule(),
    )


# Neutral defaults where the report gives no number.
DEFAULT_PRB_MAXIMUM = _euros("5000")  # "zo'n € 5000", "€ 5.000 exclusief BTW" (4.2)
# Above the cost of an average regular trajectory (EUR 2,900, SZW 2008, cited in 4.2) a second
# person looks at the decision. The report names no threshold; a municipality sets its own.
DEFAULT_FOUR_EYES_THRESHOLD = _euros("2900")
DEFAULT_DECISION_TERM_WEEKS = 8  # Awb 4:13: at most eight weeks when no other term is set
DEFAULT_DECISION_WARNING_WEEKS = 2


@dataclass(frozen=True)
class MunicipalPolicy:
    municipality_code: str  # CBS code, 4 digits, e.g. "0014" Groningen
    municipality_name: str
    schemes: tuple[SchemeOffer, ...] = (SchemeOffer(Scheme.PRB, DEFAULT_PRB_MAXIMUM),)
    orientation: OrientationPhase = field(default_factory=OrientationPhase)
    admission_rules: tuple[AdmissionRule, ...] = ()
    review_model: ReviewModel = ReviewModel.RECIPROCAL
    contracted_providers: tuple[ContractedProvider, ...] = ()
    execution_months: int = 12
    four_eyes_threshold: Money = DEFAULT_FOUR_EYES_THRESHOLD
    decision_term_weeks: int = DEFAULT_DECISION_TERM_WEEKS
    decision_warning_weeks: int = DEFAULT_DECISION_WARNING_WEEKS
    required_plan_elements: tuple[PlanElement, ...] = ()
    min_quotes_per_activity: int = 2  # Groningen format: "bij voorkeur twee offertes"
    too_few_quotes: QuoteShortfall = QuoteShortfall.WARNING
    client_confirms_invoices: bool = True
    amounts_excl_vat: bool = True
    # The price catalogue (price_catalogue.py): products with a maximum price per unit. Empty:
    # no product prices are checked. A line above its product's maximum is a warning or a block.
    price_catalogue: tuple[CatalogueProduct, ...] = ()
    over_catalogue_price: PriceOverrun = PriceOverrun.WARNING
    # A plan line above this amount needs at least one attached quote; None: no such rule. The
    # municipality says "required", so a line without one is blocked unless it chooses a warning.
    quote_required_above: Money | None = None
    missing_required_quote: QuoteShortfall = QuoteShortfall.BLOCK

    def __post_init__(self) -> None:
        code = self.municipality_code
        if not isinstance(code, str) or len(code) != 4 or not code.isdigit():
            raise PolicyError(
                "policy.invalid", f"municipality_code: must be a 4-digit CBS code, got {code!r}.", "municipality_code"
            )
        if not isinstance(self.municipality_name, str) or not self.municipality_name.strip():
            raise PolicyError("policy.invalid", "municipality_name: must not be empty.", "municipality_name")
        for name in ("schemes", "admission_rules", "contracted_providers", "required_plan_elements", "price_catalogue"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.schemes:
            raise PolicyError("policy.invalid", "schemes: offer at least one scheme.", "schemes")
        offered = [s.scheme for s in self.schemes]
        if len(set(offered)) != len(offered):
            raise PolicyError("policy.invalid", "schemes: a scheme is listed twice.", "schemes")
        for i, rule in enumerate(self.admission_rules):
            if not isinstance(rule, AdmissionRule):
                raise PolicyError(
                    "policy.invalid", f"admission_rules[{i}]: not an admission rule.", f"admission_rules[{i}]"
                )
        self._set_enum("review_model", ReviewModel)
        self._set_enum("too_few_quotes", QuoteShortfall)
        self._set_enum("over_catalogue_price", PriceOverrun)
        self._set_enum("missing_required_quote", QuoteShortfall)
        object.__setattr__(self, "price_catalogue", check_catalogue(self.price_catalogue))
        if self.quote_required_above is not None and (
            not isinstance(self.quote_required_above, Money) or self.quote_required_above.cents < 0
        ):
            raise PolicyError(
                "policy.invalid",
                "quote_required_above: must be an amount of 0 or more, or null for no such rule.",
                "quote_required_above",
            )
        try:
            object.__setattr__(
                self, "required_plan_elements", tuple(PlanElement(e) for e in self.required_plan_elements)
            )
        except ValueError as exc:
            raise PolicyError("policy.invalid", f"required_plan_elements: {exc}.", "required_plan_elements") from exc
        self._check_whole("execution_months", 1, 60)
        self._check_whole("decision_term_weeks", 1, 52)
        self._check_whole("decision_warning_weeks", 0, 52)
        self._check_whole("min_quotes_per_activity", 0, 5)
        if self.decision_warning_weeks >= self.decision_term_weeks:
            raise PolicyError(
                "policy.invalid",
                "decision_warning_weeks: the warning must come before the decision "
                "term ends, so it must be smaller than decision_term_weeks.",
                "decision_warning_weeks",
            )
        if not isinstance(self.four_eyes_threshold, Money) or self.four_eyes_threshold.cents < 0:
            raise PolicyError(
                "policy.invalid", "four_eyes_threshold: must be an amount of 0 or more.", "four_eyes_threshold"
            )
        for name in ("client_confirms_invoices", "amounts_excl_vat"):
            if not isinstance(getattr(self, name), bool):
                raise PolicyError("policy.invalid", f"{name}: must be true or false.", name)

    def _set_enum(self, name: str, enum: type[StrEnum]) -> None:
        value = getattr(self, name)
        try:
            object.__setattr__(self, name, enum(value))
        except ValueError as exc:
            allowed = ", ".join(m.value for m in enum)
            raise PolicyError("policy.invalid", f"{name}: {value!r} is not one of: {allowed}.", name) from exc

    def _check_whole(self, name: str, low: int, high: int) -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise PolicyError(
                "policy.invalid", f"{name}: must be a whole number from {low} to {high}, got {value!r}.", name
            )

    # --- questions the rest of the domain asks -------------------------------------------

    def offers(self, scheme: str) -> bool:
        return any(s.scheme == scheme for s in self.schemes)

    def offer_for(self, scheme: str) -> SchemeOffer:
        for offer in self.schemes:
            if offer.scheme == scheme:
                return offer
        raise RuleBroken(
            "plan.scheme_not_offered", f"{self.municipality_name} does not offer the scheme {scheme}.", "scheme"
        )

    def maximum_for(self, scheme: str, indication: str | None = None) -> Money:
        return self.offer_for(scheme).maximum_for(indication)

    def admission_rules_for(self, scheme: str) -> tuple[AdmissionRule, ...]:
        """The scheme's own rules when its offer has them (pib); else the policy's own rules for prb,
        pib and rio; for the legal right (pgb bw) only what the law asks."""
        own = next((s.admission_rules for s in self.schemes if s.scheme == scheme), None)
        if own is not None:
            return own
        if scheme in SCHEMES_WITH_MUNICIPAL_SELECTION:
            return self.admission_rules
        residence = tuple(r for r in self.admission_rules if isinstance(r, ResidentRule)) or (
            ResidentRule((self.municipality_code,)),
        )
        if scheme == Scheme.PGB_BW:
            return (BenefitTypeRule((BenefitType.WSW,)), *residence)
        return residence

    def required_elements_for(self, scheme: str) -> tuple[PlanElement, ...]:
        """The policy's required plan elements and the scheme's own, each once, in that order."""
        own = next((s.required_plan_elements for s in self.schemes if s.scheme == scheme), ())
        return tuple(dict.fromkeys((*self.required_plan_elements, *own)))

    def contracting_party_for(self, scheme: str) -> ContractingParty | None:
        return next((s.contracting_party for s in self.schemes if s.scheme == scheme), None)

    def execution_deadline(self, start: date) -> date:
        """The last day an approved plan may run, counted from `start` (submission or decision)."""
        return add_months(start, self.execution_months)

    def is_contracted(self, provider_name: str, provider_kvk: str | None = None) -> bool:
        return any(p.matches(provider_name, provider_kvk) for p in self.contracted_providers)

    def catalogue_product(self, code: str) -> CatalogueProduct | None:
        """The catalogue's product with this code (case does not matter), or None."""
        return find_product(self.price_catalogue, code)


def default_policy(code: str, name: str) -> MunicipalPolicy:
    """A neutral start for a municipality that has not written its rules down yet."""
    return MunicipalPolicy(municipality_code=code, municipality_name=name, admission_rules=general_rules(code))


# --- as data ---------------------------------------------------------------------------------


def _money_to_str(money: Money) -> str:
    return str(money.decimal)


def _scheme_to_dict(offer: SchemeOffer) -> dict[str, Any]:
    """A scheme offer; the settings only some schemes have (pib's) appear only when set."""
    d: dict[str, Any] = {
        "scheme": offer.scheme.value,
        "maximum_budget": _money_to_str(offer.maximum_budget),
        "per_year": offer.per_year,
        "indication_maximums": {i.indication: _money_to_str(i.maximum) for i in offer.indication_maximums},
    }
    if offer.required_plan_elements:
        d["required_plan_elements"] = [e.value for e in offer.required_plan_elements]
    if offer.contracting_party is not None:
        d["contracting_party"] = offer.contracting_party.value
    if offer.admission_rules is not None:
        d["admission_rules"] = [rule.to_dict() for rule in offer.admission_rules]
    return d


def policy_to_dict(policy: MunicipalPolicy) -> dict[str, Any]:
    """A JSON-safe dict (amounts as strings of euros, never floats)."""
    return {
        "format": POLICY_FORMAT,
        "municipality_code": policy.municipality_code,
        "municipality_name": policy.municipality_name,
        "schemes": [_scheme_to_dict(s) for s in policy.schemes],
        "orientation": {
            "enabled": policy.orientation.enabled,
            "months": policy.orientation.months,
            "budget": _money_to_str(policy.orientation.budget),
        },
        "admission_rules": [rule.to_dict() for rule in policy.admission_rules],
        "review_model": policy.review_model.value,
        "contracted_providers": [{"name": p.name, "kvk": p.kvk} for p in policy.contracted_providers],
        "execution_months": policy.execution_months,
        "four_eyes_threshold": _money_to_str(policy.four_eyes_threshold),
        "decision_term_weeks": policy.decision_term_weeks,
        "decision_warning_weeks": policy.decision_warning_weeks,
        "required_plan_elements": [e.value for e in policy.required_plan_elements],
        "min_quotes_per_activity": policy.min_quotes_per_activity,
        "too_few_quotes": policy.too_few_quotes.value,
        "client_confirms_invoices": policy.client_confirms_invoices,
        "amounts_excl_vat": policy.amounts_excl_vat,
        "price_catalogue": [product_to_dict(p) for p in policy.price_catalogue],
        "over_catalogue_price": policy.over_catalogue_price.value,
        "quote_required_above": (
            None if policy.quote_required_above is None else _money_to_str(policy.quote_required_above)
        ),
        "missing_required_quote": policy.missing_required_quote.value,
    }


# As shared/text.py's `Line`: C0/C1 control characters (NUL included), DEL, tabs, line breaks.
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(value: str) -> bool:
    return bool(_CONTROL_OR_BREAK.search(value))
