"""orientation trajectories: trajectory.kind (plan | orientation)

Revision ID: monitoring_0004
Revises: monitoring_0003
Create Date: 2026-12-02 08:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "monitoring_0004"
down_revision = "monitoring_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trajectory", schema="monitoring") as batch_op:
        batch_op.add_column(
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="plan")
        )


def downgrade() -> None:
    with op.batch_alter_table("trajectory", schema="monitoring") as batch_op:
        batch_op.drop_column("kind")
