"""budget_0008: items of runs confirmed before it (and manual payments) get their paid_on; an
invoice part is unique among items not returned only; the way back restores the old key
(SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade

BEFORE, OURS = "budget_0007", "budget_0008"


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["budget"])
    yield engine
    engine.dispose()


def _run(run_id: str, status: str, paid_on: date | None) -> dict:
    return {
        "id": run_id,
        "municipality": "0344",
        "status": status,
        "pain_schema": "pain.001.001.09",
        "message_id": f"PRB-{run_id}",
        "execution_date": date(2026, 11, 20),
        "item_count": 1,
        "total_cents": 100,
        "xml": b"<Document/>",
        "created_by": "fin-1",
        "created_at": datetime(2026, 11, 20, tzinfo=UTC),
        "paid_on": paid_on,
    }


def _item(item_id: str, run_id: str, invoice_id: str) -> dict:
    return {
        "id": item_id,
        "run_id": run_id,
        "invoice_id": invoice_id,
        "part": "main",
        "end_to_end_id": f"E2E-{item_id}",
        "amount_cents": 100,
        "ledger_cents": 100,
    }


def _invoice(invoice_id: str, paid_on: date | None) -> dict:
    return {
        "id": invoice_id,
        "municipality": "0344",
        "budget_id": "b1",
        "budget_line_id": "l1",
        "plan_id": "p1",
        "client_id": "c1",
        "flow": "provider",
        "source": "json",
        "provider_id": "coach-bv",
        "provider_identified": True,
        "provider_name": "Coach BV",
        "creditor_name": "Coach BV",
        "creditor_iban": "NL91ABNA0417164300",
        "invoice_number": invoice_id,
        "currency": "EUR",
        "amount_excl_vat_cents": 100,
        "vat_cents": 0,
        "amount_cents": 100,
        "held_cents": 0,
        "held_pay_cents": 0,
        "credited_cents": 0,
        "credited_pay_cents": 0,
        "content_hash": invoice_id,
        "status": "paid" if paid_on else "scheduled",
        "received_at": datetime(2026, 11, 19, tzinfo=UTC),
        "paid_on": paid_on,
    }


def test_paid_items_get_their_day_and_a_returned_part_may_be_paid_again(engine):
    migrations = load_service("budget").migrations
    upgrade(engine, "budget", migrations, BEFORE)
    meta = sa.MetaData()
    run, item, invoice = (
        sa.Table(t, meta, schema="budget", autoload_with=engine) for t in ("payment_run", "payment_item", "invoice")
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(invoice),
            [_invoice("i1", date(2026, 11, 21)), _invoice("i2", None), _invoice("i3", date(2026, 11, 18))],
        )
        conn.execute(sa.insert(run), [_run("r1", "paid", date(2026, 11, 21)), _run("r2", "scheduled", None)])
        conn.execute(sa.insert(item), [_item("a", "r1", "i1"), _item("b", "r2", "i2"), _item("c", "manual", "i3")])
    upgrade(engine, "budget", migrations, OURS)
    with engine.connect() as conn:
        paid = dict(conn.execute(sa.text("SELECT id, paid_on FROM budget.payment_item")).all())
    as_date = {k: v if v is None or isinstance(v, date) else date.fromisoformat(v) for k, v in paid.items()}
    assert as_date == {"a": date(2026, 11, 21), "b": None, "c": date(2026, 11, 18)}

    item = sa.Table("payment_item", sa.MetaData(), schema="budget", autoload_with=engine)
    with engine.begin() as conn:  # a second item of the same part while the first is out: refused
        with pytest.raises(IntegrityError), conn.begin_nested():
            conn.execute(sa.insert(item), [_item("b2", "r3", "i2")])
        conn.execute(sa.update(item).where(item.c.id == "b").values(returned_on=date(2026, 11, 22)))
        conn.execute(sa.insert(item), [_item("b2", "r3", "i2")])  # returned: it may be paid again

    with engine.begin() as conn:
        conn.execute(sa.delete(item).where(item.c.id == "b2"))
    downgrade(engine, "budget", migrations, BEFORE)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("payment_item", schema="budget")}
    assert "returned_on" not in columns and "paid_on" not in columns
    assert "bank_statement" not in sa.inspect(engine).get_table_names(schema="budget")
