"""Fixtures for the budget's integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.config import Settings
from shared.runtime import Runtime
from tests.integration.budget.support import budget_runtime
from tests.support.databases import scratch_database


@pytest.fixture(scope="module")
def race_runtime(pg_admin_url: str) -> Iterator[Runtime]:
    """One migrated PostgreSQL database per test module, for tests that each open their own budgets."""
    with scratch_database(pg_admin_url, "prb_race") as url:
        rt = budget_runtime(Settings(database_url=url, environment="test"))
        yield rt
        rt.engine.dispose()
