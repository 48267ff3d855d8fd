"""delivery to people: channels, preferences, the delivery log and the in-app inbox's read state

Revision ID: notifications_0003
Revises: notifications_0002
Create Date: 2026-12-02 16:25:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "notifications_0003"
down_revision = "notifications_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
