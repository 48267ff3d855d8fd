"""Scoping: municipality A never reaches B's data; a client never reaches another client's."""

from __future__ import annotations

import pytest

from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client, make_case


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from shared.config import Settings

    runtime = migrated_runtime(Settings(data_dir=tmp_path_factory.mktemp("iso"), environment="test"))
    http = api_client(runtime)
    a1 = make_case(http, runtime, "0014", 1)
    a2 = make_case(http, runtime, "0014", 2)
    b1 = make_case(http, runtime, "0344", 3)
    return http, a1, a2, b1


def _reads(case):
    return [
        f"/intake/v1/clients/{case.client_id}",
        f"/intake/v1/plans/{case.plan_id}",
        f"/budget/v1/budgets/{case.budget_id}",
        f"/budget/v1/invoices/{case.invoice_id}",
        f"/monitoring/v1/trajectories/{case.plan_id}",
        f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports",
    ]


def _writes(case):
    return [
        (f"/intake/v1/plans/{case.plan_id}/submit", {"plan_version": 1}),
        (f"/intake/v1/plans/{case.plan_id}/decisions", {"plan_version": 3, "kind": "approve"}),
        (f"/intake/v1/plans/{case.plan_id}/decisions", {"plan_version": 3, "kind": "reject", "reasons": ["x"]}),
        ("/intake/v1/plans", {"client_id": case.client_id, "title": "t"}),
        (f"/budget/v1/budgets/{case.budget_id}/invoices", {
            "budget_line_id": case.budget_line_id, "invoice_number": "X-1", "provider_id": "p", "provider_name": "p",
            "provider_iban": "NL91ABNA0417164300", "amount": "1.00"}),
        (f"/budget/v1/invoices/{case.invoice_id}/approve", None),
        (f"/budget/v1/invoices/{case.invoice_id}/mark-paid", {"paid_on": "2026-11-01"}),
        (f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports", {"on_track": False, "summary": "x"}),
    ]


@pytest.mark.parametrize("role", ["case_manager", "team_lead", "finance"])
def test_staff_of_another_municipality_cannot_read_anything(world, role):
    http, a1, _a2, _b1 = world
    for path in _reads(a1):
        r = http.get(path, headers=auth(role, "0344"))
        assert r.status_code in (403, 404), (role, path, r.text)
        assert "bsn" not in r.text
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["case_manager", "team_lead", "finance"])
def test_staff_of_another_municipality_cannot_change_anything(world, role):
    http, a1, _a2, _b1 = world
    for path, body in _writes(a1):
        r = http.post(path, headers=auth(role, "0344"), json=body)
        assert r.status_code in (403, 404), (role, path, r.status_code, r.text)
    # and nothing changed
    plan = http.get(f"/intake/v1/plans/{a1.plan_id}", headers=auth("case_manager", "0014")).json()
    assert plan["status"] == "approved"
    invoice = http.get(f"/budget/v1/invoices/{a1.invoice_id}", headers=auth("finance", "0014")).json()
    assert invoice["status"] in ("received", "awaiting_client") and invoice["approved_at"] is None


def test_lists_show_only_the_own_municipality(world):
    http, a1, a2, b1 = world
    paths = ["/intake/v1/clients", "/intake/v1/plans", "/budget/v1/budgets", "/budget/v1/invoices", "/monitoring/v1/trajectories",
             "/notifications/v1/messages"]
    for path in paths:
        role = "finance" if path.startswith("/budget") else "case_manager"
        seen = http.get(path, headers=auth(role, "0344")).json()
        assert seen and all(item.get("municipality", "0344") == "0344" for item in seen), path
        ids = {str(v) for item in seen for v in item.values()}
        assert not ids & {a1.client_id, a2.client_id, a1.plan_id, a2.plan_id}, path


def test_a_client_cannot_see_another_client_of_the_same_municipality(world):
    http, a1, a2, _b1 = world
    for path in _reads(a2):
        r = http.get(path, headers=a1.headers())
        assert r.status_code == 404, (path, r.text)
    for path, body in _writes(a2)[:1] + _writes(a2)[3:4] + _writes(a2)[-1:]:
        assert http.post(path, headers=a1.headers(), json=body).status_code in (403, 404), path


def test_a_client_sees_their_own_data(world):
    http, a1, _a2, _b1 = world
    for path in _reads(a1):
        assert http.get(path, headers=a1.headers()).status_code == 200, path
    lists = {p: http.get(p, headers=a1.headers()).json() for p in
             ["/intake/v1/clients", "/intake/v1/plans", "/budget/v1/budgets", "/budget/v1/invoices", "/monitoring/v1/trajectories",
              "/notifications/v1/messages"]}
    for path, items in lists.items():
        assert items and all(i.get("client_id", a1.client_id) == a1.client_id for i in items), path
        assert all(i.get("id") != a1.client_id or path == "/intake/v1/clients" for i in items)


def test_a_client_cannot_approve_their_own_plan_or_invoices(world):
    http, a1, _a2, _b1 = world
    assert http.post(f"/intake/v1/plans/{a1.plan_id}/decisions", headers=a1.headers(),
                     json={"plan_version": 3, "kind": "approve"}).status_code == 403
    assert http.post(f"/budget/v1/invoices/{a1.invoice_id}/approve", headers=a1.headers()).status_code == 403


def test_a_provider_sees_only_its_own_invoices(world):
    http, a1, _a2, _b1 = world
    own = http.get("/budget/v1/invoices", headers=auth("provider", "0014", provider_id="coach-bv")).json()
    other = http.get("/budget/v1/invoices", headers=auth("provider", "0014", provider_id="someone-else")).json()
    assert {i["id"] for i in own} >= {a1.invoice_id} and other == []
    r = http.get(f"/budget/v1/invoices/{a1.invoice_id}", headers=auth("provider", "0014", provider_id="someone-else"))
    assert r.status_code == 404


def test_requests_without_a_valid_token_are_refused(world):
    http, a1, _a2, _b1 = world
    assert http.get(f"/intake/v1/plans/{a1.plan_id}").status_code == 401
    r = http.get(f"/intake/v1/plans/{a1.plan_id}", headers={"Authorization": "Bearer not-a-jwt"})
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ["provider", "partner", "ops"])
def test_roles_without_a_need_cannot_read_client_records(world, role):
    http, a1, _a2, _b1 = world
    for path in [f"/budget/v1/budgets/{a1.budget_id}", f"/monitoring/v1/trajectories/{a1.plan_id}",
                 f"/monitoring/v1/trajectories/{a1.plan_id}/progress-reports"]:
        r = http.get(path, headers=auth(role, "0014", provider_id="x" if role == "provider" else None))
        assert r.status_code in (403, 404), (role, path)
