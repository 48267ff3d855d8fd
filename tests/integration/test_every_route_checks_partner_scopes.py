"""Generated from every service's OpenAPI (intake, budget, monitoring, notifications): each operation
is walked with partner application tokens (issue 13), to prove

- a partner without the scope a route needs gets 403 `auth.scope_missing` naming it, and a route
  partners have no business with is a 403 (or a 404) whatever scopes the token carries; never a 2xx,
  and a refused write leaves every table of every service as it was (counted);
- a partner with only the needed scope gets past that check (the control);
- a partner of another organisation finds none of the first partner's records: its clients,
  progress reports, invoices' budget lines and webhook subscriptions are 404s (or refusals), and
  its lists show none of them.

The expected scope of every operation is one table, `PARTNER_SCOPE`; a route that declares a scope
in its dependencies (`shared.access.scope_required`) must say the same there. A new route fails
the walk until it has its line in the table. The OAuth2 token endpoint takes client credentials,
not a bearer token: tests/integration/intake/test_bad_input_and_access.py walks it.
(Other municipalities and other clients: test_every_route_denies_strangers.py, the intake and
monitoring walkers.)"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute

from eigenregie.bootstrap import SERVICES, load_service
from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
from eigenregie.initial_data import test_bsn as bsn_for
from shared.access import Scope
from shared.config import Settings
from shared.web import create_service_app
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import ASSESSMENTS, api_client

GRONINGEN = "0014"
OPS, KM, FIN = auth("ops", GRONINGEN), auth("case_manager", GRONINGEN), auth("finance", GRONINGEN)
KVK_A, KVK_B = "12345678", "87654321"
TOKEN_ROUTE = ("POST", "/intake/v1/oauth/token")
INVOICES, PROGRESS, CLIENTS, WEBHOOKS = (Scope.INVOICES_WRITE, Scope.PROGRESS_WRITE, Scope.CLIENTS_READ_OWN,
                                         Scope.WEBHOOKS_MANAGE)
HANDOVERS = Scope.HANDOVERS_WRITE
NONE = None  # no partner business: refused whatever scopes the token carries
OWN: Literal["own"] = "own"  # any signed-in caller, answered with the caller's own records only
Need = Scope | Literal["own"] | None

# The scope each operation needs of a partner token; NONE: partners may not use it at all.
PARTNER_SCOPE: dict[tuple[str, str], Need] = {
    # intake
    ("GET", "/intake/v1/policy"): NONE,
    ("PUT", "/intake/v1/policy"): NONE,
    ("PATCH", "/intake/v1/policy"): NONE,
    ("GET", "/intake/v1/policy/changes"): NONE,
    ("GET", "/intake/v1/policy/presets"): NONE,
    ("POST", "/intake/v1/clients"): NONE,
    ("GET", "/intake/v1/clients"): NONE,
    ("POST", "/intake/v1/clients/search"): NONE,
    ("GET", "/intake/v1/clients/{client_id}"): NONE,
    ("PATCH", "/intake/v1/clients/{client_id}"): NONE,
    ("GET", "/intake/v1/clients/{client_id}/contact"): NONE,
    ("GET", "/intake/v1/clients/{client_id}/eligibility"): NONE,
    ("POST", "/intake/v1/clients/{client_id}/representatives"): NONE,
    ("GET", "/intake/v1/clients/{client_id}/representatives"): NONE,
    ("DELETE", "/intake/v1/clients/{client_id}/representatives/{representative_id}"): NONE,
    ("POST", "/intake/v1/clients/{client_id}/contacts"): NONE,
    ("GET", "/intake/v1/clients/{client_id}/contacts"): NONE,
    ("GET", "/intake/v1/candidates"): NONE,
    ("POST", "/intake/v1/clients/{client_id}/orientation"): NONE,
    ("GET", "/intake/v1/clients/{client_id}/orientation"): NONE,
    ("POST", "/intake/v1/plans"): NONE,
    ("GET", "/intake/v1/plans"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}"): NONE,
    ("PUT", "/intake/v1/plans/{plan_id}"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/versions"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/versions/{number}"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/checks"): NONE,
    ("POST", "/intake/v1/plans/{plan_id}/submit"): NONE,
    ("POST", "/intake/v1/plans/{plan_id}/attachments"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/attachments"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/attachments/{attachment_id}"): NONE,
    ("GET", "/intake/v1/reviews"): NONE,
    ("POST", "/intake/v1/plans/{plan_id}/decisions"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/decisions"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/decision-letter"): NONE,
    ("POST", "/intake/v1/plans/{plan_id}/objections"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/objections"): NONE,
    ("POST", "/intake/v1/plans/{plan_id}/changes"): NONE,
    ("GET", "/intake/v1/plans/{plan_id}/changes"): NONE,
    ("POST", "/intake/v1/plans/{plan_id}/changes/{change_id}/decision"): NONE,
    ("POST", "/intake/v1/plans/{plan_id}/close"): NONE,
    ("POST", "/intake/v1/partner-apps"): NONE,
    ("GET", "/intake/v1/partner-apps"): NONE,
    ("GET", "/intake/v1/partner-apps/{app_id}"): NONE,
    ("DELETE", "/intake/v1/partner-apps/{app_id}"): NONE,
    ("POST", "/intake/v1/partner-apps/{app_id}/rotate-secret"): NONE,
    ("POST", "/intake/v1/clients/{client_id}/consents"): NONE,
    ("GET", "/intake/v1/clients/{client_id}/consents"): NONE,
    ("POST", "/intake/v1/clients/{client_id}/consents/{consent_id}/withdraw"): NONE,
    ("GET", "/intake/v1/partner/clients"): CLIENTS,
    ("GET", "/intake/v1/partner/clients/{client_id}"): CLIENTS,
    ("POST", "/intake/v1/policy/contracted-providers"): NONE,
    ("POST", "/intake/v1/policy/scheme-presets/pib"): NONE,
    ("POST", "/intake/v1/partner/handovers"): HANDOVERS,
    ("GET", "/intake/v1/partner/handovers"): HANDOVERS,
    ("GET", "/intake/v1/partner/handovers/{handover_id}"): HANDOVERS,
    ("GET", "/intake/v1/handovers"): NONE,
    ("GET", "/intake/v1/handovers/{handover_id}"): NONE,
    ("POST", "/intake/v1/handovers/{handover_id}/accept"): NONE,
    ("POST", "/intake/v1/handovers/{handover_id}/decline"): NONE,
    ("POST", "/intake/v1/clients/{client_id}/handovers"): NONE,
    ("GET", "/intake/v1/audit"): NONE,
    ("GET", "/intake/v1/audit/mine"): NONE,
    ("GET", "/intake/v1/audit/verify"): NONE,
    # budget
    ("POST", "/budget/v1/invoices"): INVOICES,
    ("GET", "/budget/v1/invoices"): NONE,
    ("POST", "/budget/v1/budgets/{budget_id}/invoices"): INVOICES,
    ("POST", "/budget/v1/invoices/bulk"): INVOICES,
    ("POST", "/budget/v1/invoices/ubl"): INVOICES,
    ("POST", "/budget/v1/invoices/ubl/bulk"): INVOICES,
    ("GET", "/budget/v1/invoice-batches/{batch_id}/results.csv"): NONE,
    ("POST", "/budget/v1/budgets/{budget_id}/forwarded-invoices"): NONE,
    ("POST", "/budget/v1/budgets/{budget_id}/declarations"): NONE,
    ("POST", "/budget/v1/payment-runs/jobs"): NONE,
    ("POST", "/budget/v1/invoices/upload-jobs"): NONE,
    ("GET", "/budget/v1/jobs"): NONE,
    ("GET", "/budget/v1/jobs/{job_id}"): NONE,
    ("GET", "/budget/v1/jobs/{job_id}/results.csv"): NONE,
    ("POST", "/budget/v1/bank-statements"): NONE,
    ("GET", "/budget/v1/bank-statements"): NONE,
    ("GET", "/budget/v1/bank-statements/{bank_statement_id}"): NONE,
    ("GET", "/budget/v1/finance-policy"): NONE,
    ("GET", "/budget/v1/providers"): NONE,
    ("GET", "/budget/v1/providers/{provider_id}"): NONE,
    ("POST", "/budget/v1/providers"): NONE,
    ("PATCH", "/budget/v1/providers/{provider_id}"): NONE,
    ("PUT", "/budget/v1/finance-policy"): NONE,
    ("GET", "/budget/v1/budgets"): NONE,
    ("GET", "/budget/v1/budgets/{budget_id}"): NONE,
    ("GET", "/budget/v1/budgets/{budget_id}/ledger"): NONE,
    ("GET", "/budget/v1/budgets/{budget_id}/statement"): NONE,
    ("POST", "/budget/v1/budgets/{budget_id}/orders"): NONE,
    ("GET", "/budget/v1/budgets/{budget_id}/orders"): NONE,
    ("POST", "/budget/v1/budgets/{budget_id}/periodic-payments"): NONE,
    ("GET", "/budget/v1/budgets/{budget_id}/periodic-payments"): NONE,
    ("GET", "/budget/v1/invoices/{invoice_id}/einvoice-warnings"): NONE,
    ("GET", "/budget/v1/approval-queue"): NONE,
    ("GET", "/budget/v1/invoices/{invoice_id}"): NONE,
    ("GET", "/budget/v1/invoices/{invoice_id}/supplier-contact"): NONE,
    ("GET", "/budget/v1/invoices/{invoice_id}/document"): NONE,
    ("POST", "/budget/v1/invoices/approve"): NONE,
    ("POST", "/budget/v1/invoices/{invoice_id}/confirm"): NONE,
    ("POST", "/budget/v1/invoices/{invoice_id}/approve"): NONE,
    ("POST", "/budget/v1/invoices/{invoice_id}/reject"): NONE,
    ("POST", "/budget/v1/invoices/{invoice_id}/credit-notes"): NONE,
    ("POST", "/budget/v1/invoices/{invoice_id}/mark-paid"): NONE,
    ("POST", "/budget/v1/payment-runs"): NONE,
    ("GET", "/budget/v1/payment-runs"): NONE,
    ("GET", "/budget/v1/payment-runs/{payment_run_id}"): NONE,
    ("GET", "/budget/v1/payment-runs/{payment_run_id}/pain001.xml"): NONE,
    ("POST", "/budget/v1/payment-runs/{payment_run_id}/confirm"): NONE,
    ("GET", "/budget/v1/audit"): NONE,
    ("GET", "/budget/v1/audit/mine"): NONE,
    ("GET", "/budget/v1/audit/verify"): NONE,
    # monitoring
    ("GET", "/monitoring/v1/trajectories"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/progress-reports"): PROGRESS,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/progress-reports"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/progress-reports/{report_id}/attachments"): PROGRESS,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/progress-reports/{report_id}/attachments/{attachment_id}"): NONE,
    ("PUT", "/monitoring/v1/trajectories/{plan_id}/report-schedule"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/report-schedule"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/conversations"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/conversations"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/conversations/{conversation_id}/held"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/conversations/{conversation_id}/cancel"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/milestones"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/milestones"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/milestones/{milestone_id}/reached"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/time-entries"): NONE,
    ("GET", "/monitoring/v1/follow-ups"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/outcomes"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/outcomes"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/outcome-state"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/durability-checks"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/durability-checks"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/aftercare"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/aftercare"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/client-voice"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/client-voice"): NONE,
    ("PUT", "/monitoring/v1/trajectories/{plan_id}/registration"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/registration"): NONE,
    ("POST", "/monitoring/v1/trajectories/{plan_id}/costs"): NONE,
    ("GET", "/monitoring/v1/trajectories/{plan_id}/costs"): NONE,
    ("GET", "/monitoring/v1/benchmark"): NONE,
    ("GET", "/monitoring/v1/benchmark/settings"): NONE,
    ("PUT", "/monitoring/v1/benchmark/settings"): NONE,
    ("GET", "/monitoring/v1/benchmark/charts/{chart}.{image}"): NONE,
    ("POST", "/monitoring/v1/experiments"): NONE,
    ("GET", "/monitoring/v1/experiments"): NONE,
    ("GET", "/monitoring/v1/experiments/{experiment_id}"): NONE,
    ("POST", "/monitoring/v1/experiments/{experiment_id}/draws"): NONE,
    ("GET", "/monitoring/v1/experiments/{experiment_id}/draws"): NONE,
    ("GET", "/monitoring/v1/experiments/{experiment_id}/draws/{draw_id}"): NONE,
    ("POST", "/monitoring/v1/experiments/{experiment_id}/choices"): NONE,
    ("GET", "/monitoring/v1/experiments/{experiment_id}/assignments"): NONE,
    ("GET", "/monitoring/v1/experiments/{experiment_id}/results"): NONE,
    ("GET", "/monitoring/v1/research-export"): NONE,
    ("GET", "/monitoring/v1/research-exports"): NONE,
    ("GET", "/monitoring/v1/audit"): NONE,
    ("GET", "/monitoring/v1/audit/mine"): NONE,
    ("GET", "/monitoring/v1/audit/verify"): NONE,
    # notifications
    # The caller's own messages (a partner application has none); staff filter by client.
    ("GET", "/notifications/v1/messages"): OWN,
    ("POST", "/notifications/v1/messages/{message_id}/read"): NONE,
    ("GET", "/notifications/v1/deliveries"): NONE,
    ("GET", "/notifications/v1/settings"): NONE,
    ("PUT", "/notifications/v1/settings"): NONE,
    ("GET", "/notifications/v1/preferences"): NONE,
    ("PUT", "/notifications/v1/preferences"): NONE,
    ("GET", "/notifications/v1/mailbox"): NONE,
    ("POST", "/notifications/v1/webhooks/subscriptions"): WEBHOOKS,
    ("GET", "/notifications/v1/webhooks/subscriptions"): WEBHOOKS,
    ("GET", "/notifications/v1/webhooks/subscriptions/{subscription_id}"): WEBHOOKS,
    ("DELETE", "/notifications/v1/webhooks/subscriptions/{subscription_id}"): WEBHOOKS,
    ("POST", "/notifications/v1/webhooks/subscriptions/{subscription_id}/ping"): WEBHOOKS,
    ("GET", "/notifications/v1/webhooks/subscriptions/{subscription_id}/deliveries"): WEBHOOKS,
    ("POST", "/notifications/v1/webhooks/deliveries/{delivery_id}/replay"): WEBHOOKS,
    ("POST", "/notifications/v1/webhooks/subscriptions/{subscription_id}/resume"): WEBHOOKS,
    ("GET", "/notifications/v1/audit"): NONE,
    ("GET", "/notifications/v1/audit/mine"): NONE,
    ("GET", "/notifications/v1/audit/verify"): NONE,
}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class World:
    runtime: Any
    http: Any
    a: dict[str, str]  # partner A's application id and the ids of its records
    b_app_id: str
    specs: dict[str, Any]
    tables: list[sa.Table]


def _app(http, kvk: str) -> str:
    r = http.post("/intake/v1/partner-apps", headers=OPS, json={
        "name": f"Partner {kvk}", "organisation_kvk": kvk, "kind": "reintegration_company",
        "allowed_scopes": [scope.value for scope in Scope]})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def partner(app_id: str, kvk: str, scopes: list[Scope] | tuple[Scope, ...]) -> dict[str, str]:
    """A token as the token endpoint gives it: the application's id, its organisation, these scopes."""
    return auth("partner", GRONINGEN, subject=app_id, organisation_kvk=kvk, scopes=[s.value for s in scopes])


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("partner-scopes"), environment="test"))
    http = api_client(runtime)
    app_a, app_b = _app(http, KVK_A), _app(http, KVK_B)
    a = partner(app_a, KVK_A, tuple(Scope))
    r = http.post("/intake/v1/clients", headers=KM, json={"bsn": bsn_for(7301), "client_number": "K7301",
                                                       "name": "Client 7301", "facts": ELIGIBLE_FACTS})
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    own = auth("client", GRONINGEN, subject="client-7301", client_id=client_id)
    r = http.post(f"/intake/v1/clients/{client_id}/consents", headers=own,
                  json={"partner_kvk": KVK_A, "purpose": "progress_reporting"})
    assert r.status_code == 201, r.text
    body = {"client_id": client_id, **example_plan("Plan", [("Coaching", "coaching", "Partner A", "1000.00")])}
    body["budget"]["lines"][0]["provider_kvk"] = KVK_A
    r = http.post("/intake/v1/plans", headers=KM, json=body)
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]
    r = http.post(f"/intake/v1/plans/{plan_id}/submit", headers=KM, json={"plan_version": 1})
    assert r.status_code == 200, r.text
    r = http.post(f"/intake/v1/plans/{plan_id}/decisions", headers=KM, json={
        "plan_version": r.json()["version"], "kind": "approve", "assessments": ASSESSMENTS})
    assert r.status_code == 200, r.text
    drain(runtime)
    budget = http.get("/budget/v1/budgets", headers=FIN, params={"plan_id": plan_id}).json()[0]
    r = http.post(f"/monitoring/v1/trajectories/{plan_id}/progress-reports", headers=a,
                  json={"on_track": True, "summary": "Gaat goed"})
    assert r.status_code == 201, r.text
    report_id = r.json()["id"]
    r = http.post("/notifications/v1/webhooks/subscriptions", headers=a, json={
        "callback_url": "http://127.0.0.1:9/hook", "event_types": ["ProgressReported"]})
    assert r.status_code == 201, r.text
    subscription_id = r.json()["id"]
    r = http.post("/intake/v1/partner/handovers", headers=a, json=_handover(bsn_for(7303)))
    assert r.status_code == 201, r.text
    ids = {"app_id": app_a, "client_id": client_id, "plan_id": plan_id, "budget_id": budget["id"],
           "budget_line_id": budget["lines"][0]["id"], "report_id": report_id,
           "subscription_id": subscription_id, "handover_id": r.json()["id"]}
    with runtime.engine.connect() as conn:
        inspector = sa.inspect(conn)
        tables = [sa.Table(name, sa.MetaData(), schema=schema, autoload_with=conn)
                  for schema in SERVICES for name in inspector.get_table_names(schema=schema)]
    return World(runtime, http, ids, app_b, {}, tables)


