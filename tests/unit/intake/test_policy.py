"""Municipal policy as data: presets from the report, and the JSON round trip."""

import json
from datetime import date

import pytest

from services.intake.domain.criteria import (
    BenefitTypeRule,
    FairChanceOfOutflowRule,
    MaxDistanceToLabourMarketRule,
    MinMonthsOnBenefitRule,
    MinMonthsUnemployedRule,
    NoSuitableRegularOfferRule,
    ResidentRule,
    TargetGroupRule,
)
from services.intake.domain.eligibility import BenefitType, TargetGroup
from services.intake.domain.errors import DomainError, PolicyError
from services.intake.domain.policy import (
    MunicipalPolicy,
    PlanElement,
    QuoteShortfall,
    ReviewModel,
    Scheme,
    add_months,
    default_policy,
    format_date_en,
    format_date_nl,
    policy_to_dict,
)
from services.intake.domain.policy_parsing import policy_from_dict
from services.intake.domain.policy_presets import PRESETS
from shared.money import Money


@pytest.mark.parametrize("code", sorted(PRESETS))
def test_every_preset_survives_a_json_round_trip(code):
    policy = PRESETS[code]
    stored = json.dumps(policy_to_dict(policy))
    assert policy_from_dict(json.loads(stored)) == policy


def test_default_policy_survives_a_round_trip_and_has_the_general_rules():
    policy = default_policy("0034", "Almere")
    assert policy_from_dict(policy_to_dict(policy)) == policy
    assert [rule.kind for rule in policy.admission_rules] == ["benefit_type", "resident", "no_running_trajectory"]
    assert policy.maximum_for(Scheme.PRB) == Money.euros("5000")
    assert policy.amounts_excl_vat


def test_amounts_are_stored_as_strings_never_as_floats():
    stored = policy_to_dict(PRESETS["0014"])
    assert stored["schemes"][0]["maximum_budget"] == "5000.00"
    assert stored["four_eyes_threshold"] == "2900.00"
    assert isinstance(stored["orientation"]["budget"], str)


def test_presets_are_keyed_by_cbs_code():
    assert {code: p.municipality_name for code, p in PRESETS.items()} == {
        "0014": "Groningen",
        "0344": "Utrecht",
        "0637": "Zoetermeer",
        "0599": "Rotterdam",
        "0503": "Delft",
        "0758": "Breda",
    }


def test_groningen_preset_asks_six_months_unemployed_and_reviews_ja_tenzij():
    groningen = PRESETS["0014"]
    assert MinMonthsUnemployedRule(6) in groningen.admission_rules
    assert ResidentRule(("0014",)) in groningen.admission_rules
    assert groningen.review_model is ReviewModel.MARGINAL


def test_utrecht_preset_asks_no_regular_offer_and_fair_chance_and_one_year_to_execute():
    utrecht = PRESETS["0344"]
    assert NoSuitableRegularOfferRule() in utrecht.admission_rules
    assert FairChanceOfOutflowRule() in utrecht.admission_rules
    assert utrecht.execution_months == 12
    assert utrecht.maximum_for(Scheme.PRB) == Money.euros("5000")  # lowered from 10,000 end 2008


def test_zoetermeer_preset_asks_a_year_of_wwb_and_a_target_group():
    zoetermeer = PRESETS["0637"]
    assert BenefitTypeRule((BenefitType.WWB,)) in zoetermeer.admission_rules
    assert MinMonthsOnBenefitRule(12) in zoetermeer.admission_rules
    assert TargetGroupRule(tuple(TargetGroup), 45, 12) in zoetermeer.admission_rules


def test_rotterdam_preset_offers_rio_with_contracted_providers_only():
    rotterdam = PRESETS["0599"]
    assert rotterdam.offers(Scheme.RIO_IRO) and not rotterdam.offers(Scheme.PRB)
    assert rotterdam.review_model is ReviewModel.DEMAND_ORIENTED
    assert MinMonthsUnemployedRule(6) in rotterdam.admission_rules
    assert NoSuitableRegularOfferRule() in rotterdam.admission_rules


def test_delft_preset_asks_at_most_a_year_from_the_labour_market_with_a_three_month_orientation():
    delft = PRESETS["0503"]
    assert MaxDistanceToLabourMarketRule(12) in delft.admission_rules
    assert delft.orientation.enabled and delft.orientation.months == 3


def test_breda_preset_requires_self_awareness_mediation_and_aftercare():
    assert PRESETS["0758"].required_plan_elements == (
        PlanElement.SELF_AWARENESS,
        PlanElement.JOB_MEDIATION,
        PlanElement.AFTERCARE,
    )


def test_pgb_bw_maximum_depends_on_the_indication():
    groningen = PRESETS["0014"]
    assert groningen.maximum_for(Scheme.PGB_BW, "moderate") == Money.euros("27080")
    assert groningen.maximum_for(Scheme.PGB_BW, "severe") == Money.euros("33850")
    with pytest.raises(DomainError) as err:
        groningen.maximum_for(Scheme.PGB_BW, "unknown")
    assert err.value.code == "plan.unknown_indication"


