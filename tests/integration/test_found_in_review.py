"""Review findings: each test failed before its fix."""

from __future__ import annotations

import pytest

from shared.bus.dead_letters import list_dead_letters
from shared.config import Settings
from tests.conftest import auth
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client, make_case
from services.demo import ELIGIBLE_FACTS
from services.demo import test_bsn as bsn_for

KM = auth("case_manager", "0014")
FIN = auth("finance", "0014")
POLICY = auth("policy", "0014")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("review"), environment="test"))
    http = api_client(runtime)
    case = make_case(http, runtime, "0014", 31)
    return runtime, http, case


def _client(http, seed: int) -> str:
    r = http.post("/intake/clients", headers=KM, json={"bsn": bsn_for(seed), "client_number": f"R-{seed}",
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
    policy = http.get("/intake/policy", headers=POLICY).json()
    policy["orientation"] = {"enabled": True, "months": 3, "budget": "500.00"}
    assert http.put("/intake/policy", headers=POLICY, json=policy).status_code == 200
    client_id = _client(http, 301)
    r = http.post(f"/intake/clients/{client_id}/orientation", headers=KM, json={})
    assert r.status_code == 201, r.text
    orientation_id = r.json()["id"]
    drain(runtime)

    assert [d for d in list_dead_letters(runtime.engine) if d.event_type == "BudgetOpened"] == []
    budget = http.get("/budget/budgets", headers=FIN, params={"plan_id": orientation_id}).json()
    assert budget and budget[0]["granted"] == "500.00"
    trajectory = http.get(f"/monitoring/trajectories/{orientation_id}", headers=KM)
    assert trajectory.status_code == 200, trajectory.text
    body = trajectory.json()
    assert body["kind"] == "orientation" and body["budget_id"] == budget[0]["id"]
    assert body["granted"] == "500.00" and body["client_id"] == client_id


def test_an_orientation_trajectory_is_not_flagged_for_missing_progress_reports(env):
    runtime, http, _case = env
    from datetime import datetime, timedelta, timezone

    from services.monitoring.handlers import flag_overdue_reports

    orientations = [t for t in http.get("/monitoring/trajectories", headers=KM).json() if t["kind"] == "orientation"]
    assert orientations
    with runtime.uow("monitoring") as uow:
        flag_overdue_reports(uow, now=datetime.now(timezone.utc) + timedelta(days=61))
    after = {t["plan_id"]: t for t in http.get("/monitoring/trajectories", headers=KM).json()}
    assert not any(after[t["plan_id"]]["report_overdue"] for t in orientations)
    assert any(t["report_overdue"] for t in after.values() if t["kind"] == "plan")
