"""monitoring_0007 on a database with running trajectories: each running plan gets the default
report schedule as follow-ups after its last report (or its start); orientation phases and closed
trajectories get none; and the way back works (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade

BEFORE, OURS = "monitoring_0006", "monitoring_0007"


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["monitoring"])
    yield engine
    engine.dispose()


def _trajectory(conn, plan_id: str, *, kind: str = "plan", status: str = "running", last_report: str | None = None):
    conn.execute(
        sa.text(
            "INSERT INTO monitoring.trajectory (plan_id, kind, municipality, client_id, scheme, granted_cents, "
            "spent_cents, started_on, execution_deadline, last_report_at, report_overdue, status) VALUES (:p, :kind, "
            "'0014', 'c', 'prb', 0, 0, :start, :deadline, :last, false, :status)"
        ),
        {
            "p": plan_id,
            "kind": kind,
            "start": date(2026, 1, 31),
            "deadline": date(2026, 9, 30),
            "last": last_report,
            "status": status,
        },
    )


def test_running_plans_get_the_default_schedule_after_their_last_report(engine):
    migrations = load_service("monitoring").migrations
    upgrade(engine, "monitoring", migrations, BEFORE)
    with engine.begin() as conn:
        _trajectory(conn, "p-new")
        _trajectory(conn, "p-reported", last_report="2026-04-10 10:00:00+00:00")
        _trajectory(conn, "p-closed", status="closed")
        _trajectory(conn, "o-orientation", kind="orientation")
    upgrade(engine, "monitoring", migrations, OURS)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT plan_id, kind, due_on, status FROM monitoring.follow_up ORDER BY plan_id, due_on")
        ).all()
        schedules = {r.plan_id for r in conn.execute(sa.text("SELECT plan_id FROM monitoring.report_schedule"))}
    due: dict[str, list[date]] = {}
    for row in rows:
        assert row.kind == "progress_report" and row.status == "open"
        due.setdefault(row.plan_id, []).append(
            row.due_on if isinstance(row.due_on, date) else date.fromisoformat(row.due_on)
        )
    # Every two months from 31 January, month ends kept: 31 March, 31 May, 31 July, 30 September.
    assert due["p-new"] == [date(2026, 3, 31), date(2026, 5, 31), date(2026, 7, 31), date(2026, 9, 30)]
    assert due["p-reported"] == [date(2026, 5, 31), date(2026, 7, 31), date(2026, 9, 30)]
    assert set(due) == {"p-new", "p-reported"} and schedules == {"p-new", "p-reported"}
    downgrade(engine, "monitoring", migrations, BEFORE)
    with engine.connect() as conn:
        for table in ("follow_up", "report_schedule", "conversation", "milestone", "time_entry"):
            assert not sa.inspect(conn).has_table(table, schema="monitoring")
