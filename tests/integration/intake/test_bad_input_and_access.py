"""Intake: bad input gets a clear 4xx problem and leaves nothing half-written; every intake
route keeps other municipalities, other clients and roles without business in intake out.

"Nothing half-written" is checked against a snapshot of every row in the intake schema
(its tables and its outbox), taken before and after the refused request.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from sqlmodel import SQLModel

from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
from eigenregie.initial_data import test_bsn as bsn_for
from services.intake.api import router
from services.intake.domain.attachment_checks import MAX_ATTACHMENT_BYTES
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.integration.intake.support import STARTS_ON, TODAY, frozen_clock
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

GRONINGEN, UTRECHT, DELFT = "0014", "0344", "0503"
KM = auth("case_manager", GRONINGEN)  # subject "case_manager-0014"
TL = auth("team_lead", GRONINGEN)  # subject "team_lead-0014"
KM_UTRECHT = auth("case_manager", UTRECHT)
OUTBOX = bus_tables("intake").outbox
INTAKE_TABLES = [t for t in SQLModel.metadata.sorted_tables if t.schema == "intake"]
_seeds = itertools.count(2000)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    runtime = migrated_runtime(
        Settings(data_dir=tmp_path_factory.mktemp("intake-bad"), environment="test"), clock=frozen_clock()
    )
    return runtime, api_client(runtime)


# --- helpers -----------------------------------------------------------------------------------


def _problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json", r.headers["content-type"]
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def _snapshot(runtime, municipality: str | None = None) -> dict[str, list[str]]:
    """Every row of every intake table and of the intake outbox; with a municipality, only its rows."""
    with runtime.engine.connect() as conn:
        plan_table = next(t for t in INTAKE_TABLES if t.name == "plan")
        plans = {
            row.id
            for row in conn.execute(sa.select(plan_table.c.id, plan_table.c.municipality))
            if row.municipality == municipality
        }
        out: dict[str, list[str]] = {}
        for table in INTAKE_TABLES:
            rows = []
            for row in conn.execute(sa.select(table)).mappings():
                if municipality is not None:
                    if "municipality" in row and row["municipality"] != municipality:
                        continue
                    if "municipality" not in row and "plan_id" in row and row["plan_id"] not in plans:
                        continue
                    if table.name == "outbox" and json.loads(row["envelope"])["tenant"] != municipality:
                        continue
                rows.append(repr(sorted(row.items())))
            out[table.fullname] = sorted(rows)
    assert {"intake.client", "intake.plan", "intake.outbox"} <= set(out), "the snapshot must see the intake tables"
    return out


def _events(runtime, subject: str | None = None) -> list[str]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(OUTBOX.c.event_type, OUTBOX.c.envelope).order_by(OUTBOX.c.id)).all()
    return [kind for kind, envelope in rows if subject is None or json.loads(envelope)["subject"] == subject]


_used_bsns: set[str] = set()


def _client_body(**fields: Any) -> dict[str, Any]:
    # Neighbouring seeds can give the same BSN (the first valid one upwards), so skip those.
    seed = next(_seeds)
    while bsn_for(seed) in _used_bsns:
        seed = next(_seeds)
    _used_bsns.add(bsn_for(seed))
    return {
        "bsn": bsn_for(seed),
        "client_number": f"K-{seed}",
        "name": f"Client {seed}",
        "facts": ELIGIBLE_FACTS,
        **fields,
    }


def _register(http, headers=KM, **fields: Any) -> dict:
    r = http.post("/intake/v1/clients", headers=headers, json=_client_body(**fields))
    assert r.status_code == 201, r.text
    return r.json()


def _plan_body(client_id: str, amount: str = "1000.00", category: str = "coaching") -> dict[str, Any]:
    return {
        "client_id": client_id,
        **example_plan("Kok", [("Coaching", category, "Coach BV", amount)], starts_on=STARTS_ON),
    }


def _draft(http, amount: str = "1000.00", headers=KM, **client_fields: Any) -> dict:
    client = _register(http, **client_fields)
    r = http.post("/intake/v1/plans", headers=headers, json=_plan_body(client["id"], amount))
    assert r.status_code == 201, r.text
    return r.json()


def _save_body(plan: dict, **content: Any) -> dict[str, Any]:
    """The plan's content as a PUT body, with the version it was read at."""
    body = dict(plan["content"].items())
    body.update(content)
    return {**body, "plan_version": plan["version"]}


def _submit(http, plan: dict, headers=KM) -> dict:
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=headers, json={"plan_version": plan["version"]})
    assert r.status_code == 200, r.text
    return r.json()


def _upload(http, plan_id: str, name: str, data: bytes, content_type: str, headers=KM):
    return http.post(
        f"/intake/v1/plans/{plan_id}/attachments", headers=headers, files={"file": (name, data, content_type)}
    )


# --- bad input: clients ----------------------------------------------------------------------


def test_an_invalid_bsn_is_refused_naming_the_field_and_nothing_is_written(env):
    runtime, http = env
    before = _snapshot(runtime)
    r = http.post("/intake/v1/clients", headers=KM, json=_client_body(bsn="111222334"))
    body = _problem(r, 422)
    assert [e["field"] for e in body["errors"]] == ["bsn"]
    assert "111222334" not in r.text
    assert _snapshot(runtime) == before


def test_an_unknown_scheme_is_refused_naming_the_field(env):
    runtime, http = env
    client = _register(http)
    before = _snapshot(runtime)
    r = http.post("/intake/v1/clients", headers=KM, json=_client_body(scheme="prb_plus"))
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["scheme"]
    r = http.patch(f"/intake/v1/clients/{client['id']}", headers=KM, json={"scheme": "prb_plus"})
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["scheme"]
    r = http.post("/intake/v1/plans", headers=KM, json={**_plan_body(client["id"]), "scheme": "prb_plus"})
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["scheme"]
    assert _snapshot(runtime) == before


def test_a_scheme_the_municipality_does_not_offer_is_refused(env):
    runtime, http = env
    # Utrecht offers only prb; Groningen also offers pgb bw.
    before = _snapshot(runtime)
    r = http.post("/intake/v1/clients", headers=KM_UTRECHT, json=_client_body(scheme="pgb_bw"))
    body = _problem(r, 422)
    assert body["code"] == "client.scheme_not_offered" and body["errors"][0]["field"] == "scheme"
    assert "prb" in body["detail"]
    assert _snapshot(runtime) == before

    client = _register(http, headers=KM_UTRECHT, scheme="prb")
    before = _snapshot(runtime)
    r = http.patch(f"/intake/v1/clients/{client['id']}", headers=KM_UTRECHT, json={"scheme": "pgb_bw"})
    assert _problem(r, 422)["code"] == "client.scheme_not_offered"
    r = http.post("/intake/v1/plans", headers=KM_UTRECHT, json={**_plan_body(client["id"]), "scheme": "pgb_bw"})
    assert _problem(r, 422)["code"] == "client.scheme_not_offered"
    r = http.post(f"/intake/v1/clients/{client['id']}/orientation", headers=KM_UTRECHT, json={"scheme": "pgb_bw"})
    assert _problem(r, 422)["code"] == "client.scheme_not_offered"
    assert _snapshot(runtime) == before
    assert http.get(f"/intake/v1/clients/{client['id']}", headers=KM_UTRECHT).json()["scheme"] == "prb"

    # The same request is fine where the scheme is offered.
    assert http.post("/intake/v1/clients", headers=KM, json=_client_body(scheme="pgb_bw")).status_code == 201


