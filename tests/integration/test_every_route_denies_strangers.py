"""Generated from budget's, monitoring's and notifications' OpenAPI: every operation is walked with
the ids of a victim in Groningen, as every stranger: each role of another municipality, another
client, another provider and a chain partner. A route with an id in its path refuses (403/404,
problem+json); a list answers only the caller's own; nothing of the victim is changed; no answer
shows the victim's ids except as the refused request's `instance`. A new route, or a new id in a
path, fails the walk until it is given a victim record and a sample body here (monitoring's bodies
are made from its OpenAPI schemas, as in monitoring/test_every_route_scoped.py). (Intake has its own
walker: tests/integration/intake/test_bad_input_and_access.py; partner scopes and other partners:
test_every_route_checks_partner_scopes.py.)"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from services.budget.queued_jobs import run_queued_jobs
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import ClientCase, api_client, make_case

SERVICES = ("budget", "monitoring", "notifications")
GRONINGEN, UTRECHT = "0014", "0344"
FIN = auth("finance", GRONINGEN, subject="fin-0014")
INVOICE = {"invoice_number": "ATT-1", "provider_id": "coach-bv", "provider_name": "Coach BV",
           "provider_iban": "NL91ABNA0417164300", "amount": "1.00"}


@dataclass
class World:
    http: Any
    runtime: Any
    victim: ClientCase
    other: ClientCase
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("strangers"), environment="test"))
    http = api_client(runtime)
    victim, other = make_case(http, runtime, GRONINGEN, 41), make_case(http, runtime, GRONINGEN, 42)
    make_case(http, runtime, UTRECHT, 43)
    invoice = http.get(f"/budget/v1/invoices/{victim.invoice_id}", headers=FIN).json()
    if invoice["status"] == "awaiting_client":
        assert http.post(f"/budget/v1/invoices/{victim.invoice_id}/confirm", headers=victim.headers()).status_code == 200
    assert http.post(f"/budget/v1/invoices/{victim.invoice_id}/approve", headers=FIN).status_code == 200
    day = (runtime.clock.today() + timedelta(days=1)).isoformat()
    run = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": day})
    assert run.status_code == 201, run.text
    job = http.post("/budget/v1/invoices/upload-jobs", headers=FIN,
                    json=[{**INVOICE, "invoice_number": "J-1", "budget_line_id": victim.budget_line_id}])
    assert job.status_code == 202, job.text
    with runtime.uow("budget") as uow:
        run_queued_jobs(uow)
    batch = http.post("/budget/v1/invoices/bulk", headers=FIN,
                      json=[{**INVOICE, "invoice_number": "B-1", "budget_line_id": victim.budget_line_id}])
    assert batch.status_code in (200, 207), batch.text
    drain(runtime)
    messages = http.get("/notifications/v1/messages", headers=victim.headers()).json()
    assert messages, "the victim has messages (the plan's decision)"
    provider = auth("provider", GRONINGEN, subject="coach-bv", provider_id="coach-bv")
    registered = http.post("/budget/v1/providers", headers=FIN, json={
        "kvk": "12345678", "name": "Coach BV", "iban": "NL91ABNA0417164300"})
    assert registered.status_code == 201, registered.text
    subscription = http.post("/notifications/v1/webhooks/subscriptions", headers=provider, json={
        "callback_url": "http://127.0.0.1:9/hook", "event_types": ["InvoicePaid"]})
    assert subscription.status_code == 201, subscription.text
    km = auth("case_manager", GRONINGEN)
    plan_url = f"/monitoring/v1/trajectories/{victim.plan_id}"
    conversation = http.post(f"{plan_url}/conversations", headers=km, json={"planned_on": day})
    milestone = http.post(f"{plan_url}/milestones", headers=km, json={"title": "Cv klaar", "due_on": day})
    experiment = http.post("/monitoring/v1/experiments", headers=auth("team_lead", GRONINGEN), json={
        "name": "Meer vrijheid", "assignment": "lottery",
        "groups": [{"key": "control", "name": "Controle", "control": True}, {"key": "free", "name": "Vrij"}]})
    for made in (conversation, milestone, experiment):
        assert made.status_code == 201, made.text
    ids = {
        "plan_id": victim.plan_id, "report_id": str(victim.report_id),
        "conversation_id": conversation.json()["id"], "milestone_id": milestone.json()["id"],
        "experiment_id": experiment.json()["id"], "chart": "outcomes", "image": "svg",
        # No draw and no report attachment in this world (monitoring/test_experiments.py and
        # test_progress.py cover their owners): an id that exists nowhere stands in.
        "draw_id": str(uuid.uuid4()), "attachment_id": str(uuid.uuid4()),
        "budget_id": victim.budget_id, "invoice_id": victim.invoice_id, "payment_run_id": run.json()["id"],
        "job_id": job.json()["id"], "batch_id": batch.json()["batch_id"], "message_id": messages[0]["id"],
        "subscription_id": subscription.json()["id"], "provider_id": registered.json()["id"],
        # No statement or webhook delivery in this world: an id that exists nowhere stands in, so the
        # walk still proves a stranger gets a refusal (see OWNED_ELSEWHERE).
        "bank_statement_id": str(uuid.uuid4()), "delivery_id": str(uuid.uuid4()),
    }
    return World(http, runtime, victim, other, ids)


# Ids this world has no real record for; the routes' own tests cover their owners
# (budget/test_bank_reconciliation.py, notifications/test_webhooks.py).
OWNED_ELSEWHERE = {"bank_statement_id", "delivery_id", "draw_id", "attachment_id"}


# What a stranger may do by design, and where that is proven: a provider invoices an order (a budget
# line) by its reference; a line that names no KvK holds such an invoice for the client's confirmation
# (budget/test_found_in_review.py: ..._on_a_line_without_kvk_waits_for_the_clients_confirmation).
BY_DESIGN = {
    ("another provider", "POST", "/budget/v1/budgets/{budget_id}/invoices"),
    ("another provider", "POST", "/budget/v1/invoices"),
    ("another provider", "POST", "/budget/v1/invoices/bulk"),
    ("another provider", "POST", "/budget/v1/invoices/upload-jobs"),
}


def sample_bodies(w: World) -> dict[tuple[str, str], dict[str, Any]]:
    """A valid body per write route, naming the victim's records: a refusal is then the route's
    authorisation, not a body check."""
    line = w.victim.budget_line_id
    day = (w.runtime.clock.today() + timedelta(days=1)).isoformat()
    return {
        ("POST", "/budget/v1/invoices"): {"json": {**INVOICE, "budget_line_id": line}},
        ("POST", "/budget/v1/budgets/{budget_id}/invoices"): {"json": {**INVOICE, "budget_line_id": line}},
        ("POST", "/budget/v1/invoices/bulk"): {"json": [{**INVOICE, "budget_line_id": line}]},
        ("POST", "/budget/v1/invoices/ubl"): {"content": b"<Invoice/>", "headers": {"Content-Type": "application/xml"}},
        ("POST", "/budget/v1/invoices/ubl/bulk"): {"files": {"files": ("a.xml", b"<Invoice/>", "application/xml")}},
        ("POST", "/budget/v1/budgets/{budget_id}/forwarded-invoices"): {
            "data": {"budget_line_id": line, "provider_name": "Coach BV", "provider_iban": "NL91ABNA0417164300",
                     "invoice_number": "F-1", "amount_excl_vat": "1.00"},
            "files": {"file": ("rekening.pdf", b"%PDF-1.4 rekening", "application/pdf")}},
        ("POST", "/budget/v1/budgets/{budget_id}/declarations"): {
            "data": {"budget_line_id": line, "amount": "5.00", "paid_on": w.runtime.clock.today().isoformat(),
                     "client_iban": "NL91ABNA0417164300", "account_holder": "X", "description": "Boek",
                     "provider_name": "Boekhandel"},
            "files": {"receipt": ("bon.pdf", b"%PDF-1.4 bon", "application/pdf")}},
        ("POST", "/budget/v1/payment-runs/jobs"): {"json": {"execution_date": day}},
        ("POST", "/budget/v1/invoices/upload-jobs"): {"json": [{**INVOICE, "budget_line_id": line}]},
        ("POST", "/budget/v1/bank-statements"): {"content": b"<Document/>", "headers": {"Content-Type": "application/xml"}},
        ("PUT", "/budget/v1/finance-policy"): {"json": {"invoice_four_eyes_threshold": "1.00"}},
        ("POST", "/budget/v1/budgets/{budget_id}/orders"): {"json": {
            "budget_line_id": line, "order_reference": "O-1", "provider_name": "Coach BV", "amount": "1.00"}},
        ("POST", "/budget/v1/budgets/{budget_id}/periodic-payments"): {"json": {
            "budget_line_id": line, "payee_kind": "employer", "payee_name": "Werkgever BV",
            "payee_iban": "NL91ABNA0417164300", "monthly_amount": "1.00", "first_due": day, "months": 2}},
        ("POST", "/budget/v1/invoices/approve"): {"json": {"invoice_ids": [w.victim.invoice_id]}},
        ("POST", "/budget/v1/invoices/{invoice_id}/confirm"): {},
        ("POST", "/budget/v1/invoices/{invoice_id}/approve"): {},
        ("POST", "/budget/v1/invoices/{invoice_id}/reject"): {"json": {"reason": "Nee"}},
        ("POST", "/budget/v1/invoices/{invoice_id}/credit-notes"): {"json": {"amount": "1.00", "reason": "Te veel"}},
        ("POST", "/budget/v1/invoices/{invoice_id}/mark-paid"): {"json": {"paid_on": w.runtime.clock.today().isoformat()}},
        ("POST", "/budget/v1/payment-runs"): {"json": {"execution_date": day}},
        ("POST", "/budget/v1/payment-runs/{payment_run_id}/confirm"): {"json": {"paid_on": day}},
        ("POST", "/budget/v1/providers"): {"json": {"kvk": "87654321", "name": "Ander BV",
                                                     "iban": "NL91ABNA0417164300"}},
        ("PATCH", "/budget/v1/providers/{provider_id}"): {"json": {"version": 1, "status": "suspended"}},
        ("POST", "/notifications/v1/messages/{message_id}/read"): {},
        ("PUT", "/notifications/v1/settings"): {"json": {}},
        ("PUT", "/notifications/v1/preferences"): {"json": {"sms": False}},
        ("POST", "/notifications/v1/webhooks/subscriptions"): {"json": {
            "callback_url": "http://127.0.0.1:9/other", "event_types": ["InvoicePaid"]}},
        ("DELETE", "/notifications/v1/webhooks/subscriptions/{subscription_id}"): {},
        ("POST", "/notifications/v1/webhooks/subscriptions/{subscription_id}/ping"): {},
        ("POST", "/notifications/v1/webhooks/deliveries/{delivery_id}/replay"): {},
        ("POST", "/notifications/v1/webhooks/subscriptions/{subscription_id}/resume"): {},
    }


def monitoring_body(w: World, method: str, path: str) -> dict[str, Any]:
    """Monitoring's bodies from its OpenAPI schemas (the required fields, plain values), a file
    for the uploads: valid enough that a refusal is the route's authorisation."""
    spec = w.http.get("/monitoring/v1/openapi.json").json()
    content = spec["paths"][path.removeprefix("/monitoring")][method.lower()].get("requestBody", {}).get("content", {})
    if "multipart/form-data" in content:
        return {"files": {"file": ("bewijs.pdf", b"%PDF-1.4 bewijs", "application/pdf")}}
    if "application/json" not in content:
        return {}
    return {"json": _example(content["application/json"]["schema"], spec, (w.runtime.clock.today()).isoformat())}


