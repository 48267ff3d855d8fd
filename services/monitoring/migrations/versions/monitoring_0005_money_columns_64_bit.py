"""money columns 64-bit: trajectory.granted_cents and spent_cents (a grant above about EUR 21 million
no longer overflows a 32-bit integer on PostgreSQL and dead-letters its PlanApproved)

Revision ID: monitoring_0005
Revises: monitoring_0004
Create Date: 2026-12-02 13:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "monitoring_0005"
down_revision = "monitoring_0004"
branch_labels = None
depends_on = None

MONEY = ("granted_cents", "spent_cents")


def upgrade() -> None:
    with op.batch_alter_table("trajectory", schema="monitoring") as batch_op:
        for column in MONEY:
            batch_op.alter_column(column, existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("trajectory", schema="monitoring") as batch_op:
        for column in MONEY:
            batch_op.alter_column(column, existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
