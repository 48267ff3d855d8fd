"""Fixtures for the budget's integration tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from shared.config import Settings
from shared.runtime import Runtime
from tests.support.runtime import migrated_runtime


@pytest.fixture(scope="module")
def race_runtime(pg_admin_url: str) -> Iterator[Runtime]:
    """One migrated PostgreSQL database per test module, for tests that each open their own budgets."""
    name = f"prb_race_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    rt = migrated_runtime(Settings(database_url=url, environment="test"))
    yield rt
    rt.engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
