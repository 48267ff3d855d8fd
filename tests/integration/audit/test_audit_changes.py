"""Changes to a client's plan, review, decision, change requests, progress, outcomes and message
preferences in the audit trail, on PostgreSQL: each leaves one record in its command's (or event
handler's) transaction with old and new values, personal fields and free text masked (`***`); the
sender's read of a client's address is recorded in the delivery's own commit (endpoint `internal`,
a purpose code); every chain verifies; no plan text is in any record; the art. 15 export has them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from eigenregie.audit_export import client_trail
from eigenregie.initial_data import example_plan
from services.notifications.delivery import send_due_mail
from tests.integration.monitoring.support import frozen_world
from tests.integration.notifications.delivery_support import LoopbackSmtp, outlets
from tests.support.auth import auth
from tests.support.runtime import drain
from tests.support.world import ASSESSMENTS, make_case

KM, TL = auth("case_manager", "0014", subject="km-anna"), auth("team_lead", "0014")
SECRET_TEXT = "Mijn geheime plantekst over mijn schulden"
SECRET_REASON = "Reden die niemand in het spoor mag lezen"
SECRET_SUMMARY = "Voortgang met een ziekenhuisopname"


@pytest.fixture(scope="module")
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("audit-changes"), "postgresql") as world:
        yield world


def _trail(http, service: str, client_id: str) -> list[dict[str, Any]]:
    r = http.get(f"/{service}/v1/audit", headers=TL, params={"client_id": client_id, "page_size": 500})
    assert r.status_code == 200, r.text
    return [x for x in r.json() if x["action"] != "read"]


def _secret_plan(title: str) -> dict[str, Any]:
    plan = example_plan(title, [("Coaching", "coaching", "Coach BV", "1000.00")])
    plan["foreword"]["situation"] = SECRET_TEXT
    return plan


def test_a_plan_written_returned_and_approved_leaves_a_record_per_change_with_its_texts_masked(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 501, approve=False)
    plan = http.get(f"/intake/v1/plans/{case.plan_id}", headers=KM).json()
    r = http.put(f"/intake/v1/plans/{case.plan_id}", headers=KM,
                 json={"plan_version": plan["version"], **_secret_plan(SECRET_TEXT)})
    assert r.status_code == 200, r.text
    r = http.post(f"/intake/v1/plans/{case.plan_id}/submit", headers=KM, json={"plan_version": r.json()["version"]})
    assert r.status_code == 200, r.text
    r = http.post(f"/intake/v1/plans/{case.plan_id}/decisions", headers=KM, json={
        "plan_version": r.json()["version"], "kind": "return", "reasons": [SECRET_REASON],
        "comments": {"foreword": SECRET_REASON}})
    assert r.status_code == 200, r.text
    r = http.post(f"/intake/v1/plans/{case.plan_id}/submit", headers=KM, json={"plan_version": r.json()["version"]})
    r = http.post(f"/intake/v1/plans/{case.plan_id}/decisions", headers=KM, json={
        "plan_version": r.json()["version"], "kind": "approve", "assessments": ASSESSMENTS})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text

    plans = [x for x in _trail(http, "intake", case.client_id) if "plan_id" in (x["changes"] or {})]
    assert [(x["action"], x["endpoint"]) for x in plans] == [
        ("create", "POST /intake/v1/plans"),
        ("update", "PUT /intake/v1/plans/{plan_id}"),
        ("update", "POST /intake/v1/plans/{plan_id}/submit"),
        ("update", "POST /intake/v1/plans/{plan_id}/decisions"),
        ("update", "POST /intake/v1/plans/{plan_id}/submit"),
        ("update", "POST /intake/v1/plans/{plan_id}/decisions"),
    ]
    created, draft, submitted, returned, _again, approved = (x["changes"] for x in plans)
    assert created["plan.status"] == {"old": None, "new": "draft"}
    assert created["plan.title"] == {"old": None, "new": "***"}
    assert created["plan.content.foreword"] == {"old": None, "new": "***"}
    assert draft["plan.content.foreword"] == {"old": "***", "new": "***"}, "the text changed; the record says no more"
    assert draft["plan.title"] == {"old": "***", "new": "***"}
    assert "plan.content.preconditions" not in draft, "an unchanged section is not in the record"
    assert submitted["plan.status"] == {"old": "draft", "new": "submitted"}
    assert isinstance(submitted["review.findings"]["new"], list)
    assert returned["plan.status"] == {"old": "submitted", "new": "returned"}
    assert returned["decision.kind"] == {"old": None, "new": "return"}
    assert returned["decision.reasons"] == returned["decision.comments"] == {"old": None, "new": "***"}
    assert approved["plan.status"] == {"old": "submitted", "new": "approved"}
    assert approved["plan.granted_cents"] == {"old": None, "new": 100000}
    assert approved["decision.assessments"] == {"old": None, "new": "***"}
    assert all(x["actor_subject"] == "km-anna" and x["purpose"] == "casework" for x in plans[1:])  # make_case made it


def test_a_change_request_and_its_decision_are_recorded_without_the_reason_or_provider_name(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 502)
    plan = http.get(f"/intake/v1/plans/{case.plan_id}", headers=KM).json()
    line = plan["granted_lines"][0]
    r = http.post(f"/intake/v1/plans/{case.plan_id}/changes", headers=case.headers(), json={
        "plan_version": plan["version"], "reason": SECRET_REASON, "lines": [{
            "id": line["line_id"], "category": "coaching", "provider_name": "Eenmanszaak Jan Jansen",
            "starts_on": line["starts_on"], "ends_on": line["ends_on"], "amount": "900.00"}]})
    assert r.status_code == 201, r.text
    change_id = r.json()["id"]
    version = http.get(f"/intake/v1/plans/{case.plan_id}", headers=KM).json()["version"]
    r = http.post(f"/intake/v1/plans/{case.plan_id}/changes/{change_id}/decision", headers=KM,
                  json={"plan_version": version, "approve": True, "note": SECRET_REASON})
    assert r.status_code == 200, r.text

    asked, decided = [x for x in _trail(http, "intake", case.client_id) if "change_id" in (x["changes"] or {})]
    assert (asked["action"], asked["actor_role"]) == ("create", "client")
    assert asked["endpoint"] == "POST /intake/v1/plans/{plan_id}/changes"
    assert asked["changes"]["change.reason"] == {"old": None, "new": "***"}
    assert asked["changes"]["change.lines"]["new"][0]["amount"] == "900.00"
    assert "provider_name" not in asked["changes"]["change.lines"]["new"][0]
    assert decided["changes"]["change.status"] == {"old": "submitted", "new": "approved"}
    assert decided["changes"]["change.decision_note"] == {"old": None, "new": "***"}
    assert "Jan Jansen" not in json.dumps([asked, decided])


def test_progress_outcomes_registration_and_the_trajectorys_close_are_recorded_in_monitoring(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 503)
    base = f"/monitoring/v1/trajectories/{case.plan_id}"
    r = http.post(f"{base}/progress-reports", headers=KM, json={"on_track": False, "summary": SECRET_SUMMARY,
                                                               "problems": SECRET_SUMMARY})
    assert r.status_code == 201, r.text
    today = clock.today().isoformat()
    r = http.post(f"{base}/outcomes", headers=KM, json={"outcome": "work_during", "kind_of_work": "permanent_job",
                                                       "working_since": today, "hours_per_week": 32})
    assert r.status_code == 201, r.text
    outcome_id = r.json()["id"]
    r = http.post(f"{base}/durability-checks", headers=KM,
                  json={"outcome_id": outcome_id, "checked_on": today, "still_working": True, "note": SECRET_SUMMARY})
    assert r.status_code == 201, r.text
    r = http.put(f"{base}/registration", headers=KM, json={
        "soft_characteristics": {"motivation": "more"}, "provisions": {"health_provisions": True}})
    assert r.status_code == 200, r.text
    version = http.get(f"/intake/v1/plans/{case.plan_id}", headers=KM).json()["version"]
    r = http.post(f"/intake/v1/plans/{case.plan_id}/close", headers=KM,
                  json={"plan_version": version, "reason": "completed", "note": SECRET_SUMMARY})
    assert r.status_code == 200, r.text
    drain(runtime)

    trail = _trail(http, "monitoring", case.client_id)
    started = trail[0]
    assert (started["action"], started["endpoint"], started["actor_role"], started["purpose"]) == (
        "create", "internal", "service", "system")
    assert started["changes"]["trajectory.status"] == {"old": None, "new": "running"}
    report = [x for x in trail if "report_id" in x["changes"]][-1]  # make_case filed one before
    assert report["endpoint"] == "POST /monitoring/v1/trajectories/{plan_id}/progress-reports"
    assert report["changes"]["report.on_track"] == {"old": None, "new": False}
    assert report["changes"]["report.summary"] == report["changes"]["report.problems"] == {"old": None, "new": "***"}
    assert "report.done" not in report["changes"], "a text not given is not in the record"
    outcome = next(x for x in trail if "outcome_id" in x["changes"] and "outcome.outcome" in x["changes"])
    assert outcome["changes"]["outcome.outcome"] == {"old": None, "new": "work_during"}
    assert outcome["changes"]["trajectory.outcome_category"] == {"old": None, "new": "work_during"}
    check = next(x for x in trail if "durability_check_id" in x["changes"])
    assert check["changes"]["check.still_working"] == {"old": None, "new": True}
    assert check["changes"]["check.note"] == {"old": None, "new": "***"}
    form = next(x for x in trail if x["endpoint"].endswith("/registration"))
    assert form["action"] == "update"
    assert form["changes"]["registration.motivation"] == {"old": None, "new": "more"}
    assert form["changes"]["registration.provisions.health_provisions"] == {"old": "***", "new": "***"}
    closed = trail[-1]
    assert (closed["endpoint"], closed["actor_subject"]) == ("internal", "monitoring")
    assert closed["changes"]["trajectory.status"] == {"old": "running", "new": "closed"}
    assert closed["changes"]["trajectory.close_reason"] == {"old": None, "new": "completed"}
    intake_close = [x for x in _trail(http, "intake", case.client_id) if x["endpoint"].endswith("/close")]
    assert intake_close[0]["changes"]["plan.closure_note"] == {"old": None, "new": "***"}
    assert intake_close[0]["changes"]["plan.closure_reason"] == {"old": None, "new": "completed"}


def test_message_preferences_changed_and_the_senders_read_of_an_address_are_recorded(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 506, email="klant506@example.nl")
    r = http.put("/notifications/v1/preferences", headers=case.headers(), json={
        "email": True, "sms": False, "language": "en", "hold_mail": False})
    assert r.status_code == 200, r.text
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        clock.instant += timedelta(minutes=1)
        with runtime.uow("notifications") as uow:
            assert send_due_mail(uow, outlets(runtime, http, smtp)) >= 1
    finally:
        smtp.stop()

    r = http.get("/notifications/v1/audit", headers=TL, params={"client_id": case.client_id, "page_size": 500})
    trail = r.json()
    prefs = next(x for x in trail if x["endpoint"] == "PUT /notifications/v1/preferences")
    assert (prefs["action"], prefs["actor_role"]) == ("create", "client")
    assert prefs["changes"]["preferences.language"] == {"old": None, "new": "en"}
    assert prefs["changes"]["preferences.by_email"] == {"old": None, "new": True}
    reads = [x for x in trail if x["action"] == "read" and x["endpoint"] == "internal"]
    assert reads and {(x["actor_subject"], x["actor_role"], x["purpose"]) for x in reads} == {
        ("notifications", "service", "notification.email")}
    asked = [x for x in _trail_all(http, "intake", case.client_id)
             if x["endpoint"] == "GET /intake/v1/clients/{client_id}/contact"]
    assert asked and {x["purpose"] for x in asked} == {"notification.delivery"}, "intake says why it was asked"


def _trail_all(http, service: str, client_id: str) -> list[dict[str, Any]]:
    r = http.get(f"/{service}/v1/audit", headers=TL, params={"client_id": client_id, "page_size": 500})
    assert r.status_code == 200, r.text
    return r.json()


def test_every_chain_verifies_and_no_plan_text_is_in_any_record(env):
    runtime, http, _clock = env
    for service in ("intake", "budget", "monitoring", "notifications"):
        answer = http.get(f"/{service}/v1/audit/verify", headers=TL).json()
        assert answer["ok"] is True and answer["checked"] > 0, answer
    with runtime.engine.connect() as conn:
        rows = [json.dumps([str(v) for v in row], ensure_ascii=False)
                for service in ("intake", "budget", "monitoring", "notifications")
                for row in conn.execute(sa.text(f"SELECT * FROM {service}.audit_record"))]
    assert len(rows) > 50
    for text in (SECRET_TEXT, SECRET_REASON, SECRET_SUMMARY, "Eenmanszaak", "klant506@example.nl", "Client 50"):
        assert not [row for row in rows if text in row], text


def test_the_art_15_export_has_the_plan_decision_progress_and_outcome_records(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 505)
    r = http.post(f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=KM,
                  json={"outcome": "no_work_running"})
    assert r.status_code == 201, r.text
    records = list(client_trail(runtime, "0014", case.client_id))
    endpoints = {(r["service"], r["action"], r["endpoint"]) for r in records}
    assert {
        ("intake", "create", "POST /intake/v1/plans"),
        ("intake", "update", "POST /intake/v1/plans/{plan_id}/submit"),
        ("intake", "update", "POST /intake/v1/plans/{plan_id}/decisions"),
        ("monitoring", "create", "internal"),
        ("monitoring", "create", "POST /monitoring/v1/trajectories/{plan_id}/progress-reports"),
        ("monitoring", "create", "POST /monitoring/v1/trajectories/{plan_id}/outcomes"),
    } <= endpoints
    decision = next(r for r in records if r["endpoint"] == "POST /intake/v1/plans/{plan_id}/decisions")
    assert decision["changes"]["plan.status"] == {"old": "submitted", "new": "approved"}
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)
