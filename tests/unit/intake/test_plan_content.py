"""The stored plan content: stable line ids, fingerprints, and what a grant carries to the budget."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from eigenregie.initial_data import example_plan
from services.intake.domain.errors import DomainError
from services.intake.domain.plan_content import (
    assign_line_ids,
    content_sha256,
    granted_lines,
    line_ids,
    to_domain_plan,
)
from services.intake.domain.review import LineGrant
from shared.money import Money

LINES = [("Opleiding", "training_skills", "ROC Noord", "2000.00"), ("Coaching", "coaching", "Coach BV", "500.00")]


def _content() -> dict:
    return assign_line_ids(example_plan("Kok", LINES, starts_on=date(2027, 1, 4)), ())


def test_new_budget_lines_get_an_id_and_known_ids_are_kept():
    content = _content()
    ids = line_ids(content)
    assert len(set(ids)) == 2 and all(ids)
    again = assign_line_ids(copy.deepcopy(content), ids)
    assert line_ids(again) == ids


def test_an_id_that_was_never_part_of_the_plan_is_refused_with_its_field():
    content = example_plan("Kok", LINES)
    content["budget"]["lines"][1]["id"] = "made-up"
    with pytest.raises(DomainError) as err:
        assign_line_ids(content, ())
    assert err.value.code == "plan.unknown_line_id" and err.value.field == "budget.lines[1].id"


def test_two_lines_with_the_same_id_are_refused():
    content = _content()
    content["budget"]["lines"][1]["id"] = content["budget"]["lines"][0]["id"]
    with pytest.raises(DomainError) as err:
        assign_line_ids(content, line_ids(content))
    assert err.value.code == "plan.duplicate_line_id"


def test_the_fingerprint_ignores_key_order_but_not_content():
    content = _content()
    reordered = dict(reversed(list(content.items())))
    assert content_sha256(content) == content_sha256(reordered)
    changed = copy.deepcopy(content)
    changed["budget"]["lines"][0]["amount"] = "2000.01"
    assert content_sha256(changed) != content_sha256(content)


def test_the_domain_plan_counts_amounts_in_cents_and_keeps_line_ids():
    content = _content()
    plan = to_domain_plan(content, "prb")
    assert plan.total().cents == 250000
    assert [line.line_id for line in plan.budget_lines] == line_ids(content)
    assert plan.activities[0].start == date(2027, 1, 4)


def test_a_grant_carries_provider_activity_dates_and_holdback_to_the_budget():
    content = _content()
    content["budget"]["lines"][0]["holdback_percent"] = 20
    first, second = line_ids(content)
    grants = [LineGrant(first, Money(200000), Money(200000)), LineGrant(second, Money(50000), Money(40000))]
    out = granted_lines(content, grants)
    assert out[0]["provider_name"] == "ROC Noord" and out[0]["holdback_percent"] == 20
    assert out[0]["starts_on"] == "2027-01-04" and out[0]["ends_on"] == content["structure"]["activities"][0]["end"]
    assert (out[1]["asked_cents"], out[1]["granted_cents"]) == (50000, 40000)


def test_a_reviewer_can_override_the_holdback_but_only_on_existing_lines_and_within_0_to_100():
    content = _content()
    first, _second = line_ids(content)
    grants = [LineGrant(first, Money(200000), Money(200000))]
    assert granted_lines(content, grants, {first: 30})[0]["holdback_percent"] == 30
    with pytest.raises(DomainError) as err:
        granted_lines(content, grants, {"nope": 10})
    assert err.value.code == "review.unknown_line"
    with pytest.raises(DomainError) as err:
        granted_lines(content, grants, {first: 101})
    assert err.value.code == "review.holdback_percent"


def test_a_granted_line_naming_a_catalogue_product_carries_its_unit_and_maximum_price():
    from services.intake.domain.price_catalogue import CatalogueProduct

    content = _content()
    content["budget"]["lines"][1]["product_code"] = "coach-uur"
    first, second = line_ids(content)
    product = CatalogueProduct("COACH-UUR", "Een uur coaching", "coaching", "hour", Money.euros("80.00"))
    grants = [LineGrant(first, Money(200000), Money(200000)), LineGrant(second, Money(50000), Money(40000))]
    out = granted_lines(content, grants, catalogue=lambda code: product if code.casefold() == "coach-uur" else None)
    assert "product_code" not in out[0]
    assert (out[1]["product_code"], out[1]["product_unit"], out[1]["max_unit_price_cents"]) == ("COACH-UUR", "hour", 8000)
