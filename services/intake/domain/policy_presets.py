"""The policy presets from the report: Groningen, Utrecht, Zoetermeer, Rotterdam, Delft and
Breda, each as a `MunicipalPolicy` (see policy.py for what the settings mean); and the scheme
preset for pib (`pib_offer`, `with_pib`), which any municipality may add to its policy."""

from __future__ import annotations

from dataclasses import replace

from services.intake.domain.criteria import (
    BenefitTypeRule,
    FairChanceOfOutflowRule,
    MaxDistanceToLabourMarketRule,
    MinMonthsOnBenefitRule,
    MinMonthsUnemployedRule,
    NoRunningTrajectoryRule,
    NoSuitableRegularOfferRule,
    PibRequestGrantedRule,
    ResidentRule,
    TargetGroupRule,
)
from services.intake.domain.eligibility import AdmissionRule, BenefitType, TargetGroup
from services.intake.domain.errors import PolicyError
from services.intake.domain.policy import (
    DEFAULT_PRB_MAXIMUM,
    ContractingParty,
    IndicationBudget,
    MunicipalPolicy,
    OrientationPhase,
    PlanElement,
    ReviewModel,
    Scheme,
    SchemeOffer,
    general_rules,
)
from shared.money import Money

_PRB = SchemeOffer(Scheme.PRB, DEFAULT_PRB_MAXIMUM)
# pgb bw: "circa € 27.080 of € 33.850 per jaar, afhankelijk van de indicatie" (2.2). We take
# the higher amount to belong to the severe indication.
_PGB_BW = SchemeOffer(
    Scheme.PGB_BW,
    Money.euros("27080"),
    per_year=True,
    indication_maximums=(
        IndicationBudget("moderate", Money.euros("27080")),
        IndicationBudget("severe", Money.euros("33850")),
    ),
)
# rio: "Ook de iro gaat in principe uit van een maximum van € 5.000 per traject" (3.2).
_RIO = SchemeOffer(Scheme.RIO_IRO, Money.euros("5000"))


def _groningen() -> MunicipalPolicy:
    code = "0014"
    return MunicipalPolicy(
        municipality_code=code,
        municipality_name="Groningen",
        # Groningen also took part in the pgb bw project (Bijlage).
        schemes=(_PRB, _PGB_BW),
        # Table 3.2: "minimaal 6 maanden werkloos".
        admission_rules=(*general_rules(code), MinMonthsUnemployedRule(6)),
        # 3.4: "Groningen gaat uit van de ja-tenzij-redenering".
        review_model=ReviewModel.MARGINAL,
        # Table 3.3: the client is the contracting party, the municipality pays the provider.
        client_confirms_invoices=True,
    )


def _utrecht() -> MunicipalPolicy:
    code = "0344"
    return MunicipalPolicy(
        municipality_code=code,
        municipality_name="Utrecht",
        # 4.2: the maximum was EUR 10,000 and was lowered to EUR 5,000 at the end of 2008.
        schemes=(_PRB,),
        # Table 3.2: "geen passend regulier aanbod beschikbaar", "gerede kans op uitstroom".
        admission_rules=(*general_rules(code), NoSuitableRegularOfferRule(), FairChanceOfOutflowRule()),
        # The interview (deel 1): the prb-coach asks many questions and coaches, "meer coach dan controleur".
        review_model=ReviewModel.RECIPROCAL,
        # "Wanneer die het plan goedkeurt, is de klant gehouden dat binnen een jaar uit te voeren."
        execution_months=12,
        # Table 3.3: the budget is paid to the reintegration company ("aan rib").
        client_confirms_invoices=False,
    )


def _zoetermeer() -> MunicipalPolicy:
    code = "0637"
    return MunicipalPolicy(
        municipality_code=code,
        municipality_name="Zoetermeer",
        schemes=(_PRB, _PGB_BW),
        # Table 3.2: "minimaal 1 jaar WWB-uitkering en deel uitmakend van de volgende specifieke
        # doelgroepen: 45+, alleenstaande ouder met kinderen onder 12 jaar, langdurig gedeeltelijk
        # arbeidsongeschikt". A WWB benefit, so job seekers without benefit (NUG) are out.
        admission_rules=(
            BenefitTypeRule((BenefitType.WWB,)),
            ResidentRule((code,)),
            NoRunningTrajectoryRule(),
            MinMonthsOnBenefitRule(12),
            TargetGroupRule(tuple(TargetGroup), 45, 12),
        ),
        # Table 3.3: client and case manager agree on regular progress talks in the plan.
        review_model=ReviewModel.RECIPROCAL,
        # Table 3.3: "Rib stuurt facturen rechtstreeks naar de klantmanager".
        client_confirms_invoices=False,
    )


def _rotterdam() -> MunicipalPolicy:
    code = "0599"
    return MunicipalPolicy(
        municipality_code=code,
        municipality_name="Rotterdam",
        # 3.3: Rotterdam replaced prb by the rio: WWB and NUG clients choose from the
        # reintegration companies UWV contracted for the iro; SoZaWe contracts them.
        schemes=(_RIO,),
        # Table 3.2: "minimaal 6 maanden werkloos", "geen passend regulier aanbod beschikbaar".
        admission_rules=(*general_rules(code), MinMonthsUnemployedRule(6), NoSuitableRegularOfferRule()),
        review_model=ReviewModel.DEMAND_ORIENTED,
        # The list of contracted companies (140 had signed up by the end of 2009) is not in the
        # report; Rotterdam must fill it in before a plan can pass.
        contracted_providers=(),
        # Table 3.3: "gemeente betaalt rechtstreeks".
        client_confirms_invoices=False,
    )


