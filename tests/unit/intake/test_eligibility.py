"""The hard admission criteria of Table 3.2: each one passes, fails, and fails when unknown."""

from dataclasses import replace
from datetime import date

import pytest

from services.intake.domain.criteria import (
    RULE_KINDS,
    AvailableForWorkRule,
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
    rule_from_dict,
)
from services.intake.domain.eligibility import BenefitType, ClientFacts, TargetGroup, age_on, check_eligibility
from services.intake.domain.errors import DomainError
from services.intake.domain.policy import Scheme, default_policy
from services.intake.domain.policy_presets import PRESETS

ON = date(2025, 6, 1)

# Someone who meets every rule in every preset.
EVERYTHING_KNOWN = ClientFacts(
    benefit_type=BenefitType.WWB,
    months_unemployed=30,
    months_on_benefit=24,
    date_of_birth=date(1970, 1, 1),
    single_parent=False,
    youngest_child_birth_date=None,
    long_term_partially_disabled=False,
    resident_municipality_code="0014",
    has_running_trajectory=False,
    no_suitable_regular_offer=True,
    fair_chance_of_outflow=True,
    distance_to_labour_market_months=6,
    available_for_work=True,
    pib_request_granted=True,
)


def facts(**changes):
    return replace(EVERYTHING_KNOWN, **changes)


# --- entitled to assistance (WWB) or registered job seeker (NUG) ------------------------------


def test_client_on_assistance_passes_the_benefit_rule():
    result = BenefitTypeRule().evaluate(facts(benefit_type=BenefitType.WWB), ON)
    assert result.passed and "bijstandsuitkering" in result.reason_nl and "social assistance" in result.reason_en


def test_registered_job_seeker_without_benefit_passes_the_benefit_rule():
    assert BenefitTypeRule().evaluate(facts(benefit_type=BenefitType.NUG), ON).passed


def test_client_on_unemployment_benefit_fails_the_prb_benefit_rule():
    result = BenefitTypeRule().evaluate(facts(benefit_type=BenefitType.WW), ON)
    assert not result.passed and not result.unknown
    assert "alleen voor" in result.reason_nl and "only for" in result.reason_en


def test_zoetermeer_rejects_a_job_seeker_without_benefit():
    report = check_eligibility(
        PRESETS["0637"],
        facts(benefit_type="NUG", resident_municipality_code="0637", date_of_birth=date(1975, 1, 1)),
        ON,
    )
    assert not report.eligible
    assert [r.kind for r in report.failed] == ["benefit_type"]


# --- resident of the municipality ---------------------------------------------------------


def test_resident_of_the_municipality_passes():
    assert ResidentRule(("0014",)).evaluate(facts(resident_municipality_code="0014"), ON).passed


def test_resident_of_another_municipality_fails():
    result = ResidentRule(("0014",)).evaluate(facts(resident_municipality_code="0344"), ON)
    assert not result.passed and "niet in deze gemeente" in result.reason_nl


def test_a_shared_social_service_accepts_residents_of_each_member_municipality():
    rule = ResidentRule(("0014", "0047"))
    assert rule.evaluate(facts(resident_municipality_code="0047"), ON).passed


# --- no other running trajectory ------------------------------------------------------------


def test_client_without_a_running_trajectory_passes():
    assert NoRunningTrajectoryRule().evaluate(facts(has_running_trajectory=False), ON).passed


def test_client_already_in_another_trajectory_fails():
    result = NoRunningTrajectoryRule().evaluate(facts(has_running_trajectory=True), ON)
    assert not result.passed and "twee trajecten" in result.reason_nl


# --- minimum months unemployed (Groningen, Rotterdam: 6) ----------------------------------------


def test_groningen_admits_a_client_unemployed_exactly_six_months():
    assert MinMonthsUnemployedRule(6).evaluate(facts(months_unemployed=6), ON).passed


def test_groningen_rejects_a_client_unemployed_five_months():
    result = MinMonthsUnemployedRule(6).evaluate(facts(months_unemployed=5), ON)
    assert not result.passed
    assert result.reason_nl == "U bent 5 maanden zonder werk. Dat moet minstens 6 maanden zijn."
    assert result.reason_en == "You have been out of work for 5 months. It must be at least 6 months."


# --- minimum months on assistance (Zoetermeer: 1 year) -----------------------------------------


def test_zoetermeer_admits_a_client_exactly_one_year_on_assistance():
    assert MinMonthsOnBenefitRule(12).evaluate(facts(months_on_benefit=12), ON).passed


def test_zoetermeer_rejects_client_under_one_year_on_assistance():
    report = check_eligibility(
        PRESETS["0637"],
        facts(months_on_benefit=11, resident_municipality_code="0637", date_of_birth=date(1975, 1, 1)),
        ON,
    )
    assert not report.eligible
    assert [r.kind for r in report.failed] == ["min_months_on_benefit"]


# --- maximum distance to the labour market (Delft: 1 year) -----------------------------------


def test_delft_admits_a_client_a_year_from_the_labour_market():
    assert MaxDistanceToLabourMarketRule(12).evaluate(facts(distance_to_labour_market_months=12), ON).passed


