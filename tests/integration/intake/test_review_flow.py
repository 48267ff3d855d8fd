"""What happens between submission and the end of a trajectory, through the API.

The three review models, four eyes above the threshold, returning and resubmitting, the
decision letter, granting less than asked, objections, change requests on an approved plan,
and closing a trajectory (by hand and by the daily job).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from services.intake.domain.letters import next_working_day
from services.intake.domain.policy import format_date_en, format_date_nl
from services.intake.jobs import close_expired_trajectories
from services.intake.models import DecisionRecord, Plan, Review
from shared.config import Settings
from tests.integration.intake.support import (
    ASSESSMENTS,
    SECTIONS,
    TODAY,
    budget_of,
    decide,
    decided,
    events,
    frozen_clock,
    plan_body,
    refused,
    register,
    run_job,
    submit,
    submitted_plan,
)
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client

try:  # reads the PDF letter's text; not a declared dependency, so only checked where installed
    from pypdf import PdfReader
except ImportError:  # pragma: no cover
    PdfReader = None

SEED_BASE = 2000
ABOVE_THRESHOLD = (("Opleiding vrachtwagenchauffeur", "training_skills", "Rijschool Noord", "3500.00"),)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    runtime = migrated_runtime(
        Settings(data_dir=tmp_path_factory.mktemp("intake-review"), environment="test"), clock=frozen_clock()
    )
    return runtime, api_client(runtime)


def _person(http, municipality: str, **extra):
    return register(http, municipality, seed_base=SEED_BASE, **extra)


def _lines_by_provider(plan: dict) -> dict[str, str]:
    return {line["provider_name"]: line["id"] for line in plan["content"]["budget"]["lines"]}


def _approved(env, municipality: str = "0014") -> tuple[dict, object]:
    runtime, http = env
    person = _person(http, municipality)
    plan = submitted_plan(http, person)
    plan = decided(http, person.km, plan, "approve", assessments=ASSESSMENTS)
    assert plan["status"] == "approved", plan
    drain(runtime)
    return plan, person


def _pdf_text(content: bytes) -> str | None:
    """The text of a PDF letter, or None where pypdf is not installed."""
    assert content.startswith(b"%PDF")
    if PdfReader is None:
        return None
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())


def _letter(http, person, plan: dict, language: str | None = None, fmt: str = "html"):
    params = {"format": fmt, **({"lang": language} if language else {})}
    r = http.get(f"/intake/v1/plans/{plan['id']}/decision-letter", headers=person.me, params=params)
    assert r.status_code == 200, r.text
    if fmt == "pdf":
        assert r.headers["content-type"] == "application/pdf"
        return _pdf_text(r.content)
    assert r.headers["content-type"].startswith("text/html")
    return r.text


# --- the three review models ------------------------------------------------------------------


def test_under_marginal_review_a_rejection_must_name_a_contra_indication(env):
    runtime, http = env
    person = _person(http, "0014")
    plan = submitted_plan(http, person)

    for contra in ([], ["   "]):
        body = refused(
            decide(
                http,
                person.km,
                plan,
                "reject",
                reasons=["Er is een passend regulier aanbod."],
                contra_indications=contra,
            ),
            422,
            "review.contra_indication_required",
        )
        assert body["errors"][0]["field"] == "contra_indications"
    assert http.get(f"/intake/v1/plans/{plan['id']}", headers=person.km).json()["status"] == "submitted"
    assert http.get(f"/intake/v1/plans/{plan['id']}/decisions", headers=person.km).json() == []
    assert events(runtime, "PlanRejected", plan["id"]) == []

    rejected = decided(
        http,
        person.km,
        plan,
        "reject",
        reasons=["Er is een passend regulier aanbod."],
        contra_indications=["De klant kan direct aan de slag bij een werkgever."],
    )
    assert rejected["status"] == "rejected" and rejected["granted"] is None
    assert len(events(runtime, "PlanRejected", plan["id"])) == 1
    [decision] = http.get(f"/intake/v1/plans/{plan['id']}/decisions", headers=person.km).json()
    assert decision["kind"] == "reject"
    assert decision["details"]["contra_indications"] == ["De klant kan direct aan de slag bij een werkgever."]


def test_under_reciprocal_review_every_decision_needs_an_assessment_of_each_section(env):
    runtime, http = env
    person = _person(http, "0344")
    plan = submitted_plan(http, person)

    body = refused(decide(http, person.km, plan, "approve"), 422, "review.assessment_missing")
    assert body["errors"][0]["field"] == "assessments.foreword"
    for missing in SECTIONS:
        partial = {s: text for s, text in ASSESSMENTS.items() if s != missing}
        body = refused(decide(http, person.km, plan, "approve", assessments=partial), 422, "review.assessment_missing")
        assert body["errors"][0]["field"] == f"assessments.{missing}"
    refused(
        decide(http, person.km, plan, "approve", assessments={**ASSESSMENTS, "structure": " "}),
        422,
        "review.assessment_missing",
    )
    refused(
        decide(http, person.km, plan, "reject", reasons=["Geen gerede kans op uitstroom."]),
        422,
        "review.assessment_missing",
    )
    refused(
        decide(http, person.km, plan, "return", comments={"budget": "Tweede offerte graag."}),
        422,
        "review.assessment_missing",
    )
    assert http.get(f"/intake/v1/plans/{plan['id']}", headers=person.km).json()["status"] == "submitted"
    for event_type in ("PlanApproved", "PlanRejected", "PlanReturned"):
        assert events(runtime, event_type, plan["id"]) == []

    approved = decided(http, person.km, plan, "approve", assessments=ASSESSMENTS)
    assert approved["status"] == "approved"
    [decision] = http.get(f"/intake/v1/plans/{plan['id']}/decisions", headers=person.km).json()
    assert decision["details"]["assessments"] == ASSESSMENTS
    assert len(events(runtime, "PlanApproved", plan["id"])) == 1


def test_under_reciprocal_review_a_rejection_needs_reasons_but_no_contra_indication(env):
    runtime, http = env
    person = _person(http, "0344")
    plan = submitted_plan(http, person)
    refused(decide(http, person.km, plan, "reject", assessments=ASSESSMENTS), 422, "review.reasons_required")
    rejected = decided(
        http, person.km, plan, "reject", assessments=ASSESSMENTS, reasons=["Er is een passend regulier aanbod."]
    )
    assert rejected["status"] == "rejected" and len(events(runtime, "PlanRejected", plan["id"])) == 1


def _demand_oriented(http, municipality: str, providers: list[str]) -> None:
    """Set a demand-oriented policy through the API, as the municipality's policy officer."""
    policy_officer = auth("policy", municipality, subject=f"beleid-{municipality}")
    document = http.get("/intake/v1/policy", headers=policy_officer).json()
    document.update(
        review_model="demand_oriented", contracted_providers=[{"name": name, "kvk": None} for name in providers]
    )
    # Only the policy officer sets the policy.
    assert http.put("/intake/v1/policy", headers=auth("case_manager", municipality), json=document).status_code == 403
    stored = http.put("/intake/v1/policy", headers=policy_officer, json=document)
    assert stored.status_code == 200, stored.text
    seen = http.get("/intake/v1/policy", headers=auth("case_manager", municipality)).json()
    assert seen["review_model"] == "demand_oriented"
    assert [p["name"] for p in seen["contracted_providers"]] == providers