def test_unknown_fields_are_refused_and_named(env):
    runtime, http = env
    client = _register(http)
    before = _snapshot(runtime)
    r = http.post("/intake/v1/clients", headers=KM, json=_client_body(favourite_colour="blue"))
    assert {"field": "favourite_colour", "message": "unknown field", "type": "extra_forbidden"} in _problem(r, 422)[
        "errors"
    ]
    r = http.post("/intake/v1/clients", headers=KM, json=_client_body(facts={**ELIGIBLE_FACTS, "shoe_size": 44}))
    assert "facts.shoe_size" in [e["field"] for e in _problem(r, 422)["errors"]]
    r = http.patch(f"/intake/v1/clients/{client['id']}", headers=KM, json={"nickname": "Bo"})
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["nickname"]
    body = _plan_body(client["id"])
    body["budget"]["lines"][0]["discount"] = "10.00"
    r = http.post("/intake/v1/plans", headers=KM, json=body)
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["budget.lines.0.discount"]
    assert _snapshot(runtime) == before


@pytest.mark.parametrize("code", ["14", "00140", "abcd", "0 14"])
def test_a_malformed_resident_municipality_code_is_refused(env, code):
    runtime, http = env
    client = _register(http)
    before = _snapshot(runtime)
    r = http.post(
        "/intake/v1/clients",
        headers=KM,
        json=_client_body(facts={**ELIGIBLE_FACTS, "resident_municipality_code": code}),
    )
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["facts.resident_municipality_code"]
    r = http.patch(
        f"/intake/v1/clients/{client['id']}",
        headers=KM,
        json={"facts": {**ELIGIBLE_FACTS, "resident_municipality_code": code}},
    )
    assert [e["field"] for e in _problem(r, 422)["errors"]] == ["facts.resident_municipality_code"]
    assert _snapshot(runtime) == before


# --- bad input: the municipal policy ---------------------------------------------------------

POLICY_DELFT = auth("policy", DELFT)


def _store_valid_delft_policy(http) -> dict:
    """Delft's own policy, stored (decision term 7 weeks), so "unchanged" means the stored one."""
    document = http.get("/intake/v1/policy", headers=POLICY_DELFT).json()
    r = http.put("/intake/v1/policy", headers=POLICY_DELFT, json={**document, "decision_term_weeks": 7})
    assert r.status_code == 200, r.text
    stored = http.get("/intake/v1/policy", headers=POLICY_DELFT).json()
    assert stored["decision_term_weeks"] == 7 and stored["municipality_code"] == DELFT
    return stored


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: {**d, "decision_warning_weeks": d["decision_term_weeks"]}, "decision_warning_weeks"),
        (lambda d: {**d, "decision_warning_weeks": d["decision_term_weeks"] + 1}, "decision_warning_weeks"),
        (lambda d: {**d, "admission_rules": [*d["admission_rules"], {"kind": "horoscope"}]}, "admission_rules[4].kind"),
        (lambda d: {**d, "schemes": [{"scheme": "prb", "maximum_budget": "0"}]}, "schemes[0].maximum_budget"),
        (lambda d: {**d, "schemes": [{"scheme": "prb_plus", "maximum_budget": "5000"}]}, "schemes[0].scheme"),
        (lambda d: {**d, "review_model": "whatever"}, "review_model"),
        (lambda d: {**d, "colour": "orange"}, "colour"),
    ],
    ids=[
        "warning_equals_term",
        "warning_after_term",
        "unknown_rule_kind",
        "zero_maximum",
        "unknown_scheme",
        "unknown_review_model",
        "unknown_setting",
    ],
)
def test_an_invalid_policy_is_refused_naming_the_field_and_the_stored_policy_stays(env, change, field):
    runtime, http = env
    stored = _store_valid_delft_policy(http)
    assert len(stored["admission_rules"]) == 4  # Delft: the three general rules and max distance
    before = _snapshot(runtime)
    r = http.put("/intake/v1/policy", headers=POLICY_DELFT, json=change(stored))
    body = _problem(r, 422)
    assert body["code"] == "policy.invalid" and body["errors"][0]["field"] == field, body
    assert http.get("/intake/v1/policy", headers=POLICY_DELFT).json() == stored
    assert _snapshot(runtime) == before


def test_a_policy_for_another_municipality_is_refused(env):
    runtime, http = env
    _store_valid_delft_policy(http)
    groningen = http.get("/intake/v1/policy", headers=KM).json()
    before = _snapshot(runtime)
    r = http.put("/intake/v1/policy", headers=POLICY_DELFT, json={**groningen, "four_eyes_threshold": "0.00"})
    body = _problem(r, 422)
    assert body["code"] == "policy.other_municipality" and body["errors"][0]["field"] == "municipality_code"
    assert http.get("/intake/v1/policy", headers=KM).json() == groningen
    assert _snapshot(runtime) == before


@pytest.mark.parametrize("role", ["case_manager", "team_lead", "finance", "ops"])
def test_only_the_policy_role_changes_the_policy(env, role):
    runtime, http = env
    stored = _store_valid_delft_policy(http)
    before = _snapshot(runtime)
    r = http.put("/intake/v1/policy", headers=auth(role, DELFT), json={**stored, "decision_term_weeks": 10})
    _problem(r, 403)
    assert http.get("/intake/v1/policy", headers=POLICY_DELFT).json() == stored
    assert _snapshot(runtime) == before


# --- bad input: plans ------------------------------------------------------------------------


def test_a_plan_over_the_maximum_cannot_be_submitted(env):
    runtime, http = env
    plan = _draft(http, "6000.00")  # Groningen: prb up to EUR 5,000
    checks = http.get(f"/intake/v1/plans/{plan['id']}/checks", headers=KM).json()
    assert checks["submittable"] is False and "budget.over_maximum" in [f["code"] for f in checks["findings"]]
    before = _snapshot(runtime)
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=KM, json={"plan_version": plan["version"]})
    body = _problem(r, 422)
    assert body["code"] == "plan.checks_failed"
    assert {"budget.over_maximum"} == {e["code"] for e in body["errors"]}
    assert [e["field"] for e in body["errors"]] == ["budget.total"]
    assert _snapshot(runtime) == before
    assert http.get(f"/intake/v1/plans/{plan['id']}", headers=KM).json()["status"] == "draft"
    assert "PlanSubmitted" not in _events(runtime, plan["id"])
    assert len(http.get(f"/intake/v1/plans/{plan['id']}/versions", headers=KM).json()) == 1

    # At the maximum it goes through: it was the amount that blocked.
    save = _save_body(plan)
    save["budget"]["lines"][0]["amount"] = "5000.00"
    r = http.put(f"/intake/v1/plans/{plan['id']}", headers=KM, json=save)
    assert r.status_code == 200, r.text
    assert _submit(http, r.json())["status"] == "submitted"
    assert _events(runtime, plan["id"]).count("PlanSubmitted") == 1


