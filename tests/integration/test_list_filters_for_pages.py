"""The list filters the pages ask by (issue 15): clients by case manager, trajectories, follow-ups and
budgets by client, budgets by status. Each narrows what the caller may see already and never
widens it: another municipality's ids find nothing, and too many ids are refused at the field."""

from __future__ import annotations

import pytest

from tests.support.auth import auth
from tests.support.world import make_case, migrated_app

KM = auth("case_manager", "0014", subject="km-a")
FIN = auth("finance", "0014")
OTHER_KM = auth("case_manager", "0344", subject="km-a")  # the same subject, another municipality


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, tmp_path):
    runtime, http = migrated_app(request, tmp_path, request.param)
    mine = make_case(http, runtime, "0014", 901, case_manager="km-a")
    colleague = make_case(http, runtime, "0014", 902, case_manager="km-b")
    elsewhere = make_case(http, runtime, "0344", 903, case_manager="km-a")
    yield http, mine, colleague, elsewhere
    runtime.engine.dispose()


def _ids(answer, key: str = "id") -> set[str]:
    assert answer.status_code == 200, answer.text
    return {row[key] for row in answer.json()}


def test_clients_by_case_manager_are_that_case_managers_in_the_callers_municipality_only(world):
    http, mine, colleague, elsewhere = world
    assert _ids(http.get("/intake/v1/clients", headers=KM, params={"case_manager": "km-a"})) == {mine.client_id}
    both = http.get("/intake/v1/clients", headers=KM, params=[("case_manager", "km-a"), ("case_manager", "km-b")])
    assert _ids(both) == {mine.client_id, colleague.client_id}
    assert _ids(http.get("/intake/v1/clients", headers=OTHER_KM, params={"case_manager": "km-a"})) == {
        elsewhere.client_id}


def test_trajectories_follow_ups_and_budgets_by_client_never_show_another_municipalitys(world):
    http, mine, colleague, elsewhere = world
    asked = [("client_id", mine.client_id), ("client_id", elsewhere.client_id)]
    trajectories = http.get("/monitoring/v1/trajectories", headers=KM, params=asked)
    assert {t["client_id"] for t in trajectories.json()} == {mine.client_id}
    assert colleague.plan_id not in _ids(trajectories, "plan_id")
    follow_ups = http.get("/monitoring/v1/follow-ups", headers=KM, params=asked)
    assert follow_ups.status_code == 200, follow_ups.text
    assert {f["client_id"] for f in follow_ups.json()} == {mine.client_id}  # the report schedule's next report
    budgets = http.get("/budget/v1/budgets", headers=FIN, params=asked)
    assert _ids(budgets) == {mine.budget_id}
    assert _ids(http.get("/budget/v1/budgets", headers=FIN, params={"status": "open"})) == {
        mine.budget_id, colleague.budget_id}
    assert _ids(http.get("/budget/v1/budgets", headers=FIN, params={"status": "closed"})) == set()


@pytest.mark.parametrize(("path", "headers", "name", "most"), [
    ("/intake/v1/clients", KM, "case_manager", 20),
    ("/monitoring/v1/trajectories", KM, "client_id", 100),
    ("/monitoring/v1/follow-ups", KM, "client_id", 100),
    ("/budget/v1/budgets", FIN, "client_id", 100),
])
def test_more_ids_than_a_filter_takes_are_refused_at_the_field(world, path, headers, name, most):
    http = world[0]
    answer = http.get(path, headers=headers, params=[(name, f"x{i}") for i in range(most + 1)])
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/problem+json")
    assert name in answer.text
    assert http.get(path, headers=headers, params=[(name, f"x{i}") for i in range(most)]).status_code == 200