def _example(schema: dict[str, Any], spec: dict[str, Any], today: str) -> Any:
    if "$ref" in schema:
        return _example(spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], spec, today)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return _example(options[0], spec, today) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _example(props[name], spec, today) for name in schema.get("required", [])}
    if kind == "array":
        return [_example(schema.get("items", {}), spec, today)] * max(1, schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return today
    return "x" * max(1, schema.get("minLength", 1))


# Path parameters that name no record: a chart of the caller's own municipality's benchmark (its
# cells suppressed below the minimum size) in a format.
NOT_RECORDS = {"chart", "image"}


def names_a_record(path: str) -> bool:
    return any(name not in NOT_RECORDS for name in re.findall(r"{(\w+)}", path))


def operations(w: World) -> list[tuple[str, str]]:
    found = []
    for service in SERVICES:
        for path, ops in w.http.get(f"/{service}/v1/openapi.json").json()["paths"].items():
            found += [(method.upper(), f"/{service}{path}") for method in ops]
    return sorted(found)


def url_of(w: World, path: str) -> str:
    out = path
    while "{" in out:
        name = out[out.index("{") + 1 : out.index("}")]
        assert name in w.ids, f"{path}: give `{name}` a victim record in this test's world"
        out = out.replace("{" + name + "}", w.ids[name])
    return out


def call(w: World, method: str, path: str, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {}
    if method in ("POST", "PUT", "PATCH") and path.startswith("/monitoring/"):
        kwargs = monitoring_body(w, method, path)
    elif method in ("POST", "PUT", "PATCH"):
        samples = sample_bodies(w)
        assert (method, path) in samples, f"{method} {path}: give this new route a sample body here"
        kwargs = dict(samples[(method, path)])
    headers = {**headers, **kwargs.pop("headers", {})}
    return w.http.request(method, url_of(w, path), headers=headers, **kwargs)


def strangers(w: World) -> dict[str, dict[str, str]]:
    found = {f"{role}@{UTRECHT}": auth(role, UTRECHT, subject=f"{role}-utrecht")
             for role in ("case_manager", "team_lead", "finance", "policy", "ops", "partner")}
    found["provider@utrecht, same provider id"] = auth("provider", UTRECHT, subject="coach-bv", provider_id="coach-bv")
    found["another client"] = w.other.headers()
    found["another provider"] = auth("provider", GRONINGEN, subject="other-bv", provider_id="other-bv")
    found["a chain partner"] = auth("partner", GRONINGEN, subject="partner-uwv")
    return found


def snapshot(w: World) -> dict[str, list[str]]:
    """Every row of budget's and notifications' own tables that names one of the victim's records
    (the audit trail of reads aside): what a stranger changed, or made on the victim's records."""
    victim = {w.victim.client_id, w.victim.plan_id, w.victim.budget_id, w.victim.budget_line_id,
              w.victim.invoice_id, *(v for k, v in w.ids.items() if k not in ("chart", "image"))}
    out: dict[str, list[str]] = {}
    with w.runtime.engine.connect() as conn:
        inspector = sa.inspect(conn)
        for schema in SERVICES:
            for name in inspector.get_table_names(schema=schema):
                if "audit" in name or name.startswith("alembic"):
                    continue
                table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
                rows = conn.execute(sa.select(table)).mappings()
                out[f"{schema}.{name}"] = sorted(str(dict(r)) for r in rows if victim & {str(v) for v in r.values()})
    return out


def test_the_walk_covers_every_operation_and_every_id_in_a_path(world):
    for method, path in operations(world):
        url_of(world, path)
        if method in ("POST", "PUT", "PATCH") and not path.startswith("/monitoring/"):
            assert (method, path) in sample_bodies(world), f"{method} {path}: give this new route a sample body"


def test_the_owners_read_every_record_of_the_world(world):
    """The control: the ids are real and the routes answer their owners."""
    w = world
    owner = {"message_id": w.victim.headers(), "subscription_id": auth("provider", GRONINGEN, subject="coach-bv",
                                                                        provider_id="coach-bv")}
    for method, path in operations(w):
        names = {p[1:-1] for p in path.split("/") if p.startswith("{")}
        # A JSON invoice has no document; the subscription has made no deliveries yet.
        if method != "GET" or not names or names & OWNED_ELSEWHERE or path.endswith(("/document", "/deliveries")):
            continue
        staff = auth("team_lead", GRONINGEN) if path.startswith("/monitoring/") else FIN
        headers = next((owner[n] for n in names if n in owner), staff)
        r = call(w, method, path, headers)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])


