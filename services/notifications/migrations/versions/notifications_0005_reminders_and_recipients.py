"""reminders about an item, messages for providers, partners, finance and ops

Revision ID: notifications_0005
Revises: notifications_0004
Create Date: 2026-12-02 18:30:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "notifications_0005"
down_revision = "notifications_0004"
branch_labels = None
depends_on = None

S = "notifications"


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("message", schema=S) as batch_op:
        batch_op.add_column(sa.Column("item", _text(120), nullable=True))
        batch_op.add_column(sa.Column("recipient_ref", _text(80), nullable=True))
        batch_op.create_index("ix_notifications_message_item", ["item"])
        batch_op.create_index("ix_notifications_message_recipient_ref", ["recipient_ref"])
    with op.batch_alter_table("municipality_settings", schema=S) as batch_op:
        batch_op.add_column(sa.Column("finance_mailbox", _text(254), nullable=True))
        batch_op.add_column(sa.Column("ops_mailbox", _text(254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("municipality_settings", schema=S) as batch_op:
        batch_op.drop_column("ops_mailbox")
        batch_op.drop_column("finance_mailbox")
    with op.batch_alter_table("message", schema=S) as batch_op:
        batch_op.drop_index("ix_notifications_message_recipient_ref")
        batch_op.drop_index("ix_notifications_message_item")
        batch_op.drop_column("recipient_ref")
        batch_op.drop_column("item")