def test_demand_oriented_policy_keeps_the_money_with_contracted_providers(env):
    runtime, http = env
    municipality = "0363"  # no preset: the neutral default until the policy officer sets it
    assert http.get("/intake/v1/policy", headers=auth("policy", municipality)).json()["review_model"] == "reciprocal"
    _demand_oriented(http, municipality, ["ROC Noord", "Coachpraktijk Werkwijzer"])
    person = _person(http, municipality, benefit_type="WWB", facts={"other_running_trajectory": False})

    # A plan that buys from a provider without a contract cannot be submitted.
    plan = http.post("/intake/v1/plans", headers=person.me, json={"client_id": person.client_id, **plan_body()}).json()
    checks = http.get(f"/intake/v1/plans/{plan['id']}/checks", headers=person.me).json()
    assert checks["submittable"] is False
    assert [(f["code"], f["field"]) for f in checks["findings"] if f["severity"] == "block"] == [
        ("budget.provider_not_contracted", "budget.lines[1].provider_name")
    ]
    body = refused(
        http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=person.me, json={"plan_version": plan["version"]}),
        422,
        "plan.checks_failed",
    )
    assert [e["code"] for e in body["errors"]] == ["budget.provider_not_contracted"]

    # With a contracted coach it goes through; the review is a content review.
    content = {**plan["content"]}
    content["budget"]["lines"][1]["provider_name"] = "Coachpraktijk Werkwijzer"
    saved = http.put(
        f"/intake/v1/plans/{plan['id']}", headers=person.me, json={"plan_version": plan["version"], **content}
    )
    assert saved.status_code == 200, saved.text
    plan = submit(http, person, saved.json())
    refused(decide(http, person.km, plan, "approve"), 422, "review.assessment_missing")
    approved = decided(http, person.km, plan, "approve", assessments=ASSESSMENTS)
    assert approved["status"] == "approved" and approved["granted"] == "2400.00"

    # Nor can a change request move the money to a provider without a contract afterwards.
    coach = _change_lines(approved, **{"Coachpraktijk Werkwijzer": {"provider_name": "Coach BV"}})
    body = refused(
        http.post(
            f"/intake/v1/plans/{plan['id']}/changes",
            headers=person.me,
            json={"plan_version": approved["version"], "reason": "Andere coach", "lines": coach},
        ),
        422,
        "change.provider_not_contracted",
    )
    assert body["errors"][0]["field"] == "lines[1].provider_name"
    # Leaving nothing on that line is fine: no money goes to the provider.
    nothing = _change_lines(
        approved,
        **{
            "Coachpraktijk Werkwijzer": {"provider_name": "Coach BV", "amount": "0.00"},
            "ROC Noord": {"amount": "2400.00"},
        },
    )
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/changes",
        headers=person.me,
        json={"plan_version": approved["version"], "reason": "Geen coaching meer nodig", "lines": nothing},
    )
    assert r.status_code == 201, r.text