def test_an_activity_that_ends_before_it_starts_is_refused(env):
    runtime, http = env
    client = _register(http)
    body = _plan_body(client["id"])
    activity = body["structure"]["activities"][0]
    activity["start"], activity["end"] = activity["end"], activity["start"]
    before = _snapshot(runtime)
    r = http.post("/intake/v1/plans", headers=KM, json=body)
    error = _problem(r, 422)["errors"][0]
    assert error["field"] == "structure.activities.0" and "end" in error["message"]
    assert _snapshot(runtime) == before

    plan = http.post("/intake/v1/plans", headers=KM, json=_plan_body(client["id"])).json()
    save = _save_body(plan)
    save["structure"]["activities"][0].update(start=activity["start"], end=activity["end"])
    before = _snapshot(runtime)
    r = http.put(f"/intake/v1/plans/{plan['id']}", headers=KM, json=save)
    assert _problem(r, 422)["errors"][0]["field"] == "structure.activities.0"
    assert _snapshot(runtime) == before


def test_an_unknown_budget_line_id_on_save_is_refused(env):
    runtime, http = env
    plan = _draft(http)
    real_id = plan["content"]["budget"]["lines"][0]["id"]
    save = _save_body(plan)
    save["budget"]["lines"][0]["id"] = "not-a-line-of-this-plan"
    before = _snapshot(runtime)
    r = http.put(f"/intake/v1/plans/{plan['id']}", headers=KM, json=save)
    body = _problem(r, 422)
    assert body["code"] == "plan.unknown_line_id" and body["errors"][0]["field"] == "budget.lines[0].id"
    assert _snapshot(runtime) == before

    # The plan's own id is kept; leaving it out makes a new line.
    save["budget"]["lines"][0]["id"] = real_id
    r = http.put(f"/intake/v1/plans/{plan['id']}", headers=KM, json=save)
    assert r.status_code == 200, r.text
    assert r.json()["content"]["budget"]["lines"][0]["id"] == real_id


def test_a_business_investment_blocks_submission_with_the_bbz_reason(env):
    runtime, http = env
    plan = _draft(http)
    save = _save_body(plan)
    save["budget"]["lines"][0].update(category="business_start_support", business_investment=True)
    plan = http.put(f"/intake/v1/plans/{plan['id']}", headers=KM, json=save).json()
    before = _snapshot(runtime)
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=KM, json={"plan_version": plan["version"]})
    body = _problem(r, 422)
    assert body["code"] == "plan.checks_failed"
    found = [e for e in body["errors"] if e["code"] == "budget.business_investment"]
    assert len(found) == 1 and found[0]["field"] == "budget.lines[0].business_investment"
    assert "Bbz" in found[0]["message"] and "Bbz" in found[0]["message_nl"]
    assert _snapshot(runtime) == before

    save = _save_body(plan)
    save["budget"]["lines"][0]["business_investment"] = False
    plan = http.put(f"/intake/v1/plans/{plan['id']}", headers=KM, json=save).json()
    assert _submit(http, plan)["status"] == "submitted"


def test_a_client_who_fails_a_hard_criterion_cannot_submit(env):
    runtime, http = env
    facts = {**ELIGIBLE_FACTS, "months_unemployed": 3}  # Groningen asks at least 6
    plan = _draft(http, facts=facts)
    before = _snapshot(runtime)
    r = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=KM, json={"plan_version": plan["version"]})
    body = _problem(r, 422)
    assert body["code"] == "plan.checks_failed"
    assert [e["code"] for e in body["errors"]] == ["eligibility.min_months_unemployed"]
    assert _snapshot(runtime) == before

    r = http.patch(
        f"/intake/v1/clients/{plan['client_id']}",
        headers=KM,
        json={"facts": {**ELIGIBLE_FACTS, "months_unemployed": 6}},
    )
    assert r.status_code == 200, r.text
    assert _submit(http, plan)["status"] == "submitted"


# --- bad input: attachments ------------------------------------------------------------------


def test_an_attachment_too_large_is_refused_with_413(env):
    runtime, http = env
    plan = _draft(http)
    before = _snapshot(runtime)
    r = _upload(http, plan["id"], "offerte.pdf", b"%PDF" + b"0" * (MAX_ATTACHMENT_BYTES - 3), "application/pdf")
    body = _problem(r, 413)
    assert body["code"] == "attachment.too_large" and body["errors"][0]["field"] == "file.size"
    assert _snapshot(runtime) == before
    # Exactly at the limit is accepted.
    r = _upload(http, plan["id"], "offerte.pdf", b"%PDF" + b"0" * (MAX_ATTACHMENT_BYTES - 4), "application/pdf")
    assert r.status_code == 201, r.text[:300]
    assert r.json()["size"] == MAX_ATTACHMENT_BYTES


def test_an_attachment_of_a_forbidden_type_is_refused_with_415(env):
    runtime, http = env
    plan = _draft(http)
    before = _snapshot(runtime)
    r = _upload(http, plan["id"], "setup.exe", b"MZ\x90\x00\x03 not a quote", "application/x-msdownload")
    body = _problem(r, 415)
    assert body["code"] == "attachment.type_not_allowed" and body["errors"][0]["field"] == "file.content_type"
    # A program under a harmless content type is refused too.
    r = _upload(http, plan["id"], "setup.exe", b"MZ\x90\x00\x03 not a quote", "application/pdf")
    assert _problem(r, 415)["code"] == "attachment.extension_mismatch"
    assert _snapshot(runtime) == before
    assert http.get(f"/intake/v1/plans/{plan['id']}/attachments", headers=KM).json() == []


def test_the_same_file_twice_is_a_conflict(env):
    runtime, http = env
    plan = _draft(http)
    assert _upload(http, plan["id"], "offerte.pdf", b"%PDF-1.4 offerte 1", "application/pdf").status_code == 201
    before = _snapshot(runtime)
    for name in ("offerte.pdf", "offerte-kopie.pdf"):
        r = _upload(http, plan["id"], name, b"%PDF-1.4 offerte 1", "application/pdf")
        assert _problem(r, 409)["code"] == "attachment.duplicate"
    assert _snapshot(runtime) == before
    assert len(http.get(f"/intake/v1/plans/{plan['id']}/attachments", headers=KM).json()) == 1


# --- bad input: decisions --------------------------------------------------------------------


