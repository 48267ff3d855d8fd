"""monitoring_0009 adds the benchmark settings table and the indexes the report reads by, and the
way back removes them (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade

BEFORE, OURS = "monitoring_0008", "monitoring_0009"
INDEXES = {
    "trajectory": {"ix_monitoring_trajectory_municipality_started_on", "ix_monitoring_trajectory_plan_client"},
    "trajectory_line": {"ix_monitoring_trajectory_line_municipality_plan_category"},
}


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["monitoring"])
    yield engine
    engine.dispose()


def _state(engine) -> tuple[bool, dict[str, set[str]]]:
    inspector = sa.inspect(engine)
    tables = set(inspector.get_table_names(schema="monitoring"))
    indexes = {t: {i["name"] for i in inspector.get_indexes(t, schema="monitoring")} for t in INDEXES}
    return "benchmark_settings" in tables, indexes


def test_the_settings_table_and_the_report_indexes_come_and_go(engine):
    migrations = load_service("monitoring").migrations
    upgrade(engine, "monitoring", migrations, OURS)
    has_table, indexes = _state(engine)
    assert has_table and all(INDEXES[t] <= indexes[t] for t in INDEXES)
    downgrade(engine, "monitoring", migrations, BEFORE)
    has_table, indexes = _state(engine)
    assert not has_table and not any(INDEXES[t] & indexes[t] for t in INDEXES)
    upgrade(engine, "monitoring", migrations, OURS)
    assert _state(engine)[0]
