"""webhooks to partners: subscriptions, deliveries and every attempt

Revision ID: notifications_0004
Revises: notifications_0003
Create Date: 2026-12-02 16:25:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "notifications_0004"
down_revision = "notifications_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
