"""budget_0006 adds the supplier's e-mail and whether the provider id is an identifier to the
invoice; invoices already there keep their provider in the events only when it was no name
(JSON, or a KvK number), never a declaration's; and the way back removes both (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade

BEFORE, OURS = "budget_0005", "budget_0006"


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["budget"])
    yield engine
    engine.dispose()


def _invoice(number: str, *, flow: str, source: str, provider_id: str, kvk: str | None) -> dict:
    return {
        "id": f"inv-{number}",
        "municipality": "0344",
        "budget_id": "b1",
        "budget_line_id": "l1",
        "plan_id": "p1",
        "client_id": "c1",
        "flow": flow,
        "source": source,
        "provider_id": provider_id,
        "provider_name": "Coach BV",
        "provider_kvk": kvk,
        "creditor_name": "Coach BV",
        "creditor_iban": "NL91ABNA0417164300",
        "invoice_number": number,
        "currency": "EUR",
        "amount_excl_vat_cents": 100,
        "vat_cents": 0,
        "amount_cents": 100,
        "held_cents": 0,
        "held_pay_cents": 0,
        "credited_cents": 0,
        "credited_pay_cents": 0,
        "content_hash": number,
        "status": "received",
        "received_at": datetime(2026, 11, 23, tzinfo=UTC),
    }


def test_the_supplier_contact_columns_come_with_a_backfill_and_go(engine):
    migrations = load_service("budget").migrations
    upgrade(engine, "budget", migrations, BEFORE)
    invoice = sa.Table("invoice", sa.MetaData(), schema="budget", autoload_with=engine)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(invoice),
            [
                _invoice("json", flow="provider", source="json", provider_id="coach-bv", kvk=None),
                _invoice("ubl-kvk", flow="provider", source="ubl", provider_id="kvk:30212345", kvk="30212345"),
                _invoice("ubl-name", flow="provider", source="ubl", provider_id="kvk:coachbv", kvk=None),
                _invoice("declared", flow="declaration", source="pdf", provider_id="client:c1", kvk="30212345"),
            ],
        )
    upgrade(engine, "budget", migrations, OURS)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("invoice", schema="budget")}
    assert {"supplier_email", "provider_identified"} <= columns
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT invoice_number, provider_identified, supplier_email FROM budget.invoice")
        ).all()
    assert {number: (bool(identified), email) for number, identified, email in rows} == {
        "json": (True, None),
        "ubl-kvk": (True, None),
        "ubl-name": (False, None),
        "declared": (False, None),
    }
    downgrade(engine, "budget", migrations, BEFORE)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("invoice", schema="budget")}
    assert not {"supplier_email", "provider_identified"} & columns
    upgrade(engine, "budget", migrations, "head")
