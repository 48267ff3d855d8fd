"""The finding "starting an orientation with a budget: budget emits BudgetOpened, monitoring has no
trajectory for it, fails five times and dead-letters the event", end to end, and the orders in
which the events can arrive."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from eigenregie.bootstrap import load_service
from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import ELIGIBLE_FACTS
from eigenregie.initial_data import test_bsn as bsn_for
from services.monitoring.jobs import flag_overdue_follow_ups
from shared.bus.consumer import HandlerFailed, Outcome, consume
from shared.bus.dead_letters import list_dead_letters
from tests.integration.monitoring.support import days_after, frozen_world
from tests.support.auth import auth
from tests.support.events import event_of
from tests.support.runtime import drain

KM, FIN, POLICY = auth("case_manager", "0014"), auth("finance", "0014"), auth("policy", "0014")


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, tmp_path):
    with frozen_world(request, tmp_path, request.param) as (runtime, _http, clock):
        # Embedded mode, as a newcomer runs it: the four APIs in one app.
        yield runtime, TestClient(create_app(runtime, embedded=True), raise_server_exceptions=False), clock


def _orientation_with_budget(http) -> tuple[str, str]:
    policy = http.get("/intake/v1/policy", headers=POLICY).json()
    policy["orientation"] = {"enabled": True, "months": 3, "budget": "500.00"}
    assert http.put("/intake/v1/policy", headers=POLICY, json=policy).status_code == 200
    r = http.post(
        "/intake/v1/clients",
        headers=KM,
        json={"bsn": bsn_for(901), "client_number": "OR-901", "name": "Orientatie", "facts": ELIGIBLE_FACTS},
    )
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    r = http.post(f"/intake/v1/clients/{client_id}/orientation", headers=KM, json={})
    assert r.status_code == 201, r.text
    return client_id, r.json()["id"]


def test_an_orientation_with_a_budget_is_followed_as_a_trajectory_and_nothing_is_dead_lettered(world):
    runtime, http, clock = world
    client_id, orientation_id = _orientation_with_budget(http)
    drain(runtime)

    assert list_dead_letters(runtime.engine) == []
    [budget] = http.get("/budget/v1/budgets", headers=FIN, params={"plan_id": orientation_id}).json()
    r = http.get(f"/monitoring/v1/trajectories/{orientation_id}", headers=KM)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "orientation" and body["budget_id"] == budget["id"]
    assert body["granted"] == "500.00" and body["client_id"] == client_id and body["paid_incl_vat"] == "0.00"
    listed = http.get("/monitoring/v1/trajectories", headers=KM, params={"kind": "orientation"}).json()
    assert [t["plan_id"] for t in listed] == [orientation_id]

    # No progress reports are due in the orientation phase.
    start = clock.now()
    days_after(clock, start, 63)
    with runtime.uow("monitoring") as uow:
        assert flag_overdue_follow_ups(uow) == 0


def _events(orientation_id: str):
    started = event_of(
        "OrientationStarted",
        tenant="0014",
        subject=orientation_id,
        producer="intake",
        correlation_id="c",
        payload={
            "orientation_id": orientation_id,
            "client_id": "c-1",
            "scheme": "prb",
            "ends_on": "2027-03-01",
            "budget_cents": 500_00,
        },
    )
    opened = event_of(
        "BudgetOpened",
        tenant="0014",
        subject=orientation_id,
        producer="budget",
        correlation_id="c",
        payload={"budget_id": "b-1", "plan_id": orientation_id, "client_id": "c-1", "granted_cents": 500_00},
    )
    return started.model_dump_json(), opened.model_dump_json()


def test_a_budget_opened_that_arrives_before_its_orientation_is_retried_and_then_linked(world):
    runtime, http, _clock = world
    handlers = load_service("monitoring").event_handlers
    orientation_id = str(uuid.uuid4())
    started, opened = _events(orientation_id)
    # Queues are independent: BudgetOpened first. The try fails (no dead letter yet) ...
    with pytest.raises(HandlerFailed, match="not known yet"):
        consume(runtime.engine, "monitoring", opened, handlers, attempt=1, max_attempts=5)
    assert list_dead_letters(runtime.engine) == []
    # ... OrientationStarted arrives, and the retry links the budget.
    assert consume(runtime.engine, "monitoring", started, handlers) == Outcome.HANDLED
    assert consume(runtime.engine, "monitoring", opened, handlers, attempt=2, max_attempts=5) == Outcome.HANDLED
    assert http.get(f"/monitoring/v1/trajectories/{orientation_id}", headers=KM).json()["budget_id"] == "b-1"


def test_a_budget_opened_for_an_id_no_start_ever_names_is_still_a_dead_letter(world):
    runtime, _http, _clock = world
    handlers = load_service("monitoring").event_handlers
    _started, opened = _events(str(uuid.uuid4()))
    assert consume(runtime.engine, "monitoring", opened, handlers, attempt=5, max_attempts=5) == Outcome.DEAD_LETTERED
    [letter] = list_dead_letters(runtime.engine)
    assert letter.event_type == "BudgetOpened" and "not known yet" in letter.reason
