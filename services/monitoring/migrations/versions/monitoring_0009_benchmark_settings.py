"""benchmark settings per municipality and the indexes the benchmark reads by

Revision ID: monitoring_0009
Revises: monitoring_0008
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "monitoring_0009"
down_revision = "monitoring_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "benchmark_settings",
        sa.Column("municipality", sa.String(4), primary_key=True),
        sa.Column("hourly_rate_cents", sa.BigInteger(), nullable=False),
        sa.Column("min_cell_size", sa.Integer(), nullable=False),
        sa.Column("reference_outflow_wwb_tenths", sa.Integer(), nullable=False),
        sa.Column("reference_outflow_nug_tenths", sa.Integer(), nullable=False),
        sa.Column("reference_trajectory_cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        schema="monitoring",
    )
    # One municipality's report reads its trajectories started in the period.
    op.create_index(
        "ix_monitoring_trajectory_municipality_started_on",
        "trajectory",
        ["municipality", "started_on"],
        schema="monitoring",
    )


def downgrade() -> None:
    op.drop_index("ix_monitoring_trajectory_municipality_started_on", "trajectory", schema="monitoring")
    op.drop_table("benchmark_settings", schema="monitoring")
