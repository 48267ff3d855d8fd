"""The price catalogue in the municipal policy, and the plan findings it gives: a line above its
product's maximum price × quantity, and a large line without a quote."""

import json
from dataclasses import replace
from decimal import Decimal

import pytest

from services.intake.domain.errors import PolicyError
from services.intake.domain.findings import Severity
from services.intake.domain.plan_content import to_domain_plan
from services.intake.domain.policy import PriceOverrun, QuoteShortfall, default_policy, policy_to_dict
from services.intake.domain.policy_parsing import merge_patch, policy_from_dict
from services.intake.domain.policy_presets import PRESETS
from services.intake.domain.price_catalogue import CatalogueProduct, Unit, quantity_words
from services.intake.domain.reintegration_plan import SpendingCategory
from shared.money import Money
from tests.unit.intake.test_plan_checks import check, good_plan, line

COACH_HOUR = {
    "code": "COACH-UUR",
    "description": "Loopbaancoaching per uur",
    "category": "coaching",
    "unit": "hour",
    "maximum_price": "75.00",
}
COURSE = {
    "code": "KOK-2",
    "description": "Opleiding zelfstandig werkend kok",
    "category": "training_knowledge",
    "unit": "course",
    "maximum_price": "3000.00",
}
BASE = policy_to_dict(default_policy("0014", "Groningen"))


def with_catalogue(*products: dict, **settings) -> dict:
    return {**BASE, "price_catalogue": list(products), **settings}


def invalid(document: dict) -> PolicyError:
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(document)
    assert caught.value.code == "policy.invalid"
    return caught.value


# --- the catalogue in the policy -------------------------------------------------------------


def test_a_catalogue_survives_the_json_round_trip_with_prices_as_strings():
    policy = policy_from_dict(with_catalogue(COACH_HOUR, COURSE, quote_required_above="1000"))
    stored = json.loads(json.dumps(policy_to_dict(policy)))
    assert stored["price_catalogue"] == [COACH_HOUR, COURSE]
    assert stored["quote_required_above"] == "1000.00"
    assert policy_from_dict(stored) == policy
    [coaching, _] = policy.price_catalogue
    assert coaching.category is SpendingCategory.COACHING and coaching.unit is Unit.HOUR
    assert coaching.maximum_price == Money.euros("75")


@pytest.mark.parametrize("code", sorted(PRESETS))
def test_the_presets_have_no_catalogue_and_no_quote_threshold(code):
    stored = policy_to_dict(PRESETS[code])
    assert stored["price_catalogue"] == [] and stored["quote_required_above"] is None
    assert stored["over_catalogue_price"] == "warning" and stored["missing_required_quote"] == "block"


def test_an_old_policy_document_without_the_new_settings_still_reads():
    old = {k: v for k, v in BASE.items() if k not in ("price_catalogue", "quote_required_above")}
    old.pop("over_catalogue_price")
    old.pop("missing_required_quote")
    assert policy_from_dict(old) == policy_from_dict(BASE)


def test_a_product_code_twice_is_refused_naming_the_second_even_in_another_case():
    error = invalid(with_catalogue(COACH_HOUR, COURSE, {**COURSE, "code": "coach-uur"}))
    assert error.field == "price_catalogue[2].code"
    assert "price_catalogue[0]" in error.message


@pytest.mark.parametrize("price", ["-75.00", "0", "0.00"])
def test_a_negative_or_zero_maximum_price_is_refused(price):
    assert invalid(with_catalogue({**COACH_HOUR, "maximum_price": price})).field == "price_catalogue[0].maximum_price"


def test_a_price_as_a_float_or_with_three_decimals_is_refused():
    assert invalid(with_catalogue({**COACH_HOUR, "maximum_price": 75.5})).field == "price_catalogue[0].maximum_price"
    assert invalid(with_catalogue({**COACH_HOUR, "maximum_price": "7.505"})).field == "price_catalogue[0].maximum_price"


def test_an_unknown_category_or_unit_is_refused_naming_the_field_and_the_choices():
    error = invalid(with_catalogue(COURSE, {**COACH_HOUR, "category": "yoga"}))
    assert error.field == "price_catalogue[1].category" and "coaching" in error.message
    error = invalid(with_catalogue({**COACH_HOUR, "unit": "year"}))
    assert error.field == "price_catalogue[0].unit" and "hour" in error.message


