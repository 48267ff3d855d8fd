"""experiments (groups, draws, assignments) and the log of research exports

Revision ID: monitoring_0010
Revises: monitoring_0009
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "monitoring_0010"
down_revision = "monitoring_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
