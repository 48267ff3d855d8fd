"""shared.db.insert_with_blob: a row whose bytea column is streamed from a file (COPY in pieces on
PostgreSQL, a plain INSERT elsewhere) comes back exactly as written, awkward text included."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from shared import db


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'blob.db'}" if request.param == "sqlite" else request.getfixturevalue("fresh_pg_url")
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def test_a_blob_streamed_in_pieces_and_text_with_tabs_and_backslashes_come_back_as_written(engine, monkeypatch):
    monkeypatch.setattr(db, "BLOB_PIECE", 1000)  # many pieces, one ending mid-way
    table = sa.Table(
        "blob_row",
        sa.MetaData(),
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("who", sa.String),
        sa.Column("note", sa.String, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True)),
        sa.Column("data", sa.LargeBinary),
    )
    table.create(engine)
    blob = os.urandom(10_500) + b"\\x00\t\n\\"
    values = {"id": "r1", "who": "a\tb\\c\nd\re", "note": None, "at": datetime(2026, 12, 3, 18, 0, tzinfo=UTC)}

    with Session(engine) as session:
        db.insert_with_blob(session, table, values, "data", io.BytesIO(blob))
        session.commit()

    with engine.connect() as conn:
        row = conn.execute(sa.select(table)).one()
    assert (row.id, row.who, row.note, bytes(row.data)) == ("r1", "a\tb\\c\nd\re", None, blob)
    assert row.at.replace(tzinfo=row.at.tzinfo or UTC) == values["at"]
