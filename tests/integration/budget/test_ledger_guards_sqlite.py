"""Embedded mode (SQLite) has the same guards as PostgreSQL: the ledger drives the line's totals,
no account goes below zero, and entries are never edited."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.budget.models import BudgetLine
from shared.config import Settings
from tests.integration.budget.support import budget_runtime, ledger_consistent, open_budget


@pytest.fixture
def runtime(tmp_path):
    rt = budget_runtime(Settings(data_dir=tmp_path, environment="test"))
    yield rt
    rt.engine.dispose()


def _insert(conn, budget_id: str, line_id: str, *postings: tuple[str, int]) -> None:
    tx = str(uuid.uuid4())
    for account, cents in postings:
        conn.execute(
            sa.text(
                "INSERT INTO budget.ledger_entry (transaction_id, budget_id, budget_line_id, kind, account, "
                "amount_cents, created_at) VALUES (:tx, :b, :l, 'commit', :a, :c, CURRENT_TIMESTAMP)"
            ),
            {"tx": tx, "b": budget_id, "l": line_id, "a": account, "c": cents},
        )


def test_an_entry_inserted_by_hand_moves_the_cached_totals_on_sqlite(runtime):
    b = open_budget(runtime)
    with runtime.engine.begin() as conn:
        _insert(conn, b["budget_id"], b["line_ids"][0], ("available", -25_00), ("committed", 25_00))
    with runtime.engine.connect() as conn:
        line = conn.execute(sa.select(BudgetLine).where(BudgetLine.id == b["line_ids"][0])).one()
    assert (line.available_cents, line.committed_cents) == (975_00, 25_00)
    ledger_consistent(runtime)


def test_an_overdraft_is_refused_by_the_database_on_sqlite(runtime):
    b = open_budget(runtime)
    with pytest.raises(sa.exc.IntegrityError), runtime.engine.begin() as conn:
        _insert(conn, b["budget_id"], b["line_ids"][0], ("available", -1000_01), ("committed", 1000_01))
    ledger_consistent(runtime)


@pytest.mark.parametrize(
    "statement", ["UPDATE budget.ledger_entry SET amount_cents = 0", "DELETE FROM budget.ledger_entry"]
)
def test_ledger_entries_are_append_only_on_sqlite(runtime, statement):
    open_budget(runtime)
    with pytest.raises(sa.exc.DBAPIError, match="never edited"), runtime.engine.begin() as conn:
        conn.execute(sa.text(statement))


def test_an_entry_for_an_unknown_line_is_refused_on_sqlite(runtime):
    b = open_budget(runtime)
    with pytest.raises(sa.exc.DBAPIError, match="unknown budget line"), runtime.engine.begin() as conn:
        _insert(conn, b["budget_id"], "no-such-line", ("available", -1), ("committed", 1))
