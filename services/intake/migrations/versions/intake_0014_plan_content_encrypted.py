"""plan.content and plan_version.content encrypted at rest (issue 13): a plan's sections are the
client's own words about their situation, obstacles and goals, so each JSON document becomes one
Fernet token of its text, with the keys the app uses (shared.field_crypto), as intake_0009 did for
the facts. Nothing queries inside the documents in the database (checks and reviews read them in
Python), so no search changes.

Revision ID: intake_0014
Revises: intake_0013
Create Date: 2026-12-03 14:25:00
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from shared.field_crypto import current

revision = "intake_0014"
down_revision = "intake_0013"
branch_labels = None
depends_on = None

S = "intake"
BATCH = 500
TABLES = ("plan", "plan_version")


def _convert(name: str, change: Callable[[str], str]) -> None:
    """Every row's content (as text), a batch at a time by id."""
    table = sa.Table(name, sa.MetaData(), sa.Column("id", sa.String(36)), sa.Column("content", sa.Text), schema=S)
    connection = op.get_bind()
    last = ""
    while True:
        rows = connection.execute(
            sa.select(table.c.id, sa.cast(table.c.content, sa.Text).label("content"))
            .where(table.c.id > last)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            sa.update(table).where(table.c.id == sa.bindparam("row_id")).values(content=sa.bindparam("new_content")),
            [{"row_id": row.id, "new_content": change(row.content)} for row in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    keys = current()
    for name in TABLES:
        with op.batch_alter_table(name, schema=S) as batch_op:
            batch_op.alter_column(
                "content",
                existing_type=sa.JSON(),
                type_=sa.Text(),
                existing_nullable=False,
                postgresql_using="content::text",
            )
        _convert(name, keys.encrypt)


def downgrade() -> None:
    keys = current()
    for name in TABLES:
        _convert(name, keys.decrypt)
        with op.batch_alter_table(name, schema=S) as batch_op:
            batch_op.alter_column(
                "content",
                existing_type=sa.Text(),
                type_=sa.JSON(),
                existing_nullable=False,
                postgresql_using="content::json",
            )
