"""The price catalogue through the API (issue 13), on SQLite and PostgreSQL: the policy role patches
a catalogue and a quote threshold into its municipality's policy; a bad one is 422 naming the field
and changes nothing; the change log shows it; a plan line above its product's maximum, or a large
line without a quote, gets its finding in GET .../checks (and blocks submission when it blocks);
another municipality's policy and plans are untouched."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.config import Settings
from tests.integration.intake.support import PDF, Person, frozen_clock, plan_body, register
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

GRONINGEN, UTRECHT = "0014", "0344"
POLICY = auth("policy", GRONINGEN)
POLICY_UTRECHT = auth("policy", UTRECHT)
POLICY_SUBJECT = "policy-0014"  # auth()'s subject: role-municipality
MERGE = {"Content-Type": "application/merge-patch+json"}
CATALOGUE = [
    {
        "code": "COACH-UUR",
        "description": "Loopbaancoaching per uur",
        "category": "coaching",
        "unit": "hour",
        "maximum_price": "75.00",
    },
    {
        "code": "KOK-2",
        "description": "Opleiding kok niveau 2",
        "category": "training_skills",
        "unit": "course",
        "maximum_price": "2000.00",
    },
]
# example_plan's lines: a course (A1) and coaching (A2), each its own activity.
LINES = (
    ("Opleiding kok niveau 2", "training_skills", "ROC Noord", "1800.00"),
    ("Loopbaancoaching", "coaching", "Coach BV", "900.00"),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def http(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
    else:
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    runtime = migrated_runtime(settings, clock=frozen_clock())
    try:
        yield api_client(runtime)
    finally:
        runtime.engine.dispose()


def patch(http, headers: dict[str, str], change: dict[str, Any]):
    return http.patch("/intake/v1/policy", headers={**headers, **MERGE}, content=json.dumps(change))


def policy_of(http, headers: dict[str, str]) -> dict[str, Any]:
    r = http.get("/intake/v1/policy", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def store_catalogue(http, **settings: Any) -> dict[str, Any]:
    r = patch(http, POLICY, {"price_catalogue": CATALOGUE, **settings})
    assert r.status_code == 200, r.text
    return r.json()


def plan_with_products(http, person: Person, coach_amount: str, hours: str | None, **line: Any) -> dict[str, Any]:
    body = plan_body(LINES)
    course, coaching = body["budget"]["lines"]
    course["product_code"] = "KOK-2"
    coaching.update(amount=coach_amount, product_code="COACH-UUR", **line)
    if hours is not None:
        coaching["quantity"] = hours
    r = http.post("/intake/v1/plans", headers=person.me, json={"client_id": person.client_id, **body})
    assert r.status_code == 201, r.text
    return r.json()


def findings(http, person: Person, plan: dict[str, Any], code: str) -> list[tuple[str, str]]:
    r = http.get(f"/intake/v1/plans/{plan['id']}/checks", headers=person.km)
    assert r.status_code == 200, r.text
    return [(f["severity"], f["field"]) for f in r.json()["findings"] if f["code"] == code]


def test_the_policy_role_patches_a_catalogue_and_the_change_log_shows_it(http):
    utrecht_before = policy_of(http, POLICY_UTRECHT)
    stored = store_catalogue(http, quote_required_above="1000.00", over_catalogue_price="block")
    assert stored["price_catalogue"] == CATALOGUE
    assert stored["quote_required_above"] == "1000.00" and stored["over_catalogue_price"] == "block"
    assert policy_of(http, auth("case_manager", GRONINGEN)) == stored  # the reviewer sees the same prices

    # A second patch changes one price: the list is replaced whole, the log has old and new.
    cheaper = [{**CATALOGUE[0], "maximum_price": "70.00"}, CATALOGUE[1]]
    assert patch(http, POLICY, {"price_catalogue": cheaper}).status_code == 200
    log = http.get("/intake/v1/policy/changes", headers=POLICY).json()
    newest, first = log[0], log[1]
    assert newest["changes"] == [{"setting": "price_catalogue", "old": CATALOGUE, "new": cheaper}]
    assert newest["changed_by"] == POLICY_SUBJECT and newest["role"] == "policy"
    assert {c["setting"]: (c["old"], c["new"]) for c in first["changes"]} == {
        "price_catalogue": ([], CATALOGUE),
        "quote_required_above": (None, "1000.00"),
        "over_catalogue_price": ("warning", "block"),
    }

    # null removes the threshold (no such rule again); the same patch twice logs nothing new.
    assert patch(http, POLICY, {"quote_required_above": None}).json()["quote_required_above"] is None
    assert patch(http, POLICY, {"quote_required_above": None}).status_code == 200
    assert len(http.get("/intake/v1/policy/changes", headers=POLICY).json()) == 3

    assert policy_of(http, POLICY_UTRECHT) == utrecht_before
    assert utrecht_before["price_catalogue"] == [] and utrecht_before["quote_required_above"] is None


@pytest.mark.parametrize(
    "change, field",
    [
        ({"price_catalogue": [CATALOGUE[0], {**CATALOGUE[1], "code": "coach-uur"}]}, "price_catalogue[1].code"),
        ({"price_catalogue": [{**CATALOGUE[0], "maximum_price": "-75.00"}]}, "price_catalogue[0].maximum_price"),
        ({"price_catalogue": [{**CATALOGUE[0], "category": "yoga"}]}, "price_catalogue[0].category"),
        ({"price_catalogue": [{**CATALOGUE[0], "unit": "year"}]}, "price_catalogue[0].unit"),
        ({"price_catalogue": [{**CATALOGUE[0], "maximum_price": 75.5}]}, "price_catalogue[0].maximum_price"),
        ({"quote_required_above": "-1"}, "quote_required_above"),
        ({"over_catalogue_price": "refuse"}, "over_catalogue_price"),
    ],
    ids=[
        "duplicate_code",
        "negative_price",
        "unknown_category",
        "unknown_unit",
        "float_price",
        "negative_quote",
        "switch",
    ],
)
def test_a_bad_catalogue_is_422_naming_the_field_and_changes_nothing(http, change, field):
    before = store_catalogue(http)
    r = patch(http, POLICY, change)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "policy.invalid" and r.json()["errors"][0]["field"] == field, r.json()
    assert policy_of(http, POLICY) == before
    assert len(http.get("/intake/v1/policy/changes", headers=POLICY).json()) == 1


def test_only_the_policy_role_sets_a_catalogue(http):
    before = policy_of(http, POLICY)
    r = patch(http, auth("case_manager", GRONINGEN), {"price_catalogue": CATALOGUE})
    assert r.status_code == 403, r.text
    assert policy_of(http, POLICY) == before


def test_a_line_above_its_products_maximum_is_a_warning_in_the_plan_checks_then_a_block(http):
    person = register(http, GRONINGEN)
    store_catalogue(http)
    plan = plan_with_products(http, person, "937.50", "12.5")  # 12.5 h x EUR 75 = EUR 937.50
    assert findings(http, person, plan, "budget.over_catalogue_price") == []
    body = plan_body(LINES)
    body["budget"]["lines"][1].update(
        id=plan["content"]["budget"]["lines"][1]["id"], amount="937.51", product_code="coach-uur", quantity="12.5"
    )
    body["budget"]["lines"][0]["id"] = plan["content"]["budget"]["lines"][0]["id"]
    r = http.put(f"/intake/v1/plans/{plan['id']}", headers=person.me, json={"plan_version": plan["version"], **body})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["content"]["budget"]["lines"][1]["quantity"] == "12.5"
    assert findings(http, person, plan, "budget.over_catalogue_price") == [("warning", "budget.lines[1].amount")]

    assert patch(http, POLICY, {"over_catalogue_price": "block"}).status_code == 200
    assert findings(http, person, plan, "budget.over_catalogue_price") == [("block", "budget.lines[1].amount")]
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=person.me, json={"plan_version": plan["version"]})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "plan.checks_failed"
    assert "budget.lines[1].amount" in [e["field"] for e in r.json()["errors"]]


def test_a_product_the_catalogue_does_not_know_is_a_finding_not_an_error(http):
    person = register(http, GRONINGEN)
    plan = plan_with_products(http, person, "900.00", "12")  # Groningen has no catalogue yet
    assert findings(http, person, plan, "budget.unknown_product") == [
        ("block", "budget.lines[0].product_code"),
        ("block", "budget.lines[1].product_code"),
    ]


@pytest.mark.parametrize("quantity", ["0", "-1", "100001", "1.555"])
def test_a_quantity_out_of_range_is_refused_naming_it(http, quantity):
    person = register(http, GRONINGEN)
    body = plan_body(LINES)
    body["budget"]["lines"][1].update(product_code="COACH-UUR", quantity=quantity)
    r = http.post("/intake/v1/plans", headers=person.me, json={"client_id": person.client_id, **body})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert any("quantity" in e["field"] for e in r.json()["errors"]), r.json()


def test_a_large_line_needs_an_attached_quote(http):
    person = register(http, GRONINGEN)
    store_catalogue(http, quote_required_above="1000.00")
    plan = plan_with_products(http, person, "900.00", "12")
    # The course (EUR 1,800) is above EUR 1,000 and has no quote; the coaching (EUR 900) needs none.
    assert findings(http, person, plan, "budget.quote_required") == [("block", "budget.lines[0].quote_attachment_ids")]

    upload = http.post(
        f"/intake/v1/plans/{plan['id']}/attachments",
        headers=person.me,
        files={"file": ("offerte-roc.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    body = plan_body(LINES)
    for i, stored in enumerate(plan["content"]["budget"]["lines"]):
        body["budget"]["lines"][i].update(id=stored["id"], product_code=stored["product_code"])
    body["budget"]["lines"][0]["quote_attachment_ids"] = [upload.json()["id"]]
    body["budget"]["lines"][1].update(amount="900.00", quantity="12")
    r = http.put(f"/intake/v1/plans/{plan['id']}", headers=person.me, json={"plan_version": plan["version"], **body})
    assert r.status_code == 200, r.text
    assert findings(http, person, r.json(), "budget.quote_required") == []


def test_another_municipalitys_plans_are_not_checked_against_this_catalogue(http):
    store_catalogue(http, quote_required_above="100.00", over_catalogue_price="block")
    person = register(http, UTRECHT)
    body = plan_body(LINES)
    r = http.post("/intake/v1/plans", headers=person.me, json={"client_id": person.client_id, **body})
    assert r.status_code == 201, r.text
    checks = http.get(f"/intake/v1/plans/{r.json()['id']}/checks", headers=person.km).json()
    assert not {"budget.quote_required", "budget.over_catalogue_price"} & {f["code"] for f in checks["findings"]}
    assert policy_of(http, POLICY_UTRECHT)["price_catalogue"] == []