def test_only_case_managers_and_team_leads_decide(env):
    runtime, http = env
    plan = _submit(http, _draft(http))
    own_client = auth("client", GRONINGEN, subject="client-own", client_id=plan["client_id"])
    before = _snapshot(runtime)
    for headers in (
        own_client,
        auth("finance", GRONINGEN),
        auth("provider", GRONINGEN, provider_id="coach-bv"),
        auth("partner", GRONINGEN),
        auth("policy", GRONINGEN),
        auth("ops", GRONINGEN),
    ):
        for kind in ("approve", "reject"):
            r = http.post(
                f"/intake/v1/plans/{plan['id']}/decisions",
                headers=headers,
                json={"plan_version": plan["version"], "kind": kind, "reasons": ["x"], "contra_indications": ["y"]},
            )
            _problem(r, 403)
    assert _snapshot(runtime) == before
    assert http.get(f"/intake/v1/plans/{plan['id']}/decisions", headers=KM).json() == []
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=KM,
        json={"plan_version": plan["version"], "kind": "approve"},
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text


def test_the_first_reviewer_cannot_give_the_second_approval(env):
    runtime, http = env
    plan = _submit(http, _draft(http, "3000.00"))  # above Groningen's four-eyes threshold of EUR 2,900
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=KM,
        json={"plan_version": plan["version"], "kind": "approve"},
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["status"] == "awaiting_second_approval"
    assert "PlanApproved" not in _events(runtime, plan["id"])

    before = _snapshot(runtime)
    same_person_as_team_lead = auth("team_lead", GRONINGEN, subject="case_manager-0014")
    for kind in ("confirm", "approve"):
        r = http.post(
            f"/intake/v1/plans/{plan['id']}/decisions",
            headers=same_person_as_team_lead,
            json={"plan_version": plan["version"], "kind": kind},
        )
        body = _problem(r, 403)
        assert body["code"] == "review.same_reviewer", body
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=auth("case_manager", GRONINGEN, subject="km-2"),
        json={"plan_version": plan["version"], "kind": "confirm"},
    )
    assert _problem(r, 403)["code"] == "review.second_reviewer_role"
    assert _snapshot(runtime) == before

    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=TL,
        json={"plan_version": plan["version"], "kind": "confirm"},
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    assert _events(runtime, plan["id"]) == ["PlanSubmitted", "PlanApproved", "TrajectoryProfiled"]


def test_a_decision_on_a_plan_that_changed_meanwhile_is_a_conflict(env):
    runtime, http = env
    plan = _submit(http, _draft(http))
    before = _snapshot(runtime)
    for stale in (plan["version"] - 1, plan["version"] + 1):
        r = http.post(
            f"/intake/v1/plans/{plan['id']}/decisions", headers=KM, json={"plan_version": stale, "kind": "approve"}
        )
        body = _problem(r, 409)
        assert body["code"] == "plan.changed_meanwhile" and body["errors"][0]["field"] == "plan_version"
    assert _snapshot(runtime) == before
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=KM,
        json={"plan_version": plan["version"], "kind": "approve"},
    )
    assert r.status_code == 200, r.text


def test_a_decision_on_a_draft_is_a_conflict(env):
    runtime, http = env
    plan = _draft(http)
    before = _snapshot(runtime)
    for kind in ("approve", "reject", "confirm"):
        r = http.post(
            f"/intake/v1/plans/{plan['id']}/decisions",
            headers=KM,
            json={"plan_version": plan["version"], "kind": kind, "reasons": ["x"], "contra_indications": ["y"]},
        )
        assert _problem(r, 409)["code"] == "plan.not_under_review"
    assert _snapshot(runtime) == before
    assert http.get(f"/intake/v1/plans/{plan['id']}", headers=KM).json()["status"] == "draft"


def test_a_second_plan_for_a_client_with_an_open_plan_is_a_conflict(env):
    runtime, http = env
    plan = _draft(http)
    for state in ("draft", "submitted"):
        before = _snapshot(runtime)
        r = http.post("/intake/v1/plans", headers=KM, json=_plan_body(plan["client_id"]))
        body = _problem(r, 409)
        assert body["code"] == "plan.already_open" and body["errors"][0]["field"] == "client_id", state
        assert _snapshot(runtime) == before
        if state == "draft":
            plan = _submit(http, plan)
    # Once the plan is decided against, a new one may start.
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=KM,
        json={
            "plan_version": plan["version"],
            "kind": "reject",
            "reasons": ["Geen kans op werk."],
            "contra_indications": ["Passend regulier aanbod."],
        },
    )
    assert r.status_code == 200, r.text
    assert http.post("/intake/v1/plans", headers=KM, json=_plan_body(plan["client_id"])).status_code == 201


def test_an_orientation_cannot_be_started_twice(env):
    runtime, http = env
    client = _register(http)
    r = http.post(f"/intake/v1/clients/{client['id']}/orientation", headers=KM, json={})
    assert r.status_code == 201, r.text
    before = _snapshot(runtime)
    r = http.post(f"/intake/v1/clients/{client['id']}/orientation", headers=KM, json={})
    body = _problem(r, 409)
    assert body["code"] == "orientation.already_running" and body["errors"][0]["field"] == "client_id"
    assert _snapshot(runtime) == before
    assert len(http.get(f"/intake/v1/clients/{client['id']}/orientation", headers=KM).json()) == 1


def test_each_decision_emits_exactly_one_event_of_its_type(env):
    runtime, http = env
    decisions = {
        "approve": ({"kind": "approve"}, "approved", ["PlanApproved", "TrajectoryProfiled"]),
        "return": ({"kind": "return", "comments": {"budget": "Twee offertes graag."}}, "returned", ["PlanReturned"]),
        "reject": (
            {"kind": "reject", "reasons": ["Geen kans op werk."], "contra_indications": ["Regulier aanbod."]},
            "rejected",
            ["PlanRejected"],
        ),
    }
    for name, (body, status, event) in decisions.items():
        plan = _submit(http, _draft(http))
        assert _events(runtime, plan["id"]) == ["PlanSubmitted"]
        r = http.post(
            f"/intake/v1/plans/{plan['id']}/decisions", headers=KM, json={"plan_version": plan["version"], **body}
        )
        assert r.status_code == 200 and r.json()["status"] == status, (name, r.text)
        # An approval also tells monitoring the client's statistical profile (TrajectoryProfiled).
        assert _events(runtime, plan["id"]) == ["PlanSubmitted", *event], name
    # Four eyes: the first approval emits nothing; the confirmation emits the one PlanApproved.
    plan = _submit(http, _draft(http, "3000.00"))
    plan = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=KM,
        json={"plan_version": plan["version"], "kind": "approve"},
    ).json()
    assert _events(runtime, plan["id"]) == ["PlanSubmitted"]
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=TL,
        json={"plan_version": plan["version"], "kind": "confirm"},
    )
    assert r.status_code == 200, r.text
    assert _events(runtime, plan["id"]) == ["PlanSubmitted", "PlanApproved", "TrajectoryProfiled"]


# --- access: a small world -------------------------------------------------------------------