def test_a_scheme_the_municipality_does_not_offer_has_no_maximum():
    with pytest.raises(DomainError) as err:
        PRESETS["0344"].maximum_for(Scheme.PGB_BW)
    assert err.value.code == "plan.scheme_not_offered"


def test_missing_settings_take_the_neutral_defaults():
    policy = policy_from_dict({"municipality_code": "0289", "municipality_name": "Wageningen"})
    assert policy == default_policy("0289", "Wageningen")
    assert policy.decision_term_weeks == 8 and policy.decision_warning_weeks == 2
    assert policy.too_few_quotes is QuoteShortfall.WARNING


def test_an_explicit_empty_rule_list_means_no_admission_rules():
    policy = policy_from_dict({"municipality_code": "0289", "municipality_name": "Wageningen", "admission_rules": []})
    assert policy.admission_rules == ()


def test_settings_can_be_edited_as_data():
    data = policy_to_dict(default_policy("0289", "Wageningen"))
    data["admission_rules"].append({"kind": "no_suitable_regular_offer"})
    data["too_few_quotes"] = "block"
    data["required_plan_elements"] = ["aftercare"]
    policy = policy_from_dict(data)
    assert NoSuitableRegularOfferRule() in policy.admission_rules
    assert policy.too_few_quotes is QuoteShortfall.BLOCK
    assert policy.required_plan_elements == (PlanElement.AFTERCARE,)


def _data(**changes):
    data = policy_to_dict(PRESETS["0014"])
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"excution_months": 12}, "excution_months"),
        ({"execution_months": "12"}, "execution_months"),
        ({"execution_months": 0}, "execution_months"),
        ({"four_eyes_threshold": 2900.0}, "four_eyes_threshold"),
        ({"review_model": "strict"}, "review_model"),
        ({"too_few_quotes": "never"}, "too_few_quotes"),
        ({"municipality_code": "14"}, "municipality_code"),
        ({"decision_warning_weeks": 8}, "decision_warning_weeks"),
        ({"schemes": [{"scheme": "prb", "maximum_budget": 5000.5}]}, "schemes[0].maximum_budget"),
        ({"schemes": [{"scheme": "bijstand", "maximum_budget": "5000"}]}, "schemes[0].scheme"),
        ({"schemes": [{"scheme": "prb", "maximum_budget": "0"}]}, "schemes[0].maximum_budget"),
        ({"admission_rules": [{"kind": "min_months_unemployed", "months": "six"}]}, "admission_rules[0].months"),
        (
            {"admission_rules": [{"kind": "resident", "municipality_codes": ["14"]}]},
            "admission_rules[0].municipality_codes",
        ),
        ({"admission_rules": [{"kind": "no_running_trajectory"}, {"kind": "astrology"}]}, "admission_rules[1].kind"),
        ({"admission_rules": [{"kind": "target_group", "groups": ["students"]}]}, "admission_rules[0].groups[0]"),
        ({"admission_rules": [{"kind": "benefit_type", "allowed": ["WWB"], "extra": 1}]}, "admission_rules[0].extra"),
        ({"required_plan_elements": ["singing"]}, "required_plan_elements[0]"),
        ({"contracted_providers": [{"name": "Werkt BV", "kvk": "123"}]}, "contracted_providers[0]"),
        ({"orientation": {"enabled": True, "months": 3, "budgett": "0"}}, "orientation.budgett"),
    ],
)
def test_a_bad_setting_is_refused_with_a_message_naming_the_field(changes, field):
    with pytest.raises(ValueError) as err:
        policy_from_dict(_data(**changes))
    assert isinstance(err.value, PolicyError)
    assert err.value.field == field
    assert field in str(err.value)


def test_a_policy_without_its_name_or_code_is_refused():
    with pytest.raises(PolicyError) as err:
        policy_from_dict({"municipality_code": "0014"})
    assert err.value.field == "municipality_name"


def test_a_policy_must_offer_each_scheme_once():
    with pytest.raises(PolicyError):
        MunicipalPolicy("0014", "Groningen", schemes=(*PRESETS["0014"].schemes, PRESETS["0014"].schemes[0]))


def test_contracted_providers_match_on_kvk_or_on_name_ignoring_case_and_spaces():
    data = _data(contracted_providers=[{"name": "Werkt  BV", "kvk": "12345678"}, {"name": "Coach & Co", "kvk": None}])
    policy = policy_from_dict(data)
    assert policy.is_contracted("Another name", "12345678")
    assert policy.is_contracted("werkt bv")
    assert policy.is_contracted("COACH & CO", "87654321")
    assert not policy.is_contracted("Werkt BV", "87654321")


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 3, 10), 12, date(2026, 3, 10)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
    ],
)
def test_add_months_keeps_the_day_or_clamps_to_the_end_of_the_month(start, months, expected):
    assert add_months(start, months) == expected


def test_dates_are_written_out_in_dutch_and_english_without_a_locale():
    assert format_date_nl(date(2026, 3, 10)) == "10 maart 2026"
    assert format_date_en(date(2026, 3, 10)) == "10 March 2026"
