"""From registration to an approved plan and an open budget, through the API, under each of the
three preset policies: Groningen (marginal), Utrecht (reciprocal) and Zoetermeer (reciprocal,
WWB and target groups only).

A case manager registers the client and records the first contact; the client shows up in
the caseload as a candidate with every criterion passed; the orientation phase starts; the
client writes the plan, saves a second draft, attaches quotes and submits; the case manager
finds it in the review queue with the decision term of the policy and approves; intake emits
one PlanApproved and the budget service opens the budget with the granted lines.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pytest

from services.intake.domain.policy import add_months
from shared.config import Settings
from tests.integration.intake.support import (
    ASSESSMENTS,
    LINES,
    PDF,
    PRESETS,
    TODAY,
    canonical_sha256,
    create_plan,
    decided,
    events,
    frozen_clock,
    plan_body,
    register,
)
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client

SECOND_QUOTE = PDF.replace(b"1 0 obj", b"2 0 obj")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    runtime = migrated_runtime(
        Settings(data_dir=tmp_path_factory.mktemp("intake-journeys"), environment="test"), clock=frozen_clock()
    )
    return runtime, api_client(runtime)


@pytest.mark.parametrize("municipality", list(PRESETS), ids=[p["name"] for p in PRESETS.values()])
def test_case_manager_and_client_go_from_registration_to_an_approved_plan_and_an_open_budget(env, municipality):
    runtime, http = env
    preset = PRESETS[municipality]
    policy = http.get("/intake/v1/policy", headers=auth("case_manager", municipality)).json()
    assert policy["municipality_name"] == preset["name"] and policy["review_model"] == preset["review_model"]

    # --- registration, recruitment, eligibility ------------------------------------------------
    person = register(http, municipality, seed_base=100)
    contact = http.post(
        f"/intake/v1/clients/{person.client_id}/contacts",
        headers=person.km,
        json={
            "contacted_on": TODAY.isoformat(),
            "channel": "information_meeting",
            "interest": "interested",
            "note": "Kwam naar de voorlichting.",
        },
    )
    assert contact.status_code == 201, contact.text

    caseload = {c["client_id"]: c for c in http.get("/intake/v1/candidates", headers=person.km).json()}
    candidate = caseload[person.client_id]
    assert candidate["eligible"] and candidate["failed"] == [] and candidate["unknown"] == []
    assert candidate["last_contact"]["id"] == contact.json()["id"]
    assert candidate["last_contact"]["interest"] == "interested"
    # The caseload is the case manager's own: a colleague does not see this client there.
    colleague = auth("case_manager", municipality, subject=f"km-colleague-{municipality}")
    assert person.client_id not in {c["client_id"] for c in http.get("/intake/v1/candidates", headers=colleague).json()}

    report = http.get(f"/intake/v1/clients/{person.client_id}/eligibility", headers=person.km).json()
    assert report["eligible"] is True
    assert {c["kind"] for c in report["criteria"]} == preset["criteria"]
    for criterion in report["criteria"]:
        assert criterion["passed"] and not criterion["unknown"], criterion
        assert criterion["reason_nl"].strip() and criterion["reason_en"].strip(), criterion

    # --- orientation ---------------------------------------------------------------------------
    orientation = http.post(f"/intake/v1/clients/{person.client_id}/orientation", headers=person.km, json={})
    assert orientation.status_code == 201, orientation.text
    assert orientation.json()["status"] == "running"
    assert orientation.json()["ends_on"] == add_months(TODAY, policy["orientation"]["months"]).isoformat()
    [started] = events(runtime, "OrientationStarted", orientation.json()["id"])
    assert started["tenant"] == municipality and started["payload"]["client_id"] == person.client_id

    # --- the client writes the plan ------------------------------------------------------------
    plan = create_plan(http, person)
    assert plan["status"] == "draft" and plan["version"] == 1
    roc, coach = plan["content"]["budget"]["lines"]

    quotes = []
    for name, data in (("offerte-roc-1.pdf", PDF), ("offerte-roc-2.pdf", SECOND_QUOTE)):
        upload = http.post(
            f"/intake/v1/plans/{plan['id']}/attachments",
            headers=person.me,
            files={"file": (name, data, "application/pdf")},
        )
        assert upload.status_code == 201, upload.text
        assert upload.json()["sha256"] == hashlib.sha256(data).hexdigest() and upload.json()["size"] == len(data)
        download = http.get(f"/intake/v1/plans/{plan['id']}/attachments/{upload.json()['id']}", headers=person.km)
        assert download.status_code == 200 and download.content == data
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["x-content-sha256"] == hashlib.sha256(data).hexdigest()
        quotes.append(upload.json()["id"])

    second = plan_body()
    second["preconditions"]["obstacles"] = "Geen; de kinderopvang is geregeld."
    second["budget"]["lines"][0].update(id=roc["id"], quote_attachment_ids=quotes)
    second["budget"]["lines"][1]["id"] = coach["id"]
    saved = http.put(
        f"/intake/v1/plans/{plan['id']}", headers=person.me, json={"plan_version": plan["version"], **second}
    )
    assert saved.status_code == 200, saved.text
    plan = saved.json()
    assert [line["id"] for line in plan["content"]["budget"]["lines"]] == [roc["id"], coach["id"]]
    versions = http.get(f"/intake/v1/plans/{plan['id']}/versions", headers=person.me).json()
    assert [(v["number"], v["kind"], v["created_by"]) for v in versions] == [
        (1, "draft", f"client-{person.seed}"),
        (2, "draft", f"client-{person.seed}"),
    ]

    checks = http.get(f"/intake/v1/plans/{plan['id']}/checks", headers=person.me).json()
    assert checks["submittable"] is True and checks["total"] == "2400.00" and checks["maximum"] == "5000.00"
    assert not [f for f in checks["findings"] if f["severity"] == "block"]
    # Two quotes for the course; the coaching has none, which the preset only warns about.
    assert [f["field"] for f in checks["findings"] if f["code"] == "budget.too_few_quotes"] == [
        "budget.lines[1].quote_attachment_ids"
    ]

    submitted = http.post(
        f"/intake/v1/plans/{plan['id']}/submit", headers=person.me, json={"plan_version": plan["version"]}
    )
    assert submitted.status_code == 200, submitted.text
    plan = submitted.json()
    assert plan["status"] == "submitted" and plan["submitted_version_number"] == 3
    version_url = f"/intake/v1/plans/{plan['id']}/versions/{plan['submitted_version_number']}"
    at_submission = http.get(version_url, headers=person.me).json()
    assert at_submission["kind"] == "submitted" and at_submission["content"] == plan["content"]

    # --- the case manager reviews and approves -------------------------------------------------
    queue = {q["plan_id"]: q for q in http.get("/intake/v1/reviews", headers=person.km).json()}
    review = queue[plan["id"]]
    due_on = TODAY + timedelta(weeks=policy["decision_term_weeks"])
    assert review["submitted_on"] == TODAY.isoformat() and review["due_on"] == due_on.isoformat()
    assert review["warn_on"] == (due_on - timedelta(weeks=policy["decision_warning_weeks"])).isoformat()
    assert review["requested"] == "2400.00" and review["plan_version_number"] == 3
    assert not review["overdue"] and not review["warning"]

    # Under "ja, tenzij" the case manager approves without a content review.
    body = {"assessments": ASSESSMENTS} if preset["review_model"] != "marginal" else {}
    approved = decided(http, person.km, plan, "approve", note="Goed plan.", **body)
    assert approved["status"] == "approved" and approved["granted"] == "2400.00"
    assert approved["decided_by"] == person.km_subject
    execution_deadline = add_months(TODAY, policy["execution_months"]).isoformat()
    assert approved["execution_deadline"] == execution_deadline
    assert plan["id"] not in {q["plan_id"] for q in http.get("/intake/v1/reviews", headers=person.km).json()}

    [event] = events(runtime, "PlanApproved", plan["id"])
    payload = event["payload"]
    assert event["tenant"] == municipality
    assert payload["plan_version"] == approved["version"] and payload["granted_cents"] == 240000
    assert payload["execution_deadline"] == execution_deadline
    activities = {a["ref"]: a for a in plan["content"]["structure"]["activities"]}
    expected_lines = {}
    for line, (_description, category, provider, amount) in zip(plan["content"]["budget"]["lines"], LINES, strict=True):
        activity = activities[line["activity_ref"]]
        expected_lines[line["id"]] = {
            "provider_name": provider,
            "category": category,
            "granted_cents": int(amount.replace(".", "")),
            "starts_on": activity["start"],
            "ends_on": activity["end"],
        }
    assert {
        line["plan_line_id"]: {
            k: line[k] for k in ("provider_name", "category", "granted_cents", "starts_on", "ends_on")
        }
        for line in payload["lines"]
    } == expected_lines

    # --- the budget opens on the event ---------------------------------------------------------
    drain(runtime)
    budgets = http.get("/budget/v1/budgets", headers=person.fin, params={"plan_id": plan["id"]}).json()
    [budget] = budgets
    assert budget["status"] == "open" and budget["client_id"] == person.client_id
    assert budget["granted"] == "2400.00" and budget["remaining"] == "2400.00"
    assert budget["execution_deadline"] == execution_deadline
    assert {
        line["plan_line_id"]: (line["provider_name"], line["granted"], line["starts_on"], line["ends_on"])
        for line in budget["lines"]
    } == {
        plan_line_id: (want["provider_name"], f"{want['granted_cents'] / 100:.2f}", want["starts_on"], want["ends_on"])
        for plan_line_id, want in expected_lines.items()
    }
    # Exactly once: delivering again opens no second budget.
    drain(runtime)
    assert len(http.get("/budget/v1/budgets", headers=person.fin, params={"plan_id": plan["id"]}).json()) == 1

    # --- what was submitted stays as it was ----------------------------------------------------
    after = http.get(version_url, headers=person.me).json()
    assert after == at_submission
    assert after["sha256"] == canonical_sha256(after["content"])
    assert after["content"]["budget"]["lines"][0]["quote_attachment_ids"] == quotes


def test_the_preset_criteria_decide_who_is_a_candidate(env):
    """The same route to a budget is closed to clients outside each preset's criteria."""
    _runtime, http = env
    born_1995 = date(TODAY.year - 31, 1, 15).isoformat()
    cases = [
        # Groningen: five months unemployed is not six.
        (
            "0014",
            {"benefit_type": "WWB", "facts": {"months_unemployed": 5, "other_running_trajectory": False}},
            "min_months_unemployed",
        ),
        # Utrecht: a suitable regular offer exists.
        (
            "0344",
            {
                "benefit_type": "WWB",
                "facts": {
                    "no_suitable_regular_offer": False,
                    "fair_chance_of_outflow": True,
                    "other_running_trajectory": False,
                },
            },
            "no_suitable_regular_offer",
        ),
        # Zoetermeer: NUG is not WWB.
        (
            "0637",
            {
                "benefit_type": "NUG",
                "date_of_birth": "1970-01-01",
                "facts": {"months_on_benefit": 24, "other_running_trajectory": False},
            },
            "benefit_type",
        ),
        # Zoetermeer: eleven months on benefit is less than a year.
        (
            "0637",
            {
                "benefit_type": "WWB",
                "date_of_birth": "1970-01-01",
                "facts": {"months_on_benefit": 11, "other_running_trajectory": False},
            },
            "min_months_on_benefit",
        ),
        # Zoetermeer: 31, not a single parent, not disabled: no target group.
        (
            "0637",
            {
                "benefit_type": "WWB",
                "date_of_birth": born_1995,
                "facts": {
                    "months_on_benefit": 24,
                    "single_parent": False,
                    "long_term_partially_disabled": False,
                    "other_running_trajectory": False,
                },
            },
            "target_group",
        ),
        # Zoetermeer: a single parent whose youngest child is 12 is no longer in the group.
        (
            "0637",
            {
                "benefit_type": "WWB",
                "date_of_birth": born_1995,
                "facts": {
                    "months_on_benefit": 24,
                    "single_parent": True,
                    "long_term_partially_disabled": False,
                    "youngest_child_birth_date": date(TODAY.year - 12, 1, 1).isoformat(),
                    "other_running_trajectory": False,
                },
            },
            "target_group",
        ),
    ]
    for municipality, client, failing in cases:
        person = register(http, municipality, seed_base=300, **client)
        report = http.get(f"/intake/v1/clients/{person.client_id}/eligibility", headers=person.km).json()
        assert report["eligible"] is False, (municipality, client)
        assert [c["kind"] for c in report["criteria"] if not c["passed"]] == [failing], report
        caseload = http.get("/intake/v1/candidates", headers=person.km).json()
        assert person.client_id not in {c["client_id"] for c in caseload}
        everyone = http.get("/intake/v1/candidates", headers=person.km, params={"eligible_only": False}).json()
        assert {c["client_id"]: c["failed"] for c in everyone}[person.client_id] == [failing]
        # And the plan cannot be submitted: the failed criterion blocks it.
        plan = create_plan(http, person)
        r = http.post(
            f"/intake/v1/plans/{plan['id']}/submit", headers=person.me, json={"plan_version": plan["version"]}
        )
        assert r.status_code == 422 and r.json()["code"] == "plan.checks_failed", r.text
        assert f"client.{failing}" in {e["field"] for e in r.json()["errors"]}


@pytest.mark.parametrize(
    "facts",
    [
        {"date_of_birth": "1970-06-01", "facts": {"long_term_partially_disabled": False}},
        {"date_of_birth": date(TODAY.year - 31, 1, 15).isoformat(), "facts": {"long_term_partially_disabled": True}},
    ],
    ids=["age_45_plus", "long_term_partially_disabled"],
)
def test_zoetermeer_admits_each_of_its_target_groups(env, facts):
    _runtime, http = env
    client = {
        "benefit_type": "WWB",
        "date_of_birth": facts["date_of_birth"],
        "facts": {"months_on_benefit": 12, "other_running_trajectory": False, **facts["facts"]},
    }
    person = register(http, "0637", seed_base=500, **client)
    report = http.get(f"/intake/v1/clients/{person.client_id}/eligibility", headers=person.km).json()
    assert report["eligible"] is True, report
    [target] = [c for c in report["criteria"] if c["kind"] == "target_group"]
    assert target["passed"] and target["reason_en"].startswith("You belong to the target group")
