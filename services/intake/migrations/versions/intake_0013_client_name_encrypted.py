"""client.name encrypted at rest, like the BSN, the contact details and the facts (issue 13): the
name column becomes a Fernet token (Text), existing rows converted with the keys the app uses
(shared.field_crypto). Nothing searched or sorted on the name in the database (lists are by
registration time), so no index or keyed hash is needed.

Revision ID: intake_0013
Revises: intake_0012
Create Date: 2026-12-03 14:05:00
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from shared.field_crypto import current

revision = "intake_0013"
down_revision = "intake_0012"
branch_labels = None
depends_on = None

S = "intake"
BATCH = 1000
CLIENT = sa.Table("client", sa.MetaData(), sa.Column("id", sa.String(36)), sa.Column("name", sa.Text), schema=S)


def _convert(change: Callable[[str], str]) -> None:
    """Every row's name, a batch at a time by id."""
    connection = op.get_bind()
    last = ""
    while True:
        rows = connection.execute(
            sa.select(CLIENT.c.id, CLIENT.c.name).where(CLIENT.c.id > last).order_by(CLIENT.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            sa.update(CLIENT).where(CLIENT.c.id == sa.bindparam("row_id")).values(name=sa.bindparam("new_name")),
            [{"row_id": row.id, "new_name": change(row.name)} for row in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    keys = current()
    with op.batch_alter_table("client", schema=S) as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False)
    _convert(keys.encrypt)


def downgrade() -> None:
    keys = current()
    _convert(keys.decrypt)
    with op.batch_alter_table("client", schema=S) as batch_op:
        batch_op.alter_column("name", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False)