@dataclass
class Victim:
    client_id: str
    bsn: str
    name: str
    plan_id: str
    representative_id: str
    representative_subject: str
    attachment_id: str
    change_id: str
    app_id: str  # the partner application both victims chose (issue 13)
    consent_id: str
    handover_id: str  # the municipality's warm hand-over of the victim to that partner (iro)

    def client_headers(self) -> dict[str, str]:
        return auth("client", GRONINGEN, subject=f"client-{self.client_id[:8]}", client_id=self.client_id)

    def representative_headers(self) -> dict[str, str]:
        return auth("representative", GRONINGEN, subject=self.representative_subject, client_id=self.client_id)


@dataclass
class World:
    runtime: Any
    http: Any
    a: Victim
    b: Victim
    utrecht_client_id: str


PARTNER_KVK = "12345678"


def _partner_app(http) -> str:
    """The victims' partner: an application of Groningen that both victims gave a consent."""
    r = http.post("/intake/v1/partner-apps", headers=TL, json={
        "name": "Coach BV", "organisation_kvk": PARTNER_KVK, "kind": "coach", "allowed_scopes": ["clients:read-own"]})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _partner_headers(app_id: str) -> dict[str, str]:
    return auth("partner", GRONINGEN, subject=app_id, organisation_kvk=PARTNER_KVK, scopes=["clients:read-own"])


def _handover_partner_headers(app_id: str) -> dict[str, str]:
    return auth("partner", GRONINGEN, subject=app_id, organisation_kvk=PARTNER_KVK, scopes=["handovers:write"])


def _victim(http, name: str, rep_subject: str, app_id: str) -> Victim:
    today = TODAY.isoformat()
    client = _register(http, name=name)
    cid = client["id"]
    r = http.post(
        f"/intake/v1/clients/{cid}/representatives",
        headers=KM,
        json={"subject": rep_subject, "name": "Voogd", "relation": "guardian"},
    )
    assert r.status_code == 201, r.text
    rep_id = r.json()["id"]
    r = http.post(
        f"/intake/v1/clients/{cid}/contacts",
        headers=KM,
        json={"contacted_on": today, "channel": "personal_talk", "interest": "interested"},
    )
    assert r.status_code == 201, r.text
    assert http.post(f"/intake/v1/clients/{cid}/orientation", headers=KM, json={}).status_code == 201
    plan = http.post("/intake/v1/plans", headers=KM, json=_plan_body(cid)).json()
    r = _upload(http, plan["id"], "offerte.pdf", f"%PDF-1.4 offerte {cid}".encode(), "application/pdf")
    assert r.status_code == 201, r.text
    attachment_id = r.json()["id"]
    plan = _submit(http, http.get(f"/intake/v1/plans/{plan['id']}", headers=KM).json())
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=KM,
        json={"plan_version": plan["version"], "kind": "approve", "note": "Intern: prima."},
    )
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    plan = r.json()
    own = auth("client", GRONINGEN, subject=f"client-{cid[:8]}", client_id=cid)
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/objections",
        headers=own,
        json={"lodged_on": today, "grounds": "Ik wil een andere coach."},
    )
    assert r.status_code == 201, r.text
    line = plan["granted_lines"][0]
    r = http.post(
        f"/intake/v1/plans/{plan['id']}/changes",
        headers=own,
        json={
            "plan_version": plan["version"],
            "reason": "Andere coach",
            "lines": [
                {
                    "id": line["line_id"],
                    "category": "coaching",
                    "provider_name": "Andere Coach BV",
                    "starts_on": line["starts_on"],
                    "ends_on": line["ends_on"],
                    "amount": "1000.00",
                }
            ],
        },
    )
    assert r.status_code == 201, r.text
    change_id = r.json()["id"]
    r = http.post(f"/intake/v1/clients/{cid}/consents", headers=own,
                  json={"partner_kvk": PARTNER_KVK, "purpose": "progress_reporting"})
    assert r.status_code == 201, r.text
    consent_id = r.json()["id"]
    r = http.post(f"/intake/v1/clients/{cid}/consents", headers=own,
                  json={"partner_kvk": PARTNER_KVK, "purpose": "warm_handover"})
    assert r.status_code == 201, r.text
    r = http.post(f"/intake/v1/clients/{cid}/handovers", headers=KM,
                  json={"partner_kvk": PARTNER_KVK, "reason_code": "uwv_benefit_starting"})
    assert r.status_code == 201, r.text
    return Victim(cid, client["bsn"], name, plan["id"], rep_id, rep_subject, attachment_id, change_id, app_id,
                  consent_id, r.json()["id"])


@pytest.fixture(scope="module")
def world(env) -> World:
    runtime, http = env
    app_id = _partner_app(http)
    a = _victim(http, "Wilhelmina Veldkamp", "rep-wilhelmina", app_id)
    b = _victim(http, "Hendrikus Oosterhout", "rep-hendrikus", app_id)
    utrecht = _register(http, headers=KM_UTRECHT, name="Utrechtse Klant")
    assert http.post("/intake/v1/plans", headers=KM_UTRECHT, json=_plan_body(utrecht["id"])).status_code == 201
    return World(runtime, http, a, b, utrecht["id"])


# The router's own paths; the app serves them under /intake/v1 (its OpenAPI lists them as /v1/...).
API = "/v1"
# api.py includes api_decisions.py's router; FastAPI keeps an included router as one nested entry.
_INCLUDED = [inc.original_router for inc in router.routes if hasattr(inc, "original_router")]
_ALL_ROUTES = [*router.routes, *(route for included in _INCLUDED for route in included.routes)]
# The OAuth2 token endpoint takes a partner application's client credentials, not a bearer token:
# it is walked on its own (test_the_token_endpoint_gives_no_stranger_a_token).
TOKEN_ROUTE = ("POST", "/oauth/token")
ROUTES = sorted(
    (method, route.path)
    for route in _ALL_ROUTES
    if isinstance(route, APIRoute)
    for method in route.methods
    if (method, route.path) != TOKEN_ROUTE
)
READS = [(m, p) for m, p in ROUTES if m == "GET"]


def _url(path: str, v: Victim) -> str:
    ids = {
        "client_id": v.client_id,
        "plan_id": v.plan_id,
        "representative_id": v.representative_id,
        "attachment_id": v.attachment_id,
        "change_id": v.change_id,
        "app_id": v.app_id,
        "consent_id": v.consent_id,
        "handover_id": v.handover_id,
        "number": "1",
    }
    missing = [name for name in re.findall(r"{(\w+)}", path) if name not in ids]
    assert not missing, f"{path}: the access world has no record for {missing}; add one"
    return "/intake" + API + re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


