"""The admission criteria of Table 3.2, one rule class each (a frozen dataclass with a `kind`,
its parameters and `evaluate(facts, on)`), and `rule_from_dict` to read one from a policy's
JSON. The facts, results and helpers they share are in eligibility.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from services.intake.domain.eligibility import (
    _BENEFIT_GROUP,
    AdmissionRule,
    BenefitType,
    ClientFacts,
    CriterionResult,
    TargetGroup,
    _check_keys,
    _enum_tuple,
    _join,
    _months_en,
    _months_nl,
    _unknown,
    _whole_number,
    age_on,
)
from services.intake.domain.errors import PolicyError


@dataclass(frozen=True)
class BenefitTypeRule(AdmissionRule):
    """Entitled to assistance (WWB) or a registered job seeker (NUG), or whatever the policy lists."""

    allowed: tuple[BenefitType, ...] = (BenefitType.WWB, BenefitType.NUG)
    kind: ClassVar[str] = "benefit_type"

    def __post_init__(self) -> None:
        if not self.allowed:
            raise PolicyError("policy.invalid", "allowed: list at least one benefit type.", "allowed")
        object.__setattr__(self, "allowed", tuple(BenefitType(b) for b in self.allowed))

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        if facts.benefit_type is None:
            return _unknown(self.kind, "heeft u een uitkering, en welke?", "do you receive a benefit, and which one?")
        nl, en = _BENEFIT_GROUP[facts.benefit_type]
        if facts.benefit_type in self.allowed:
            return CriterionResult(
                self.kind,
                True,
                f"U hoort bij de groep {nl}. Dit budget is ook voor u.",
                f"You belong to the group of {en}. This budget is open to you.",
            )
        allowed_nl = " of ".join(_BENEFIT_GROUP[b][0] for b in self.allowed)
        allowed_en = " or ".join(_BENEFIT_GROUP[b][1] for b in self.allowed)
        return CriterionResult(
            self.kind,
            False,
            f"Dit budget is alleen voor {allowed_nl}. U hoort bij de groep {nl}.",
            f"This budget is only for {allowed_en}. You belong to the group of {en}.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "allowed": [b.value for b in self.allowed]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> BenefitTypeRule:
        _check_keys(d, ["allowed"], path)
        return cls(_enum_tuple(d, "allowed", path, BenefitType))


@dataclass(frozen=True)
class ResidentRule(AdmissionRule):
    """Lives in the municipality. Several codes when a shared social service serves several."""

    municipality_codes: tuple[str, ...]
    kind: ClassVar[str] = "resident"

    def __post_init__(self) -> None:
        codes = tuple(self.municipality_codes)
        if not codes or not all(isinstance(c, str) and len(c) == 4 and c.isdigit() for c in codes):
            raise PolicyError(
                "policy.invalid",
                f"municipality_codes: give one or more 4-digit CBS codes, got {self.municipality_codes!r}.",
                "municipality_codes",
            )
        object.__setattr__(self, "municipality_codes", codes)

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        if facts.resident_municipality_code is None:
            return _unknown(self.kind, "in welke gemeente woont u?", "which municipality do you live in?")
        if facts.resident_municipality_code in self.municipality_codes:
            return CriterionResult(self.kind, True, "U woont in deze gemeente.", "You live in this municipality.")
        return CriterionResult(
            self.kind,
            False,
            "U woont niet in deze gemeente. Het budget is alleen voor inwoners.",
            "You do not live in this municipality. The budget is only for residents.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "municipality_codes": list(self.municipality_codes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> ResidentRule:
        _check_keys(d, ["municipality_codes"], path)
        codes = d.get("municipality_codes")
        if not isinstance(codes, list | tuple):
            raise PolicyError(
                "policy.invalid",
                f"{path}.municipality_codes: must be a list of 4-digit CBS codes.",
                f"{path}.municipality_codes",
            )
        try:
            return cls(tuple(codes))
        except PolicyError as exc:
            raise PolicyError("policy.invalid", f"{path}.{exc.message}", f"{path}.municipality_codes") from exc


@dataclass(frozen=True)
class NoRunningTrajectoryRule(AdmissionRule):
    """Not already in another trajectory: "the most important criterion" (chapter 3.4)."""

    kind: ClassVar[str] = "no_running_trajectory"

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        if facts.has_running_trajectory is None:
            return _unknown(
                self.kind,
                "volgt u nu al een ander traject naar werk?",
                "are you already in another route back to work?",
            )
        if not facts.has_running_trajectory:
            return CriterionResult(
                self.kind,
                True,
                "U volgt nu geen ander traject naar werk.",
                "You are not in another route back to work.",
            )
        return CriterionResult(
            self.kind,
            False,
            "U volgt al een ander traject naar werk. U kunt niet twee trajecten tegelijk volgen.",
            "You are already in another route back to work. You cannot follow two at once.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> NoRunningTrajectoryRule:
        _check_keys(d, [], path)
        return cls()


@dataclass(frozen=True)
class MinMonthsUnemployedRule(AdmissionRule):
    """Groningen and Rotterdam: at least 6 months unemployed."""

    months: int
    kind: ClassVar[str] = "min_months_unemployed"

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        n = facts.months_unemployed
        if n is None:
            return _unknown(self.kind, "hoe lang bent u al zonder werk?", "how long have you been out of work?")
        if n >= self.months:
            return CriterionResult(
                self.kind,
                True,
                f"U bent {_months_nl(n)} zonder werk. Dat is minstens {_months_nl(self.months)}.",
                f"You have been out of work for {_months_en(n)}. That is at least {_months_en(self.months)}.",
            )
        return CriterionResult(
            self.kind,
            False,
            f"U bent {_months_nl(n)} zonder werk. Dat moet minstens {_months_nl(self.months)} zijn.",
            f"You have been out of work for {_months_en(n)}. It must be at least {_months_en(self.months)}.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "months": self.months}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> MinMonthsUnemployedRule:
        _check_keys(d, ["months"], path)
        return cls(_whole_number(d, "months", path))


@dataclass(frozen=True)
class MinMonthsOnBenefitRule(AdmissionRule):
    """Zoetermeer: at least one year on assistance."""

    months: int
    kind: ClassVar[str] = "min_months_on_benefit"

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        n = facts.months_on_benefit
        if n is None:
            return _unknown(self.kind, "hoe lang heeft u al een uitkering?", "how long have you been on benefit?")
        if n >= self.months:
            return CriterionResult(
                self.kind,
                True,
                f"U heeft {_months_nl(n)} een uitkering. Dat is minstens {_months_nl(self.months)}.",
                f"You have been on benefit for {_months_en(n)}. That is at least {_months_en(self.months)}.",
            )
        return CriterionResult(
            self.kind,
            False,
            f"U heeft {_months_nl(n)} een uitkering. Dat moet minstens {_months_nl(self.months)} zijn.",
            f"You have been on benefit for {_months_en(n)}. It must be at least {_months_en(self.months)}.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "months": self.months}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> MinMonthsOnBenefitRule:
        _check_keys(d, ["months"], path)
        return cls(_whole_number(d, "months", path))


@dataclass(frozen=True)
class MaxDistanceToLabourMarketRule(AdmissionRule):
    """Delft: at most one year's distance to the labour market."""

    months: int
    kind: ClassVar[str] = "max_distance_to_labour_market"

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        n = facts.distance_to_labour_market_months
        if n is None:
            return _unknown(
                self.kind,
                "hoe lang duurt het naar verwachting voordat u kunt werken?",
                "how long will it take, as expected, before you can work?",
                ask_case_manager=True,
            )
        if n <= self.months:
            return CriterionResult(
                self.kind,
                True,
                f"Naar verwachting kunt u binnen {_months_nl(n)} werken. Dat is niet meer dan "
                f"{_months_nl(self.months)}.",
                f"You are expected to be able to work within {_months_en(n)}. That is not more "
                f"than {_months_en(self.months)}.",
            )
        return CriterionResult(
            self.kind,
            False,
            f"Naar verwachting duurt het {_months_nl(n)} voordat u kunt werken. Dat mag niet meer "
            f"zijn dan {_months_nl(self.months)}.",
            f"It is expected to take {_months_en(n)} before you can work. That may not be more "
            f"than {_months_en(self.months)}.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "months": self.months}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> MaxDistanceToLabourMarketRule:
        _check_keys(d, ["months"], path)
        return cls(_whole_number(d, "months", path))


@dataclass(frozen=True)
class NoSuitableRegularOfferRule(AdmissionRule):
    """Rotterdam, Utrecht, Wageningen: only when no suitable regular offer exists (a judgement)."""

    kind: ClassVar[str] = "no_suitable_regular_offer"

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        if facts.no_suitable_regular_offer is None:
            return _unknown(
                self.kind,
                "is er een passend gewoon traject van de gemeente voor u?",
                "is there a suitable regular programme of the municipality for you?",
                ask_case_manager=True,
            )
        if facts.no_suitable_regular_offer:
            return CriterionResult(
                self.kind,
                True,
                "Er is geen passend gewoon traject van de gemeente voor u. Uw klantmanager heeft dat vastgelegd.",
                "There is no suitable regular programme of the municipality for you. "
                "Your case manager has recorded this.",
            )
        return CriterionResult(
            self.kind,
            False,
            "Er is een passend gewoon traject van de gemeente voor u. Dan is dit budget niet voor u bedoeld.",
            "There is a suitable regular programme of the municipality for you. This budget is then not meant for you.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> NoSuitableRegularOfferRule:
        _check_keys(d, [], path)
        return cls()


@dataclass(frozen=True)
class FairChanceOfOutflowRule(AdmissionRule):
    """Utrecht: a fair chance of outflow to work ("gerede kans op uitstroom"), a judgement."""

    kind: ClassVar[str] = "fair_chance_of_outflow"

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        if facts.fair_chance_of_outflow is None:
            return _unknown(
                self.kind,
                "heeft u met dit budget een goede kans op werk?",
                "does this budget give you a fair chance of finding work?",
                ask_case_manager=True,
            )
        if facts.fair_chance_of_outflow:
            return CriterionResult(
                self.kind,
                True,
                "Uw klantmanager verwacht dat u een goede kans op werk heeft.",
                "Your case manager expects that you have a fair chance of finding work.",
            )
        return CriterionResult(
            self.kind,
            False,
            "Uw klantmanager verwacht niet dat u met dit budget een goede kans op werk heeft.",
            "Your case manager does not expect this budget to give you a fair chance of work.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> FairChanceOfOutflowRule:
        _check_keys(d, [], path)
        return cls()


@dataclass(frozen=True)
class AvailableForWorkRule(AdmissionRule):
    """Table B1 lists "beschikbaar" (available for work) as a hard criterion."""

    kind: ClassVar[str] = "available_for_work"

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        if facts.available_for_work is None:
            return _unknown(self.kind, "kunt u beginnen met werk als dat er is?", "can you start work when it comes?")
        if facts.available_for_work:
            return CriterionResult(self.kind, True, "U kunt beginnen met werk.", "You are available for work.")
        return CriterionResult(
            self.kind, False, "U kunt nu niet beginnen met werk.", "You are not available for work at the moment."
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> AvailableForWorkRule:
        _check_keys(d, [], path)
        return cls()


@dataclass(frozen=True)
class TargetGroupRule(AdmissionRule):
    """Zoetermeer: the client is in at least one of the listed target groups."""

    groups: tuple[TargetGroup, ...] = tuple(TargetGroup)
    min_age: int = 45
    child_under_age: int = 12
    kind: ClassVar[str] = "target_group"

    def __post_init__(self) -> None:
        if not self.groups:
            raise PolicyError("policy.invalid", "groups: list at least one target group.", "groups")
        object.__setattr__(self, "groups", tuple(TargetGroup(g) for g in self.groups))

    def _label(self, group: TargetGroup) -> tuple[str, str]:
        return {
            TargetGroup.AGE_45_PLUS: (f"{self.min_age} jaar of ouder", f"aged {self.min_age} or over"),
            TargetGroup.SINGLE_PARENT_YOUNG_CHILD: (
                f"alleenstaande ouder met een kind jonger dan {self.child_under_age} jaar",
                f"single parent with a child under {self.child_under_age}",
            ),
            TargetGroup.LONG_TERM_PARTIALLY_DISABLED: (
                "langdurig gedeeltelijk arbeidsongeschikt",
                "long-term partially unable to work",
            ),
        }[group]

    def _member(self, group: TargetGroup, facts: ClientFacts, on: date) -> tuple[bool | None, str, str]:
        """(member? None when unknown, what we know in Dutch, in English)."""
        if group is TargetGroup.AGE_45_PLUS:
            if facts.date_of_birth is None:
                return None, "uw geboortedatum", "your date of birth"
            age = age_on(facts.date_of_birth, on)
            return age >= self.min_age, f"U bent {age} jaar", f"you are {age}"
        if group is TargetGroup.SINGLE_PARENT_YOUNG_CHILD:
            if facts.single_parent is None:
                return None, "of u alleenstaande ouder bent", "whether you are a single parent"
            if not facts.single_parent:
                return False, "u bent geen alleenstaande ouder", "you are not a single parent"
            if facts.youngest_child_birth_date is None:
                return None, "de geboortedatum van uw jongste kind", "the date of birth of your youngest child"
            child_age = age_on(facts.youngest_child_birth_date, on)
            return (
                child_age < self.child_under_age,
                f"uw jongste kind is {child_age} jaar",
                f"your youngest child is {child_age}",
            )
        if facts.long_term_partially_disabled is None:
            return (
                None,
                "of u langdurig gedeeltelijk arbeidsongeschikt bent",
                "whether you are long-term partially unable to work",
            )
        if facts.long_term_partially_disabled:
            return True, "u bent langdurig gedeeltelijk arbeidsongeschikt", "you are long-term partially unable to work"
        return (
            False,
            "u bent niet langdurig gedeeltelijk arbeidsongeschikt",
            "you are not long-term partially unable to work",
        )

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        answers = [(g, *self._member(g, facts, on)) for g in self.groups]
        for group, member, _, _ in answers:
            if member:
                nl, en = self._label(group)
                return CriterionResult(
                    self.kind, True, f"U hoort bij de doelgroep: {nl}.", f"You belong to the target group: {en}."
                )
        missing = [(nl, en) for _, member, nl, en in answers if member is None]
        if missing:
            return _unknown(
                self.kind, _join([nl for nl, _ in missing], "en") + ".", _join([en for _, en in missing], "and") + "."
            )
        groups_nl = "; ".join(self._label(g)[0] for g in self.groups)
        groups_en = "; ".join(self._label(g)[1] for g in self.groups)
        return CriterionResult(
            self.kind,
            False,
            f"Dit budget is voor deze groepen: {groups_nl}. U hoort bij geen van deze groepen.",
            f"This budget is for these groups: {groups_en}. You do not belong to any of them.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "groups": [g.value for g in self.groups],
            "min_age": self.min_age,
            "child_under_age": self.child_under_age,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> TargetGroupRule:
        _check_keys(d, ["groups", "min_age", "child_under_age"], path)
        return cls(
            groups=_enum_tuple(d, "groups", path, TargetGroup) if "groups" in d else tuple(TargetGroup),
            min_age=_whole_number(d, "min_age", path, low=16, high=70) if "min_age" in d else 45,
            child_under_age=_whole_number(d, "child_under_age", path, low=1, high=18) if "child_under_age" in d else 12,
        )


@dataclass(frozen=True)
class PibRequestGrantedRule(AdmissionRule):
    """pib (Wet inburgering, 2.2): "de inburgeraar [kan] een verzoek doen om een pib aangeboden te
    krijgen. De gemeente beoordeelt welke inburgeraar voor een pib in aanmerking komt." The
    municipality's assessment of the request, recorded by the case manager as a fact."""

    kind: ClassVar[str] = "pib_request_granted"

    def evaluate(self, facts: ClientFacts, on: date) -> CriterionResult:
        if facts.pib_request_granted is None:
            return _unknown(
                self.kind,
                "heeft de gemeente uw verzoek om een pib al beoordeeld?",
                "has the municipality assessed your request for a pib yet?",
                ask_case_manager=True,
            )
        if facts.pib_request_granted:
            return CriterionResult(
                self.kind,
                True,
                "De gemeente heeft uw verzoek om een pib toegekend. Uw klantmanager heeft dat vastgelegd.",
                "The municipality granted your request for a pib. Your case manager has recorded this.",
            )
        return CriterionResult(
            self.kind,
            False,
            "De gemeente heeft uw verzoek om een pib niet toegekend.",
            "The municipality did not grant your request for a pib.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], path: str) -> PibRequestGrantedRule:
        _check_keys(d, [], path)
        return cls()


RULE_KINDS: dict[str, type[AdmissionRule]] = {
    rule.kind: rule
    for rule in (
        BenefitTypeRule,
        ResidentRule,
        NoRunningTrajectoryRule,
        MinMonthsUnemployedRule,
        MinMonthsOnBenefitRule,
        MaxDistanceToLabourMarketRule,
        NoSuitableRegularOfferRule,
        FairChanceOfOutflowRule,
        AvailableForWorkRule,
        TargetGroupRule,
        PibRequestGrantedRule,
    )
}


def rule_from_dict(d: Any, path: str = "rule") -> AdmissionRule:
    if not isinstance(d, Mapping):
        raise PolicyError("policy.invalid", f"{path}: a rule must be an object with a 'kind'.", path)
    kind = d.get("kind")
    if kind not in RULE_KINDS:
        raise PolicyError(
            "policy.invalid",
            f"{path}.kind: {kind!r} is not a known rule; known: {', '.join(sorted(RULE_KINDS))}.",
            f"{path}.kind",
        )
    return RULE_KINDS[kind].from_dict(d, path)


def rule_to_dict(rule: AdmissionRule) -> dict[str, Any]:
    return rule.to_dict()
