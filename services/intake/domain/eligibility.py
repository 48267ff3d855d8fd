"""Who may get a budget: the hard admission criteria of Table 3.2 as configurable rules.

Each municipality picks its own rules (see `policy.py`); a rule is data (a `kind` and a few
parameters) with one method, `evaluate(facts, on)`; the rules themselves are in `criteria.py`.
The reference date `on` is passed in, never read from the clock, so the same facts always
give the same answer.

A rule whose fact is unknown does not pass: it fails with "unknown, ask the client" (or the
case manager, for the facts that are their judgement), and says so in `unknown`.
Reasons are written for the client: plain Dutch (B1) and English.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from services.intake.domain.errors import PolicyError, RuleBroken

if TYPE_CHECKING:  # policy.py imports this module; the type is only needed for annotations
    from services.intake.domain.policy import MunicipalPolicy


class BenefitType(StrEnum):
    """The client's benefit; the same values the intake API stores on a client."""

    WWB = "WWB"  # social assistance (bijstand, Participatiewet)
    NUG = "NUG"  # registered job seeker without benefit ("nugger")
    WW = "WW"
    WIA = "WIA"
    WAJONG = "Wajong"
    WSW = "Wsw"  # sheltered-work indication (for pgb bw)


_BENEFIT_GROUP = {
    BenefitType.WWB: ("mensen met een bijstandsuitkering (WWB)", "people on social assistance (WWB)"),
    BenefitType.NUG: ("werkzoekenden zonder uitkering (NUG)", "registered job seekers without benefit (NUG)"),
    BenefitType.WW: ("mensen met een WW-uitkering", "people on unemployment benefit (WW)"),
    BenefitType.WIA: ("mensen met een WIA-uitkering", "people on disability benefit (WIA)"),
    BenefitType.WAJONG: ("jongeren met een Wajong-uitkering", "young disabled people on Wajong"),
    BenefitType.WSW: ("mensen met een Wsw-indicatie", "people with a sheltered-work (Wsw) indication"),
}


class TargetGroup(StrEnum):
    """The target groups Zoetermeer reserves the budget for (Table 3.2)."""

    AGE_45_PLUS = "age_45_plus"
    SINGLE_PARENT_YOUNG_CHILD = "single_parent_young_child"
    LONG_TERM_PARTIALLY_DISABLED = "long_term_partially_disabled"