def test_a_demand_oriented_review_refuses_to_grant_to_a_provider_its_policy_does_not_contract(env):
    """The review checks the providers too, against the policy recorded at submission.

    Through the API a plan naming a provider without a contract never gets that far (the
    plan check blocks it), so this test edits the recorded policy of one review to drop a
    provider: the review must still refuse to grant money to it.
    """
    runtime, http = env
    municipality = "0518"
    _demand_oriented(http, municipality, ["ROC Noord", "Coach BV"])
    person = _person(http, municipality, benefit_type="WWB", facts={"other_running_trajectory": False})
    plan = submitted_plan(http, person)
    lines = _lines_by_provider(plan)
    with runtime.engine.begin() as conn:
        [(review_id, recorded)] = conn.execute(
            sa.select(Review.id, Review.policy).where(Review.plan_id == plan["id"])
        ).all()
        conn.execute(
            sa.update(Review)
            .where(Review.id == review_id)
            .values(policy={**recorded, "contracted_providers": [{"name": "ROC Noord", "kvk": None}]})
        )

    body = refused(
        decide(http, person.km, plan, "approve", assessments=ASSESSMENTS), 422, "review.provider_not_contracted"
    )
    assert body["errors"][0]["field"] == f"granted.{lines['Coach BV']}"
    assert events(runtime, "PlanApproved", plan["id"]) == []

    approved = decided(
        http,
        person.km,
        plan,
        "approve",
        assessments=ASSESSMENTS,
        granted={lines["ROC Noord"]: "1800.00", lines["Coach BV"]: "0.00"},
        reasons=["Coach BV heeft geen contract met de gemeente."],
    )
    assert approved["status"] == "approved" and approved["granted"] == "1800.00"
    [event] = events(runtime, "PlanApproved", plan["id"])
    assert [(line["provider_name"], line["granted_cents"]) for line in event["payload"]["lines"]] == [
        ("ROC Noord", 180000)
    ]


# --- four eyes --------------------------------------------------------------------------------


