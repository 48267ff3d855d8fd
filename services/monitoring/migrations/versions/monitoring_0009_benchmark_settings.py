"""benchmark settings per municipality and the indexes the benchmark reads by

Revision ID: monitoring_0009
Revises: monitoring_0008
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "monitoring_0009"
down_revision = "monitoring_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