@dataclass(frozen=True)
class ClientFacts:
    """What the admission rules need to know. `None` means: we do not know yet."""

    benefit_type: BenefitType | None = None
    months_unemployed: int | None = None
    months_on_benefit: int | None = None
    date_of_birth: date | None = None
    single_parent: bool | None = None
    youngest_child_birth_date: date | None = None
    long_term_partially_disabled: bool | None = None
    resident_municipality_code: str | None = None
    has_running_trajectory: bool | None = None
    # The next two are the case manager's judgement, recorded as a fact.
    no_suitable_regular_offer: bool | None = None
    fair_chance_of_outflow: bool | None = None
    # How many months until the client can reasonably work (Delft: at most 12).
    distance_to_labour_market_months: int | None = None
    # Table B1 lists "beschikbaar" (available for work) among the hard criteria.
    available_for_work: bool | None = None
    # pib: the municipality assessed the inburgeraar's request and granted it (the case manager records it).
    pib_request_granted: bool | None = None

    def __post_init__(self) -> None:
        if self.benefit_type is not None and not isinstance(self.benefit_type, BenefitType):
            try:
                object.__setattr__(self, "benefit_type", BenefitType(self.benefit_type))
            except ValueError as exc:
                raise RuleBroken(
                    "facts.benefit_type", f"Unknown benefit type: {self.benefit_type!r}.", "benefit_type"
                ) from exc
        for name in ("months_unemployed", "months_on_benefit", "distance_to_labour_market_months"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise RuleBroken(f"facts.{name}", f"{name} must be a whole number of months, 0 or more.", name)


@dataclass(frozen=True)
class CriterionResult:
    kind: str
    passed: bool
    reason_nl: str
    reason_en: str
    unknown: bool = False  # failed only because a fact is missing: ask, then check again


@dataclass(frozen=True)
class EligibilityReport:
    eligible: bool
    results: tuple[CriterionResult, ...]

    @property
    def failed(self) -> tuple[CriterionResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    @property
    def unknown(self) -> tuple[CriterionResult, ...]:
        """The criteria to ask about before deciding."""
        return tuple(r for r in self.results if r.unknown)


# --- helpers ------------------------------------------------------------------------------

ASK_CLIENT_NL = "Onbekend, vraag het aan de klant"
ASK_CLIENT_EN = "Unknown, ask the client"
ASK_CASE_MANAGER_NL = "Onbekend, de klantmanager moet dit nog vastleggen"
ASK_CASE_MANAGER_EN = "Unknown, the case manager still has to record this"


def age_on(born: date, on: date) -> int:
    """Whole years of age on a date (a birthday counts from that day)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _months_nl(n: int) -> str:
    return "1 maand" if n == 1 else f"{n} maanden"


def _months_en(n: int) -> str:
    return "1 month" if n == 1 else f"{n} months"


def _join(items: list[str], last_word: str) -> str:
    """a, b en c"""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last_word} " + items[-1]


def _unknown(kind: str, question_nl: str, question_en: str, *, ask_case_manager: bool = False) -> CriterionResult:
    prefix_nl, prefix_en = (
        (ASK_CASE_MANAGER_NL, ASK_CASE_MANAGER_EN) if ask_case_manager else (ASK_CLIENT_NL, ASK_CLIENT_EN)
    )
    return CriterionResult(kind, False, f"{prefix_nl}: {question_nl}", f"{prefix_en}: {question_en}", unknown=True)


def _whole_number(d: Mapping[str, Any], key: str, path: str, *, low: int = 0, high: int = 1200) -> int:
    if key not in d:
        raise PolicyError("policy.invalid", f"{path}.{key}: this rule needs '{key}'.", f"{path}.{key}")
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(
            "policy.invalid",
            f"{path}.{key}: must be a whole number from {low} to {high}, got {value!r}.",
            f"{path}.{key}",
        )
    return value


def _enum_tuple(d: Mapping[str, Any], key: str, path: str, enum: type[StrEnum]) -> tuple[Any, ...]:
    raw = d.get(key)
    if not isinstance(raw, list | tuple) or not raw:
        raise PolicyError("policy.invalid", f"{path}.{key}: must be a non-empty list.", f"{path}.{key}")
    out = []
    for i, item in enumerate(raw):
        try:
            out.append(enum(item))
        except ValueError as exc:
            allowed = ", ".join(m.value for m in enum)
            raise PolicyError(
                "policy.invalid", f"{path}.{key}[{i}]: {item!r} is not one of: {allowed}.", f"{path}.{key}[{i}]"
            ) from exc
    return tuple(out)


def _check_keys(d: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    unknown = sorted(set(d) - set(allowed) - {"kind"})
    if unknown:
        raise PolicyError(
            "policy.invalid", f"{path}.{unknown[0]}: unknown setting for this rule.", f"{path}.{unknown[0]}"
        )


# --- the rules ----------------------------------------------------------------------------


class AdmissionRule(ABC):
    """One hard criterion. Subclasses are frozen dataclasses with a `kind` and parameters."""

    kind: ClassVar[str]

    @abstractmethod
    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult: ...

    @abstractmethod
    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    @abstractmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> AdmissionRule: ...


def check_eligibility(policy: MunicipalPolicy, facts: ClientFacts, on: date, scheme: str = "prb") -> EligibilityReport:
    """Every criterion's result for this client under this policy on this date.

    Eligible only when every criterion passed; an unknown fact makes the client not (yet)
    eligible. The scheme must be one the municipality offers.
    """
    results: list[CriterionResult] = []
    if not policy.offers(scheme):
        results.append(
            CriterionResult(
                "scheme_offered",
                False,
                "Deze gemeente biedt deze regeling niet aan.",
                "This municipality does not offer this scheme.",
            )
        )
    results.extend(rule.evaluate(facts, on) for rule in policy.admission_rules_for(scheme))
    return EligibilityReport(eligible=all(r.passed for r in results), results=tuple(results))