def test_above_the_four_eyes_threshold_only_a_different_team_lead_completes_the_approval(env):
    runtime, http = env
    person = _person(http, "0014")
    threshold = http.get("/intake/v1/policy", headers=person.km).json()["four_eyes_threshold"]
    assert threshold == "2900.00"  # Groningen keeps the default
    plan = submitted_plan(http, person, ABOVE_THRESHOLD)

    lead = auth("team_lead", "0014", subject="tl-0014")
    # The team lead's queue holds what waits for a second approval, not what waits for a first.
    assert plan["id"] not in {q["plan_id"] for q in http.get("/intake/v1/reviews", headers=lead).json()}
    waiting = decided(http, person.km, plan, "approve")
    assert waiting["status"] == "awaiting_second_approval" and waiting["granted"] is None
    assert events(runtime, "PlanApproved", plan["id"]) == []
    drain(runtime)
    assert budget_of(http, person, plan["id"]) is None
    [queued] = [q for q in http.get("/intake/v1/reviews", headers=lead).json() if q["plan_id"] == plan["id"]]
    assert queued["status"] == "pending_second_approval" and queued["first_reviewer"] == person.km_subject

    refused(decide(http, person.km, waiting, "confirm"), 403, "review.same_reviewer")
    colleague = auth("case_manager", "0014", subject="km-0014-colleague")
    refused(decide(http, colleague, waiting, "confirm"), 403, "review.second_reviewer_role")
    assert http.get(f"/intake/v1/plans/{plan['id']}", headers=person.km).json()["status"] == "awaiting_second_approval"
    assert events(runtime, "PlanApproved", plan["id"]) == []

    done = decided(http, lead, waiting, "confirm", note="Akkoord.")
    assert done["status"] == "approved" and done["granted"] == "3500.00" and done["decided_by"] == "tl-0014"
    assert [
        (d["kind"], d["reviewer_id"])
        for d in http.get(f"/intake/v1/plans/{plan['id']}/decisions", headers=person.km).json()
    ] == [("approve", person.km_subject), ("confirm", "tl-0014")]
    [event] = events(runtime, "PlanApproved", plan["id"])
    assert event["payload"]["granted_cents"] == 350000
    refused(decide(http, lead, done, "confirm"), 409, "plan.not_under_review")
    assert len(events(runtime, "PlanApproved", plan["id"])) == 1
    drain(runtime)
    assert budget_of(http, person, plan["id"])["granted"] == "3500.00"


def test_a_team_lead_cannot_confirm_their_own_first_approval(env):
    runtime, http = env
    person = _person(http, "0014")
    plan = submitted_plan(http, person, ABOVE_THRESHOLD)
    lead, other_lead = (auth("team_lead", "0014", subject=s) for s in ("tl-a", "tl-b"))
    waiting = decided(http, lead, plan, "approve")
    assert waiting["status"] == "awaiting_second_approval"
    refused(decide(http, lead, waiting, "confirm"), 403, "review.same_reviewer")
    assert decided(http, other_lead, waiting, "confirm")["status"] == "approved"
    assert len(events(runtime, "PlanApproved", plan["id"])) == 1


def test_a_plan_at_exactly_the_threshold_needs_no_second_approval(env):
    runtime, http = env
    person = _person(http, "0014")
    plan = submitted_plan(http, person, (("Opleiding", "training_skills", "ROC Noord", "2900.00"),))
    assert decided(http, person.km, plan, "approve")["status"] == "approved"
    assert len(events(runtime, "PlanApproved", plan["id"])) == 1


# --- returning, resubmitting, letters ---------------------------------------------------------