def _handover(bsn: str) -> dict[str, Any]:
    """UWV's warm hand-over of a client to the municipality (tests/integration/intake/test_handovers.py)."""
    today = date.today()
    return {"bsn": bsn, "reason_code": "uwv_benefit_ending",
            "trajectory": {"benefit_type": "WW", "benefit_ends_on": today.isoformat(), "months_unemployed": 20,
                           "iro": False, "activities": []},
            "consent": {"given_on": today.isoformat(), "reference": "UWV-TOE-7303"}}


def operations(http) -> list[tuple[str, str]]:
    found = []
    for service in SERVICES:
        for path, ops in http.get(f"/{service}/v1/openapi.json").json()["paths"].items():
            found += [(method.upper(), f"/{service}{path}") for method in ops]
    return sorted(op for op in found if op != TOKEN_ROUTE)


def _routes(routes: list[Any], prefix: str = "", inherited: tuple[Any, ...] = ()) -> Iterator[tuple[str, Any, tuple]]:
    """Every APIRoute of a router, with its full path and the dependencies its routers add."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route, inherited
        elif hasattr(route, "original_router"):  # FastAPI keeps an included router as one entry
            context = route.include_context
            yield from _routes(route.original_router.routes, prefix + context.prefix,
                               (*inherited, *context.dependencies, *route.original_router.dependencies))


def _declared(dependant: Any) -> set[Scope]:
    found = {dependant.call.required_scope} if hasattr(dependant.call, "required_scope") else set()
    for sub in dependant.dependencies:
        found |= _declared(sub)
    return found


def declared_scopes(runtime) -> dict[tuple[str, str], set[Scope]]:
    """Per operation, the scopes its dependencies require (shared.access.scope_required)."""
    out: dict[tuple[str, str], set[Scope]] = {}
    for service in SERVICES:
        app = create_service_app(load_service(service), runtime)
        for path, route, inherited in _routes(list(app.routes)):
            scopes = _declared(route.dependant) | {
                dep.dependency.required_scope for dep in inherited if hasattr(dep.dependency, "required_scope")}
            for method in route.methods:
                out[(method, f"/{service}{path}")] = scopes
    return out


def _url(w: World, path: str, ids: dict[str, str]) -> str:
    # Ids the world has no record of stand in as new uuids: the refusal must come first anyway.
    fixed = {"number": "1", "chart": "outcomes", "image": "svg"}
    return re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1)) or fixed.get(m.group(1)) or str(uuid.uuid4()), path)


def _body(w: World, method: str, path: str) -> dict[str, Any]:
    """A body valid enough to reach the route's access checks."""
    if method not in ("POST", "PUT", "PATCH"):
        return {}
    line = w.a["budget_line_id"]
    invoice = {"invoice_number": "S-1", "provider_id": "x", "provider_name": "Partner A",
               "provider_iban": "NL91ABNA0417164300", "amount": "1.00", "budget_line_id": line}
    special: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/budget/v1/invoices"): {"json": invoice},
        ("POST", "/budget/v1/budgets/{budget_id}/invoices"): {"json": invoice},
        ("POST", "/budget/v1/invoices/bulk"): {"json": [invoice]},
        ("POST", "/budget/v1/invoices/ubl"): {"content": b"<Invoice/>", "headers": {"Content-Type": "application/xml"}},
        ("POST", "/budget/v1/invoices/ubl/bulk"): {"files": {"files": ("a.xml", b"<Invoice/>", "application/xml")}},
        ("POST", "/budget/v1/bank-statements"): {"content": b"<Document/>",
                                                 "headers": {"Content-Type": "application/xml"}},
        ("POST", "/intake/v1/policy/contracted-providers"): {"content": b"kvk;naam\n12345678;Werkfit BV\n",
                                                             "headers": {"Content-Type": "text/csv"}},
        ("POST", "/intake/v1/plans/{plan_id}/attachments"): {
            "files": {"file": ("extra.pdf", b"%PDF-1.4 extra", "application/pdf")}},
        ("POST", "/monitoring/v1/trajectories/{plan_id}/progress-reports"): {
            "json": {"on_track": True, "summary": "Nog een"}},
        ("POST", "/monitoring/v1/trajectories/{plan_id}/progress-reports/{report_id}/attachments"): {
            "files": {"file": ("bewijs.pdf", b"%PDF-1.4 bewijs", "application/pdf")}},
        ("PATCH", "/intake/v1/policy"): {"content": b'{"decision_term_weeks": 6}',
                                         "headers": {"Content-Type": "application/merge-patch+json"}},
        ("POST", "/intake/v1/clients"): {"json": {"bsn": bsn_for(7302), "client_number": "K7302", "name": "Nieuw",
                                                  "facts": ELIGIBLE_FACTS}},
        ("POST", "/intake/v1/clients/search"): {"json": {"bsn": bsn_for(7301)}},
        ("POST", "/intake/v1/partner-apps"): {"json": {"name": "Elders BV", "organisation_kvk": "11223344",
                                                       "kind": "coach", "allowed_scopes": ["clients:read-own"]}},
        ("POST", "/budget/v1/budgets/{budget_id}/periodic-payments"): {"json": {
            "budget_line_id": line, "payee_kind": "employer", "payee_name": "Werkgever BV",
            "payee_iban": "NL91ABNA0417164300", "monthly_amount": "1.00", "first_due": date.today().isoformat(),
            "months": 2}},
        ("POST", "/budget/v1/budgets/{budget_id}/forwarded-invoices"): {
            "data": {"budget_line_id": line, "provider_name": "Partner A", "provider_iban": "NL91ABNA0417164300",
                     "invoice_number": "F-1", "amount_excl_vat": "1.00"},
            "files": {"file": ("rekening.pdf", b"%PDF-1.4 rekening", "application/pdf")}},
        ("POST", "/budget/v1/budgets/{budget_id}/declarations"): {
            "data": {"budget_line_id": line, "amount": "5.00", "paid_on": date.today().isoformat(),
                     "client_iban": "NL91ABNA0417164300", "account_holder": "X", "description": "Boek",
                     "provider_name": "Boekhandel"},
            "files": {"receipt": ("bon.pdf", b"%PDF-1.4 bon", "application/pdf")}},
        ("POST", "/intake/v1/partner/handovers"): {"json": _handover(bsn_for(7304))},
        ("POST", "/intake/v1/clients/{client_id}/handovers"): {"json": {"partner_kvk": KVK_A,
                                                                        "reason_code": "uwv_benefit_ending"}},
        ("POST", "/budget/v1/providers"): {"json": {"kvk": "11223344", "name": "Elders BV",
                                                    "iban": "NL91ABNA0417164300", "status": "contracted"}},
        ("POST", "/notifications/v1/webhooks/subscriptions"): {"json": {
            "callback_url": "http://127.0.0.1:9/other", "event_types": ["ProgressReported"]}},
    }
    if (method, path) in special:
        return dict(special[(method, path)])
    return {"json": _example_body(w, method, path)}