def _request(w: World, method: str, path: str, v: Victim, headers: dict[str, str]):
    """The route called with valid input aimed at the victim's records: only access can stop it."""
    plan = w.http.get(f"/intake/v1/plans/{v.plan_id}", headers=KM).json()
    today = TODAY.isoformat()
    line = plan["granted_lines"][0]
    samples: dict[tuple[str, str], dict[str, Any]] = {
        ("PUT", "/policy"): {"json": w.http.get("/intake/v1/policy", headers=KM).json()},
        ("PATCH", "/policy"): {
            "content": b'{"municipality_code": "0014", "decision_term_weeks": 6}',
            "headers": {"content-type": "application/merge-patch+json"},
        },
        ("POST", "/clients"): {"json": _client_body()},
        ("POST", "/clients/search"): {"json": {"bsn": v.bsn}},
        ("POST", "/policy/contracted-providers"): {
            "content": b"kvk;naam\n12345678;Werkfit BV\n",
            "headers": {"content-type": "text/csv"},
        },
        ("PATCH", "/clients/{client_id}"): {"json": {"phone": "0612345678"}},
        ("POST", "/clients/{client_id}/representatives"): {
            "json": {"subject": "intruder", "name": "Indringer", "relation": "helper"}
        },
        ("POST", "/clients/{client_id}/contacts"): {
            "json": {"contacted_on": today, "channel": "phone", "interest": "not_interested"}
        },
        ("POST", "/clients/{client_id}/orientation"): {"json": {}},
        ("POST", "/plans"): {"json": _plan_body(v.client_id)},
        ("PUT", "/plans/{plan_id}"): {"json": _save_body(plan)},
        ("POST", "/plans/{plan_id}/submit"): {"json": {"plan_version": plan["version"]}},
        ("POST", "/plans/{plan_id}/attachments"): {
            "files": {"file": ("extra.pdf", b"%PDF-1.4 intruder", "application/pdf")}
        },
        ("POST", "/plans/{plan_id}/decisions"): {
            "json": {"plan_version": plan["version"], "kind": "reject", "reasons": ["x"], "contra_indications": ["y"]}
        },
        ("POST", "/plans/{plan_id}/objections"): {"json": {"lodged_on": today, "grounds": "Ingetrokken."}},
        ("POST", "/plans/{plan_id}/changes"): {
            "json": {
                "plan_version": plan["version"],
                "reason": "x",
                "lines": [
                    {
                        "id": line["line_id"],
                        "category": "coaching",
                        "provider_name": "Elders BV",
                        "starts_on": line["starts_on"],
                        "ends_on": line["ends_on"],
                        "amount": "1.00",
                    }
                ],
            }
        },
        ("POST", "/plans/{plan_id}/changes/{change_id}/decision"): {
            "json": {"plan_version": plan["version"], "approve": True}
        },
        ("POST", "/plans/{plan_id}/close"): {"json": {"plan_version": plan["version"], "reason": "completed"}},
        ("POST", "/partner-apps"): {
            "json": {"name": "Elders BV", "organisation_kvk": "87654321", "kind": "coach",
                     "allowed_scopes": ["clients:read-own"]}
        },
        ("POST", "/partner-apps/{app_id}/rotate-secret"): {},
        ("POST", "/clients/{client_id}/consents"): {"json": {"partner_kvk": "87654321", "purpose": "invoicing"}},
        ("POST", "/clients/{client_id}/consents/{consent_id}/withdraw"): {},
        ("POST", "/policy/scheme-presets/pib"): {"json": {"maximum_budget": "4000.00"}},
        # A partner's hand-over naming the victim's BSN; the case manager's decisions on one.
        ("POST", "/partner/handovers"): {
            "json": {"bsn": v.bsn, "reason_code": "other",
                     "consent": {"given_on": today, "reference": "UWV-1"}}
        },
        ("POST", "/handovers/{handover_id}/accept"): {"json": {}},
        ("POST", "/handovers/{handover_id}/decline"): {"json": {"reason_code": "other"}},
        ("POST", "/clients/{client_id}/handovers"): {"json": {"partner_kvk": PARTNER_KVK, "reason_code": "other"}},
    }
    if method in ("GET", "DELETE"):
        kwargs: dict[str, Any] = {}
    else:
        assert (method, path) in samples, f"{method} {path}: give this new route a valid sample body here"
        kwargs = dict(samples[(method, path)])
    headers = {**headers, **kwargs.pop("headers", {})}
    return w.http.request(method, _url(path, v), headers=headers, **kwargs)


def _sees_none_of(r, who: str, method: str, path: str, *victims: Victim) -> None:
    """Never the BSN or the name; in an answer that is not refused, not even the victim's ids
    (a refusal names the requested path, ids included, as its `instance`)."""
    for v in victims:
        secrets = (v.bsn, v.name) if r.status_code >= 400 else (v.bsn, v.name, v.client_id, v.plan_id)
        for secret in secrets:
            assert secret not in r.text, f"{who} {method} {path} shows {secret!r}: {r.text[:300]}"


def _refused(r, where: str, statuses=(403, 404)) -> None:
    assert r.status_code in statuses, f"{where}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"] == "application/problem+json", where


def test_the_routes_iterated_are_the_routes_served_and_each_path_id_has_a_record(world):
    served = world.http.get("/intake/v1/openapi.json").json()["paths"]
    # Every service's audit routes come from shared/ and are walked in tests/integration/audit.
    assert {(method, API + path) for method, path in [*ROUTES, TOKEN_ROUTE]} == {
        (method.upper(), path) for path, ops in served.items() for method in ops if not path.startswith("/v1/audit")
    }
    for _method, path in ROUTES:
        _url(path, world.a)


def test_the_owners_reach_every_read_route_of_the_world(world):
    """The control for the refusals below: the ids are real and the routes answer their owners."""
    w = world
    # Partner applications are a team lead's (or ops'); a partner's own clients the partner's.
    owners = {"/partner-apps": TL, "/partner-apps/{app_id}": TL, "/partner/clients": _partner_headers(w.a.app_id),
              "/partner/clients/{client_id}": _partner_headers(w.a.app_id),
              "/partner/handovers": _handover_partner_headers(w.a.app_id),
              "/partner/handovers/{handover_id}": _handover_partner_headers(w.a.app_id)}
    for method, path in READS:
        for v in (w.a, w.b):
            r = _request(w, method, path, v, owners.get(path, KM))
            assert r.status_code == 200, (path, r.text[:300])
        for who, headers in (("client", w.a.client_headers()), ("representative", w.a.representative_headers())):
            r = _request(w, method, path, w.a, headers)
            staff_only = ("/policy/presets", "/policy/changes", "/reviews", "/candidates", "/handovers",
                          "/handovers/{handover_id}", *owners)
            if path in (*staff_only, "/clients/{client_id}/contact"):
                assert r.status_code == 403, (who, path)  # staff and policy tools; addresses for messages
            else:
                assert r.status_code == 200, (who, path, r.text[:300])
    r = w.http.get(f"/intake/v1/plans/{w.a.plan_id}", headers=w.a.representative_headers())
    assert r.json()["client_id"] == w.a.client_id
    r = w.http.get(f"/intake/v1/clients/{w.a.client_id}", headers=w.a.representative_headers())
    assert r.json()["bsn"] == w.a.bsn