def test_a_returned_plan_is_changed_resubmitted_and_approved_with_conditions_that_the_letter_states(env):
    runtime, http = env
    person = _person(http, "0344", language="en")
    plan = submitted_plan(http, person)
    [first_review] = [q for q in http.get("/intake/v1/reviews", headers=person.km).json() if q["plan_id"] == plan["id"]]

    refused(
        decide(http, person.km, plan, "return", assessments=ASSESSMENTS, comments={"budget": "  "}),
        422,
        "review.comments_required",
    )
    comments = {
        "budget": "Voeg een tweede offerte voor de opleiding toe.",
        "labour_market": "Noem twee werkgevers in de regio die koks zoeken.",
    }
    returned = decided(http, person.km, plan, "return", assessments=ASSESSMENTS, comments=comments)
    assert returned["status"] == "returned" and returned["granted"] is None
    assert len(events(runtime, "PlanReturned", plan["id"])) == 1
    assert events(runtime, "PlanApproved", plan["id"]) == []
    assert plan["id"] not in {q["plan_id"] for q in http.get("/intake/v1/reviews", headers=person.km).json()}

    # The letter asks for the changes per section; it decides nothing, so there is no objection.
    letter = _letter(http, person, returned, "nl")
    assert all(text in letter for text in comments.values())
    assert "bezwaar" not in letter.lower()
    refused(
        http.post(
            f"/intake/v1/plans/{plan['id']}/objections",
            headers=person.me,
            json={"lodged_on": TODAY.isoformat(), "grounds": "Oneens."},
        ),
        409,
        "objection.nothing_decided",
    )

    # The client changes the returned plan and submits it again: a new review.
    body = {"plan_version": returned["version"], **returned["content"]}
    body["labour_market"]["regional_demand"] = "Hotel De Wereld en Brasserie Noord zoeken koks."
    saved = http.put(f"/intake/v1/plans/{plan['id']}", headers=person.me, json=body)
    assert saved.status_code == 200, saved.text
    again = submit(http, person, saved.json())
    assert again["submitted_version_number"] > plan["submitted_version_number"]
    assert len(events(runtime, "PlanSubmitted", plan["id"])) == 2
    [second_review] = [
        q for q in http.get("/intake/v1/reviews", headers=person.km).json() if q["plan_id"] == plan["id"]
    ]
    assert second_review["id"] != first_review["id"]
    assert second_review["plan_version_number"] == again["submitted_version_number"]

    conditions = [
        "Elke drie maanden een voortgangsgesprek met de klantmanager.",
        "Het diploma wordt binnen een week na het examen ingeleverd.",
    ]
    approved = decided(http, person.km, again, "approve", assessments=ASSESSMENTS, conditions=conditions)
    assert approved["status"] == "approved" and approved["granted"] == "2400.00"
    assert [d["kind"] for d in http.get(f"/intake/v1/plans/{plan['id']}/decisions", headers=person.km).json()] == [
        "return",
        "approve_with_conditions",
    ]
    assert len(events(runtime, "PlanApproved", plan["id"])) == 1

    deadline = next_working_day(TODAY + timedelta(weeks=6))
    dutch = _letter(http, person, approved, "nl")
    assert all(c in dutch for c in conditions) and "Voorwaarden" in dutch
    assert "€ 2.400,00" in dutch and "bezwaar maken" in dutch and "binnen 6 weken" in dutch
    assert format_date_nl(deadline) in dutch
    english = _letter(http, person, approved)  # the client's own language
    assert '<html lang="en">' in english
    assert all(c in english for c in conditions) and "Conditions" in english
    assert "€2,400.00" in english and "lodge an objection" in english and "within six weeks" in english
    assert format_date_en(deadline) in english
    for language, objection in (("nl", "bezwaar maken"), ("en", "lodge an objection")):
        pdf = _letter(http, person, approved, language, "pdf")
        if pdf is not None:
            assert all(c in pdf for c in conditions) and objection in pdf
            # "€" prints as "EUR" where the system has no Unicode font; the amount is there either way.
            assert ("2.400,00" if language == "nl" else "2,400.00") in pdf


def test_a_rejection_letter_states_the_reasons_and_how_to_object(env):
    _runtime, http = env
    person = _person(http, "0014")
    plan = submitted_plan(http, person)
    reasons = ["Er is een passend regulier aanbod via het werkbedrijf.", "De opleiding sluit niet aan op uw doel."]
    rejected = decided(
        http, person.km, plan, "reject", reasons=reasons, contra_indications=["Passend regulier aanbod."]
    )
    dutch = _letter(http, person, rejected, "nl")
    assert all(r in dutch for r in reasons) and "Wij keuren uw plan niet goed" in dutch and "bezwaar" in dutch
    assert "Wat u krijgt" not in dutch
    english = _letter(http, person, rejected, "en")
    assert all(r in english for r in reasons) and "We do not approve your plan" in english
    pdf = _letter(http, person, rejected, "nl", "pdf")
    assert pdf is None or all(r in pdf for r in reasons)


