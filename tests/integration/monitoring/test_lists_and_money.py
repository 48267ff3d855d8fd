"""Monitoring's lists are paged with validated filters; what a trajectory shows as paid is defined
(and named) against budget's `paid`; money columns hold more than 32 bits."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from eigenregie.bootstrap import load_service
from shared.bus.consumer import Outcome, consume
from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth
from tests.support.events import event_of
from tests.support.runtime import drain
from tests.support.world import make_case

KM, FIN = auth("case_manager", "0014"), auth("finance", "0014")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("monlists"), request.param) as (runtime, http, _clock):
        yield runtime, http, [make_case(http, runtime, "0014", seed) for seed in (71, 72, 73)]


def test_trajectories_are_paged_with_a_total_and_links(env):
    _runtime, http, cases = env
    r = http.get("/monitoring/v1/trajectories", headers=KM, params={"page_size": 2, "kind": "plan"})
    assert r.status_code == 200 and len(r.json()) == 2
    assert r.headers["X-Total-Count"] == "3" and 'rel="next"' in r.headers["Link"] and "kind=plan" in r.headers["Link"]
    second = http.get("/monitoring/v1/trajectories", headers=KM, params={"page_size": 2, "page": 2}).json()
    assert len(second) == 1
    assert {t["plan_id"] for t in r.json() + second} == {c.plan_id for c in cases}


@pytest.mark.parametrize(
    "path,param",
    [("", "kind"), ("", "status"), ("/{plan_id}/outcomes", "outcome"), ("/{plan_id}/progress-reports", "on_track")],
)
def test_an_unknown_filter_value_is_a_422_naming_it_not_an_empty_list(env, path, param):
    _runtime, http, cases = env
    url = "/monitoring/v1/trajectories" + path.format(plan_id=cases[0].plan_id)
    r = http.get(url, headers=KM, params={param: "bogus"})
    assert r.status_code == 422, r.text
    assert param in r.text


def test_progress_reports_and_outcomes_are_paged_and_filtered(env):
    _runtime, http, cases = env
    url = f"/monitoring/v1/trajectories/{cases[1].plan_id}/progress-reports"
    assert http.post(url, headers=KM, json={"on_track": False, "summary": "Loopt achter"}).status_code == 201
    r = http.get(url, headers=KM, params={"page_size": 1})
    assert len(r.json()) == 1 and r.headers["X-Total-Count"] == "2"
    assert [p["on_track"] for p in http.get(url, headers=KM, params={"on_track": False}).json()] == [False]
    outcomes = f"/monitoring/v1/trajectories/{cases[1].plan_id}/outcomes"
    assert http.post(outcomes, headers=KM, json={"outcome": "no_work_running"}).status_code == 201
    assert http.get(outcomes, headers=KM, params={"outcome": "work_during"}).json() == []
    assert len(http.get(outcomes, headers=KM, params={"outcome": "no_work_running"}).json()) == 1


def test_paid_incl_vat_is_the_transfer_and_budget_paid_is_the_charge_excl_vat(env):
    runtime, http, cases = env
    case = cases[2]
    r = http.post(
        f"/budget/v1/budgets/{case.budget_id}/invoices",
        headers=FIN,
        json={
            "budget_line_id": case.budget_line_id,
            "invoice_number": "VAT-1",
            "provider_id": "coach-bv",
            "provider_name": "Coach BV",
            "provider_iban": "NL91ABNA0417164300",
            "amount_excl_vat": "100.00",
            "vat": "21.00",
        },
    )
    assert r.status_code == 201, r.text
    invoice_id = r.json()["id"]
    if r.json()["status"] == "awaiting_client":  # the line names no KvK: the client confirms it
        assert http.post(f"/budget/v1/invoices/{invoice_id}/confirm", headers=case.headers()).status_code == 200
    r = http.post(f"/budget/v1/invoices/{invoice_id}/approve", headers=FIN)
    assert r.status_code == 200, r.text
    r = http.post(
        f"/budget/v1/invoices/{invoice_id}/mark-paid", headers=FIN, json={"paid_on": runtime.clock.today().isoformat()}
    )
    assert r.status_code == 200, r.text
    drain(runtime)
    budget = http.get(f"/budget/v1/budgets/{case.budget_id}", headers=FIN).json()
    trajectory = http.get(f"/monitoring/v1/trajectories/{case.plan_id}", headers=KM).json()
    assert budget["paid"] == "100.00"  # the charge to the budget, excl. VAT (Groningen's budgets exclude it)
    assert trajectory["paid_incl_vat"] == "121.00"  # what went to the provider
    assert trajectory["spent"] == trajectory["paid_incl_vat"]  # the old name, until v2


def test_the_openapi_says_what_paid_incl_vat_is(env):
    _runtime, http, _cases = env
    schema = http.get("/monitoring/v1/openapi.json").json()["components"]["schemas"]["TrajectoryPublic"]
    paid = schema["properties"]["paid_incl_vat"]
    assert "incl. VAT" in paid["description"] and "`paid`" in paid["description"]
    assert schema["properties"]["spent"]["deprecated"] is True


def test_a_grant_above_21_million_euros_is_followed_not_dead_lettered(env):
    runtime, http, _cases = env
    plan_id = str(uuid.uuid4())
    huge = 30_000_000_00  # EUR 30 million: more than a 32-bit integer holds in cents
    event = event_of(
        "PlanApproved",
        tenant="0014",
        subject=plan_id,
        producer="intake",
        correlation_id="c",
        payload={
            "plan_id": plan_id,
            "client_id": "c-1",
            "plan_version": 2,
            "scheme": "prb",
            "granted_cents": huge,
            "execution_deadline": "2027-01-01",
            "lines": [{"plan_line_id": "l", "category": "coaching", "granted_cents": huge}],
        },
    )
    handlers = load_service("monitoring").event_handlers
    assert consume(runtime.engine, "monitoring", event.model_dump_json(), handlers, max_attempts=1) == Outcome.HANDLED
    assert http.get(f"/monitoring/v1/trajectories/{plan_id}", headers=KM).json()["granted"] == "30000000.00"


def test_a_transfer_the_bank_returned_is_no_longer_paid_out_whichever_event_comes_first(env):
    runtime, http, cases = env
    case = cases[1]
    handlers = load_service("monitoring").event_handlers
    before = http.get(f"/monitoring/v1/trajectories/{case.plan_id}", headers=KM).json()["paid_incl_vat"]

    def deliver(event_type: str, **payload) -> None:
        event = event_of(event_type, tenant="0014", subject=case.plan_id, producer="budget", correlation_id="c",
                         payload={"invoice_id": "inv-r", "budget_id": case.budget_id, "plan_id": case.plan_id,
                                  "client_id": case.client_id, "amount_cents": 5_000, **payload})
        assert consume(runtime.engine, "monitoring", event.model_dump_json(), handlers, max_attempts=1) == Outcome.HANDLED

    returned = {"part": "main", "reason_code": "AC04", "returned_on": "2026-11-02"}
    deliver("InvoicePaymentReturned", **returned)  # delivered before the payment it undoes
    deliver("InvoicePaid", paid_on="2026-11-01")
    after = http.get(f"/monitoring/v1/trajectories/{case.plan_id}", headers=KM).json()["paid_incl_vat"]
    assert after == before
    deliver("InvoicePaid", paid_on="2026-11-03")  # paid again, to the right account
    again = http.get(f"/monitoring/v1/trajectories/{case.plan_id}", headers=KM).json()["paid_incl_vat"]
    assert Decimal(again) == Decimal(before) + Decimal("50.00")