# Routes without a record in the path act on the caller's own municipality: what other
# municipalities' staff get there (a dict per role), and why.
OTHER_MUNICIPALITY_UNSCOPED = {
    # Every intake role reads its own municipality's policy; it holds rules, no client data.
    ("GET", "/policy"): {"case_manager": 200, "team_lead": 200, "policy": 200},
    # The presets are published example policies (the report's municipalities), no client data.
    ("GET", "/policy/presets"): {"case_manager": 200, "team_lead": 200, "policy": 200},
    # The change log of the caller's own municipality (who changed its rules): none of the victim's.
    ("GET", "/policy/changes"): {"case_manager": 200, "team_lead": 200, "policy": 200},
    # A document naming the victim's municipality: only the policy role gets past the role check.
    ("PUT", "/policy"): {"case_manager": 403, "team_lead": 403, "policy": 422},
    ("PATCH", "/policy"): {"case_manager": 403, "team_lead": 403, "policy": 422},
    # UWV's list of contracted companies goes into the caller's own municipality's policy.
    ("POST", "/policy/contracted-providers"): {"case_manager": 403, "team_lead": 403, "policy": 200},
    # Registers in the caller's own municipality; a body cannot name another one.
    ("POST", "/clients"): {"case_manager": 201, "team_lead": 201, "policy": 403},
    # Lists are filtered to the caller's municipality.
    ("GET", "/clients"): {"case_manager": 200, "team_lead": 200, "policy": 403},
    # A search by the victim's BSN looks in the caller's own municipality: found nothing.
    ("POST", "/clients/search"): {"case_manager": 200, "team_lead": 200, "policy": 403},
    ("GET", "/plans"): {"case_manager": 200, "team_lead": 200, "policy": 403},
    ("GET", "/reviews"): {"case_manager": 200, "team_lead": 200, "policy": 403},
    ("GET", "/candidates"): {"case_manager": 200, "team_lead": 200, "policy": 403},
    # A plan for the victim client (named in the body).
    ("POST", "/plans"): {"case_manager": 404, "team_lead": 404, "policy": 403},
    # A team lead registers and lists the partner applications of their own municipality.
    ("POST", "/partner-apps"): {"case_manager": 403, "team_lead": 201, "policy": 403},
    ("GET", "/partner-apps"): {"case_manager": 403, "team_lead": 200, "policy": 403},
    # A partner's own clients: for partner tokens only.
    ("GET", "/partner/clients"): {"case_manager": 403, "team_lead": 403, "policy": 403},
    # The pib preset goes into the caller's own municipality's policy.
    ("POST", "/policy/scheme-presets/pib"): {"case_manager": 403, "team_lead": 403, "policy": 200},
    # The caller's own municipality's hand-overs (none of the victim's); sending and reading one as a
    # partner is for partner tokens only.
    ("GET", "/handovers"): {"case_manager": 200, "team_lead": 200, "policy": 403},
    ("POST", "/partner/handovers"): {"case_manager": 403, "team_lead": 403, "policy": 403},
    ("GET", "/partner/handovers"): {"case_manager": 403, "team_lead": 403, "policy": 403},
}


@pytest.mark.parametrize("role", ["case_manager", "team_lead", "policy"])
def test_staff_of_another_municipality_reach_nothing_of_the_victim(world, role):
    w = world
    attacker = auth(role, UTRECHT, subject=f"{role}-utrecht")
    before = _snapshot(w.runtime, GRONINGEN)
    for method, path in ROUTES:
        r = _request(w, method, path, w.a, attacker)
        where = f"{role}@{UTRECHT} {method} {path}"
        _sees_none_of(r, where, method, path, w.a, w.b)
        if "{" in path:
            _refused(r, where)
            continue
        assert (method, path) in OTHER_MUNICIPALITY_UNSCOPED, f"{where}: decide what this new route answers"
        expected = OTHER_MUNICIPALITY_UNSCOPED[(method, path)][role]
        assert r.status_code == expected, f"{where}: {r.status_code} {r.text[:300]}"
        if expected >= 400:
            _refused(r, where, (expected,))
        if (method, path) in (("PUT", "/policy"), ("PATCH", "/policy")) and expected == 422:
            assert r.json()["code"] == "policy.other_municipality"
        if (method, path) == ("GET", "/policy"):
            assert r.json()["municipality_code"] == UTRECHT
        if (method, path) == ("GET", "/policy/changes"):
            assert all(change["municipality"] == UTRECHT for change in r.json())
        if (method, path) == ("POST", "/clients") and expected == 201:
            assert r.json()["municipality"] == UTRECHT
        if (method, path) in (("GET", "/clients"), ("GET", "/plans")) and expected == 200:
            assert r.json() and {item["municipality"] for item in r.json()} == {UTRECHT}
        if (method, path) == ("POST", "/clients/search") and expected == 200:
            assert r.json() == []
        if (method, path) == ("GET", "/partner-apps") and expected == 200:
            assert w.a.app_id not in r.text
        if (method, path) == ("GET", "/handovers") and expected == 200:
            assert r.json() == [] and w.a.handover_id not in r.text
    # Also when the victim is named in a filter.
    if role != "policy":
        r = w.http.get("/intake/v1/plans", headers=attacker, params={"client_id": w.a.client_id})
        assert r.status_code == 200 and r.json() == []
    assert _snapshot(w.runtime, GRONINGEN) == before


CLIENT_UNSCOPED = {
    # A client reads the rules of their own municipality; no client data in it.
    ("GET", "/policy"): 200,
    ("GET", "/policy/presets"): 403,
    ("GET", "/policy/changes"): 403,
    ("PUT", "/policy"): 403,
    ("PATCH", "/policy"): 403,
    ("POST", "/policy/contracted-providers"): 403,
    ("POST", "/clients"): 403,
    # Staff find clients by BSN; the client side has no business searching.
    ("POST", "/clients/search"): 403,
    # Filtered to the client themself (checked below).
    ("GET", "/clients"): 200,
    ("GET", "/plans"): 200,
    ("GET", "/reviews"): 403,
    ("GET", "/candidates"): 403,
    # A plan for the other client (named in the body).
    ("POST", "/plans"): 404,
    ("POST", "/partner-apps"): 403,
    ("GET", "/partner-apps"): 403,
    ("GET", "/partner/clients"): 403,
    ("POST", "/policy/scheme-presets/pib"): 403,
    ("GET", "/handovers"): 403,
    ("POST", "/partner/handovers"): 403,
    ("GET", "/partner/handovers"): 403,
}


def test_a_client_reaches_nothing_of_another_client(world):
    w = world
    before = _snapshot(w.runtime)
    for method, path in ROUTES:
        r = _request(w, method, path, w.b, w.a.client_headers())
        where = f"client A {method} {path}"
        _sees_none_of(r, where, method, path, w.b)
        if "{" in path:
            _refused(r, where)
            continue
        assert (method, path) in CLIENT_UNSCOPED, f"{where}: decide what this new route answers"
        assert r.status_code == CLIENT_UNSCOPED[(method, path)], f"{where}: {r.status_code} {r.text[:300]}"
        if (method, path) in (("GET", "/clients"), ("GET", "/plans")):
            assert [item.get("client_id", item["id"]) for item in r.json()] == [w.a.client_id], where
    r = w.http.get("/intake/v1/plans", headers=w.a.client_headers(), params={"client_id": w.b.client_id})
    assert r.status_code == 200 and r.json() == []
    assert _snapshot(w.runtime) == before


