"""outbox delivery tracking: delivered_at, redeliveries, next_check_at; dead letters by event id

Revision ID: monitoring_0003
Revises: monitoring_0002

The same step in every service's schema: shared/bus/migration_steps.py.
"""

from shared.bus.migration_steps import add_delivery_tracking, drop_delivery_tracking

revision = "monitoring_0003"
down_revision = "monitoring_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_delivery_tracking("monitoring")


def downgrade() -> None:
    drop_delivery_tracking("monitoring")
