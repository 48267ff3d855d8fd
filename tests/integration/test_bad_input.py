"""Bad input gets a clear problem+json 4xx naming the field, and leaves nothing half-written."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
from eigenregie.initial_data import test_bsn as bsn_for
from services.budget.models import Invoice, LedgerEntry
from services.intake.models import Client, Plan, PlanVersion
from shared.bus.consumer import Outcome, consume
from shared.bus.dead_letters import list_dead_letters
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.support.auth import auth
from tests.support.events import event_of
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client, make_case

KM = auth("case_manager", "0014")
FIN = auth("finance", "0014")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("bad"), environment="test"))
    http = api_client(runtime)
    case = make_case(http, runtime, "0014", 11)
    return runtime, http, case


def _fresh_client(http, seed: int) -> str:
    r = http.post("/intake/v1/clients", headers=KM, json={"bsn": bsn_for(seed), "client_number": f"K-{seed}",
                                                       "name": "N", "facts": ELIGIBLE_FACTS})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _plan_body(client_id: str, amount: object = "10.00") -> dict:
    body = {"client_id": client_id, **example_plan("Kok", [("Coaching", "coaching", "Coach BV", "10.00")])}
    body["budget"]["lines"][0]["amount"] = amount
    return body


def _count(runtime, table) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_malformed_json_is_a_400_problem(env):
    _runtime, http, _case = env
    r = http.post("/intake/v1/clients", headers={**KM, "content-type": "application/json"}, content=b'{"bsn": ')
    assert _problem(r, 400)["title"] == "Malformed JSON"


def test_unknown_fields_are_named(env):
    _runtime, http, _case = env
    r = http.post("/intake/v1/clients", headers=KM, json={"bsn": "111222333", "client_number": "K", "name": "N",
                                                       "favourite_colour": "blue"})
    body = _problem(r, 422)
    assert {"field": "favourite_colour", "message": "unknown field", "type": "extra_forbidden"} in body["errors"]


def test_an_invalid_bsn_is_refused_naming_the_field_and_not_echoing_it(env):
    runtime, http, _case = env
    before = _count(runtime, Client)
    r = http.post("/intake/v1/clients", headers=KM, json={"bsn": "111222334", "client_number": "K-bad", "name": "N"})
    body = _problem(r, 422)
    assert body["errors"][0]["field"] == "bsn" and "11-test" in body["errors"][0]["message"]
    assert "111222334" not in r.text
    assert _count(runtime, Client) == before


def test_a_float_amount_is_refused(env):
    _runtime, http, _case = env
    r = http.post("/intake/v1/plans", headers=KM, json=_plan_body(_fresh_client(http, 201), 12.5))
    assert _problem(r, 422)["errors"][0]["field"] == "budget.lines.0.amount"


def test_amounts_with_three_decimals_are_refused(env):
    _runtime, http, case = env
    r = http.post(f"/budget/v1/budgets/{case.budget_id}/invoices", headers=FIN, json={
        "budget_line_id": case.budget_line_id, "invoice_number": "D-3", "provider_id": "p", "provider_name": "p",
        "provider_iban": "NL91ABNA0417164300", "amount": "10.005"})
    assert _problem(r, 422)["errors"][0]["field"] == "amount"


def test_an_activity_ending_before_it_starts_leaves_no_plan_behind(env):
    runtime, http, _case = env
    before = (_count(runtime, Plan), _count(runtime, PlanVersion))
    body = _plan_body(_fresh_client(http, 202))
    activity = body["structure"]["activities"][0]
    activity["start"], activity["end"] = activity["end"], activity["start"]
    r = http.post("/intake/v1/plans", headers=KM, json=body)
    error = _problem(r, 422)["errors"][0]
    assert error["field"] == "structure.activities.0" and "end" in error["message"]
    assert (_count(runtime, Plan), _count(runtime, PlanVersion)) == before


def test_an_over_budget_invoice_is_refused_and_writes_nothing(env):
    runtime, http, case = env
    invoices, outbox = _count(runtime, Invoice), _count(runtime, bus_tables("budget").outbox)
    r = http.post(f"/budget/v1/budgets/{case.budget_id}/invoices", headers=FIN, json={
        "budget_line_id": case.budget_line_id, "invoice_number": "BIG-1", "provider_id": "coach-bv",
        "provider_name": "Coach BV",
        "provider_iban": "NL91ABNA0417164300", "amount": "5000.00"})
    assert _problem(r, 422)["code"] == "invoice.over_budget"
    assert (_count(runtime, Invoice), _count(runtime, bus_tables("budget").outbox)) == (invoices, outbox)


def test_a_duplicate_invoice_number_is_a_conflict_and_writes_nothing(env):
    runtime, http, case = env
    before = (_count(runtime, Invoice), _count(runtime, bus_tables("budget").outbox))
    r = http.post(f"/budget/v1/budgets/{case.budget_id}/invoices", headers=FIN, json={
        "budget_line_id": case.budget_line_id, "invoice_number": "INV-11", "provider_id": "coach-bv",
        "provider_name": "Coach BV", "provider_iban": "NL91ABNA0417164300", "amount": "1.00"})
    assert _problem(r, 409)["code"] == "invoice.duplicate"
    assert (_count(runtime, Invoice), _count(runtime, bus_tables("budget").outbox)) == before


def test_an_invalid_iban_is_refused(env):
    _runtime, http, case = env
    r = http.post(f"/budget/v1/budgets/{case.budget_id}/invoices", headers=FIN, json={
        "budget_line_id": case.budget_line_id, "invoice_number": "IB-1", "provider_id": "p", "provider_name": "p",
        "provider_iban": "NL91ABNA0417164301", "amount": "1.00"})
    assert _problem(r, 422)["errors"][0]["field"] == "provider_iban"


def test_a_decision_on_a_plan_that_changed_meanwhile_is_a_conflict(env):
    _runtime, http, _case = env
    plan = http.post("/intake/v1/plans", headers=KM, json=_plan_body(_fresh_client(http, 203))).json()
    assert http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=KM, json={"plan_version": 1}).status_code == 200
    r = http.post(f"/intake/v1/plans/{plan['id']}/decisions", headers=KM, json={"plan_version": 1, "kind": "approve"})
    body = _problem(r, 409)
    assert body["code"] == "plan.changed_meanwhile" and body["errors"][0]["field"] == "plan_version"
    assert http.get(f"/intake/v1/plans/{plan['id']}", headers=KM).json()["status"] == "submitted"


def test_granting_more_than_asked_is_refused(env):
    _runtime, http, _case = env
    plan = http.post("/intake/v1/plans", headers=KM, json=_plan_body(_fresh_client(http, 204))).json()
    line_id = plan["content"]["budget"]["lines"][0]["id"]
    v = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers=KM, json={"plan_version": 1}).json()["version"]
    r = http.post(f"/intake/v1/plans/{plan['id']}/decisions", headers=KM, json={
        "plan_version": v, "kind": "approve", "granted": {line_id: "10.01"}})
    body = _problem(r, 422)
    assert body["code"] == "review.grant_above_asked" and body["errors"][0]["field"] == f"granted.{line_id}"


def test_an_unknown_event_version_becomes_a_dead_letter_with_the_reason_and_no_effect(env):
    runtime, _http, _case = env
    event = event_of("InvoicePaid", tenant="0014", subject="p", producer="budget", correlation_id="c",
                      payload={"invoice_id": "i", "budget_id": "b", "plan_id": "p", "client_id": "c",
                               "amount_cents": 1, "paid_on": "2026-01-01"}).model_dump(mode="json")
    event["version"] = 3
    entries = _count(runtime, LedgerEntry)
    outcome = consume(runtime.engine, "monitoring", json.dumps(event), load_service("monitoring").event_handlers)
    assert outcome == Outcome.DEAD_LETTERED
    letter = [d for d in list_dead_letters(runtime.engine, service="monitoring") if d.event_id == event["event_id"]]
    assert "InvoicePaid version 3 is not supported" in letter[0].reason
    assert _count(runtime, LedgerEntry) == entries


def test_garbage_on_the_queue_becomes_a_dead_letter(env):
    runtime, _http, _case = env
    assert consume(runtime.engine, "budget", "{not json", {}) == Outcome.DEAD_LETTERED
    assert any(d.reason.startswith("invalid event") for d in list_dead_letters(runtime.engine, service="budget"))


def test_unknown_routes_answer_problem_json(env):
    _runtime, http, _case = env
    _problem(http.get("/intake/v1/nothing-here", headers=KM), 404)
