"""trajectory profile at start, the case manager's registration form, derived outcome state, effort and
cost; trajectory lines and cost entries

Revision ID: monitoring_0006
Revises: monitoring_0005
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "monitoring_0006"
down_revision = "monitoring_0005"
branch_labels = None
depends_on = None

PROFILE = ("benefit", "gender", "age_band", "benefit_duration", "education")
SOFT = ("motivation", "self_reliance", "self_awareness", "initiative", "social_skills", "realistic_self_image")
PROVISIONS = (
    "provisions_recorded",
    "debt_counselling",
    "special_assistance",
    "childcare",
    "victim_support",
    "health_provisions",
)


def _columns() -> list[sa.Column]:
    columns = [sa.Column(name, sa.String(10), nullable=False, server_default="unknown") for name in PROFILE]
    columns += [sa.Column(name, sa.String(10), nullable=True) for name in SOFT]
    columns += [sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false()) for name in PROVISIONS]
    columns += [
        sa.Column("contact_hours", sa.String(10), nullable=True),
        sa.Column("outcome_category", sa.String(30), nullable=True),
        sa.Column("kind_of_work", sa.String(30), nullable=True),
        sa.Column("outflow_on", sa.Date(), nullable=True),
        sa.Column("durable", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("case_minutes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("external_cost_cents", sa.BigInteger(), nullable=False, server_default="0"),
    ]
    return columns


def upgrade() -> None:
    with op.batch_alter_table("trajectory", schema="monitoring") as batch_op:
        for column in _columns():
            batch_op.add_column(column)
    op.create_table(
        "trajectory_line",
        sa.Column("plan_line_id", sa.String(36), primary_key=True),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("granted_cents", sa.BigInteger(), nullable=False),
        sa.Column("provider_kvk", sa.String(8), nullable=True),
        sa.Column("provider_name", sa.String(200), nullable=True),
        schema="monitoring",
    )
    op.create_index("ix_monitoring_trajectory_line_plan_id", "trajectory_line", ["plan_id"], schema="monitoring")
    op.create_index(
        "ix_monitoring_trajectory_line_provider_kvk", "trajectory_line", ["provider_kvk"], schema="monitoring"
    )
    op.create_table(
        "cost_entry",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("plan_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        schema="monitoring",
    )
    op.create_index("ix_monitoring_cost_entry_plan_id", "cost_entry", ["plan_id"], schema="monitoring")


def downgrade() -> None:
    op.drop_index("ix_monitoring_cost_entry_plan_id", table_name="cost_entry", schema="monitoring")
    op.drop_table("cost_entry", schema="monitoring")
    op.drop_index("ix_monitoring_trajectory_line_provider_kvk", table_name="trajectory_line", schema="monitoring")
    op.drop_index("ix_monitoring_trajectory_line_plan_id", table_name="trajectory_line", schema="monitoring")
    op.drop_table("trajectory_line", schema="monitoring")
    with op.batch_alter_table("trajectory", schema="monitoring") as batch_op:
        for column in reversed(_columns()):
            batch_op.drop_column(column.name)
