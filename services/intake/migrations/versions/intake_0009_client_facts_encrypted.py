"""client.facts encrypted at rest: the facts for the admission rules hold health and household
facts (a long-term disability, a Wsw indication, single parenthood), so the JSON document becomes
one Fernet token of its text, with the keys the app uses (shared.field_crypto).

Revision ID: intake_0009
Revises: intake_0008
Create Date: 2026-12-03 10:05:00
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from shared.field_crypto import current

revision = "intake_0009"
down_revision = "intake_0008"
branch_labels = None
depends_on = None

S = "intake"
BATCH = 1000
CLIENT = sa.Table("client", sa.MetaData(), sa.Column("id", sa.String(36)), sa.Column("facts", sa.Text), schema=S)


def _convert(change: Callable[[str], str]) -> None:
    """Every row's facts (as text), a batch at a time by id."""
    connection = op.get_bind()
    last = ""
    while True:
        rows = connection.execute(
            sa.select(CLIENT.c.id, sa.cast(CLIENT.c.facts, sa.Text).label("facts"))
            .where(CLIENT.c.id > last)
            .order_by(CLIENT.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            sa.update(CLIENT).where(CLIENT.c.id == sa.bindparam("row_id")).values(facts=sa.bindparam("new_facts")),
            [{"row_id": row.id, "new_facts": change(row.facts)} for row in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    keys = current()
    with op.batch_alter_table("client", schema=S) as batch_op:
        batch_op.alter_column(
            "facts", existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=False, postgresql_using="facts::text"
        )
    _convert(keys.encrypt)


def downgrade() -> None:
    keys = current()
    _convert(keys.decrypt)
    with op.batch_alter_table("client", schema=S) as batch_op:
        batch_op.alter_column(
            "facts", existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=False, postgresql_using="facts::json"
        )
