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

PLANS = "kind = 'plan'"


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
    # Is there an earlier plan of this client? (orientation costs count with the first one), index-only.
    # Only columns that do not change after the start, so that updates of amounts stay HOT.
    op.create_index(
        "ix_monitoring_trajectory_plan_client",
        "trajectory",
        ["client_id", "municipality", "started_on", "plan_id"],
        schema="monitoring",
        postgresql_where=sa.text(PLANS),
        sqlite_where=sa.text(PLANS),
    )
    # Plan lines in (municipality, plan, category) order: a category repeated within a plan, without a sort.
    op.create_index(
        "ix_monitoring_trajectory_line_municipality_plan_category",
        "trajectory_line",
        ["municipality", "plan_id", "category"],
        schema="monitoring",
    )


def downgrade() -> None:
    op.drop_index("ix_monitoring_trajectory_line_municipality_plan_category", "trajectory_line", schema="monitoring")
    op.drop_index("ix_monitoring_trajectory_plan_client", "trajectory", schema="monitoring")
    op.drop_index("ix_monitoring_trajectory_municipality_started_on", "trajectory", schema="monitoring")
    op.drop_table("benchmark_settings", schema="monitoring")