def test_granting_less_than_asked_needs_reasons_and_the_budget_gets_the_lower_amount(env):
    runtime, http = env
    person = _person(http, "0014")
    plan = submitted_plan(http, person)
    lines = _lines_by_provider(plan)
    less = {lines["ROC Noord"]: "1800.00", lines["Coach BV"]: "400.00"}
    for reasons in ([], [" "]):
        body = refused(
            decide(http, person.km, plan, "approve", granted=less, reasons=reasons), 422, "review.reasons_required"
        )
        assert body["errors"][0]["field"] == "reasons"
    assert events(runtime, "PlanApproved", plan["id"]) == []

    reason = "Vier coachgesprekken zijn genoeg naast de opleiding."
    approved = decided(http, person.km, plan, "approve", granted=less, reasons=[reason])
    assert approved["granted"] == "2200.00"
    assert {g["provider_name"]: (g["asked"], g["granted"]) for g in approved["granted_lines"]} == {
        "ROC Noord": ("1800.00", "1800.00"),
        "Coach BV": ("600.00", "400.00"),
    }
    [event] = events(runtime, "PlanApproved", plan["id"])
    assert event["payload"]["granted_cents"] == 220000
    assert {line["provider_name"]: line["granted_cents"] for line in event["payload"]["lines"]} == {
        "ROC Noord": 180000,
        "Coach BV": 40000,
    }
    letter = _letter(http, person, approved, "nl")
    assert "U krijgt € 2.200,00. U vroeg € 2.400,00." in letter and reason in letter

    drain(runtime)
    budget = budget_of(http, person, plan["id"])
    assert budget["granted"] == "2200.00"
    assert {line["provider_name"]: line["granted"] for line in budget["lines"]} == {
        "ROC Noord": "1800.00",
        "Coach BV": "400.00",
    }


# --- objections -------------------------------------------------------------------------------


def test_an_objection_is_recorded_against_a_decision_and_one_after_six_weeks_is_late(env):
    runtime, http = env
    person = _person(http, "0014")
    plan = submitted_plan(http, person)
    grounds = {"lodged_on": TODAY.isoformat(), "grounds": "Ik ben het er niet mee eens."}
    # Nothing decided yet: nothing to object to.
    assert http.post(f"/intake/v1/plans/{plan['id']}/objections", headers=person.me, json=grounds).status_code == 404

    rejected = decided(
        http,
        person.km,
        plan,
        "reject",
        reasons=["Passend regulier aanbod."],
        contra_indications=["Regulier aanbod beschikbaar."],
    )
    assert rejected["status"] == "rejected"
    on_time = http.post(f"/intake/v1/plans/{plan['id']}/objections", headers=person.me, json=grounds)
    assert on_time.status_code == 201, on_time.text
    assert on_time.json()["late"] is False and on_time.json()["status"] == "lodged"
    assert on_time.json()["recorded_by"] == f"client-{person.seed}"
    refused(
        http.post(
            f"/intake/v1/plans/{plan['id']}/objections",
            headers=person.me,
            json={**grounds, "lodged_on": (TODAY + timedelta(days=1)).isoformat()},
        ),
        422,
        "objection.lodged_on",
    )
    refused(
        http.post(
            f"/intake/v1/plans/{plan['id']}/objections",
            headers=person.me,
            json={**grounds, "lodged_on": (TODAY - timedelta(days=1)).isoformat()},
        ),
        422,
        "objection.lodged_on",
    )

    # The decision was taken ten weeks ago: the term ended six weeks (and a weekend or holiday) later.
    decided_on = TODAY - timedelta(weeks=10)
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.update(DecisionRecord).where(DecisionRecord.plan_id == plan["id"]).values(decided_on=decided_on)
        )
    deadline = next_working_day(decided_on + timedelta(weeks=6))
    last_day = http.post(
        f"/intake/v1/plans/{plan['id']}/objections",
        headers=person.km,
        json={**grounds, "lodged_on": deadline.isoformat()},
    )
    assert last_day.status_code == 201 and last_day.json()["late"] is False, last_day.text
    late = http.post(
        f"/intake/v1/plans/{plan['id']}/objections",
        headers=person.km,
        json={**grounds, "lodged_on": (deadline + timedelta(days=1)).isoformat()},
    )
    assert late.status_code == 201 and late.json()["late"] is True, late.text
    listed = http.get(f"/intake/v1/plans/{plan['id']}/objections", headers=person.me).json()
    assert [o["late"] for o in listed] == [False, False, True]


# --- change requests on an approved plan ------------------------------------------------------


def _change_lines(plan: dict, **per_provider: dict) -> list[dict]:
    out = []
    for grant in plan["granted_lines"]:
        line = {
            "id": grant["line_id"],
            "category": grant["category"],
            "provider_name": grant["provider_name"],
            "starts_on": grant["starts_on"],
            "ends_on": grant["ends_on"],
            "amount": grant["granted"],
        }
        out.append({**line, **per_provider.get(grant["provider_name"], {})})
    return out


