"""delivery to people: channels, preferences, the delivery log and the in-app inbox's read state

Revision ID: notifications_0003
Revises: notifications_0002
Create Date: 2026-12-02 16:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = "notifications_0003"
down_revision = "notifications_0002"
branch_labels = None
depends_on = None


S = "notifications"
WAITING = sa.text("status IN ('queued', 'deferred')")


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("recipient", sa.String(80), nullable=False),
        sa.Column("cause", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient", "cause", "channel", name="uq_delivery_recipient_cause_channel"),
        schema=S,
    )
    with op.batch_alter_table("delivery", schema=S) as batch_op:
        batch_op.create_index("ix_notifications_delivery_message_id", ["message_id"])
        batch_op.create_index("ix_notifications_delivery_municipality", ["municipality"])
        batch_op.create_index(
            "ix_notifications_delivery_due", ["next_attempt_at"], postgresql_where=WAITING, sqlite_where=WAITING
        )
    op.create_table(
        "message_read",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("reader", sa.String(80), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "reader", name="uq_message_read_reader"),
        schema=S,
    )
    with op.batch_alter_table("message_read", schema=S) as batch_op:
        batch_op.create_index("ix_notifications_message_read_reader", ["reader"])
    op.create_table(
        "municipality_settings",
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("team_mailbox", sa.String(254), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("municipality"),
        schema=S,
    )
    op.create_table(
        "preference",
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("sms", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("quiet_from", sa.Time(), nullable=True),
        sa.Column("quiet_until", sa.Time(), nullable=True),
        sa.Column("hold_mail", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id"),
        schema=S,
    )
    with op.batch_alter_table("preference", schema=S) as batch_op:
        batch_op.create_index("ix_notifications_preference_municipality", ["municipality"])


def downgrade() -> None:
    with op.batch_alter_table("preference", schema=S) as batch_op:
        batch_op.drop_index("ix_notifications_preference_municipality")
    op.drop_table("preference", schema=S)
    op.drop_table("municipality_settings", schema=S)
    with op.batch_alter_table("message_read", schema=S) as batch_op:
        batch_op.drop_index("ix_notifications_message_read_reader")
    op.drop_table("message_read", schema=S)
    with op.batch_alter_table("delivery", schema=S) as batch_op:
        batch_op.drop_index("ix_notifications_delivery_due", postgresql_where=WAITING, sqlite_where=WAITING)
        batch_op.drop_index("ix_notifications_delivery_municipality")
        batch_op.drop_index("ix_notifications_delivery_message_id")
    op.drop_table("delivery", schema=S)
