"""outbox delivery tracking: delivered_at, redeliveries, next_check_at; dead letters by event id

Revision ID: intake_0005
Revises: intake_0004

The same step in every service's schema: shared/bus/migration_steps.py.
"""

from shared.bus.migration_steps import add_delivery_tracking, drop_delivery_tracking

revision = "intake_0005"
down_revision = "intake_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_delivery_tracking("intake")


def downgrade() -> None:
    drop_delivery_tracking("intake")
