"""outbox delivery tracking: delivered_at, redeliveries, next_check_at; dead letters by event id

Revision ID: notifications_0002
Revises: notifications_0001

The same step in every service's schema: shared/bus/migration_steps.py.
"""

from shared.bus.migration_steps import add_delivery_tracking, drop_delivery_tracking

revision = "notifications_0002"
down_revision = "notifications_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_delivery_tracking("notifications")


def downgrade() -> None:
    drop_delivery_tracking("notifications")
