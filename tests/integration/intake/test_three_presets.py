"""From registration to an approved plan under each preset policy, through the API, and what
happens after: four eyes, returning and resubmitting, letters, objections, changes, closing."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eigenregie.initial_data import example_plan
from eigenregie.initial_data import test_bsn as bsn_for
from services.intake.jobs import close_expired_trajectories
from services.intake.models import Plan
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.integration.intake.support import STARTS_ON, TODAY, frozen_clock, run_job
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client

SECTIONS = ("foreword", "introduction", "labour_market", "preconditions", "structure", "budget")
ASSESSMENTS = dict.fromkeys(SECTIONS, "Voldoende onderbouwd.")
# Facts that meet each preset's hard criteria (Table 3.2).
PRESETS = {
    "0014": {
        "benefit_type": "WWB",
        "facts": {"months_unemployed": 8, "other_running_trajectory": False},
        "review": "marginal",
        "decision_weeks": 8,
    },
    "0344": {
        "benefit_type": "NUG",
        "facts": {"no_suitable_regular_offer": True, "fair_chance_of_outflow": True, "other_running_trajectory": False},
        "review": "reciprocal",
        "decision_weeks": 8,
    },
    "0637": {
        "benefit_type": "WWB",
        "date_of_birth": "1975-03-02",
        "facts": {"months_on_benefit": 14, "other_running_trajectory": False},
        "review": "reciprocal",
        "decision_weeks": 8,
    },
}
_seeds = itertools.count(3000)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    runtime = migrated_runtime(
        Settings(data_dir=tmp_path_factory.mktemp("intake-presets"), environment="test"), clock=frozen_clock()
    )
    return runtime, api_client(runtime)


def _events(runtime, event_type: str, subject: str | None = None) -> list[dict]:
    outbox = bus_tables("intake").outbox
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type)).scalars()
        found = [json.loads(r) for r in rows]
    return [e for e in found if subject is None or e["subject"] == subject]


def _register(http, municipality: str, **extra) -> tuple[str, dict, dict]:
    preset, seed = PRESETS[municipality], next(_seeds)
    km = auth("case_manager", municipality, subject=f"km-{municipality}")
    body = {
        "bsn": bsn_for(seed),
        "client_number": f"K-{seed}",
        "name": f"Klant {seed}",
        "benefit_type": preset["benefit_type"],
        "facts": preset["facts"],
        "case_manager": f"km-{municipality}",
        **({"date_of_birth": preset["date_of_birth"]} if "date_of_birth" in preset else {}),
        **extra,
    }
    r = http.post("/intake/v1/clients", headers=km, json=body)
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    me = auth("client", municipality, subject=f"client-{seed}", client_id=client_id)
    return client_id, km, me


def _plan(
    http,
    headers,
    client_id: str,
    lines=(("Opleiding", "training_skills", "ROC", "1800.00"), ("Coaching", "coaching", "Coach BV", "600.00")),
) -> dict:
    r = http.post(
        "/intake/v1/plans",
        headers=headers,
        json={"client_id": client_id, **example_plan("Kok", list(lines), starts_on=STARTS_ON)},
    )
    assert r.status_code == 201, r.text
    return r.json()


def _submit(http, headers, plan: dict) -> dict:
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=headers, json={"plan_version": plan["version"]})
    assert r.status_code == 200, r.text
    return r.json()


def _decide(http, headers, plan: dict, kind: str, status: int = 200, **body) -> dict:
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=headers,
        json={"plan_version": plan["version"], "kind": kind, **body},
    )
    assert r.status_code == status, r.text
    return r.json()


def _approved_plan(env, municipality: str = "0014", lines=None) -> tuple[dict, str, dict, dict]:
    runtime, http = env
    client_id, km, me = _register(http, municipality)
    plan = _submit(http, me, _plan(http, me, client_id, **({"lines": lines} if lines else {})))
    plan = _decide(http, km, plan, "approve", assessments=ASSESSMENTS)
    assert plan["status"] == "approved"
    drain(runtime)
    return plan, client_id, km, me


@pytest.mark.parametrize("municipality", list(PRESETS))
def test_a_client_goes_from_registration_to_an_approved_plan_and_a_budget_under_each_preset(env, municipality):
    runtime, http = env
    preset = PRESETS[municipality]
    client_id, km, me = _register(http, municipality)

    r = http.post(
        f"/intake/v1/clients/{client_id}/contacts",
        headers=km,
        json={"contacted_on": TODAY.isoformat(), "channel": "information_meeting", "interest": "interested"},
    )
    assert r.status_code == 201, r.text
    candidates = {c["client_id"]: c for c in http.get("/intake/v1/candidates", headers=km).json()}
    assert candidates[client_id]["eligible"] and candidates[client_id]["last_contact"]["interest"] == "interested"
    report = http.get(f"/intake/v1/clients/{client_id}/eligibility", headers=km).json()
    assert report["eligible"] and report["criteria"] and all(c["passed"] and c["reason_en"] for c in report["criteria"])
    assert http.get("/intake/v1/policy", headers=km).json()["review_model"] == preset["review"]

    orientation = http.post(f"/intake/v1/clients/{client_id}/orientation", headers=km, json={})
    assert orientation.status_code == 201, orientation.text
    assert len(_events(runtime, "OrientationStarted", orientation.json()["id"])) == 1

    plan = _plan(http, me, client_id)
    body = {
        "plan_version": plan["version"],
        **example_plan(
            "Kok",
            [("Opleiding", "training_skills", "ROC", "1800.00"), ("Coaching", "coaching", "Coach BV", "600.00")],
            starts_on=STARTS_ON,
        ),
    }
    body["budget"]["lines"] = [
        {**new, "id": old["id"]}
        for new, old in zip(body["budget"]["lines"], plan["content"]["budget"]["lines"], strict=False)
    ]
    upload = http.post(
        f"/intake/v1/plans/{plan['id']}/attachments",
        headers=me,
        files={"file": ("offerte-roc.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    download = http.get(f"/intake/v1/plans/{plan['id']}/attachments/{upload.json()['id']}", headers=km)
    assert download.content == PDF
    body["budget"]["lines"][0]["quote_attachment_ids"] = [upload.json()["id"]]
    saved = http.put(f"/intake/v1/plans/{plan['id']}", headers=me, json=body)
    assert saved.status_code == 200, saved.text
    plan = saved.json()
    assert [v["number"] for v in http.get(f"/intake/v1/plans/{plan['id']}/versions", headers=me).json()] == [1, 2]

    checks = http.get(f"/intake/v1/plans/{plan['id']}/checks", headers=me).json()
    assert checks["submittable"] and checks["total"] == "2400.00"
    plan = _submit(http, me, plan)
    queue = {q["plan_id"]: q for q in http.get("/intake/v1/reviews", headers=km).json()}
    assert queue[plan["id"]]["due_on"] == (TODAY + timedelta(weeks=preset["decision_weeks"])).isoformat()
    assert len(_events(runtime, "PlanSubmitted", plan["id"])) == 1

    approved = _decide(http, km, plan, "approve", assessments=ASSESSMENTS)
    assert approved["status"] == "approved" and approved["granted"] == "2400.00"
    [event] = _events(runtime, "PlanApproved", plan["id"])
    lines = event["payload"]["lines"]
    assert {(line["provider_name"], line["granted_cents"]) for line in lines} == {("ROC", 180000), ("Coach BV", 60000)}
    assert all(line["starts_on"] and line["ends_on"] for line in lines)
    assert "bsn" not in json.dumps(event) and "Klant" not in json.dumps(event)

    drain(runtime)
    budgets = http.get("/budget/v1/budgets", headers=auth("finance", municipality), params={"plan_id": plan["id"]})
    [budget] = budgets.json()
    assert budget["granted"] == "2400.00"
    submitted = http.get(
        f"/intake/v1/plans/{plan['id']}/versions/{plan['submitted_version_number']}", headers=me
    ).json()
    assert submitted["kind"] == "submitted"
    canonical = json.dumps(submitted["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == submitted["sha256"]


def test_above_the_threshold_a_team_lead_confirms_and_only_then_the_plan_is_approved(env):
    runtime, http = env
    client_id, km, me = _register(http, "0014")
    plan = _submit(http, me, _plan(http, me, client_id, lines=(("Opleiding", "training_skills", "ROC", "3500.00"),)))
    waiting = _decide(http, km, plan, "approve")
    assert waiting["status"] == "awaiting_second_approval" and _events(runtime, "PlanApproved", plan["id"]) == []
    lead_queue = http.get("/intake/v1/reviews", headers=auth("team_lead", "0014", subject="tl-1")).json()
    assert plan["id"] in {q["plan_id"] for q in lead_queue}
    done = _decide(http, auth("team_lead", "0014", subject="tl-1"), waiting, "confirm")
    assert done["status"] == "approved" and done["granted"] == "3500.00"
    assert len(_events(runtime, "PlanApproved", plan["id"])) == 1
    kinds = [d["kind"] for d in http.get(f"/intake/v1/plans/{plan['id']}/decisions", headers=km).json()]
    assert kinds == ["approve", "confirm"]


def test_a_returned_plan_is_changed_and_resubmitted_as_a_new_review(env):
    runtime, http = env
    client_id, km, me = _register(http, "0344")
    plan = _submit(http, me, _plan(http, me, client_id))
    returned = _decide(
        http, km, plan, "return", assessments=ASSESSMENTS, comments={"budget": "Voeg een tweede offerte toe."}
    )
    assert returned["status"] == "returned" and len(_events(runtime, "PlanReturned", plan["id"])) == 1
    letter = http.get(f"/intake/v1/plans/{plan['id']}/decision-letter", headers=me, params={"lang": "nl"})
    assert "Voeg een tweede offerte toe." in letter.text
    body = {"plan_version": returned["version"], **returned["content"]}
    body["preconditions"]["obstacles"] = "Geen, kinderopvang is geregeld."
    saved = http.put(f"/intake/v1/plans/{plan['id']}", headers=me, json=body).json()
    again = _submit(http, me, saved)
    assert again["status"] == "submitted" and again["submitted_version_number"] > plan["submitted_version_number"]
    assert len(_events(runtime, "PlanSubmitted", plan["id"])) == 2
    assert _decide(http, km, again, "approve", assessments=ASSESSMENTS)["status"] == "approved"


def test_the_decision_letter_states_conditions_amounts_and_how_to_object_in_dutch_and_english(env):
    _runtime, http = env
    client_id, km, me = _register(http, "0014", language="en")
    plan = _submit(http, me, _plan(http, me, client_id))
    line_ids = [line["id"] for line in plan["content"]["budget"]["lines"]]
    _decide(
        http,
        km,
        plan,
        "approve",
        conditions=["Elke drie maanden een voortgangsgesprek."],
        granted={line_ids[0]: "1800.00", line_ids[1]: "400.00"},
        reasons=["Vier gesprekken zijn genoeg."],
    )
    english = http.get(f"/intake/v1/plans/{plan['id']}/decision-letter", headers=me).text  # the client's language
    assert "Elke drie maanden een voortgangsgesprek." in english and "€2,200.00" in english
    assert "objection" in english.lower() and "Vier gesprekken zijn genoeg." in english
    dutch = http.get(f"/intake/v1/plans/{plan['id']}/decision-letter", headers=me, params={"lang": "nl"}).text
    assert "bezwaar" in dutch.lower() and "€ 2.200,00" in dutch
    pdf = http.get(f"/intake/v1/plans/{plan['id']}/decision-letter", headers=me, params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_granting_less_than_asked_needs_a_reason_and_the_budget_gets_the_lower_amount(env):
    runtime, http = env
    client_id, km, me = _register(http, "0014")
    plan = _submit(http, me, _plan(http, me, client_id))
    first = plan["content"]["budget"]["lines"][0]["id"]
    refused = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=km,
        json={"plan_version": plan["version"], "kind": "approve", "granted": {first: "1000.00"}},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "review.reasons_required"
    _decide(http, km, plan, "approve", granted={first: "1000.00"}, reasons=["De opleiding is goedkoper."])
    [event] = _events(runtime, "PlanApproved", plan["id"])
    assert event["payload"]["granted_cents"] == 100000 and len(event["payload"]["lines"]) == 1


def test_a_rejection_letter_gives_the_reasons_and_an_objection_after_six_weeks_is_late(env):
    runtime, http = env
    client_id, km, me = _register(http, "0014")
    plan = _submit(http, me, _plan(http, me, client_id))
    _decide(
        http,
        km,
        plan,
        "reject",
        reasons=["Er is een passend regulier aanbod."],
        contra_indications=["Regulier aanbod beschikbaar."],
    )
    assert (
        "Er is een passend regulier aanbod."
        in http.get(f"/intake/v1/plans/{plan['id']}/decision-letter", headers=me).text
    )
    on_time = http.post(
        f"/intake/v1/plans/{plan['id']}/objections",
        headers=me,
        json={"lodged_on": TODAY.isoformat(), "grounds": "Ik ben het er niet mee eens."},
    )
    assert on_time.status_code == 201 and on_time.json()["late"] is False
    # A decision taken seven weeks ago: move it back, then lodge today.
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE intake.decision SET decided_on = :d WHERE plan_id = :p"),
            {"d": TODAY - timedelta(weeks=7), "p": plan["id"]},
        )
    late = http.post(
        f"/intake/v1/plans/{plan['id']}/objections",
        headers=km,
        json={"lodged_on": TODAY.isoformat(), "grounds": "Te laat ingediend."},
    )
    assert late.status_code == 201 and late.json()["late"] is True


def test_a_change_request_moves_money_between_lines_within_the_total_and_the_budget_follows(env):
    runtime, http = env
    plan, _client_id, km, me = _approved_plan(env)
    granted = {g["provider_name"]: g for g in plan["granted_lines"]}
    lines = [
        {
            "id": granted["ROC"]["line_id"],
            "category": "training_skills",
            "provider_name": "ROC Zuid",
            "starts_on": granted["ROC"]["starts_on"],
            "ends_on": granted["ROC"]["ends_on"],
            "amount": "1500.00",
        },
        {
            "id": granted["Coach BV"]["line_id"],
            "category": "coaching",
            "provider_name": "Coach BV",
            "starts_on": granted["Coach BV"]["starts_on"],
            "ends_on": granted["Coach BV"]["ends_on"],
            "amount": "900.00",
        },
    ]
    too_much = http.post(
        f"/intake/v1/plans/{plan['id']}/changes",
        headers=me,
        json={
            "plan_version": plan["version"],
            "reason": "Andere school",
            "lines": [{**lines[0], "amount": "1600.00"}, lines[1]],
        },
    )
    assert too_much.status_code == 422 and too_much.json()["code"] == "change.above_total"
    change = http.post(
        f"/intake/v1/plans/{plan['id']}/changes",
        headers=km,
        json={"plan_version": plan["version"], "reason": "Andere school, meer coaching", "lines": lines},
    )
    assert change.status_code == 201, change.text
    version = http.get(f"/intake/v1/plans/{plan['id']}", headers=km).json()["version"]
    own = http.post(
        f"/intake/v1/plans/{plan['id']}/changes/{change.json()['id']}/decision",
        headers=km,
        json={"plan_version": version, "approve": True},
    )
    assert own.status_code == 403
    decided = http.post(
        f"/intake/v1/plans/{plan['id']}/changes/{change.json()['id']}/decision",
        headers=auth("case_manager", "0014", subject="km-colleague"),
        json={"plan_version": version, "approve": True},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "approved", decided.text
    assert len(_events(runtime, "PlanChanged", plan["id"])) == 1
    drain(runtime)
    [budget] = http.get("/budget/v1/budgets", headers=auth("finance", "0014"), params={"plan_id": plan["id"]}).json()
    by_provider = {line["provider_name"]: line["granted"] for line in budget["lines"]}
    assert by_provider == {"ROC Zuid": "1500.00", "Coach BV": "900.00"} and budget["granted"] == "2400.00"


def test_closing_a_trajectory_emits_one_event_and_closes_the_budget(env):
    runtime, http = env
    plan, _client_id, km, _me = _approved_plan(env)
    early = http.post(
        f"/intake/v1/plans/{plan['id']}/close",
        headers=km,
        json={"plan_version": plan["version"], "reason": "stopped_early"},
    )
    assert early.status_code == 422
    closed = http.post(
        f"/intake/v1/plans/{plan['id']}/close",
        headers=km,
        json={"plan_version": plan["version"], "reason": "completed"},
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert len(_events(runtime, "TrajectoryClosed", plan["id"])) == 1
    drain(runtime)
    [budget] = http.get("/budget/v1/budgets", headers=auth("finance", "0014"), params={"plan_id": plan["id"]}).json()
    assert budget["status"] == "closed"


def test_a_plan_past_its_execution_deadline_closes_as_expired_by_the_daily_job(env):
    runtime, http = env
    plan, _client_id, km, _me = _approved_plan(env)
    with runtime.engine.begin() as conn:
        conn.execute(sa.update(Plan).where(Plan.id == plan["id"]).values(execution_deadline=TODAY - timedelta(days=1)))
    assert run_job(runtime, close_expired_trajectories) >= 1
    after = http.get(f"/intake/v1/plans/{plan['id']}", headers=km).json()
    assert after["status"] == "closed" and after["closure_reason"] == "expired"
    [event] = _events(runtime, "TrajectoryClosed", plan["id"])
    assert event["payload"]["reason"] == "expired"
    assert run_job(runtime, close_expired_trajectories) == 0  # nothing twice


def test_the_case_team_is_warned_once_before_the_decision_term_ends(env):
    from services.intake.jobs import warn_decision_deadlines
    from services.intake.models import Review

    runtime, http = env
    client_id, km, me = _register(http, "0014")
    plan = _submit(http, me, _plan(http, me, client_id))
    assert not [e for e in _events(runtime, "DecisionDueSoon") if e["subject"] == plan["id"]]
    # Six weeks later: Groningen warns two weeks before the eight-week term ends.
    with runtime.engine.begin() as conn:
        conn.execute(
            sa.update(Review)
            .where(Review.plan_id == plan["id"])
            .values(submitted_on=TODAY - timedelta(weeks=6), warn_on=TODAY, due_on=TODAY + timedelta(weeks=2))
        )
    assert run_job(runtime, warn_decision_deadlines) >= 1
    run_job(runtime, warn_decision_deadlines)
    [event] = _events(runtime, "DecisionDueSoon", plan["id"])
    assert event["payload"]["due_on"] == (TODAY + timedelta(weeks=2)).isoformat()
    queued = {q["plan_id"]: q for q in http.get("/intake/v1/reviews", headers=km).json()}[plan["id"]]
    assert queued["warning"] and not queued["overdue"] and queued["age_days"] == 42
    drain(runtime)
    messages = http.get("/notifications/v1/messages", headers=km).json()
    assert any(m["template"] == "decision_due_soon" for m in messages)


def test_a_change_the_budget_cannot_carry_is_refused_and_the_grants_are_restored(env):
    from shared.bus.dead_letters import list_dead_letters

    runtime, http = env
    plan, _client_id, km, me = _approved_plan(env)
    fin = auth("finance", "0014", subject="fin-1")
    [budget] = http.get("/budget/v1/budgets", headers=fin, params={"plan_id": plan["id"]}).json()
    coach = next(line for line in budget["lines"] if line["provider_name"] == "Coach BV")
    invoice = http.post(
        f"/budget/v1/budgets/{budget['id']}/invoices",
        headers=fin,
        json={
            "budget_line_id": coach["id"],
            "invoice_number": f"C-{plan['id'][:8]}",
            "provider_id": "coach-bv",
            "provider_name": "Coach BV",
            "provider_iban": "NL91ABNA0417164300",
            "amount": "500.00",
        },
    )
    assert invoice.status_code == 201, invoice.text
    assert http.post(f"/budget/v1/invoices/{invoice.json()['id']}/confirm", headers=me).status_code == 200
    assert http.post(f"/budget/v1/invoices/{invoice.json()['id']}/approve", headers=fin).status_code == 200

    granted = {g["provider_name"]: g for g in plan["granted_lines"]}
    lines = [
        {
            "id": g["line_id"],
            "category": g["category"],
            "provider_name": name,
            "starts_on": g["starts_on"],
            "ends_on": g["ends_on"],
            "amount": amount,
        }
        for name, g, amount in (("ROC", granted["ROC"], "2100.00"), ("Coach BV", granted["Coach BV"], "300.00"))
    ]
    change = http.post(
        f"/intake/v1/plans/{plan['id']}/changes",
        headers=me,
        json={"plan_version": plan["version"], "reason": "Meer opleiding", "lines": lines},
    ).json()
    version = http.get(f"/intake/v1/plans/{plan['id']}", headers=km).json()["version"]
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/changes/{change['id']}/decision",
        headers=km,
        json={"plan_version": version, "approve": True},
    )
    assert r.status_code == 200, r.text
    drain(runtime)

    after = http.get(f"/intake/v1/plans/{plan['id']}", headers=km).json()
    assert {g["provider_name"]: g["granted"] for g in after["granted_lines"]} == {
        "ROC": "1800.00",
        "Coach BV": "600.00",
    }
    [refused] = [
        c for c in http.get(f"/intake/v1/plans/{plan['id']}/changes", headers=km).json() if c["id"] == change["id"]
    ]
    assert refused["status"] == "refused_by_budget" and refused["refusal_reason"] == "change_below_spent"
    [same] = http.get("/budget/v1/budgets", headers=fin, params={"plan_id": plan["id"]}).json()
    assert {line["provider_name"]: line["granted"] for line in same["lines"]} == {
        "ROC": "1800.00",
        "Coach BV": "600.00",
    }
    assert list_dead_letters(runtime.engine, service="budget") == []
