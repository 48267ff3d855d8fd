"""The audit migrations (intake_0011, budget_0010, monitoring_0013, notifications_0007): each makes
its service's audit_record table (and on PostgreSQL the trigger that keeps it append-only) and its
way back removes both, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade

OURS = {"intake": "intake_0010", "budget": "budget_0009", "monitoring": "monitoring_0012",
        "notifications": "notifications_0006"}  # the revision before each service's audit migration


@pytest.mark.parametrize("service", list(OURS))
def test_the_audit_table_comes_with_its_migration_and_goes_with_its_way_back(empty_database_url, service):
    engine = create_db_engine(empty_database_url, schemas=[service])
    try:
        migrations = load_service(service).migrations
        upgrade(engine, service, migrations)
        assert "audit_record" in sa.inspect(engine).get_table_names(schema=service)
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            with engine.connect() as conn:
                triggers = conn.execute(sa.text(
                    "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s AND c.relname = 'audit_record'"
                ), {"s": service}).scalars().all()
            assert set(triggers) == {"audit_record_no_change", "audit_record_no_truncate"}
        downgrade(engine, service, migrations, OURS[service])
        assert "audit_record" not in sa.inspect(engine).get_table_names(schema=service)
        if postgres:
            with engine.connect() as conn:
                left = conn.execute(sa.text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = :s AND p.proname = 'audit_record_append_only'"), {"s": service}).scalar_one()
            assert left == 0
        upgrade(engine, service, migrations)
        assert "audit_record" in sa.inspect(engine).get_table_names(schema=service)
    finally:
        engine.dispose()
