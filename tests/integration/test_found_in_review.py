"""Review findings: each test failed before its fix."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from eigenregie.initial_data import ELIGIBLE_FACTS
from eigenregie.initial_data import test_bsn as bsn_for
from shared.bus.dead_letters import list_dead_letters
from shared.clock import FrozenClock
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client, make_case

KM = auth("case_manager", "0014")
FIN = auth("finance", "0014")
POLICY = auth("policy", "0014")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("review"), environment="test"),
                               clock=FrozenClock(datetime.now(UTC)))
    http = api_client(runtime)
    case = make_case(http, runtime, "0014", 31)
    return runtime, http, case


def _client(http, seed: int) -> str:
    r = http.post("/intake/v1/clients", headers=KM, json={"bsn": bsn_for(seed), "client_number": f"R-{seed}",
                                                       "name": f"Review {seed}", "facts": ELIGIBLE_FACTS})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()


# --- 1. an orientation with a budget ---------------------------------------------------------


def test_an_orientation_budget_gives_an_orientation_trajectory_and_no_dead_letter(env):
    runtime, http, _case = env
    policy = http.get("/intake/v1/policy", headers=POLICY).json()
    policy["orientation"] = {"enabled": True, "months": 3, "budget": "500.00"}
    assert http.put("/intake/v1/policy", headers=POLICY, json=policy).status_code == 200
    client_id = _client(http, 301)
    r = http.post(f"/intake/v1/clients/{client_id}/orientation", headers=KM, json={})
    assert r.status_code == 201, r.text
    orientation_id = r.json()["id"]
    drain(runtime)

    assert [d for d in list_dead_letters(runtime.engine) if d.event_type == "BudgetOpened"] == []
    budget = http.get("/budget/v1/budgets", headers=FIN, params={"plan_id": orientation_id}).json()
    assert budget and budget[0]["granted"] == "500.00"
    trajectory = http.get(f"/monitoring/v1/trajectories/{orientation_id}", headers=KM)
    assert trajectory.status_code == 200, trajectory.text
    body = trajectory.json()
    assert body["kind"] == "orientation" and body["budget_id"] == budget[0]["id"]
    assert body["granted"] == "500.00" and body["client_id"] == client_id


def test_an_orientation_trajectory_is_not_flagged_for_missing_progress_reports(env):
    runtime, http, _case = env
    from services.monitoring.jobs import flag_overdue_follow_ups

    orientations = [t for t in http.get("/monitoring/v1/trajectories", headers=KM).json() if t["kind"] == "orientation"]
    assert orientations
    # Past the second report the default schedule asks of a plan (four months after its start; the
    # report make_case files on the first day answers the first).
    runtime.clock.advance(timedelta(days=125))
    try:
        with runtime.uow("monitoring") as uow:
            flag_overdue_follow_ups(uow)
    finally:
        runtime.clock.advance(-timedelta(days=125))
    after = {t["plan_id"]: t for t in http.get("/monitoring/v1/trajectories", headers=KM).json()}
    assert not any(after[t["plan_id"]]["report_overdue"] for t in orientations)
    assert any(t["report_overdue"] for t in after.values() if t["kind"] == "plan")


# --- 2. control characters in names and free text ---------------------------------------------


@pytest.mark.parametrize("field,value", [("name", "Jan\x00Jansen"), ("client_number", "K\x1b1"),
                                         ("address", "Straat 1\n9711 AA"), ("case_manager", "km\x7f")])
def test_a_control_character_in_a_client_field_is_a_422_naming_it(env, field, value):
    _runtime, http, _case = env
    body = {"bsn": bsn_for(310 + len(value)), "client_number": f"R-3{len(value)}", "name": "N", "facts": ELIGIBLE_FACTS, field: value}
    problem = _problem(http.post("/intake/v1/clients", headers=KM, json=body), 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert "control character" in problem["errors"][0]["message"] or "one line" in problem["errors"][0]["message"]


def test_a_nul_in_plan_texts_decisions_and_reports_is_a_422_naming_the_field(env):
    _runtime, http, case = env
    from eigenregie.initial_data import example_plan

    body = {"client_id": _client(http, 303), **example_plan("Kok", [("Coaching", "coaching", "Coach BV", "10.00")])}
    body["foreword"]["situation"] = "Ik zoek werk\x00"
    problem = _problem(http.post("/intake/v1/plans", headers=KM, json=body), 422)
    assert [e["field"] for e in problem["errors"]] == ["foreword.situation"]
    body["foreword"]["situation"] = "Regel een\nregel twee\tmet tab"  # free text keeps line breaks
    body["budget"]["lines"][0]["provider_name"] = "Coach\x00BV"
    problem = _problem(http.post("/intake/v1/plans", headers=KM, json=body), 422)
    assert [e["field"] for e in problem["errors"]] == ["budget.lines.0.provider_name"]

    r = http.post(f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports", headers=KM,
                  json={"on_track": True, "summary": "Goed\x00"})
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["summary"]
    r = http.post(f"/intake/v1/plans/{case.plan_id}/objections", headers=KM,
                  json={"lodged_on": "2026-12-01", "grounds": "Bezwaar\x08"})
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["grounds"]
    r = http.post(f"/intake/v1/plans/{case.plan_id}/close", headers=KM,
                  json={"plan_version": 1, "reason": "stopped_early", "note": "Gestopt\x00"})
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["note"]


def test_a_control_character_in_the_policy_or_a_file_name_is_refused_naming_the_field(env):
    _runtime, http, _case = env
    policy = http.get("/intake/v1/policy", headers=POLICY).json()
    policy["municipality_name"] = "Groningen\x00"
    problem = _problem(http.put("/intake/v1/policy", headers=POLICY, json=policy), 422)
    assert problem["errors"][0]["field"] == "municipality_name"
    from eigenregie.initial_data import example_plan

    draft = http.post("/intake/v1/plans", headers=KM, json={"client_id": _client(http, 304), **example_plan(
        "Kok", [("Coaching", "coaching", "Coach BV", "10.00")])}).json()
    # Built by hand: httpx would percent-encode the control character in the file name.
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="offerte\x01.pdf"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n--b--\r\n")
    r = http.post(f"/intake/v1/plans/{draft['id']}/attachments", content=body,
                  headers={**KM, "content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file.filename", r.text


# --- 4. malformed JSON names the body ---------------------------------------------------------


def test_malformed_json_names_the_body_with_a_readable_message(env):
    _runtime, http, _case = env
    r = http.post("/intake/v1/clients", headers={**KM, "content-type": "application/json"}, content=b'{"bsn": ')
    problem = _problem(r, 400)
    assert problem["title"] == "Malformed JSON"
    [error] = problem["errors"]
    assert error["field"] == "body" and error["type"] == "json_invalid"
    assert error["message"] == "not valid JSON: Expecting value at character 8"


# --- 5. PUT replaces the policy, PATCH merges ------------------------------------------------

POLICY_DELFT = auth("policy", "0503")


def test_put_policy_with_part_of_a_document_replaces_it_and_the_rest_takes_the_defaults(env):
    _runtime, http, _case = env
    before = http.get("/intake/v1/policy", headers=POLICY_DELFT).json()
    assert before["decision_term_weeks"] != 5 and before["min_quotes_per_activity"] != 0
    r = http.put("/intake/v1/policy", headers=POLICY_DELFT, json={"decision_term_weeks": 5})
    assert r.status_code == 200, r.text
    stored = http.get("/intake/v1/policy", headers=POLICY_DELFT).json()
    assert stored == r.json()
    assert stored["decision_term_weeks"] == 5
    # Replaced, not merged: what was left out is the neutral default, not Delft's preset value.
    from services.intake.domain.policy import default_policy, policy_to_dict

    neutral = policy_to_dict(default_policy("0503", before["municipality_name"]))
    assert {k: v for k, v in stored.items() if k != "decision_term_weeks"} == {
        k: v for k, v in neutral.items() if k != "decision_term_weeks"}
    assert stored["municipality_code"] == "0503" and stored["municipality_name"] == before["municipality_name"]


def test_patch_policy_is_a_json_merge_patch(env):
    _runtime, http, _case = env
    merge = {**POLICY, "content-type": "application/merge-patch+json"}
    before = http.get("/intake/v1/policy", headers=POLICY).json()
    r = http.patch("/intake/v1/policy", headers=merge,
                   content=json.dumps({"decision_term_weeks": 4, "orientation": {"budget": "250.00"},
                                       "contracted_providers": None}))
    assert r.status_code == 200, r.text
    after = http.get("/intake/v1/policy", headers=POLICY).json()
    assert after == r.json()
    assert after["decision_term_weeks"] == 4
    assert after["orientation"] == {**before["orientation"], "budget": "250.00"}  # objects merge
    assert after["schemes"] == before["schemes"] and after["review_model"] == before["review_model"]
    assert after["contracted_providers"] == []  # null removes: the default
    # Wrong values are a 422 naming the field, and change nothing.
    r = http.patch("/intake/v1/policy", headers=merge, content=json.dumps({"orientation": {"months": 99}}))
    assert _problem(r, 422)["errors"][0]["field"] == "orientation.months"
    assert http.get("/intake/v1/policy", headers=POLICY).json() == after
    # A merge patch has its own media type; plain JSON is not taken for one.
    r = http.patch("/intake/v1/policy", headers=POLICY, json={"decision_term_weeks": 3})
    assert _problem(r, 415)["detail"]
    # Only the policy role.
    assert http.patch("/intake/v1/policy", headers={**KM, "content-type": "application/merge-patch+json"},
                      content=b"{}").status_code == 403


# --- 6. the docs' roles are the roles the code lets in ----------------------------------------

ROLE_WORDS = {"staff": {"case_manager", "team_lead"}, "client side": {"client", "representative"}}
ALL_ROLES = {"client", "representative", "case_manager", "team_lead", "finance", "provider", "partner", "policy", "ops"}


def _documented_roles(route: str) -> set[str]:
    from tests.support.environment import REPO

    for row in (REPO / "docs" / "api.md").read_text().splitlines():
        if row.startswith(f"| `{route}` |"):
            who = row.split("|")[2]
            roles = {r.strip("` ") for r in re.findall(r"`(\w+)`", who)}
            for word, expanded in ROLE_WORDS.items():
                if word in who:
                    roles |= expanded
            assert "any role" not in who, row
            return roles
    raise AssertionError(f"{route} is not in docs/api.md")


@pytest.mark.parametrize("method,route,path,body", [
    ("POST", "/monitoring/v1/trajectories/{plan_id}/progress-reports", "progress-reports",
     {"on_track": True, "summary": "Gaat goed"}),
    ("GET", "/monitoring/v1/trajectories/{plan_id}", "", None),
    ("GET", "/monitoring/v1/trajectories/{plan_id}/progress-reports", "progress-reports", None),
    ("GET", "/monitoring/v1/trajectories/{plan_id}/outcomes", "outcomes", None),
    ("POST", "/monitoring/v1/trajectories/{plan_id}/outcomes", "outcomes", {"outcome": "unknown"}),
    ("GET", "/notifications/v1/messages?client_id=", None, None),
])
def test_the_roles_in_the_docs_are_let_in_and_the_others_get_a_403_naming_them(env, method, route, path, body):
    _runtime, http, case = env
    allowed = _documented_roles(f"{method} {route}")
    url = "/notifications/v1/messages" if path is None else \
        f"/monitoring/v1/trajectories/{case.plan_id}" + (f"/{path}" if path else "")
    for role in sorted(ALL_ROLES):
        extra = {"representative": {"client_id": case.client_id}, "provider": {"provider_id": "coach-bv"}}
        headers = case.headers() if role == "client" else auth(role, "0014", **extra.get(role, {}))
        r = http.request(method, url, headers=headers, json=body)
        if (role == "provider" or (role == "partner" and method == "POST")) and path == "progress-reports":
            # Let in by its role, but the plan names no provider with this KvK number: outside its reach.
            assert role in allowed and r.status_code == 404, (role, route, r.text)
        elif role in allowed:
            assert r.status_code in (200, 201), (role, route, r.text)
        else:
            problem = _problem(r, 403)
            named = set(re.findall(r"\w+", problem["detail"].split(":", 1)[1]))
            assert named == allowed, (role, route, problem["detail"], allowed)


def test_a_provider_files_progress_reports_only_where_the_plan_names_it_and_the_docs_say_so(env):
    _runtime, http, case = env

    r = http.post(f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports", headers=auth("provider", "0014", provider_id="coach-bv"),
                  json={"on_track": True, "summary": "Gaat goed"})
    assert _problem(r, 404)  # no line of this plan names that provider (tests/integration/monitoring/test_progress.py)
    assert "provider" in _documented_roles("POST /monitoring/v1/trajectories/{plan_id}/progress-reports")


# --- 3. request size limits -------------------------------------------------------------------


def _client_json(seed: int, padding: int = 0) -> bytes:
    return json.dumps({"bsn": bsn_for(seed), "client_number": f"S-{seed}", "name": "N" + " " * padding,
                       "facts": ELIGIBLE_FACTS}).encode()


def test_an_oversized_json_body_is_a_413_problem(env):
    _runtime, http, _case = env
    r = http.post("/intake/v1/clients", headers={**KM, "content-type": "application/json"},
                  content=_client_json(320, padding=12 * 1024 * 1024))
    problem = _problem(r, 413)
    assert problem["code"] == "request.too_large" and "1 MiB" in problem["detail"]
    assert r.headers["x-correlation-id"]


def test_an_oversized_chunked_json_body_is_a_413_problem(env):
    _runtime, http, _case = env

    def chunks():
        yield b'{"bsn": "' + b"1" * (1024 * 1024) + b'"'
        yield b', "name": "' + b"x" * (512 * 1024) + b'"}'

    r = http.post("/intake/v1/clients", headers={**KM, "content-type": "application/json"}, content=chunks())
    assert r.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.request.headers
    _problem(r, 413)


def test_a_chunked_body_is_refused_before_the_rest_is_read():
    import asyncio

    from shared.web import BodySizeLimitMiddleware

    reached: list[int] = []

    async def app(scope, receive, send):
        while (message := await receive())["type"] == "http.request":
            reached.append(len(message["body"]))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    sent_chunks = 0

    async def receive():
        nonlocal sent_chunks
        sent_chunks += 1
        return {"type": "http.request", "body": b"x" * 400_000, "more_body": sent_chunks < 100}

    answers: list[dict] = []

    async def send(message):
        answers.append(message)

    settings = Settings(environment="test", max_json_body_bytes=1_000_000)
    scope = {"type": "http", "method": "POST", "path": "/intake/v1/clients",
             "headers": [(b"content-type", b"application/json")]}
    asyncio.run(BodySizeLimitMiddleware(app, settings)(scope, receive, send))
    assert sent_chunks == 3  # the third chunk passes 1 000 000 bytes; the other 97 are never read
    assert answers[0]["status"] == 413 and len(answers) == 2 and b"read it all" not in answers[1]["body"]


def test_normal_requests_and_uploads_up_to_their_limits_still_pass(env):
    _runtime, http, case = env
    from eigenregie.initial_data import example_plan
    from services.intake.domain.plan_checks import MAX_ATTACHMENT_BYTES

    r = http.post("/intake/v1/clients", headers={**KM, "content-type": "application/json"}, content=_client_json(321))
    assert r.status_code == 201, r.text
    # An attachment of the largest allowed size reaches intake (and is stored).
    draft = http.post("/intake/v1/plans", headers=KM, json={"client_id": r.json()["id"], **example_plan(
        "Kok", [("Coaching", "coaching", "Coach BV", "10.00")])}).json()
    big = b"%PDF-1.4\n" + b"0" * (MAX_ATTACHMENT_BYTES - 9)
    r = http.post(f"/intake/v1/plans/{draft['id']}/attachments", headers=KM,
                  files={"file": ("offerte.pdf", big, "application/pdf")})
    assert r.status_code == 201, r.text[:300]
    # One byte more is intake's own refusal naming the file, not the body limit.
    r = http.post(f"/intake/v1/plans/{draft['id']}/attachments", headers=KM,
                  files={"file": ("offerte.pdf", big + b"0", "application/pdf")})
    assert _problem(r, 413)["code"] == "attachment.too_large"
    # A bulk invoice body larger than the JSON limit reaches budget's own count check.
    # Fields at their longest, and names with accents sent as \u escapes (json.dumps' default):
    # 1000 invoices can pass 1 MiB.
    invoice = {"budget_line_id": case.budget_line_id, "provider_id": "p" * 80, "provider_name": "É" * 200,
               "provider_iban": "NL91ABNA0417164300", "amount": "1.00"}
    body = json.dumps([{**invoice, "invoice_number": f"B-{i:077d}"} for i in range(1001)]).encode()
    assert len(body) > 1024 * 1024
    r = http.post("/budget/v1/invoices/bulk", headers={**FIN, "content-type": "application/json"}, content=body)
    assert r.status_code == 422 and "1 to 1000" in r.json()["detail"], r.text[:300]
    # Above the bulk limit, the body limit answers.
    r = http.post("/budget/v1/invoices/bulk", headers={**FIN, "content-type": "application/json"},
                  content=b"[" + b" " * (9 * 1024 * 1024) + b"]")
    _problem(r, 413)