def test_delft_rejects_a_client_more_than_a_year_from_the_labour_market():
    result = MaxDistanceToLabourMarketRule(12).evaluate(facts(distance_to_labour_market_months=13), ON)
    assert not result.passed and "13 maanden" in result.reason_nl


# --- no suitable regular offer (Rotterdam, Utrecht, Wageningen) ---------------------------------


def test_client_without_a_suitable_regular_offer_passes():
    assert NoSuitableRegularOfferRule().evaluate(facts(no_suitable_regular_offer=True), ON).passed


def test_client_with_a_suitable_regular_offer_fails():
    result = NoSuitableRegularOfferRule().evaluate(facts(no_suitable_regular_offer=False), ON)
    assert not result.passed and "passend gewoon traject" in result.reason_nl


# --- fair chance of outflow (Utrecht) ---------------------------------------------------------


def test_client_with_a_fair_chance_of_outflow_passes():
    assert FairChanceOfOutflowRule().evaluate(facts(fair_chance_of_outflow=True), ON).passed


def test_utrecht_rejects_a_client_without_a_fair_chance_of_outflow():
    report = check_eligibility(
        PRESETS["0344"], facts(fair_chance_of_outflow=False, resident_municipality_code="0344"), ON
    )
    assert not report.eligible and [r.kind for r in report.failed] == ["fair_chance_of_outflow"]


# --- target groups (Zoetermeer) -----------------------------------------------------------

ONLY_AGE = TargetGroupRule((TargetGroup.AGE_45_PLUS,))
ONLY_SINGLE_PARENT = TargetGroupRule((TargetGroup.SINGLE_PARENT_YOUNG_CHILD,))
ONLY_DISABLED = TargetGroupRule((TargetGroup.LONG_TERM_PARTIALLY_DISABLED,))


def test_client_turning_45_on_the_reference_date_is_in_the_45_plus_group():
    result = ONLY_AGE.evaluate(facts(date_of_birth=date(1980, 6, 1)), ON)
    assert result.passed and "45 jaar of ouder" in result.reason_nl


def test_client_turning_45_the_day_after_the_reference_date_is_not_45_plus():
    assert not ONLY_AGE.evaluate(facts(date_of_birth=date(1980, 6, 2)), ON).passed


def test_single_parent_with_a_child_of_eleven_is_in_the_target_group():
    assert ONLY_SINGLE_PARENT.evaluate(facts(single_parent=True, youngest_child_birth_date=date(2014, 1, 1)), ON).passed


def test_single_parent_whose_youngest_child_turned_twelve_is_not_in_the_target_group():
    assert not ONLY_SINGLE_PARENT.evaluate(
        facts(single_parent=True, youngest_child_birth_date=date(2013, 6, 1)), ON
    ).passed


def test_a_parent_with_a_partner_is_not_a_single_parent():
    assert not ONLY_SINGLE_PARENT.evaluate(
        facts(single_parent=False, youngest_child_birth_date=date(2020, 1, 1)), ON
    ).passed


def test_long_term_partially_disabled_client_is_in_the_target_group():
    assert ONLY_DISABLED.evaluate(facts(long_term_partially_disabled=True), ON).passed


def test_client_not_partially_disabled_is_not_in_that_target_group():
    assert not ONLY_DISABLED.evaluate(facts(long_term_partially_disabled=False), ON).passed


def test_zoetermeer_admits_a_single_parent_of_thirty_with_a_young_child():
    client = facts(
        resident_municipality_code="0637",
        date_of_birth=date(1995, 1, 1),
        single_parent=True,
        youngest_child_birth_date=date(2020, 1, 1),
    )
    assert check_eligibility(PRESETS["0637"], client, ON).eligible


def test_zoetermeer_rejects_a_client_in_none_of_the_target_groups():
    client = facts(
        resident_municipality_code="0637",
        date_of_birth=date(1995, 1, 1),
        single_parent=False,
        long_term_partially_disabled=False,
    )
    report = check_eligibility(PRESETS["0637"], client, ON)
    assert not report.eligible
    (failed,) = report.failed
    assert failed.kind == "target_group" and not failed.unknown
    assert "geen van deze groepen" in failed.reason_nl


def test_one_matching_target_group_is_enough_even_when_others_are_unknown():
    rule = TargetGroupRule()
    assert rule.evaluate(ClientFacts(long_term_partially_disabled=True), ON).passed


def test_target_group_is_unknown_when_no_group_matches_and_some_are_unknown():
    result = TargetGroupRule().evaluate(ClientFacts(date_of_birth=date(1995, 1, 1)), ON)
    assert not result.passed and result.unknown
    assert "alleenstaande ouder" in result.reason_nl


# --- available for work (Table B1) ------------------------------------------------------------


def test_client_available_for_work_passes():
    assert AvailableForWorkRule().evaluate(facts(available_for_work=True), ON).passed


def test_client_not_available_for_work_fails():
    assert not AvailableForWorkRule().evaluate(facts(available_for_work=False), ON).passed


# --- pib: the municipality assesses the request (2.2) --------------------------------------------