@pytest.mark.parametrize("role", ["finance", "provider", "partner", "ops"])
def test_roles_without_business_in_intake_reach_no_intake_route(world, role):
    w = world
    headers = auth(role, GRONINGEN, provider_id="coach-bv" if role == "provider" else None)
    before = _snapshot(w.runtime)
    for method, path in ROUTES:
        if role == "ops" and path.startswith("/partner-apps"):
            continue  # ops' business: registering partner applications (test_partner_apps.py)
        r = _request(w, method, path, w.a, headers)
        where = f"{role} {method} {path}"
        if role == "partner" and path.startswith("/partner/"):
            # A partner token whose subject is no registered application: refused as revoked.
            _refused(r, where, (401,))
            continue
        _refused(r, where, (403,))
        _sees_none_of(r, where, method, path, w.a, w.b)
    assert _snapshot(w.runtime) == before


def test_a_registered_representative_reads_only_their_clients_records(world):
    w = world
    rep = w.a.representative_headers()
    assert w.http.get(f"/intake/v1/plans/{w.a.plan_id}", headers=rep).status_code == 200
    # Notes for staff stay internal for the client side.
    decisions = w.http.get(f"/intake/v1/plans/{w.a.plan_id}/decisions", headers=rep).json()
    assert decisions and all("note" not in d["details"] for d in decisions)
    assert any(
        "note" in d["details"] for d in w.http.get(f"/intake/v1/plans/{w.a.plan_id}/decisions", headers=KM).json()
    )
    before = _snapshot(w.runtime)
    for method, path in ROUTES:
        if "{" not in path:
            continue
        r = _request(w, method, path, w.b, rep)
        where = f"representative of A {method} {path} (B's records)"
        _refused(r, where)
        _sees_none_of(r, where, method, path, w.b)
    assert _snapshot(w.runtime) == before


def test_an_unregistered_representative_reaches_nothing(world):
    w = world
    strangers = {
        "an unknown login": auth("representative", GRONINGEN, subject="rep-stranger", client_id=w.a.client_id),
        "B's representative claiming A": auth(
            "representative", GRONINGEN, subject=w.b.representative_subject, client_id=w.a.client_id
        ),
        "A's representative in another municipality": auth(
            "representative", UTRECHT, subject=w.a.representative_subject, client_id=w.a.client_id
        ),
    }
    before = _snapshot(w.runtime)
    for who, headers in strangers.items():
        for method, path in ROUTES:
            r = _request(w, method, path, w.a, headers)
            where = f"{who} {method} {path}"
            _sees_none_of(r, where, method, path, w.a, w.b)
            if (method, path) == ("GET", "/policy"):
                # Exception: get_policy checks the role, not the representation. The policy is
                # the municipality's published rules and holds no client data.
                assert r.status_code == 200 and "admission_rules" in r.json(), where
                continue
            _refused(r, where, (403,))
    assert _snapshot(w.runtime) == before


def test_access_ends_when_the_representation_ends(world):
    w = world
    r = w.http.post(
        f"/intake/v1/clients/{w.a.client_id}/representatives",
        headers=KM,
        json={"subject": "rep-temporary", "name": "Tijdelijke hulp", "relation": "helper"},
    )
    assert r.status_code == 201, r.text
    rep_id = r.json()["id"]
    rep = auth("representative", GRONINGEN, subject="rep-temporary", client_id=w.a.client_id)
    assert w.http.get(f"/intake/v1/plans/{w.a.plan_id}", headers=rep).status_code == 200
    assert w.http.get(f"/intake/v1/clients/{w.a.client_id}", headers=rep).status_code == 200

    # The representative cannot end (or extend) representation themself.
    r = w.http.delete(f"/intake/v1/clients/{w.a.client_id}/representatives/{rep_id}", headers=rep)
    _refused(r, "representative ends own representation", (403,))

    r = w.http.delete(f"/intake/v1/clients/{w.a.client_id}/representatives/{rep_id}", headers=KM)
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    for method, path in ROUTES:
        if (method, path) == ("GET", "/policy"):
            continue  # the exception above: published rules, no client data
        r = _request(w, method, path, w.a, rep)
        _refused(r, f"ended representative {method} {path}", (403,))
        _sees_none_of(r, "ended representative", method, path, w.a)
    # The registered representative of A still has access: only the ended one lost it.
    assert w.http.get(f"/intake/v1/plans/{w.a.plan_id}", headers=w.a.representative_headers()).status_code == 200


def test_an_ended_representation_can_start_again_for_the_same_login_but_not_twice(world):
    w = world
    body = {"subject": "rep-returning", "name": "Mentor", "relation": "mentor"}
    first = w.http.post(f"/intake/v1/clients/{w.a.client_id}/representatives", headers=KM, json=body)
    assert first.status_code == 201, first.text
    rep = auth("representative", GRONINGEN, subject="rep-returning", client_id=w.a.client_id)
    assert w.http.post(f"/intake/v1/clients/{w.a.client_id}/representatives", headers=KM, json=body).status_code == 409
    w.http.delete(f"/intake/v1/clients/{w.a.client_id}/representatives/{first.json()['id']}", headers=KM)
    assert w.http.get(f"/intake/v1/plans/{w.a.plan_id}", headers=rep).status_code == 403
    again = w.http.post(
        f"/intake/v1/clients/{w.a.client_id}/representatives", headers=KM, json={**body, "relation": "guardian"}
    )
    assert again.status_code == 201 and again.json()["active"] and again.json()["relation"] == "guardian", again.text
    assert w.http.get(f"/intake/v1/plans/{w.a.plan_id}", headers=rep).status_code == 200


def test_the_token_endpoint_gives_no_stranger_a_token(world):
    """Bearer tokens count for nothing there, and a wrong secret is `invalid_client` for everyone."""
    w = world
    client_id = w.http.get(f"/intake/v1/partner-apps/{w.a.app_id}", headers=TL).json()["client_id"]
    before = _snapshot(w.runtime)
    for headers in (KM, TL, auth("ops", GRONINGEN), auth("team_lead", UTRECHT), w.a.client_headers(),
                    _partner_headers(w.a.app_id), {}):
        for form in ({"client_id": client_id, "client_secret": "geraden"}, {"client_id": client_id}, {}):
            r = w.http.post("/intake" + API + TOKEN_ROUTE[1], headers=headers,
                            data={"grant_type": "client_credentials", **form})
            assert r.status_code == 401 and r.json()["error"] == "invalid_client", (headers, form, r.text)
            assert "access_token" not in r.text
    assert _snapshot(w.runtime) == before
