"""outbox delivery tracking: delivered_at, redeliveries, next_check_at; dead letters by event id

Revision ID: budget_0004
Revises: budget_0003

The same step in every service's schema: shared/bus/migration_steps.py.
"""

from shared.bus.migration_steps import add_delivery_tracking, drop_delivery_tracking

revision = "budget_0004"
down_revision = "budget_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_delivery_tracking("budget")


def downgrade() -> None:
    drop_delivery_tracking("budget")
