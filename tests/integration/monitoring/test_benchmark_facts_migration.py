"""monitoring_0011 fills the benchmark's write-time facts in for the rows already there, by the
rules the handlers follow, and the way back removes them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade

BEFORE, OURS = "monitoring_0010", "monitoring_0011"


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["monitoring"])
    yield engine
    engine.dispose()


def _trajectory(plan_id: str, client_id: str, started_on: str, benefit: str, kind: str = "plan") -> dict:
    return {
        "plan_id": plan_id, "kind": kind, "municipality": "0014", "client_id": client_id, "scheme": "prb",
        "granted_cents": 0, "spent_cents": 0, "started_on": date.fromisoformat(started_on),
        "execution_deadline": date(2027, 12, 31),
        "report_overdue": False, "status": "running", "benefit": benefit,
    }


def test_existing_rows_get_first_plan_and_the_line_facts(engine):
    migrations = load_service("monitoring").migrations
    upgrade(engine, "monitoring", migrations, BEFORE)
    meta = sa.MetaData()
    trajectory = sa.Table("trajectory", meta, schema="monitoring", autoload_with=engine)
    line = sa.Table("trajectory_line", meta, schema="monitoring", autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(trajectory), [
            _trajectory("p-early", "c-1", "2026-01-01", "wwb"),
            _trajectory("p-late", "c-1", "2026-06-01", "wwb"),
            _trajectory("o-1", "c-1", "2025-10-01", "wwb", kind="orientation"),
            _trajectory("p-other", "c-2", "2026-02-01", "nug"),
        ])
        conn.execute(sa.insert(line), [
            {"plan_line_id": "l-2", "plan_id": "p-other", "municipality": "0014", "category": "coaching",
             "granted_cents": 1},
            {"plan_line_id": "l-1", "plan_id": "p-other", "municipality": "0014", "category": "coaching",
             "granted_cents": 1},
            {"plan_line_id": "l-3", "plan_id": "p-early", "municipality": "0014", "category": "coaching",
             "granted_cents": 1},
        ])
    upgrade(engine, "monitoring", migrations, OURS)
    with engine.connect() as conn:
        plans = sa.text("SELECT plan_id, first_plan FROM monitoring.trajectory WHERE kind = 'plan'")
        first = {row[0]: bool(row[1]) for row in conn.execute(plans)}
        lines = conn.execute(sa.text(
            "SELECT plan_line_id, started_on, scheme, benefit, first_of_category FROM monitoring.trajectory_line "
            "ORDER BY plan_line_id"
        )).all()
    assert first == {"p-early": True, "p-late": False, "p-other": True}
    assert [(r[0], str(r[1]), r[2], r[3], bool(r[4])) for r in lines] == [
        ("l-1", "2026-02-01", "prb", "nug", True),
        ("l-2", "2026-02-01", "prb", "nug", False),
        ("l-3", "2026-01-01", "prb", "wwb", True),
    ]
    downgrade(engine, "monitoring", migrations, BEFORE)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("trajectory_line", schema="monitoring")}
    assert "first_of_category" not in columns and "benefit" not in columns
    upgrade(engine, "monitoring", migrations, OURS)
