"""The price catalogue from plan to invoice (issue 13): a plan line naming a catalogue product is
approved in intake; PlanApproved (version 2) carries the product, its unit and its maximum price to
the budget line; an invoice on that line whose unit price is above the maximum is accepted but held
for finance with a finding, one within it is not."""

from __future__ import annotations

import json

from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
from eigenregie.initial_data import test_bsn as bsn_for
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import ASSESSMENTS, api_client

GRONINGEN = "0014"
KM, FIN = auth("case_manager", GRONINGEN), auth("finance", GRONINGEN)
CATALOGUE = [{"code": "COACH-UUR", "description": "Loopbaancoaching per uur", "category": "coaching",
              "unit": "hour", "maximum_price": "75.00"}]


def test_an_approved_plans_catalogue_product_checks_the_unit_price_of_its_invoices(tmp_path):
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
    http = api_client(runtime)
    r = http.patch("/intake/v1/policy", headers={**auth("policy", GRONINGEN), "Content-Type": "application/merge-patch+json"},
                   content=json.dumps({"price_catalogue": CATALOGUE}))
    assert r.status_code == 200, r.text
    client = http.post("/intake/v1/clients", headers=KM, json={"bsn": bsn_for(71), "client_number": "K71",
                                                               "name": "Client 71", "facts": ELIGIBLE_FACTS})
    assert client.status_code == 201, client.text
    body = example_plan("Plan", [("Coaching", "coaching", "Coach BV", "750.00")])
    body["budget"]["lines"][0].update(product_code="coach-uur", quantity="10")
    plan = http.post("/intake/v1/plans", headers=KM, json={"client_id": client.json()["id"], **body})
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    r = http.post(f"/intake/v1/plans/{plan_id}/submit", headers=KM, json={"plan_version": 1})
    assert r.status_code == 200, r.text
    r = http.post(f"/intake/v1/plans/{plan_id}/decisions", headers=KM,
                  json={"plan_version": r.json()["version"], "kind": "approve", "assessments": ASSESSMENTS})
    assert r.status_code == 200, r.text
    drain(runtime)
    [budget] = http.get("/budget/v1/budgets", headers=FIN, params={"plan_id": plan_id}).json()
    line_id = budget["lines"][0]["id"]
    invoice = {"budget_line_id": line_id, "provider_name": "Coach BV", "provider_id": "coach-bv",
               "provider_iban": "NL91ABNA0417164300"}
    within = http.post("/budget/v1/invoices", headers=FIN,
                       json={**invoice, "invoice_number": "W-1", "amount_excl_vat": "150.00", "quantity": "2"})
    assert within.status_code == 201 and within.json()["findings"] is None, within.text
    above = http.post("/budget/v1/invoices", headers=FIN,
                      json={**invoice, "invoice_number": "W-2", "amount_excl_vat": "160.00", "quantity": "2"})
    assert above.status_code == 201, above.text
    assert [f["code"] for f in above.json()["findings"]] == ["invoice.above_catalogue_price"]
    assert "COACH-UUR" in above.json()["findings"][0]["message"] and above.json()["payment_hold"]