@pytest.mark.parametrize("who", ["case_manager@0344", "team_lead@0344", "finance@0344", "policy@0344", "ops@0344",
                                 "partner@0344", "provider@utrecht, same provider id", "another client",
                                 "another provider", "a chain partner"])
def test_a_stranger_reaches_nothing_of_the_victim_through_any_route(world, who):
    w = world
    headers = strangers(w)[who]
    victim_ids = {w.victim.client_id, w.victim.plan_id, w.victim.budget_id, w.victim.invoice_id}
    before = snapshot(w)
    problems = []
    for method, path in operations(w):
        if (who, method, path) in BY_DESIGN:
            continue
        r = call(w, method, path, headers)
        where = f"{method} {path}: {r.status_code} {r.text[:200]}"
        if r.status_code >= 500:
            problems.append(where)
        elif names_a_record(path):
            if r.status_code not in (403, 404) or r.headers["content-type"] != "application/problem+json":
                problems.append(where)
        elif r.status_code < 300 and r.headers.get("content-type", "").startswith("application/json"):
            answer = r.json()
            if isinstance(answer, list) and method == "POST":  # a bulk answer echoes refused references
                answer = [item for item in answer if not str(item.get("code", "")).endswith("not_found")]
            if shown := [i for i in victim_ids if i in str(answer)]:
                problems.append(f"{where} shows the victim's {shown}")
        elif r.status_code < 300 and (shown := [i for i in victim_ids if i in r.text]):
            problems.append(f"{where} shows the victim's {shown}")
    assert problems == [], f"{who}:\n" + "\n".join(problems)
    assert snapshot(w) == before, f"{who} changed something of the victim's"
