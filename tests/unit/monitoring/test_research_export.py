"""The research export names no one: pseudonyms hold within one export only, dates become months,
and the columns never include an id, a name or a day."""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from services.monitoring.domain.research_export import (
    COLUMNS,
    FORBIDDEN,
    NAMES,
    PSEUDONYM_LENGTH,
    Pseudonyms,
    month,
    outcome_row,
)
from services.monitoring.research_export import SCHEMA, to_csv, to_parquet

PLANS = [f"plan-{n}" for n in range(200)]


def test_a_plan_has_the_same_pseudonym_throughout_one_export():
    one = Pseudonyms(secrets.token_bytes(32))
    assert [one(p) for p in PLANS] == [one(p) for p in PLANS]
    assert len({one(p) for p in PLANS}) == len(PLANS)
    assert all(len(one(p)) == PSEUDONYM_LENGTH and "plan" not in one(p) for p in PLANS)


def test_two_exports_give_the_same_plan_different_pseudonyms():
    first, second = Pseudonyms(secrets.token_bytes(32)), Pseudonyms(secrets.token_bytes(32))
    assert not {first(p) for p in PLANS} & {second(p) for p in PLANS}


def test_the_pseudonym_is_the_truncated_hmac_sha256_of_the_plan_id():
    key = bytes(range(32))
    expected = hmac.new(key, b"plan-1", hashlib.sha256).hexdigest()[:16]
    assert Pseudonyms(key)("plan-1") == expected


def test_a_short_key_is_refused_and_the_key_never_shows_in_a_repr():
    with pytest.raises(ValueError):
        Pseudonyms(b"short")
    key = secrets.token_bytes(32)
    assert key.hex() not in repr(Pseudonyms(key))


@pytest.mark.parametrize("day,expected", [(date(2026, 3, 2), "2026-03"), (date(2025, 12, 31), "2025-12"), (None, None)])
def test_dates_become_months(day, expected):
    assert month(day) == expected


@pytest.mark.parametrize(
    "category,status,expected",
    [
        ("work_after", "closed", "work_after"),
        (None, "running", "no_work_running"),
        (None, "closed", "unknown"),
    ],
)
def test_a_trajectory_without_an_outcome_gets_the_row_its_status_implies(category, status, expected):
    assert outcome_row(category, status) == expected


def test_no_column_is_an_id_a_name_or_a_day():
    assert not set(NAMES) & FORBIDDEN
    assert not [n for n in NAMES if n.endswith(("_id", "_on", "_at", "_date")) or n in ("bsn", "name")]
    assert len(set(NAMES)) == len(NAMES)


def _row(**changes):
    row = {c.name: None for c in COLUMNS}
    row.update(
        pseudonym="0123456789abcdef",
        municipality="0014",
        scheme="prb",
        provisions_recorded=False,
        durable=False,
        granted_euros=Decimal("1000.00"),
        paid_euros=Decimal("121.00"),
        case_minutes=90,
        start_month="2026-03",
    )
    row.update(changes)
    return row


def test_csv_has_a_header_and_writes_not_recorded_as_empty():
    text = to_csv([_row(debt_counselling=True)]).decode()
    header, line = text.splitlines()
    assert header.split(",") == list(NAMES)
    values = dict(zip(NAMES, line.split(","), strict=True))
    assert values["granted_euros"] == "1000.00" and values["debt_counselling"] == "true"
    assert values["close_month"] == "" and values["provisions_recorded"] == "false"


def test_parquet_keeps_the_types():
    table = pq.read_table(io.BytesIO(to_parquet([_row(), _row(pseudonym="fedcba9876543210", case_minutes=0)])))
    assert table.schema.equals(SCHEMA, check_metadata=False)
    assert str(table.schema.field("granted_euros").type) == "decimal128(14, 2)"
    assert str(table.schema.field("case_minutes").type) == "int64"
    assert str(table.schema.field("durable").type) == "bool"
    assert table.column("paid_euros").to_pylist() == [Decimal("121.00")] * 2


def test_an_empty_export_is_still_a_readable_file_with_every_column():
    assert pq.read_table(io.BytesIO(to_parquet([]))).column_names == list(NAMES)
    assert to_csv([]).decode().strip() == ",".join(NAMES)
