"""notifications_0003 adds the delivery log, the read state, the municipality settings and the
preferences, and the way back removes them (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade

BEFORE, OURS = "notifications_0002", "notifications_0003"
TABLES = {"delivery", "message_read", "municipality_settings", "preference"}


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["notifications"])
    yield engine
    engine.dispose()


def test_the_delivery_tables_come_and_go(engine):
    migrations = load_service("notifications").migrations
    upgrade(engine, "notifications", migrations, OURS)
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names(schema="notifications")) >= TABLES
    uniques = {u["name"] for u in inspector.get_unique_constraints("delivery", schema="notifications")}
    assert "uq_delivery_recipient_cause_channel" in uniques
    indexes = {i["name"] for i in inspector.get_indexes("delivery", schema="notifications")}
    assert "ix_notifications_delivery_due" in indexes
    downgrade(engine, "notifications", migrations, BEFORE)
    assert not TABLES & set(sa.inspect(engine).get_table_names(schema="notifications"))
    upgrade(engine, "notifications", migrations, "head")
    assert set(sa.inspect(engine).get_table_names(schema="notifications")) >= TABLES
