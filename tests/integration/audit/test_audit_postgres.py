"""The audit trail on PostgreSQL: reads and changes recorded through the API, the table refusing
UPDATE, DELETE and TRUNCATE (its trigger), and concurrent writers keeping one unbroken chain."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from shared.audit import AuditAction, AuditEntry, append, list_records, verify
from tests.support.auth import auth
from tests.support.world import make_case, migrated_app

KM, TL = auth("case_manager", "0014", subject="km-anna"), auth("team_lead", "0014")


@pytest.fixture
def pg_world(request, tmp_path):
    runtime, http = migrated_app(request, tmp_path, "postgresql")
    with http:
        yield runtime, http, make_case(http, runtime, "0014", 81)
    runtime.engine.dispose()


def test_reads_and_changes_are_recorded_and_the_chain_verifies_on_postgresql(pg_world):
    runtime, http, case = pg_world
    assert http.get(f"/intake/v1/clients/{case.client_id}", headers={**KM, "X-Purpose": "review"}).status_code == 200
    r = http.patch(f"/intake/v1/clients/{case.client_id}", headers=KM, json={"language": "en"})
    assert r.status_code == 200, r.text
    assert http.get(f"/budget/v1/budgets/{case.budget_id}", headers=auth("finance", "0014")).status_code == 200
    assert http.get(f"/monitoring/v1/trajectories/{case.plan_id}/progress-reports", headers=KM).status_code == 200

    everything = http.get("/intake/v1/audit", headers=TL, params={"client_id": case.client_id}).json()
    trail = [x for x in everything if "/clients" in x["endpoint"]]  # not the plan's records (make_case's)
    assert [(x["action"], x["endpoint"]) for x in trail] == [
        ("create", "POST /intake/v1/clients"),
        ("read", "GET /intake/v1/clients/{client_id}"),
        ("update", "PATCH /intake/v1/clients/{client_id}"),
    ]
    assert ("update", "POST /intake/v1/plans/{plan_id}/decisions") in {(x["action"], x["endpoint"]) for x in everything}
    assert trail[1]["purpose"] == "review" and trail[2]["changes"] == {"language": {"old": "nl", "new": "en"}}
    budget = http.get("/budget/v1/audit", headers=TL, params={"client_id": case.client_id}).json()
    assert "GET /budget/v1/budgets/{budget_id}" in {x["endpoint"] for x in budget}
    for service in ("intake", "budget", "monitoring", "notifications"):
        answer = http.get(f"/{service}/v1/audit/verify", headers=TL).json()
        assert answer["ok"] is True, answer


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE intake.audit_record SET purpose = 'nothing'",
        "DELETE FROM intake.audit_record",
        "TRUNCATE intake.audit_record",
    ],
)
def test_the_table_refuses_update_delete_and_truncate_on_postgresql(pg_world, statement):
    runtime, _, case = pg_world
    with runtime.engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM intake.audit_record")).scalar_one()
    assert before > 0
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), runtime.engine.begin() as conn:
        conn.execute(sa.text(statement))
    with Session(runtime.engine) as session:
        assert verify(session, "intake", "0014").ok
        assert len(list_records(session, "intake", "0014")) == before


def test_a_row_changed_behind_the_triggers_back_is_found_by_verify_on_postgresql(pg_world):
    runtime, http, case = pg_world
    first = http.get("/intake/v1/audit", headers=TL, params={"client_id": case.client_id}).json()[0]
    with runtime.engine.begin() as conn:  # the table's owner can switch the trigger off: verify still sees it
        conn.execute(sa.text("ALTER TABLE intake.audit_record DISABLE TRIGGER audit_record_no_change"))
        conn.execute(sa.text("UPDATE intake.audit_record SET actor_subject = 'nobody' WHERE id = :id"),
                     {"id": first["id"]})
        conn.execute(sa.text("ALTER TABLE intake.audit_record ENABLE TRIGGER audit_record_no_change"))
    answer = http.get("/intake/v1/audit/verify", headers=TL).json()
    assert answer["ok"] is False
    assert answer["first_broken"] == {"id": first["id"], "seq": first["seq"], "reason": "hash_mismatch"}


def test_concurrent_writers_keep_one_chain_on_postgresql(pg_world):
    runtime, _, _ = pg_world
    threads, each = 8, 15
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(each):
                entry = AuditEntry(
                    municipality="0307", actor_subject=f"km-{n}", actor_role="case_manager", client_id=f"c-{n}-{i}",
                    action=AuditAction.READ, endpoint="GET /intake/v1/clients/{client_id}", purpose="casework",
                    correlation_id=f"t-{n}", at=datetime.now(UTC),
                )
                with Session(runtime.engine) as session:
                    append(session, "intake", [entry])
                    session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with Session(runtime.engine) as session:
        records = list_records(session, "intake", "0307")
        result = verify(session, "intake", "0307")
    assert [r.seq for r in records] == list(range(1, threads * each + 1))
    assert len({r.prev_hash for r in records}) == len(records)  # no two records on one predecessor: no fork
    assert result.ok and result.checked == threads * each