def test_a_change_request_moves_money_within_the_granted_total_and_the_budget_follows(env):
    runtime, http = env
    plan, person = _approved(env)
    assert budget_of(http, person, plan["id"])["granted"] == "2400.00"
    later = (TODAY + timedelta(days=60)).isoformat()
    end = (TODAY + timedelta(days=250)).isoformat()
    moved = {
        "ROC Noord": {"provider_name": "ROC Zuid", "starts_on": later, "ends_on": end, "amount": "1500.00"},
        "Coach BV": {"amount": "900.00"},
    }

    too_much = _change_lines(plan, **{**moved, "Coach BV": {"amount": "901.00"}})
    body = refused(
        http.post(
            f"/intake/v1/plans/{plan['id']}/changes",
            headers=person.me,
            json={"plan_version": plan["version"], "reason": "Andere school", "lines": too_much},
        ),
        422,
        "change.above_total",
    )
    assert body["errors"][0]["field"] == "lines"
    assert http.get(f"/intake/v1/plans/{plan['id']}/changes", headers=person.me).json() == []

    change = http.post(
        f"/intake/v1/plans/{plan['id']}/changes",
        headers=person.me,
        json={
            "plan_version": plan["version"],
            "reason": "De opleiding is bij ROC Zuid goedkoper; meer coaching.",
            "lines": _change_lines(plan, **moved),
        },
    )
    assert change.status_code == 201, change.text
    assert change.json()["status"] == "submitted" and change.json()["requested_by"] == f"client-{person.seed}"
    version = http.get(f"/intake/v1/plans/{plan['id']}", headers=person.km).json()["version"]
    refused(
        http.post(
            f"/intake/v1/plans/{plan['id']}/changes",
            headers=person.me,
            json={"plan_version": version, "reason": "Nog een", "lines": _change_lines(plan)},
        ),
        409,
        "change.pending",
    )

    decision_url = f"/intake/v1/plans/{plan['id']}/changes/{change.json()['id']}/decision"
    # The client who asked does not decide on it.
    assert (
        http.post(decision_url, headers=person.me, json={"plan_version": version, "approve": True}).status_code == 403
    )
    assert events(runtime, "PlanChanged", plan["id"]) == []
    approved = http.post(decision_url, headers=person.km, json={"plan_version": version, "approve": True})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == person.km_subject

    after = http.get(f"/intake/v1/plans/{plan['id']}", headers=person.km).json()
    assert after["granted"] == "2400.00"
    assert {g["provider_name"]: (g["granted"], g["starts_on"], g["ends_on"]) for g in after["granted_lines"]} == {
        "ROC Zuid": ("1500.00", later, end),
        "Coach BV": ("900.00", plan["granted_lines"][1]["starts_on"], plan["granted_lines"][1]["ends_on"]),
    }
    [event] = events(runtime, "PlanChanged", plan["id"])
    assert event["payload"]["granted_cents"] == 240000 and event["payload"]["change_id"] == change.json()["id"]
    assert {line["provider_name"]: line["granted_cents"] for line in event["payload"]["lines"]} == {
        "ROC Zuid": 150000,
        "Coach BV": 90000,
    }

    drain(runtime)
    budget = budget_of(http, person, plan["id"])
    ids = {g["provider_name"]: g["line_id"] for g in plan["granted_lines"]}
    assert budget["granted"] == "2400.00" and budget["remaining"] == "2400.00"
    assert {
        line["plan_line_id"]: (line["provider_name"], line["granted"], line["starts_on"], line["ends_on"])
        for line in budget["lines"]
    } == {
        ids["ROC Noord"]: ("ROC Zuid", "1500.00", later, end),
        ids["Coach BV"]: (
            "Coach BV",
            "900.00",
            plan["granted_lines"][1]["starts_on"],
            plan["granted_lines"][1]["ends_on"],
        ),
    }
    assert [c["status"] for c in http.get(f"/intake/v1/plans/{plan['id']}/changes", headers=person.km).json()] == [
        "approved"
    ]


