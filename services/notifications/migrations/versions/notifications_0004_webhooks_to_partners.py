"""webhooks to partners: subscriptions, deliveries and every attempt

Revision ID: notifications_0004
Revises: notifications_0003
Create Date: 2026-12-02 16:25:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "notifications_0004"
down_revision = "notifications_0003"
branch_labels = None
depends_on = None

S = "notifications"


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("owner_subject", _text(80), nullable=False),
        sa.Column("owner_role", _text(20), nullable=False),
        sa.Column("provider_id", _text(80), nullable=True),
        sa.Column("callback_url", _text(2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("scheme", _text(40), nullable=True),
        sa.Column("own_organisation_only", sa.Boolean(), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("paused_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    with op.batch_alter_table("webhook_subscription", schema=S) as batch_op:
        batch_op.create_index("ix_notifications_webhook_subscription_municipality", ["municipality"])

    op.create_table(
        "webhook_delivery",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("subscription_id", _text(36), nullable=False),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("event_id", _text(36), nullable=False),
        sa.Column("event_type", _text(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("round_started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("delivered_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("failed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_subscription_event"),
        schema=S,
    )
    with op.batch_alter_table("webhook_delivery", schema=S) as batch_op:
        batch_op.create_index("ix_notifications_webhook_delivery_subscription_id", ["subscription_id"])
        batch_op.create_index("ix_notifications_webhook_delivery_due", ["status", "next_attempt_at"])

    op.create_table(
        "webhook_attempt",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("delivery_id", _text(36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", _text(500), nullable=True),
        sa.Column("response_excerpt", _text(500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    with op.batch_alter_table("webhook_attempt", schema=S) as batch_op:
        batch_op.create_index("ix_notifications_webhook_attempt_delivery_id", ["delivery_id"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempt", schema=S) as batch_op:
        batch_op.drop_index("ix_notifications_webhook_attempt_delivery_id")
    op.drop_table("webhook_attempt", schema=S)
    with op.batch_alter_table("webhook_delivery", schema=S) as batch_op:
        batch_op.drop_index("ix_notifications_webhook_delivery_due")
        batch_op.drop_index("ix_notifications_webhook_delivery_subscription_id")
    op.drop_table("webhook_delivery", schema=S)
    with op.batch_alter_table("webhook_subscription", schema=S) as batch_op:
        batch_op.drop_index("ix_notifications_webhook_subscription_municipality")
    op.drop_table("webhook_subscription", schema=S)
