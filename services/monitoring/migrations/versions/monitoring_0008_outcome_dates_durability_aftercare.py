"""outcome dates, durability checks, aftercare check-ins, the client's voice

Revision ID: monitoring_0008
Revises: monitoring_0007
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "monitoring_0008"
down_revision = "monitoring_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