def _delft() -> MunicipalPolicy:
    code = "0503"
    return MunicipalPolicy(
        municipality_code=code,
        municipality_name="Delft",
        # Table 3.2: "maximaal 1 jaar afstand tot de arbeidsmarkt".
        admission_rules=(*general_rules(code), MaxDistanceToLabourMarketRule(12)),
        # 3.4: "Deze fase biedt klanten drie maanden de tijd om ... een trajectplan op te stellen."
        orientation=OrientationPhase(enabled=True, months=3),
        # Table 2.3: "idee en initiatief van de klant staan centraal; klant krijgt maximale ruimte".
        review_model=ReviewModel.MARGINAL,
    )


def _breda() -> MunicipalPolicy:
    code = "0758"
    return MunicipalPolicy(
        municipality_code=code,
        municipality_name="Breda",
        # Table 3.2: no special criteria ("geen").
        admission_rules=general_rules(code),
        # The Breda interview: "In het plan moeten wel een paar elementen zitten:
        # zelfbewustwording, bemiddeling en nazorg." The client must explain the choice well.
        required_plan_elements=(PlanElement.SELF_AWARENESS, PlanElement.JOB_MEDIATION, PlanElement.AFTERCARE),
        review_model=ReviewModel.RECIPROCAL,
    )


PRESETS: dict[str, MunicipalPolicy] = {
    p.municipality_code: p for p in (_groningen(), _utrecht(), _zoetermeer(), _rotterdam(), _delft(), _breda())
}


# --- the pib scheme preset ---------------------------------------------------------------------
#
# The persoonlijk inburgeringsbudget (Wet inburgering; the report's 2.2 "Het pib in de Wet
# inburgering"): the inburgeraar may ASK for a pib; the municipality assesses who qualifies; once
# it agrees, the inburgeraar (with or without help) writes an inburgering programme and chooses the
# providers; the municipality signs the contracts with them. For WWB clients since January 2009 it
# is in principle always a combined "duaal traject": inburgering (taalkennis) and reintegration
# (scholing, solliciteren). Eindhoven (a pgb-bureau on the werkplein for prb and pib from 2010) and
# Groningen (experience with pib and reintegration together) are the report's examples.
#
# The report gives no amount ("Rond pgb bw en pib is nog te weinig ervaring voor een consensus",
# 4.2), so there is none here: the maximum is a required argument, and a pib offered through a
# policy document without `maximum_budget` is a policy error naming that field.

PIB_REQUIRED_PLAN_ELEMENTS = (PlanElement.CIVIC_INTEGRATION, PlanElement.REINTEGRATION)


def pib_admission_rules(municipality_code: str) -> tuple[AdmissionRule, ...]:
    """Living in the municipality, and the municipality's assessment of the request (granted)."""
    return (ResidentRule((municipality_code,)), PibRequestGrantedRule())


def pib_offer(municipality_code: str, maximum: Money) -> SchemeOffer:
    """The pib as a scheme offer: the duaal traject's two parts required in every plan, the
    municipality as contracting party, the request assessed by the municipality. `maximum` is the
    amount the municipality itself sets: there is no default."""
    if not isinstance(maximum, Money) or maximum.cents <= 0:
        raise PolicyError(
            "policy.pib_maximum_required",
            "maximum_budget: a pib needs a maximum the municipality sets (the report gives none).",
            "maximum_budget",
        )
    return SchemeOffer(
        Scheme.PIB,
        maximum,
        required_plan_elements=PIB_REQUIRED_PLAN_ELEMENTS,
        contracting_party=ContractingParty.MUNICIPALITY,
        admission_rules=pib_admission_rules(municipality_code),
    )


def with_pib(policy: MunicipalPolicy, maximum: Money) -> MunicipalPolicy:
    """The policy with the pib preset added (or put in place of its pib offer), other schemes kept."""
    others = tuple(s for s in policy.schemes if s.scheme != Scheme.PIB)
    return replace(policy, schemes=(*others, pib_offer(policy.municipality_code, maximum)))


SCHEME_PRESETS = {Scheme.PIB: with_pib}


def find_preset(name_or_code: str) -> MunicipalPolicy | None:
    """A preset by its municipality's code ("0014") or name ("groningen", any case)."""
    wanted = name_or_code.strip().casefold()
    return PRESETS.get(wanted) or next((p for p in PRESETS.values() if p.municipality_name.casefold() == wanted), None)


def _for_code(rules: tuple[AdmissionRule, ...], old: str, new: str) -> tuple[AdmissionRule, ...]:
    return tuple(
        ResidentRule(tuple(new if c == old else c for c in rule.municipality_codes))
        if isinstance(rule, ResidentRule)
        else rule
        for rule in rules
    )


def policy_from_preset(preset: MunicipalPolicy, code: str, name: str) -> MunicipalPolicy:
    """The preset's settings for another municipality: its code and name, and the residence rules
    (of the policy and of each scheme) naming that municipality instead of the preset's own."""
    old = preset.municipality_code
    schemes = tuple(
        s if s.admission_rules is None else replace(s, admission_rules=_for_code(s.admission_rules, old, code))
        for s in preset.schemes
    )
    return replace(
        preset,
        municipality_code=code,
        municipality_name=name,
        admission_rules=_for_code(preset.admission_rules, old, code),
        schemes=schemes,
    )