def test_a_case_manager_who_asks_for_a_change_does_not_decide_on_it(env):
    runtime, http = env
    plan, person = _approved(env)
    change = http.post(
        f"/intake/v1/plans/{plan['id']}/changes",
        headers=person.km,
        json={
            "plan_version": plan["version"],
            "reason": "Op verzoek van de klant",
            "lines": _change_lines(plan, **{"ROC Noord": {"amount": "1700.00"}, "Coach BV": {"amount": "700.00"}}),
        },
    )
    assert change.status_code == 201, change.text
    url = f"/intake/v1/plans/{plan['id']}/changes/{change.json()['id']}/decision"
    version = http.get(f"/intake/v1/plans/{plan['id']}", headers=person.km).json()["version"]
    refused(
        http.post(url, headers=person.km, json={"plan_version": version, "approve": True}), 403, "review.same_reviewer"
    )
    colleague = auth("case_manager", "0014", subject="km-0014-colleague")
    rejected = http.post(
        url, headers=colleague, json={"plan_version": version, "approve": False, "note": "Niet nodig."}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text
    assert events(runtime, "PlanChanged", plan["id"]) == []
    after = http.get(f"/intake/v1/plans/{plan['id']}", headers=person.km).json()
    assert after["granted_lines"] == plan["granted_lines"]


# --- closing a trajectory ---------------------------------------------------------------------


@pytest.mark.parametrize("reason, note", [("completed", ""), ("stopped_early", "De klant is verhuisd.")])
def test_closing_a_trajectory_emits_one_event_and_closes_the_budget(env, reason, note):
    runtime, http = env
    plan, person = _approved(env)
    close_url = f"/intake/v1/plans/{plan['id']}/close"
    r = http.post(close_url, headers=person.km, json={"plan_version": plan["version"], "reason": "stopped_early"})
    assert r.status_code == 422 and "note" in r.json()["errors"][0]["message"], r.text
    refused(
        http.post(close_url, headers=person.km, json={"plan_version": plan["version"], "reason": "expired"}),
        422,
        "close.not_expired",
    )
    assert events(runtime, "TrajectoryClosed", plan["id"]) == []

    closed = http.post(
        close_url, headers=person.km, json={"plan_version": plan["version"], "reason": reason, "note": note}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["closure_reason"] == reason
    assert closed.json()["closed_on"] == TODAY.isoformat()
    refused(
        http.post(close_url, headers=person.km, json={"plan_version": closed.json()["version"], "reason": "completed"}),
        409,
        "plan.wrong_state",
    )
    [event] = events(runtime, "TrajectoryClosed", plan["id"])
    assert event["payload"]["reason"] == reason and event["payload"]["closed_on"] == TODAY.isoformat()

    drain(runtime)
    budget = budget_of(http, person, plan["id"])
    assert budget["status"] == "closed" and budget["closed_on"] == TODAY.isoformat()
    assert budget["remaining"] == "0.00" and {line["status"] for line in budget["lines"]} == {"closed"}


def test_the_daily_job_closes_plans_past_their_execution_deadline_as_expired(env):
    runtime, http = env
    expired, person = _approved(env)
    running, _other = _approved(env)
    yesterday = TODAY - timedelta(days=1)
    with runtime.engine.begin() as conn:
        conn.execute(sa.update(Plan).where(Plan.id == expired["id"]).values(execution_deadline=yesterday))
        conn.execute(sa.update(Plan).where(Plan.id == running["id"]).values(execution_deadline=TODAY))

    assert run_job(runtime, close_expired_trajectories) >= 1
    after = http.get(f"/intake/v1/plans/{expired['id']}", headers=person.km).json()
    assert after["status"] == "closed" and after["closure_reason"] == "expired"
    assert after["closed_on"] == yesterday.isoformat()
    [event] = events(runtime, "TrajectoryClosed", expired["id"])
    assert event["payload"]["reason"] == "expired"
    # A plan whose last day is today still runs.
    assert http.get(f"/intake/v1/plans/{running['id']}", headers=person.km).json()["status"] == "approved"
    assert events(runtime, "TrajectoryClosed", running["id"]) == []

    assert run_job(runtime, close_expired_trajectories) == 0
    assert len(events(runtime, "TrajectoryClosed", expired["id"])) == 1
    drain(runtime)
    budget = budget_of(http, person, expired["id"])
    assert budget["status"] == "closed" and budget["closed_on"] == yesterday.isoformat()