def _spec(w: World, service: str) -> dict[str, Any]:
    if service not in w.specs:
        w.specs[service] = w.http.get(f"/{service}/v1/openapi.json").json()
    return w.specs[service]


def _example_body(w: World, method: str, path: str) -> Any:
    """The operation's JSON body from its OpenAPI schema: its required fields, each a plain value."""
    service, _, rest = path[1:].partition("/")
    spec = _spec(w, service)
    operation = spec["paths"]["/" + rest][method.lower()]
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return {}
    return _example(content["application/json"]["schema"], spec)


def _example(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _example(spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], spec)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return _example(options[0], spec) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: _example(props[name], spec) for name in schema.get("required", [])}
    if kind == "array":
        return [_example(schema.get("items", {}), spec)] * max(1, schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return True
    if schema.get("format") == "date":
        return date.today().isoformat()
    if schema.get("format") == "date-time":
        return f"{date.today().isoformat()}T12:00:00Z"
    if "pattern" in schema and "[0-9]" in schema["pattern"]:
        return "1" * max(1, schema.get("minLength", 1))
    return "x" * max(1, schema.get("minLength", 1))


def call(w: World, method: str, path: str, headers: dict[str, str], ids: dict[str, str] | None = None) -> Any:
    kwargs = _body(w, method, path)
    headers = {**headers, **kwargs.pop("headers", {})}
    return w.http.request(method, _url(w, path, w.a if ids is None else ids), headers=headers, **kwargs)


def counts(w: World) -> dict[str, int]:
    """Rows per table of every service's schema: what a refused write must leave as it was."""
    with w.runtime.engine.connect() as conn:
        return {table.fullname: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in w.tables}


def _problem(r: Any) -> dict[str, Any]:
    assert r.headers.get("content-type") == "application/problem+json", r.text[:200]
    body: dict[str, Any] = r.json()
    return body


# --- the table ---------------------------------------------------------------------------------


def test_the_table_names_every_operation_of_every_service(world):
    served = set(operations(world.http))
    missing = sorted(served - set(PARTNER_SCOPE))
    assert not missing, "say which scope a partner needs for these new routes (NONE: none may):\n" + "\n".join(
        f"{m} {p}" for m, p in missing)
    assert sorted(set(PARTNER_SCOPE) - served) == [], "routes no longer served"


def test_a_scope_a_route_declares_is_the_scope_the_table_expects(world):
    declared = declared_scopes(world.runtime)
    wrong = [f"{m} {p}: declares {sorted(declared[(m, p)])}, the table says {PARTNER_SCOPE[(m, p)]!r}"
             for (m, p) in PARTNER_SCOPE
             if (m, p) in declared and declared[(m, p)] and declared[(m, p)] != {PARTNER_SCOPE[(m, p)]}]
    assert wrong == []
    assert any(declared.values()), "the walk finds the routes' declared scopes"


# --- missing scopes ----------------------------------------------------------------------------


def test_a_partner_without_the_scope_a_route_needs_is_refused_and_nothing_is_written(world):
    w = world
    problems = []
    for method, path in operations(w.http):
        needed = PARTNER_SCOPE[(method, path)]
        # Every scope but the one needed (for routes no partner may use: every scope).
        headers = partner(w.a["app_id"], KVK_A, [s for s in Scope if s != needed])
        assert needed in (NONE, OWN) or isinstance(needed, Scope)
        before = counts(w) if method in WRITES else None
        r = call(w, method, path, headers)
        where = f"{method} {path}: {r.status_code} {r.text[:160]}"
        if needed == OWN:
            if r.status_code != 200 or r.json() != []:
                problems.append(where)
        elif needed is None:
            if r.status_code not in (403, 404) or r.headers.get("content-type") != "application/problem+json":
                problems.append(where)
        elif r.status_code != 403 or _problem(r).get("code") != "auth.scope_missing" or needed.value not in r.text:
            problems.append(where)
        if before is not None and counts(w) != before:
            problems.append(f"{method} {path}: wrote something although refused")
    assert problems == [], "\n".join(problems)


def test_a_partner_with_only_the_needed_scope_gets_past_the_scope_check(world):
    w = world
    for (method, path), needed in PARTNER_SCOPE.items():
        if not isinstance(needed, Scope) or method in WRITES:
            continue
        r = call(w, method, path, partner(w.a["app_id"], KVK_A, [needed]))
        assert r.status_code == 200, f"{method} {path}: {r.status_code} {r.text[:200]}"


# --- other partners ----------------------------------------------------------------------------


def test_a_partner_of_another_organisation_reaches_none_of_the_first_partners_records(world):
    w = world
    other = partner(w.b_app_id, KVK_B, tuple(Scope))
    mine = {w.a["client_id"], w.a["plan_id"], w.a["report_id"], w.a["subscription_id"]}
    problems = []
    for (method, path), needed in sorted(PARTNER_SCOPE.items(), key=lambda item: item[0]):
        if needed is NONE:
            continue
        before = counts(w)
        r = call(w, method, path, other)
        where = f"{method} {path}: {r.status_code} {r.text[:160]}"
        if "{" in path:
            if r.status_code not in (403, 404, 422) or r.headers.get("content-type") != "application/problem+json":
                problems.append(where)
        elif r.status_code < 300 and (shown := [i for i in mine if i in r.text]):
            problems.append(f"{where} shows partner A's {shown}")
        if method in WRITES and r.status_code >= 400 and counts(w) != before:
            problems.append(f"{method} {path}: wrote something although refused")
    assert problems == [], "\n".join(problems)
    # Partner A itself reaches them: the ids are real.
    a = partner(w.a["app_id"], KVK_A, tuple(Scope))
    for path in ("/intake/v1/partner/clients/{client_id}",
                 "/notifications/v1/webhooks/subscriptions/{subscription_id}"):
        assert call(w, "GET", path, a).status_code == 200, path
    assert call(w, "GET", "/intake/v1/partner/clients/{client_id}", other).status_code == 404
    assert call(w, "GET", "/notifications/v1/webhooks/subscriptions/{subscription_id}", other).status_code == 404