@pytest.mark.parametrize(
    "product, field",
    [
        ({k: v for k, v in COACH_HOUR.items() if k != "description"}, "price_catalogue[0].description"),
        ({**COACH_HOUR, "description": "  "}, "price_catalogue[0].description"),
        ({**COACH_HOUR, "code": "coach uur"}, "price_catalogue[0].code"),
        ({**COACH_HOUR, "code": ""}, "price_catalogue[0].code"),
        ({**COACH_HOUR, "colour": "red"}, "price_catalogue[0].colour"),
        ({**COACH_HOUR, "description": "Coaching\nper uur"}, "price_catalogue[0].description"),
        ("COACH-UUR", "price_catalogue[0]"),
    ],
    ids=["no_description", "blank_description", "space_in_code", "empty_code", "unknown_key", "line_break", "text"],
)
def test_a_malformed_product_is_refused_naming_its_field(product, field):
    assert invalid(with_catalogue(product)).field == field


def test_the_catalogue_must_be_a_list():
    assert invalid({**BASE, "price_catalogue": COACH_HOUR}).field == "price_catalogue"


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"quote_required_above": "-1"}, "quote_required_above"),
        ({"quote_required_above": 1000.0}, "quote_required_above"),
        ({"over_catalogue_price": "refuse"}, "over_catalogue_price"),
        ({"missing_required_quote": "sometimes"}, "missing_required_quote"),
    ],
)
def test_a_wrong_quote_threshold_or_switch_is_refused(settings, field):
    assert invalid({**BASE, **settings}).field == field


def test_a_merge_patch_null_removes_the_quote_threshold():
    policy = policy_from_dict(merge_patch(with_catalogue(quote_required_above="500"), {"quote_required_above": None}))
    assert policy.quote_required_above is None


def test_the_policy_finds_a_product_whatever_the_case_of_the_code():
    policy = policy_from_dict(with_catalogue(COACH_HOUR))
    assert policy.catalogue_product("coach-uur") == policy.price_catalogue[0]
    assert policy.catalogue_product("COACH-DAG") is None


def test_a_product_built_in_code_checks_itself():
    with pytest.raises(PolicyError) as caught:
        CatalogueProduct("X", "Iets", "yoga", "hour", Money.euros("1"))  # type: ignore[arg-type]
    assert caught.value.field == "category"


def test_quantities_read_in_the_unit_in_both_languages():
    assert quantity_words(Decimal("1.50"), Unit.HOUR) == ("1,5 uur", "1.5 hours")
    assert quantity_words(Decimal("1"), Unit.SESSION) == ("1 keer", "1 session")
    assert quantity_words(Decimal("3"), Unit.MONTH) == ("3 maanden", "3 months")


# --- the findings at plan review ---------------------------------------------------------------

CATALOGUE = policy_from_dict(with_catalogue(COACH_HOUR, COURSE))


def coaching_plan(amount: str, quantity: str | None = "20", **changes):
    """good_plan() with its coaching line (the second) priced by the hour from the catalogue."""
    plan = good_plan()
    coach = replace(
        plan.budget_lines[1],
        amount_excl_vat=Money.euros(amount),
        quantity=None if quantity is None else Decimal(quantity),
        **{"product_code": "COACH-UUR", **changes},
    )
    return replace(plan, budget_lines=(plan.budget_lines[0], coach))


def test_a_line_at_the_catalogue_maximum_has_no_finding():
    assert check(coaching_plan("1500.00", "20"), CATALOGUE) == []  # 20 hours x EUR 75 = EUR 1,500


def test_a_line_above_price_times_quantity_is_a_warning_by_default_naming_the_amount():
    findings = check(coaching_plan("1500.01", "20"), CATALOGUE)
    assert [(f.code, f.severity, f.field) for f in findings] == [
        ("budget.over_catalogue_price", Severity.WARNING, "budget.lines[1].amount")
    ]
    assert "€ 75,00 per uur" in findings[0].message_nl and "20 uur samen € 1.500,00" in findings[0].message_nl
    assert "€75.00 per hour" in findings[0].message_en and "€1,500.01" in findings[0].message_en


def test_a_line_above_the_catalogue_maximum_blocks_when_the_policy_says_so():
    strict = replace(CATALOGUE, over_catalogue_price=PriceOverrun.BLOCK)
    assert [(f.code, f.severity) for f in check(coaching_plan("1600", "20"), strict)] == [
        ("budget.over_catalogue_price", Severity.BLOCK)
    ]


def test_a_fractional_quantity_counts_exactly():
    assert check(coaching_plan("112.50", "1.5"), CATALOGUE) == []
    assert codes_of(check(coaching_plan("112.51", "1.5"), CATALOGUE)) == ["budget.over_catalogue_price"]


def test_a_line_without_a_quantity_counts_one_unit():
    assert check(coaching_plan("75.00", None), CATALOGUE) == []
    [finding] = check(coaching_plan("150.00", None), CATALOGUE)
    assert finding.code == "budget.over_catalogue_price" and "1 uur" in finding.message_nl


