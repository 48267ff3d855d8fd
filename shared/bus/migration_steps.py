"""Migration steps for the bus tables, which every service's schema holds alike.

Each service's Alembic history calls these with its own schema, so the four histories cannot
drift apart. A step is history: never change one that has shipped; add a new step instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

_UNDELIVERED = sa.text("delivered_at IS NULL")


def add_delivery_tracking(schema: str) -> None:
    """Outbox rows get delivered_at, redeliveries and next_check_at; dead letters an index by event id.

    Rows published before this step are taken as delivered (delivered_at = published_at): their
    consumers' inbox ids may already be pruned, so checking them again could apply an old event
    twice. Unpublished rows are checked by the sweeper after the relay publishes them.
    """
    with op.batch_alter_table("outbox", schema=schema) as batch_op:
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("redeliveries", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True))
    outbox = sa.table("outbox", sa.column("delivered_at"), sa.column("published_at"), schema=schema)
    op.execute(outbox.update().where(outbox.c.published_at.is_not(None)).values(delivered_at=outbox.c.published_at))
    with op.batch_alter_table("outbox", schema=schema) as batch_op:
        batch_op.create_index(
            f"ix_{schema}_outbox_undelivered",
            ["next_check_at"],
            unique=False,
            postgresql_where=_UNDELIVERED,
            sqlite_where=_UNDELIVERED,
        )
    with op.batch_alter_table("dead_letter", schema=schema) as batch_op:
        batch_op.create_index(f"ix_{schema}_dead_letter_event_id", ["event_id"], unique=False)


def drop_delivery_tracking(schema: str) -> None:
    with op.batch_alter_table("dead_letter", schema=schema) as batch_op:
        batch_op.drop_index(f"ix_{schema}_dead_letter_event_id")
    with op.batch_alter_table("outbox", schema=schema) as batch_op:
        batch_op.drop_index(f"ix_{schema}_outbox_undelivered", postgresql_where=_UNDELIVERED, sqlite_where=_UNDELIVERED)
        batch_op.drop_column("next_check_at")
        batch_op.drop_column("redeliveries")
        batch_op.drop_column("delivered_at")


def add_outbox_notify_trigger(schema: str) -> None:
    """PostgreSQL: a statement that inserts outbox rows sends `NOTIFY prb_outbox, '<schema>'` itself
    (a statement-level trigger), so a unit of work's commit no longer sends it as a statement of its
    own: one round trip less per writing transaction. Delivered only if the transaction commits, and
    one per transaction (PostgreSQL folds identical NOTIFYs), as before. SQLite: nothing (the
    relay there is woken in-process)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f'CREATE FUNCTION "{schema}".notify_outbox() RETURNS trigger LANGUAGE plpgsql AS '
        "$$ BEGIN PERFORM pg_notify('prb_outbox', TG_TABLE_SCHEMA); RETURN NULL; END $$"
    )
    op.execute(
        f'CREATE TRIGGER outbox_notify AFTER INSERT ON "{schema}".outbox '
        f'FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".notify_outbox()'
    )


def drop_outbox_notify_trigger(schema: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f'DROP TRIGGER IF EXISTS outbox_notify ON "{schema}".outbox')
    op.execute(f'DROP FUNCTION IF EXISTS "{schema}".notify_outbox()')