def test_a_pib_request_the_municipality_did_not_grant_fails():
    result = PibRequestGrantedRule().evaluate(facts(pib_request_granted=False), ON)
    assert not result.passed and not result.unknown and "niet toegekend" in result.reason_nl


def test_pib_is_a_scheme_of_municipal_selection_with_its_own_rules_not_prbs():
    """An inburgeraar need not be on WWB or a NUG; what counts is the assessed request (and residence)."""
    from services.intake.domain.policy_presets import with_pib
    from shared.money import Money

    policy = with_pib(PRESETS["0014"], Money.euros("4000"))
    newcomer = ClientFacts(resident_municipality_code="0014", pib_request_granted=True)
    assert check_eligibility(policy, newcomer, ON, "pib").eligible
    assert not check_eligibility(policy, newcomer, ON, "prb").eligible
    not_yet = check_eligibility(policy, replace(newcomer, pib_request_granted=None), ON, "pib")
    assert not not_yet.eligible and [r.kind for r in not_yet.unknown] == ["pib_request_granted"]


# --- unknown facts never pass ------------------------------------------------------------------

EVERY_RULE = [
    BenefitTypeRule(),
    ResidentRule(("0014",)),
    NoRunningTrajectoryRule(),
    MinMonthsUnemployedRule(6),
    MinMonthsOnBenefitRule(12),
    MaxDistanceToLabourMarketRule(12),
    NoSuitableRegularOfferRule(),
    FairChanceOfOutflowRule(),
    AvailableForWorkRule(),
    TargetGroupRule(),
    PibRequestGrantedRule(),
]


def test_every_rule_kind_is_covered_here():
    assert {rule.kind for rule in EVERY_RULE} == set(RULE_KINDS)


@pytest.mark.parametrize("rule", EVERY_RULE, ids=lambda r: r.kind)
def test_a_rule_whose_fact_is_unknown_fails_and_says_who_to_ask(rule):
    result = rule.evaluate(ClientFacts(), ON)
    assert not result.passed and result.unknown
    assert result.reason_en.startswith("Unknown")
    assert "ask the client" in result.reason_en or "case manager" in result.reason_en
    assert result.reason_nl.startswith("Onbekend")


@pytest.mark.parametrize("rule", EVERY_RULE, ids=lambda r: r.kind)
def test_every_rule_passes_for_a_client_who_meets_it_and_explains_in_both_languages(rule):
    result = rule.evaluate(EVERYTHING_KNOWN, ON)
    assert result.passed and result.kind == rule.kind
    assert result.reason_nl and result.reason_en and result.reason_nl != result.reason_en


@pytest.mark.parametrize("rule", EVERY_RULE, ids=lambda r: r.kind)
def test_every_rule_survives_a_dict_round_trip(rule):
    assert rule_from_dict(rule.to_dict()) == rule


# --- the whole check ---------------------------------------------------------------------------


def test_groningen_client_meeting_every_criterion_is_eligible_and_sees_every_result():
    report = check_eligibility(PRESETS["0014"], EVERYTHING_KNOWN, ON)
    assert report.eligible
    assert [r.kind for r in report.results] == [
        "benefit_type",
        "resident",
        "no_running_trajectory",
        "min_months_unemployed",
    ]


def test_an_unknown_fact_makes_the_client_not_yet_eligible_and_lists_what_to_ask():
    report = check_eligibility(PRESETS["0014"], facts(months_unemployed=None), ON)
    assert not report.eligible
    assert [r.kind for r in report.unknown] == ["min_months_unemployed"]


def test_a_scheme_the_municipality_does_not_offer_makes_the_client_ineligible():
    report = check_eligibility(PRESETS["0344"], facts(resident_municipality_code="0344"), ON, scheme=Scheme.PGB_BW)
    assert not report.eligible and report.failed[0].kind == "scheme_offered"


def test_pgb_bw_is_a_legal_right_so_municipal_selection_rules_do_not_apply():
    wsw_client = ClientFacts(benefit_type=BenefitType.WSW, resident_municipality_code="0014", months_unemployed=0)
    report = check_eligibility(PRESETS["0014"], wsw_client, ON, scheme=Scheme.PGB_BW)
    assert report.eligible
    assert [r.kind for r in report.results] == ["benefit_type", "resident"]


def test_a_municipality_with_no_special_criteria_still_checks_the_general_ones():
    report = check_eligibility(
        default_policy("0034", "Almere"), facts(resident_municipality_code="0034", has_running_trajectory=True), ON
    )
    assert not report.eligible and [r.kind for r in report.failed] == ["no_running_trajectory"]


def test_age_counts_whole_years_from_the_birthday():
    assert age_on(date(1980, 6, 1), date(2025, 5, 31)) == 44
    assert age_on(date(1980, 6, 1), date(2025, 6, 1)) == 45


def test_negative_months_are_not_a_fact():
    with pytest.raises(DomainError) as err:
        ClientFacts(months_unemployed=-1)
    assert err.value.field == "months_unemployed"


def test_an_unknown_benefit_type_is_not_a_fact():
    with pytest.raises(DomainError):
        ClientFacts(benefit_type="pension")
