"""The pib scheme preset (Wet inburgering; the report's 2.2): a request the municipality assesses,
a duaal traject with a civic-integration part and a reintegration part in every plan, the
municipality as contracting party, and never a maximum the municipality did not set."""

from dataclasses import replace

import pytest

from services.intake.domain.errors import PolicyError
from services.intake.domain.findings import has_blocks
from services.intake.domain.policy import (
    SCHEMES_WITH_MUNICIPAL_SELECTION,
    ContractingParty,
    PlanElement,
    Scheme,
    policy_to_dict,
)
from services.intake.domain.policy_parsing import policy_from_dict
from services.intake.domain.policy_presets import PRESETS, pib_offer, with_pib
from shared.money import Money
from tests.unit.intake.test_plan_checks import check, codes, good_plan

GRONINGEN = PRESETS["0014"]
WITH_PIB = with_pib(GRONINGEN, Money.euros("4500"))


def duaal_plan(**changes):
    """The good prb plan as a pib: the course is the civic-integration part, coaching the work part."""
    plan = good_plan(scheme=Scheme.PIB)
    course, coach = plan.activities
    activities = (
        replace(
            course,
            description="Taalcursus Nederlands B1 en inburgeringsexamen",
            elements=frozenset({PlanElement.CIVIC_INTEGRATION}),
        ),
        replace(coach, elements=frozenset({PlanElement.REINTEGRATION})),
    )
    return replace(plan, activities=activities, **changes)


def test_pib_is_chosen_by_the_municipality_not_a_legal_right():
    assert Scheme.PIB in SCHEMES_WITH_MUNICIPAL_SELECTION
    assert Scheme.PGB_BW not in SCHEMES_WITH_MUNICIPAL_SELECTION


@pytest.mark.parametrize("maximum", [None, Money(0), Money(-100)])
def test_the_pib_preset_has_no_maximum_of_its_own(maximum):
    with pytest.raises(PolicyError) as refused:
        pib_offer("0014", maximum)  # type: ignore[arg-type]
    assert refused.value.field == "maximum_budget" and refused.value.code == "policy.pib_maximum_required"


def test_a_pib_in_a_policy_document_without_a_maximum_is_refused_naming_the_field():
    document = {**policy_to_dict(GRONINGEN), "schemes": [{"scheme": "pib"}]}
    with pytest.raises(PolicyError) as refused:
        policy_from_dict(document)
    assert refused.value.field == "schemes[0].maximum_budget"


def test_the_preset_adds_pib_beside_the_schemes_the_municipality_already_offers():
    assert [s.scheme for s in WITH_PIB.schemes] == [Scheme.PRB, Scheme.PGB_BW, Scheme.PIB]
    assert WITH_PIB.maximum_for("pib") == Money.euros("4500")
    assert WITH_PIB.contracting_party_for("pib") is ContractingParty.MUNICIPALITY
    assert WITH_PIB.required_elements_for("pib") == (PlanElement.CIVIC_INTEGRATION, PlanElement.REINTEGRATION)
    assert WITH_PIB.required_elements_for("prb") == ()
    # Applied twice it replaces its own offer, with the new maximum.
    again = with_pib(WITH_PIB, Money.euros("3000"))
    assert [s.scheme for s in again.schemes] == [Scheme.PRB, Scheme.PGB_BW, Scheme.PIB]
    assert again.maximum_for("pib") == Money.euros("3000")


def test_the_pib_preset_survives_its_json_and_a_bare_pib_offer_takes_the_presets_settings():
    assert policy_from_dict(policy_to_dict(WITH_PIB)) == WITH_PIB
    bare = {
        **policy_to_dict(GRONINGEN),
        "schemes": [{"scheme": "prb", "maximum_budget": "5000"}, {"scheme": "pib", "maximum_budget": "4500"}],
    }
    assert policy_from_dict(bare).schemes[1] == WITH_PIB.schemes[2]
    # A municipality may drop the reintegration part (a voluntary inburgeraar without WWB).
    only_civic = {
        **bare,
        "schemes": [{"scheme": "pib", "maximum_budget": "4500", "required_plan_elements": ["civic_integration"]}],
    }
    assert policy_from_dict(only_civic).required_elements_for("pib") == (PlanElement.CIVIC_INTEGRATION,)


def test_a_bad_pib_setting_is_refused_naming_it():
    with pytest.raises(PolicyError) as refused:
        policy_from_dict(
            {
                **policy_to_dict(GRONINGEN),
                "schemes": [{"scheme": "pib", "maximum_budget": "4500", "contracting_party": "uwv"}],
            }
        )
    assert refused.value.field == "schemes[0].contracting_party"


def test_a_duaal_pib_plan_with_both_parts_passes():
    assert check(duaal_plan(), WITH_PIB) == []


@pytest.mark.parametrize("kept", [PlanElement.CIVIC_INTEGRATION, PlanElement.REINTEGRATION])
def test_a_pib_plan_missing_one_part_of_the_duaal_traject_is_blocked_naming_it(kept):
    plan = duaal_plan()
    plan = replace(plan, activities=tuple(replace(a, elements=frozenset({kept})) for a in plan.activities))
    findings = check(plan, WITH_PIB)
    assert codes(findings) == ["plan.required_element_missing"] and has_blocks(findings)
    [missing] = findings
    assert missing.field == "structure.activities" and "twee delen" in missing.message_nl
    named = missing.message_nl.split("ontbreekt nog:")[1]
    assert ("inburgering" in named) is (kept is PlanElement.REINTEGRATION)
    assert ("werk zoeken" in named) is (kept is PlanElement.CIVIC_INTEGRATION)


def test_the_duaal_parts_bind_pib_plans_only():
    assert check(good_plan(), WITH_PIB) == []


def test_the_pib_maximum_is_the_municipalitys():
    over = duaal_plan(
        budget_lines=tuple(replace(line, amount_excl_vat=Money.euros("3000")) for line in good_plan().budget_lines)
    )
    assert "budget.over_maximum" in codes(check(over, WITH_PIB))
