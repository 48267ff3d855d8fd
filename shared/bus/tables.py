"""Outbox, inbox and dead-letter tables: one set in each service's schema.

These tables belong to the bus machinery, not to the service's domain: the relay's delivery
sweeper reads every subscriber's `inbox` and `dead_letter` ids to learn which published events
were never recorded (docs/architecture.md, "Delivery").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import SQLModel


@dataclass(frozen=True)
class BusTables:
    outbox: sa.Table
    inbox: sa.Table
    dead_letter: sa.Table


def _tables_for(schema: str) -> BusTables:
    metadata = SQLModel.metadata
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("publish_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        # Every subscriber's inbox (or dead letters) has the event; set by the sweeper, or at
        # publish for events without subscribers and for in-process delivery.
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redeliveries", sa.Integer(), nullable=False, server_default="0"),
        # When the sweeper next looks whether the subscribers have it (publish + redeliver_after, doubling).
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Index(
            f"ix_{schema}_outbox_unpublished",
            "id",
            postgresql_where=sa.text("published_at IS NULL"),
            sqlite_where=sa.text("published_at IS NULL"),
        ),
        sa.Index(
            f"ix_{schema}_outbox_undelivered",
            "next_check_at",
            postgresql_where=sa.text("delivered_at IS NULL"),
            sqlite_where=sa.text("delivered_at IS NULL"),
        ),
        schema=schema,
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )
    dead_letter = sa.Table(
        "dead_letter",
        metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_id", sa.String(80), nullable=True),
        sa.Column("event_type", sa.String(80), nullable=True),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Index(f"ix_{schema}_dead_letter_event_id", "event_id"),
        schema=schema,
    )
    return BusTables(outbox=outbox, inbox=inbox, dead_letter=dead_letter)


_BY_SCHEMA: dict[str, BusTables] = {}
_LOCK = threading.Lock()


def bus_tables(schema: str) -> BusTables:
    """The outbox, inbox and dead letters of one service's schema (declared once, on first use)."""
    tables = _BY_SCHEMA.get(schema)
    if tables is None:
        with _LOCK:
            tables = _BY_SCHEMA.get(schema) or _BY_SCHEMA.setdefault(schema, _tables_for(schema))
    return tables
