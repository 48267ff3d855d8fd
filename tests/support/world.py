"""A small world of two municipalities with data in every service, made through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan, test_bsn
from shared.clock import SYSTEM_CLOCK, Clock
from shared.runtime import Runtime
from tests.support.auth import auth
from tests.support.runtime import drain

# A content review (reciprocal policies such as Utrecht's) assesses every section.
ASSESSMENTS = {s: "In orde." for s in ("foreword", "introduction", "labour_market", "preconditions", "structure",
                                          "budget")}


@dataclass
class ClientCase:
    municipality: str
    client_id: str
    plan_id: str
    budget_id: str | None = None
    budget_line_id: str | None = None
    invoice_id: str | None = None
    report_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        return auth("client", self.municipality, subject=f"client-{self.client_id[:8]}", client_id=self.client_id)


def api_client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime, embedded=False), raise_server_exceptions=False)


def make_case(http: TestClient, runtime: Runtime, municipality: str, seed: int, *, approve: bool = True,
              facts: dict[str, Any] | None = None, **client: Any) -> ClientCase:
    """A registered client with an approved plan, a budget, an invoice and a progress report;
    `facts` adds to the eligible facts and `client` to the registration (date_of_birth=...)."""
    km, fin = auth("case_manager", municipality), auth("finance", municipality)
    r = http.post("/intake/v1/clients", headers=km, json={"bsn": test_bsn(seed), "client_number": f"K{seed}",
                                                       "name": f"Client {seed}",
                                                       "facts": {**ELIGIBLE_FACTS, **(facts or {})}, **client})
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    r = http.post("/intake/v1/plans", headers=km, json={"client_id": client_id, **example_plan(
        "Plan", [("Coaching", "coaching", "Coach BV", "1000.00")])})
    assert r.status_code == 201, r.text
    case = ClientCase(municipality, client_id, r.json()["id"])
    if not approve:
        return case
    r = http.post(f"/intake/v1/plans/{case.plan_id}/submit", headers=km, json={"plan_version": 1})
    assert r.status_code == 200, r.text
    r = http.post(f"/intake/v1/plans/{case.plan_id}/decisions", headers=km, json={
        "plan_version": r.json()["version"], "kind": "approve", "assessments": ASSESSMENTS})
    assert r.status_code == 200, r.text
    drain(runtime)
    budget = http.get("/budget/v1/budgets", headers=fin, params={"plan_id": case.plan_id}).json()[0]
    case.budget_id, case.budget_line_id = budget["id"], budget["lines"][0]["id"]
    r = http.post(f"/budget/v1/budgets/{case.budget_id}/invoices", headers=fin, json={
        "budget_line_id": case.budget_line_id, "invoice_number": f"INV-{seed}", "provider_id": "coach-bv",
        "provider_name": "Coach BV", "provider_iban": "NL91ABNA0417164300", "amount": "100.00"})
    assert r.status_code == 201, r.text
    case.invoice_id = r.json()["id"]
    r = http.post(f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports", headers=km,
                  json={"on_track": True, "summary": "Gaat goed"})
    assert r.status_code == 201, r.text
    case.report_id = r.json()["id"]
    drain(runtime)
    return case


def migrated_app(request: Any, tmp_path: Any, database: str = "sqlite", *,
                 clock: Clock = SYSTEM_CLOCK) -> tuple[Runtime, TestClient]:
    """A migrated runtime and its HTTP client on SQLite, or on a fresh PostgreSQL database (the
    `fresh_pg_url` fixture, so it skips or fails as every PostgreSQL test does)."""
    from shared.config import Settings
    from tests.support.runtime import migrated_runtime

    if database == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
    else:
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    runtime = migrated_runtime(settings, clock=clock)
    return runtime, api_client(runtime)
