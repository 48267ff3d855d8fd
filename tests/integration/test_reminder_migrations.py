"""monitoring_0012 and intake_0006 on a database with rows: the reminder columns arrive empty
(nothing is reminded of twice or skipped), their partial indexes exist, and the way back works
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["monitoring", "intake"])
    yield engine
    engine.dispose()


def _indexes(engine, table: str, schema: str) -> set[str]:
    return {i["name"] for i in sa.inspect(engine).get_indexes(table, schema=schema)}


def _columns(engine, table: str, schema: str) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns(table, schema=schema)}


def test_monitoring_0012_adds_empty_reminder_columns_and_their_indexes_and_goes_back(engine):
    migrations = load_service("monitoring").migrations
    upgrade(engine, "monitoring", migrations, "monitoring_0011")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO monitoring.trajectory (plan_id, kind, municipality, client_id, scheme, granted_cents, "
                "spent_cents, started_on, execution_deadline, report_overdue, status, first_plan) VALUES ('p', 'plan', "
                "'0014', 'c', 'prb', 0, 0, :start, :deadline, false, 'running', true)"
            ),
            {"start": date(2026, 3, 2), "deadline": date(2026, 9, 2)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO monitoring.follow_up (id, municipality, plan_id, client_id, kind, title, due_on, status) "
                "VALUES ('f', '0014', 'p', 'c', 'progress_report', '', :due, 'open')"
            ),
            {"due": date(2026, 5, 2)},
        )
    upgrade(engine, "monitoring", migrations, "monitoring_0012")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT reminded_at FROM monitoring.follow_up")).scalar_one() is None
        assert conn.execute(sa.text("SELECT ending_reminded_for FROM monitoring.trajectory")).scalar_one() is None
    assert "ix_monitoring_follow_up_to_remind" in _indexes(engine, "follow_up", "monitoring")
    assert "ix_monitoring_trajectory_to_remind_end" in _indexes(engine, "trajectory", "monitoring")
    downgrade(engine, "monitoring", migrations, "monitoring_0011")
    assert "reminded_at" not in _columns(engine, "follow_up", "monitoring")
    assert "ending_reminded_for" not in _columns(engine, "trajectory", "monitoring")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM monitoring.follow_up")).scalar_one() == 1


def test_intake_0006_adds_an_empty_reminded_at_and_its_index_and_goes_back(engine):
    migrations = load_service("intake").migrations
    upgrade(engine, "intake", migrations, "intake_0005")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO intake.orientation (id, municipality, client_id, scheme, starts_on, ends_on, "
                "budget_cents, status, started_by, created_at) VALUES ('o', '0014', 'c', 'prb', :start, :end, 0, "
                "'running', 'km', :at)"
            ),
            {"start": date(2026, 3, 2), "end": date(2026, 6, 2), "at": datetime(2026, 3, 2, 8, tzinfo=UTC)},
        )
    upgrade(engine, "intake", migrations, "intake_0006")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT reminded_at FROM intake.orientation")).scalar_one() is None
    assert "ix_intake_orientation_to_remind" in _indexes(engine, "orientation", "intake")
    downgrade(engine, "intake", migrations, "intake_0005")
    assert "reminded_at" not in _columns(engine, "orientation", "intake")