def test_the_catalogue_price_is_compared_on_the_policys_vat_footing():
    incl_vat = replace(CATALOGUE, amounts_excl_vat=False)
    # EUR 1,500 excl. VAT is EUR 1,815 with 21 % VAT: above 20 hours x EUR 75 when amounts include VAT.
    assert check(coaching_plan("1500.00", "20"), CATALOGUE) == []
    assert codes_of(check(coaching_plan("1500.00", "20"), incl_vat)) == ["budget.over_catalogue_price"]


def test_a_product_code_the_catalogue_does_not_know_blocks():
    plan = coaching_plan("100", "1", product_code="COACH-DAG")
    assert [(f.code, f.severity, f.field) for f in check(plan, CATALOGUE)] == [
        ("budget.unknown_product", Severity.BLOCK, "budget.lines[1].product_code")
    ]


def test_a_product_of_another_category_than_the_line_blocks():
    plan = coaching_plan("75", "1", category=SpendingCategory.JOB_MEDIATION)
    assert [(f.code, f.field) for f in check(plan, CATALOGUE)] == [
        ("budget.product_category_mismatch", "budget.lines[1].category")
    ]


def test_a_quantity_of_zero_blocks():
    assert codes_of(check(coaching_plan("100", "0"), CATALOGUE)) == ["budget.quantity_not_positive"]


def test_lines_without_a_product_are_not_priced_by_the_catalogue():
    assert check(good_plan(), CATALOGUE) == []


QUOTE_ABOVE_1000 = replace(default_policy("0014", "Groningen"), quote_required_above=Money.euros("1000"))


def test_a_line_above_the_quote_threshold_without_a_quote_is_blocked_by_default():
    plan = good_plan()
    no_quotes = replace(
        plan, budget_lines=(replace(plan.budget_lines[0], quote_attachment_ids=()), *plan.budget_lines[1:])
    )
    findings = [f for f in check(no_quotes, QUOTE_ABOVE_1000) if f.code == "budget.quote_required"]
    assert [(f.severity, f.field) for f in findings] == [(Severity.BLOCK, "budget.lines[0].quote_attachment_ids")]
    assert "boven € 1.000,00" in findings[0].message_nl and "€3,000.00" in findings[0].message_en


def test_the_missing_quote_is_a_warning_when_the_policy_says_so():
    plan = good_plan()
    no_quotes = replace(
        plan, budget_lines=(replace(plan.budget_lines[0], quote_attachment_ids=()), *plan.budget_lines[1:])
    )
    lenient = replace(QUOTE_ABOVE_1000, missing_required_quote=QuoteShortfall.WARNING)
    assert [f.severity for f in check(no_quotes, lenient) if f.code == "budget.quote_required"] == [Severity.WARNING]


def test_a_line_above_the_quote_threshold_with_an_attached_quote_passes():
    assert check(good_plan(), QUOTE_ABOVE_1000) == []


def test_a_line_at_the_quote_threshold_needs_no_quote():
    plan = good_plan()
    at = replace(plan.budget_lines[0], amount_excl_vat=Money.euros("1000"), quote_attachment_ids=())
    findings = check(replace(plan, budget_lines=(at, plan.budget_lines[1])), QUOTE_ABOVE_1000)
    assert "budget.quote_required" not in codes_of(findings)


def test_a_quote_named_but_not_attached_does_not_count():
    plan = good_plan()
    only_named = replace(plan, attachments=tuple(a for a in plan.attachments if not a.id.startswith("course")))
    assert "budget.quote_required" in codes_of(check(only_named, QUOTE_ABOVE_1000))


def test_without_a_quote_threshold_no_quote_is_required():
    plan = good_plan()
    no_quotes = replace(
        plan, budget_lines=(replace(plan.budget_lines[0], quote_attachment_ids=()), *plan.budget_lines[1:])
    )
    assert "budget.quote_required" not in codes_of(check(no_quotes))


def test_a_stored_plan_line_reads_its_product_and_quantity():
    content = {
        "structure": {"activities": []},
        "budget": {
            "lines": [
                {"id": "l1", "activity_ref": "A1", "amount": "150.00", "product_code": "COACH-UUR", "quantity": "2"},
                {"id": "l2", "activity_ref": "A1", "amount": "50.00"},
            ]
        },
    }
    first, second = to_domain_plan(content, "prb").budget_lines
    assert (first.product_code, first.quantity) == ("COACH-UUR", Decimal("2"))
    assert (second.product_code, second.quantity, second.counted_quantity) == (None, None, Decimal(1))


def test_a_float_quantity_is_refused():
    with pytest.raises(Exception) as caught:
        line(quantity=1.5)
    assert getattr(caught.value, "field", None) == "quantity"


def codes_of(findings):
    return [f.code for f in findings]
