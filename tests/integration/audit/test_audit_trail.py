"""The audit trail through the API on SQLite: reads and changes of personal data recorded with
endpoint, purpose and actor; the trail readable by team leads only, within their municipality;
verify finds a tampered row; the art. 15 export gathers a client's records from every service."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from eigenregie.audit_export import client_trail
from eigenregie.entrypoints.cli import main as prb
from eigenregie.initial_data import test_bsn as bsn_of
from tests.support.auth import auth
from tests.support.world import make_case, migrated_app

KM, TL, FIN = auth("case_manager", "0014", subject="km-anna"), auth("team_lead", "0014"), auth("finance", "0014")
OTHER_TL = auth("team_lead", "0344")


@pytest.fixture(scope="module")
def world(request, tmp_path_factory):
    runtime, http = migrated_app(request, tmp_path_factory.mktemp("audit"))
    with http:
        a1 = make_case(http, runtime, "0014", 71)
        a2 = make_case(http, runtime, "0014", 72)
        b1 = make_case(http, runtime, "0344", 73)
        yield runtime, http, a1, a2, b1


def _trail(http, service, client_id=None, headers=TL, **params):
    if client_id:
        params["client_id"] = client_id
    r = http.get(f"/{service}/v1/audit", headers=headers, params={"page_size": 500, **params})
    if r.status_code == 404 and client_id:
        return []  # this service has no record of the client (yet)
    assert r.status_code == 200, r.text
    return r.json()


def _reads(http, service, client_id, endpoint):
    return [r for r in _trail(http, service, client_id) if r["action"] == "read" and r["endpoint"] == endpoint]


def test_a_read_of_a_client_file_is_recorded_with_endpoint_purpose_and_actor(world):
    _, http, a1, _, _ = world
    r = http.get(f"/intake/v1/clients/{a1.client_id}", headers={**KM, "X-Purpose": "objection"})
    assert r.status_code == 200
    record = _reads(http, "intake", a1.client_id, "GET /intake/v1/clients/{client_id}")[-1]
    assert (record["actor_subject"], record["actor_role"], record["purpose"]) == ("km-anna", "case_manager", "objection")
    assert record["client_id"] == a1.client_id and record["changes"] is None
    assert record["correlation_id"] == r.headers["x-correlation-id"]
    http.get(f"/intake/v1/clients/{a1.client_id}", headers=KM)
    assert _reads(http, "intake", a1.client_id, "GET /intake/v1/clients/{client_id}")[-1]["purpose"] == "casework"


@pytest.mark.parametrize(
    "service, path, endpoint, headers",
    [
        ("intake", "/intake/v1/plans/{plan_id}", "GET /intake/v1/plans/{plan_id}", KM),
        ("intake", "/intake/v1/plans/{plan_id}/versions", "GET /intake/v1/plans/{plan_id}/versions", KM),
        ("intake", "/intake/v1/plans?client_id={client_id}", "GET /intake/v1/plans", KM),
        ("budget", "/budget/v1/budgets/{budget_id}", "GET /budget/v1/budgets/{budget_id}", FIN),
        ("budget", "/budget/v1/budgets/{budget_id}/ledger", "GET /budget/v1/budgets/{budget_id}/ledger", FIN),
        ("budget", "/budget/v1/invoices/{invoice_id}", "GET /budget/v1/invoices/{invoice_id}", FIN),
        ("monitoring", "/monitoring/v1/trajectories/{plan_id}", "GET /monitoring/v1/trajectories/{plan_id}", KM),
        ("monitoring", "/monitoring/v1/trajectories/{plan_id}/progress-reports",
         "GET /monitoring/v1/trajectories/{plan_id}/progress-reports", KM),
    ],
)
def test_reads_of_plans_budgets_invoices_trajectories_and_reports_are_recorded_for_their_client(
    world, service, path, endpoint, headers
):
    _, http, a1, a2, _ = world
    before = len(_reads(http, service, a1.client_id, endpoint))
    url = path.format(plan_id=a1.plan_id, client_id=a1.client_id, budget_id=a1.budget_id, invoice_id=a1.invoice_id)
    assert http.get(url, headers=headers).status_code == 200
    records = _reads(http, service, a1.client_id, endpoint)
    assert len(records) == before + 1
    assert all(r["endpoint"] == endpoint for r in records)
    assert not [r for r in _trail(http, service, a2.client_id) if r["endpoint"] == endpoint and r["at"] >= records[-1]["at"]]


def test_a_list_of_invoices_records_each_client_it_shows(world):
    _, http, a1, a2, _ = world
    assert http.get("/budget/v1/invoices", headers=FIN).status_code == 200
    for case in (a1, a2):
        assert _reads(http, "budget", case.client_id, "GET /budget/v1/invoices")


def test_the_client_list_and_the_bsn_search_record_each_client_they_show(world):
    _, http, a1, a2, b1 = world
    assert http.get("/intake/v1/clients", headers=KM).status_code == 200
    for case in (a1, a2):
        assert _reads(http, "intake", case.client_id, "GET /intake/v1/clients")
    found = http.post("/intake/v1/clients/search", headers=KM, json={"bsn": bsn_of(72)})
    assert [c["id"] for c in found.json()] == [a2.client_id]
    assert _reads(http, "intake", a2.client_id, "POST /intake/v1/clients/search")
    assert not _reads(http, "intake", a1.client_id, "POST /intake/v1/clients/search")


def test_a_change_of_client_data_is_recorded_with_old_and_new_values_and_personal_ones_masked(world):
    _, http, a1, _, _ = world
    r = http.patch(f"/intake/v1/clients/{a1.client_id}", headers={**KM, "X-Purpose": "casework.contact"},
                   json={"language": "en", "phone": "0612345678", "case_manager": "km-bert"})
    assert r.status_code == 200, r.text
    record = [x for x in _trail(http, "intake", a1.client_id) if x["action"] == "update"][-1]
    assert record["endpoint"] == "PATCH /intake/v1/clients/{client_id}"
    assert (record["purpose"], record["actor_subject"]) == ("casework.contact", "km-anna")
    assert record["changes"] == {
        "language": {"old": "nl", "new": "en"},
        "phone": {"old": None, "new": "***"},
        "case_manager": {"old": "case_manager-0014", "new": "km-bert"},
    }
    created = [x for x in _trail(http, "intake", a1.client_id) if x["action"] == "create" and "bsn" in x["changes"]]
    assert len(created) == 1 and created[0]["endpoint"] == "POST /intake/v1/clients"
    assert created[0]["changes"]["bsn"] == {"old": None, "new": "***"}
    assert created[0]["changes"]["scheme"] == {"old": None, "new": "prb"}


def test_a_refused_change_or_read_leaves_no_record(world):
    _, http, a1, _, b1 = world
    before = _trail(http, "intake", a1.client_id)
    r = http.patch(f"/intake/v1/clients/{a1.client_id}", headers=KM, json={"date_of_birth": "1800-01-01"})
    assert r.status_code == 422
    assert http.get(f"/intake/v1/clients/{b1.client_id}", headers=KM).status_code == 404
    after = _trail(http, "intake", a1.client_id)
    assert [x["id"] for x in after if x["endpoint"] != "GET /intake/v1/audit"] == [
        x["id"] for x in before if x["endpoint"] != "GET /intake/v1/audit"
    ]
    assert http.get("/intake/v1/audit", headers=OTHER_TL, params={"client_id": a1.client_id}).status_code == 404
    assert all(x["client_id"] != b1.client_id or x["actor_role"] != "case_manager" or x["action"] != "read"
               or "0014" not in x["actor_subject"] for x in _trail(http, "intake", headers=OTHER_TL))


def test_no_bsn_or_name_is_in_any_audit_record(world):
    runtime, http, a1, a2, b1 = world
    http.get(f"/intake/v1/clients/{a1.client_id}", headers=KM)
    with runtime.engine.connect() as conn:
        rows = [
            json.dumps([str(v) for v in row])
            for service in ("intake", "budget", "monitoring", "notifications")
            for row in conn.execute(sa.text(f"SELECT * FROM {service}.audit_record"))
        ]
    assert len(rows) > 10
    for seed in (71, 72, 73):
        for secret in (bsn_of(seed), f"Client {seed}"):
            assert not [row for row in rows if secret in row]


def test_another_municipality_cannot_read_the_trail(world):
    _, http, a1, _, b1 = world
    for service in ("intake", "budget", "monitoring"):
        r = http.get(f"/{service}/v1/audit", headers=OTHER_TL, params={"client_id": a1.client_id})
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
        assert {x["client_id"] for x in _trail(http, service, headers=OTHER_TL)} <= {b1.client_id}
    mine = http.get("/intake/v1/audit/mine", headers=b1.headers())
    assert mine.status_code == 200 and {x["client_id"] for x in mine.json()} == {b1.client_id}


@pytest.mark.parametrize("role", ["case_manager", "finance", "policy", "provider", "ops"])
def test_only_team_leads_list_the_trail(world, role):
    _, http, a1, _, _ = world
    extra = {"provider_id": "coach-bv"} if role == "provider" else {}
    r = http.get("/intake/v1/audit", headers=auth(role, "0014", **extra), params={"client_id": a1.client_id})
    assert r.status_code == 403 and "team_lead" in r.json()["detail"]


def test_a_client_reads_who_saw_their_data_and_nobody_elses(world):
    _, http, a1, a2, _ = world
    http.get(f"/budget/v1/budgets/{a1.budget_id}", headers={**FIN, "X-Purpose": "payment.check"})
    mine = http.get("/budget/v1/audit/mine", headers=a1.headers())
    assert mine.status_code == 200
    assert {x["client_id"] for x in mine.json()} == {a1.client_id}
    assert any(x["actor_role"] == "finance" and x["purpose"] == "payment.check" for x in mine.json())
    assert http.get("/budget/v1/audit", headers=a1.headers()).status_code == 403
    assert http.get("/budget/v1/audit/mine", headers=KM).status_code == 403


def test_reading_the_trail_is_recorded_too(world):
    _, http, _, a2, _ = world
    assert http.get(f"/monitoring/v1/trajectories/{a2.plan_id}", headers=KM).status_code == 200
    _trail(http, "monitoring", a2.client_id)
    assert _reads(http, "monitoring", a2.client_id, "GET /monitoring/v1/audit")


def test_the_trail_narrows_by_time_and_a_reversed_window_is_a_422_naming_the_field(world):
    _, http, a1, _, _ = world
    everything = _trail(http, "intake", a1.client_id)
    middle = everything[len(everything) // 2]["at"]
    later = _trail(http, "intake", a1.client_id, **{"from": middle})
    assert later and all(x["at"] >= middle for x in later) and len(later) < len(everything) + 1
    r = http.get("/intake/v1/audit", headers=TL, params={"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to"


def test_an_invalid_purpose_is_a_422_naming_the_header(world):
    _, http, a1, _, _ = world
    r = http.get(f"/intake/v1/clients/{a1.client_id}", headers={**KM, "X-Purpose": "Checking Jan's debts"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "X-Purpose"


def test_verify_detects_a_tampered_row_and_names_it(world):
    runtime, http, a1, _, _ = world
    http.get(f"/monitoring/v1/trajectories/{a1.plan_id}", headers=KM)
    before = http.get("/monitoring/v1/audit/verify", headers=auth("ops", "0014"))
    assert before.status_code == 200 and before.json()["ok"] is True and before.json()["checked"] > 0
    victim = _trail(http, "monitoring", a1.client_id)[0]
    with runtime.engine.begin() as conn:
        conn.execute(sa.text("UPDATE monitoring.audit_record SET purpose = 'nothing' WHERE id = :id"),
                     {"id": victim["id"]})
    after = http.get("/monitoring/v1/audit/verify", headers=TL).json()
    assert after["ok"] is False
    assert after["first_broken"] == {"id": victim["id"], "seq": victim["seq"], "reason": "hash_mismatch"}
    assert http.get("/intake/v1/audit/verify", headers=TL).json()["ok"] is True  # another service's chain
    assert http.get("/monitoring/v1/audit/verify", headers=OTHER_TL).json()["ok"] is True  # another municipality's
    assert http.get("/monitoring/v1/audit/verify", headers=KM).status_code == 403


def test_the_art_15_export_gathers_the_clients_records_from_every_service(world, capsys, monkeypatch):
    runtime, http, a1, _, _ = world
    records = list(client_trail(runtime, "0014", a1.client_id))
    assert {r["service"] for r in records} >= {"intake", "budget", "monitoring"}
    assert {r["client_id"] for r in records} == {a1.client_id}
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)
    assert list(client_trail(runtime, "0344", a1.client_id)) == []

    monkeypatch.setenv("PRB_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("PRB_ENVIRONMENT", "test")
    from shared.config import get_settings

    get_settings.cache_clear()
    try:
        prb(["audit", "export", "--client", a1.client_id, "--municipality", "0014"])
    finally:
        get_settings.cache_clear()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) >= len(records) and {line["client_id"] for line in lines} == {a1.client_id}
    noted = [r for r in client_trail(runtime, "0014", a1.client_id) if r["purpose"] == "gdpr.access"]
    assert {r["service"] for r in noted} >= {"intake", "budget", "monitoring"}, "the export is a read too"
    assert {(r["action"], r["endpoint"], r["actor_role"]) for r in noted} == {("read", "internal", "ops")}
    assert all(r["actor_subject"].startswith("cli:") for r in noted)


def test_a_representation_added_and_ended_is_recorded_with_its_name_and_email_masked(world):
    _, http, _, a2, _ = world
    r = http.post(f"/intake/v1/clients/{a2.client_id}/representatives", headers=KM,
                  json={"subject": "rep-zus", "name": "Fatima Jansen", "relation": "family", "email": "f@example.nl"})
    assert r.status_code == 201, r.text
    rep_id = r.json()["id"]
    assert http.delete(f"/intake/v1/clients/{a2.client_id}/representatives/{rep_id}", headers=KM).status_code == 200
    changes = [x for x in _trail(http, "intake", a2.client_id) if x["action"] in ("create", "delete")]
    added, ended = changes[-2], changes[-1]
    assert added["endpoint"] == "POST /intake/v1/clients/{client_id}/representatives"
    assert added["changes"]["representative.name"] == {"old": None, "new": "***"}
    assert added["changes"]["representative.email"] == {"old": None, "new": "***"}
    assert added["changes"]["representative.relation"] == {"old": None, "new": "family"}
    assert ended["action"] == "delete"
    assert ended["endpoint"] == "DELETE /intake/v1/clients/{client_id}/representatives/{representative_id}"
    assert ended["changes"] == {"representative.active": {"old": True, "new": False},
                                "representative_id": {"old": rep_id, "new": rep_id}}
    assert "Fatima" not in json.dumps(changes)


def test_a_read_whose_record_cannot_be_written_answers_an_error_without_the_data(request, tmp_path):
    runtime, http = migrated_app(request, tmp_path)
    with http:
        r = http.post("/intake/v1/clients", headers=KM, json={
            "bsn": bsn_of(79), "client_number": "K79", "name": "Client 79", "facts": {}})
        assert r.status_code == 201, r.text
        client_id = r.json()["id"]
        with runtime.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE intake.audit_record RENAME TO audit_record_gone"))
        r = http.get(f"/intake/v1/clients/{client_id}", headers=KM)
        assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
        assert "Client 79" not in r.text and bsn_of(79) not in r.text and '"facts"' not in r.text
        r = http.patch(f"/intake/v1/clients/{client_id}", headers=KM, json={"language": "en"})
        assert r.status_code == 503  # the change is not made without its record either
        with runtime.engine.connect() as conn:
            language = conn.execute(sa.text("SELECT language FROM intake.client WHERE id = :id"), {"id": client_id})
            assert language.scalar_one() == "nl"


def test_a_head_request_shows_no_data_and_records_no_read(world):
    _, http, _, a2, _ = world
    endpoint = "GET /intake/v1/clients/{client_id}/contacts"
    assert http.head(f"/intake/v1/clients/{a2.client_id}/contacts", headers=KM).status_code == 200
    assert not _reads(http, "intake", a2.client_id, endpoint)
    assert http.get(f"/intake/v1/clients/{a2.client_id}/contacts", headers=KM).status_code == 200
    assert len(_reads(http, "intake", a2.client_id, endpoint)) == 1
