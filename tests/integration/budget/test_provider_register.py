"""The provider register (issue 13): finance registers who the municipality pays (KvK, VAT number,
IBAN, contract status with history); invoices are matched on the KvK that sends them or that they
name, never on a name; a suspended or ended provider's invoice is refused, another bank account than
the register's is held for finance, and a payment run pays the register's IBAN. The price catalogue
product the plan carried (PlanApproved v2) holds an invoice above its maximum unit price."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from contracts.events import PlanApprovedV1
from services.budget.models import BudgetLine, Invoice
from shared import audit
from shared.config import Settings
from shared.events import new_event
from tests.integration.budget.support import (
    IBAN,
    PROVIDER_KVK,
    TODAY,
    budget_runtime,
    invoice_body,
    open_budget,
)
from tests.support.auth import auth
from tests.support.world import api_client

UTRECHT, GRONINGEN = "0344", "0637"
FIN = auth("finance", UTRECHT, subject="fin-1")
KM = auth("case_manager", UTRECHT, subject="km-1")
COACH_KVK = PROVIDER_KVK["Coach BV"]
COACH = auth("provider", UTRECHT, subject="coach", provider_id=f"kvk:{COACH_KVK}")
OTHER_IBAN = "NL02ABNA0123456789"
VAT = "NL004495445B01"


@pytest.fixture
def env(tmp_path):
    runtime = budget_runtime(Settings(data_dir=tmp_path, environment="test"))
    return runtime, api_client(runtime)


def _register(http, kvk=COACH_KVK, iban=IBAN, **extra):
    r = http.post("/budget/v1/providers", headers=FIN, json={"kvk": kvk, "name": "Coach BV", "iban": iban, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _invoices(runtime) -> list:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(Invoice)).all()


def test_finance_registers_a_provider_and_reads_it_with_its_history(env):
    _runtime, http = env
    provider = _register(http, vat_number=VAT, reason="Raamcontract 2026")
    assert (provider["kvk"], provider["iban"], provider["status"], provider["version"]) == (
        COACH_KVK, IBAN, "contracted", 1)
    [entry] = provider["history"]
    assert entry["changed_by"] == "fin-1" and entry["reason"] == "Raamcontract 2026"
    assert entry["changes"]["iban"] == {"old": None, "new": "NL91ABNA******4300"}
    listed = http.get("/budget/v1/providers", headers=FIN)
    assert listed.status_code == 200 and [p["kvk"] for p in listed.json()] == [COACH_KVK]
    assert listed.headers["X-Total-Count"] == "1"


def test_staff_read_the_register_with_the_iban_masked_and_may_not_change_it(env):
    _runtime, http = env
    provider = _register(http)
    r = http.get(f"/budget/v1/providers/{provider['id']}", headers=KM)
    assert r.status_code == 200 and r.json()["iban"] == "NL91ABNA******4300"
    r = http.post("/budget/v1/providers", headers=KM, json={"kvk": "12345678", "name": "X", "iban": IBAN})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_another_municipality_sees_no_provider_of_this_one(env):
    _runtime, http = env
    provider = _register(http)
    other = auth("finance", GRONINGEN, subject="fin-g")
    assert http.get(f"/budget/v1/providers/{provider['id']}", headers=other).status_code == 404
    assert http.get("/budget/v1/providers", headers=other).json() == []
    r = http.patch(f"/budget/v1/providers/{provider['id']}", headers=other, json={"version": 1, "status": "ended"})
    assert r.status_code == 404


@pytest.mark.parametrize(("field", "value", "code"), [
    ("kvk", "1234567X", "provider.kvk"),
    ("vat_number", "NL123", "provider.vat_number"),
])
def test_a_bad_identifier_is_a_422_naming_the_field_and_nothing_is_registered(env, field, value, code):
    _runtime, http = env
    body = {"kvk": COACH_KVK, "name": "Coach BV", "iban": IBAN, field: value}
    r = http.post("/budget/v1/providers", headers=FIN, json=body)
    assert r.status_code == 422 and r.json()["code"] == code and r.json()["errors"][0]["field"] == field, r.text
    assert http.get("/budget/v1/providers", headers=FIN).json() == []


def test_a_bad_iban_is_a_422_naming_it(env):
    _runtime, http = env
    r = http.post("/budget/v1/providers", headers=FIN, json={"kvk": COACH_KVK, "name": "C", "iban": "NL00ABNA0000000000"})
    assert r.status_code == 422 and "iban" in r.text


def test_the_same_kvk_twice_in_one_municipality_is_a_409(env):
    _runtime, http = env
    _register(http)
    r = http.post("/budget/v1/providers", headers=FIN, json={"kvk": COACH_KVK, "name": "Other", "iban": IBAN})
    assert r.status_code == 409 and r.json()["code"] == "provider.kvk_taken" and r.json()["errors"][0]["field"] == "kvk"


def test_a_status_change_needs_the_version_read_and_is_kept_in_the_history(env):
    _runtime, http = env
    provider = _register(http)
    url = f"/budget/v1/providers/{provider['id']}"
    r = http.patch(url, headers=FIN, json={"version": 1, "status": "suspended", "reason": "Onderzoek"})
    assert r.status_code == 200 and r.json()["status"] == "suspended" and r.json()["version"] == 2
    assert r.json()["history"][-1]["changes"] == {"status": {"old": "contracted", "new": "suspended"}}
    stale = http.patch(url, headers=FIN, json={"version": 1, "status": "contracted"})
    assert stale.status_code == 409 and stale.json()["code"] == "provider.changed_meanwhile"
    assert http.patch(url, headers=FIN, json={"version": 2, "status": "ended"}).status_code == 200
    final = http.patch(url, headers=FIN, json={"version": 3, "status": "contracted"})
    assert final.status_code == 409 and final.json()["code"] == "provider.status_transition"
    assert [h["status"] for h in http.get(url, headers=FIN).json()["history"]] == ["contracted", "suspended", "ended"]


@pytest.mark.parametrize("status", ["suspended", "ended"])
def test_an_invoice_from_a_suspended_or_ended_provider_is_refused_and_nothing_is_written(env, status):
    runtime, http = env
    provider = _register(http)
    assert http.patch(f"/budget/v1/providers/{provider['id']}", headers=FIN,
                      json={"version": 1, "status": status}).status_code == 200
    b = open_budget(runtime)
    r = http.post("/budget/v1/invoices", headers={**COACH, "Accept-Language": "nl"},
                  json=invoice_body(b["line_ids"][0], "S-1"))
    assert r.status_code == 422 and r.json()["code"] == f"invoice.provider_{status}", r.text
    assert r.json()["errors"][0]["field"] == "provider_kvk" and "aanbiedersregister" in r.json()["detail"]
    assert _invoices(runtime) == []


def test_the_register_matches_the_kvk_the_invoice_names_not_its_name(env):
    runtime, http = env
    provider = _register(http)
    http.patch(f"/budget/v1/providers/{provider['id']}", headers=FIN, json={"version": 1, "status": "suspended"})
    b = open_budget(runtime, lines=[{"category": "coaching", "granted_cents": 1000_00, "provider_name": None}])
    body = invoice_body(b["line_ids"][0], "N-1", provider_name="Heel Andere Naam BV", provider_kvk=COACH_KVK)
    r = http.post("/budget/v1/invoices", headers=FIN, json=body)
    assert r.status_code == 422 and r.json()["code"] == "invoice.provider_suspended", r.text


def test_an_invoice_naming_another_bank_account_is_held_for_finance_and_paid_to_the_register(env):
    runtime, http = env
    _register(http)
    b = open_budget(runtime)
    r = http.post("/budget/v1/invoices", headers=COACH,
                  json=invoice_body(b["line_ids"][0], "I-1", provider_iban=OTHER_IBAN, provider_kvk=COACH_KVK))
    assert r.status_code == 201, r.text
    invoice = r.json()
    assert [f["code"] for f in invoice["findings"]] == ["invoice.iban_not_registered"]
    assert invoice["payment_hold"] and "invoice.iban_not_registered" in invoice["payment_hold"]
    assert OTHER_IBAN not in str(invoice["findings"]) and IBAN not in str(invoice["findings"])
    [row] = _invoices(runtime)
    assert row.creditor_iban == IBAN  # what would be paid to is the register's account
    assert http.post(f"/budget/v1/invoices/{invoice['id']}/approve", headers=FIN).status_code == 200
    run = http.post("/budget/v1/payment-runs", headers=FIN,
                    json={"execution_date": (TODAY + timedelta(days=1)).isoformat()})
    # Held: not in a payment run (the only invoice, so the run has nothing to pay).
    assert run.status_code == 422, run.text


def test_a_payment_run_pays_the_register_iban_as_it_is_then_and_skips_a_suspended_provider(env):
    runtime, http = env
    provider = _register(http)
    b = open_budget(runtime)
    first = http.post("/budget/v1/invoices", headers=COACH,
                      json=invoice_body(b["line_ids"][0], "R-1", provider_kvk=COACH_KVK)).json()
    assert first["findings"] is None and first["payment_hold"] is None
    assert http.post(f"/budget/v1/invoices/{first['id']}/approve", headers=FIN).status_code == 200
    changed = http.patch(f"/budget/v1/providers/{provider['id']}", headers=FIN,
                         json={"version": 1, "iban": OTHER_IBAN, "reason": "Nieuwe bank, bevestigd per brief"})
    assert changed.status_code == 200
    day = (TODAY + timedelta(days=1)).isoformat()
    run = http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": day})
    assert run.status_code == 201, run.text
    xml = http.get(f"/budget/v1/payment-runs/{run.json()['id']}/pain001.xml", headers=FIN).text
    assert OTHER_IBAN in xml and IBAN not in xml
    second = http.post("/budget/v1/invoices", headers=COACH,
                       json=invoice_body(b["line_ids"][0], "R-2", provider_kvk=COACH_KVK,
                                         provider_iban=OTHER_IBAN)).json()
    assert http.post(f"/budget/v1/invoices/{second['id']}/approve", headers=FIN).status_code == 200
    http.patch(f"/budget/v1/providers/{provider['id']}", headers=FIN, json={"version": 2, "status": "suspended"})
    assert http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": day}).status_code == 422


def _policy(http, **settings):
    document = http.get("/budget/v1/finance-policy", headers=FIN).json()
    r = http.put("/budget/v1/finance-policy", headers=FIN, json={**document, **settings})
    assert r.status_code == 200, r.text


def test_an_unregistered_provider_is_accepted_held_or_refused_as_the_finance_policy_says(env):
    runtime, http = env
    b = open_budget(runtime)
    line = b["line_ids"][0]
    accepted = http.post("/budget/v1/invoices", headers=COACH, json=invoice_body(line, "U-1"))
    assert accepted.status_code == 201 and accepted.json()["findings"] is None
    _policy(http, unregistered_providers="hold")
    held = http.post("/budget/v1/invoices", headers=COACH, json=invoice_body(line, "U-2"))
    assert held.status_code == 201 and [f["code"] for f in held.json()["findings"]] == [
        "invoice.provider_not_registered"]
    _policy(http, unregistered_providers="refuse")
    refused = http.post("/budget/v1/invoices", headers=COACH, json=invoice_body(line, "U-3"))
    assert refused.status_code == 422 and refused.json()["code"] == "invoice.provider_not_registered"
    assert len(_invoices(runtime)) == 2
    bad = http.put("/budget/v1/finance-policy", headers=FIN,
                   json={**http.get("/budget/v1/finance-policy", headers=FIN).json(), "unregistered_providers": "x"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "unregistered_providers"


def test_a_declaration_is_not_matched_against_the_register(env):
    runtime, http = env
    _policy(http, unregistered_providers="refuse")
    b = open_budget(runtime)
    r = http.post(f"/budget/v1/budgets/{b['budget_id']}/declarations", headers=b["client"],
                  data={"budget_line_id": b["line_ids"][0], "amount": "5.00", "paid_on": TODAY.isoformat(),
                        "client_iban": IBAN, "account_holder": "K", "description": "Boek", "provider_name": "Winkel"},
                  files={"receipt": ("bon.pdf", b"%PDF-1.4 bon", "application/pdf")})
    assert r.status_code == 201, r.text


CATALOGUE_LINE = {"category": "coaching", "granted_cents": 1000_00, "provider_name": "Coach BV",
                  "product_code": "COACH-UUR", "unit": "hour", "max_unit_price_cents": 80_00}


def test_plan_approved_v2_puts_the_catalogue_product_on_the_budget_line(env):
    runtime, _http = env
    b = open_budget(runtime, lines=[CATALOGUE_LINE])
    with runtime.engine.connect() as conn:
        line = conn.execute(sa.select(BudgetLine).where(BudgetLine.id == b["line_ids"][0])).one()
    assert (line.product_code, line.product_unit, line.max_unit_price_cents) == ("COACH-UUR", "hour", 80_00)


def test_an_invoice_above_the_catalogue_maximum_unit_price_is_held_for_finance(env):
    runtime, http = env
    b = open_budget(runtime, lines=[CATALOGUE_LINE])
    line = b["line_ids"][0]
    within = http.post("/budget/v1/invoices", headers=COACH, json=invoice_body(line, "C-1", "160.00", quantity="2"))
    assert within.status_code == 201 and within.json()["findings"] is None, within.text
    above = http.post("/budget/v1/invoices", headers=COACH, json=invoice_body(line, "C-2", "270.00", quantity="3"))
    assert above.status_code == 201, above.text
    [finding] = above.json()["findings"]
    assert finding["code"] == "invoice.above_catalogue_price" and "90.00" in finding["message"]
    assert "80.00" in finding["message_nl"] and above.json()["payment_hold"]
    unknown = http.post("/budget/v1/invoices", headers=COACH, json=invoice_body(line, "C-3", "270.00"))
    assert unknown.status_code == 201 and unknown.json()["findings"] is None  # no quantity: no unit price


def test_a_quantity_above_its_maximum_is_a_422_naming_it(env):
    runtime, http = env
    b = open_budget(runtime, lines=[CATALOGUE_LINE])
    r = http.post("/budget/v1/invoices", headers=COACH,
                  json=invoice_body(b["line_ids"][0], "Q-1", quantity="100001"))
    assert r.status_code == 422 and "quantity" in r.text
    assert _invoices(runtime) == []


def test_a_plan_approved_v1_event_still_opens_a_budget_without_a_catalogue_product(env):
    runtime, _http = env
    from eigenregie.bootstrap import load_service
    from shared.bus.consumer import Outcome, consume

    plan_id = str(uuid.uuid4())
    payload = PlanApprovedV1.model_validate({
        "plan_id": plan_id, "client_id": str(uuid.uuid4()), "plan_version": 2, "scheme": "prb",
        "granted_cents": 500_00, "execution_deadline": (TODAY + timedelta(days=300)).isoformat(),
        "lines": [{"plan_line_id": str(uuid.uuid4()), "category": "coaching", "granted_cents": 500_00}]})
    event = new_event(payload, tenant=UTRECHT, subject=plan_id, producer="intake", correlation_id="t")
    assert event.version == 1
    outcome = consume(runtime.engine, "budget", event.model_dump_json(), load_service("budget").event_handlers,
                      max_attempts=1, clock=runtime.clock)
    assert outcome == Outcome.HANDLED
    with runtime.engine.connect() as conn:
        lines = conn.execute(sa.select(BudgetLine.product_code, BudgetLine.granted_cents)).all()
    assert [tuple(r) for r in lines] == [(None, 500_00)]


def test_an_invoice_received_is_in_the_audit_trail_of_its_client_without_an_iban_or_name(env):
    runtime, http = env
    _register(http)
    b = open_budget(runtime)
    r = http.post("/budget/v1/invoices", headers=COACH,
                  json=invoice_body(b["line_ids"][0], "A-1", provider_iban=OTHER_IBAN, provider_kvk=COACH_KVK))
    assert r.status_code == 201, r.text
    with runtime.engine.connect() as conn:
        records = conn.execute(audit.select_records("budget", UTRECHT, client_id=b["client_id"])).mappings().all()
    [record] = [rec for rec in records if rec["action"] == "create"]
    assert record["actor_subject"] == "coach"
    changes = json.loads(record["changes"]) if isinstance(record["changes"], str) else record["changes"]
    assert changes["invoice_id"]["new"] == r.json()["id"]
    assert changes["findings"]["new"] == ["invoice.iban_not_registered"]
    assert IBAN not in str(record) and OTHER_IBAN not in str(record) and "Coach BV" not in str(record)
    assert http.post(f"/budget/v1/invoices/{r.json()['id']}/reject", headers=FIN, json={"reason": "Nee"}).status_code == 200
    with runtime.engine.connect() as conn:
        records = conn.execute(audit.select_records("budget", UTRECHT, client_id=b["client_id"])).mappings().all()
    [update] = [rec for rec in records if rec["action"] == "update"]
    changes = json.loads(update["changes"]) if isinstance(update["changes"], str) else update["changes"]
    assert update["actor_subject"] == "fin-1" and changes["status"] == {"old": "received", "new": "rejected"}
    with Session(runtime.engine) as session:
        assert audit.verify(session, "budget", UTRECHT).ok


def test_a_ubl_invoice_is_matched_on_its_senders_kvk_and_its_line_unit_prices_checked(env):
    from tests.unit.budget.einvoice_examples import load, xml

    runtime, http = env
    simpler_kvk = PROVIDER_KVK["SimplerInvoicing"]
    _register(http, kvk=simpler_kvk, iban=OTHER_IBAN)
    b = open_budget(runtime, lines=[{**CATALOGUE_LINE, "granted_cents": 2000_00, "provider_name": "SimplerInvoicing",
                                     "starts_on": "2014-12-01"}])
    order = {"budget_line_id": b["line_ids"][0], "order_reference": "47806", "provider_name": "SimplerInvoicing",
             "provider_kvk": simpler_kvk, "amount": "1000.00"}
    assert http.post(f"/budget/v1/budgets/{b['budget_id']}/orders", headers=FIN, json=order).status_code == 201
    sender = auth("provider", UTRECHT, provider_id=f"kvk:{simpler_kvk}")
    r = http.post("/budget/v1/invoices/ubl", headers={**sender, "content-type": "application/xml"},
                  content=xml(load()))
    assert r.status_code == 201, r.text
    # The example's one line costs EUR 200.00 a unit (the maximum is 80.00) and names IBAN's account.
    assert sorted(f["code"] for f in r.json()["findings"]) == [
        "invoice.above_catalogue_price", "invoice.iban_not_registered"]
    [row] = _invoices(runtime)
    assert row.creditor_iban == OTHER_IBAN


def test_no_new_order_is_placed_with_a_suspended_provider(env):
    runtime, http = env
    provider = _register(http)
    b = open_budget(runtime)
    order = {"budget_line_id": b["line_ids"][0], "order_reference": "O-1", "provider_name": "Wie Dan Ook",
             "provider_kvk": COACH_KVK, "amount": "100.00"}
    assert http.post(f"/budget/v1/budgets/{b['budget_id']}/orders", headers=FIN, json=order).status_code == 201
    http.patch(f"/budget/v1/providers/{provider['id']}", headers=FIN, json={"version": 1, "status": "suspended"})
    r = http.post(f"/budget/v1/budgets/{b['budget_id']}/orders", headers=FIN,
                  json={**order, "order_reference": "O-2"})
    assert r.status_code == 422 and r.json()["code"] == "order.provider_suspended", r.text
    assert len(http.get(f"/budget/v1/budgets/{b['budget_id']}/orders", headers=FIN).json()) == 1
