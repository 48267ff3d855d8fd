"""experiments (groups, draws, assignments) and the log of research exports

Revision ID: monitoring_0010
Revises: monitoring_0009
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "monitoring_0010"
down_revision = "monitoring_0009"
branch_labels = None
depends_on = None

SCHEMA = "monitoring"


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _at() -> sqlmodel.sql.sqltypes.UTCDateTime:
    return sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "experiment",
        sa.Column("id", _text(36), primary_key=True),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("description", _text(4000), nullable=False),
        sa.Column("assignment", _text(20), nullable=False),
        sa.Column("created_by", _text(80), nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_monitoring_experiment_municipality", "experiment", ["municipality"], schema=SCHEMA)
    op.create_table(
        "experiment_group",
        sa.Column("experiment_id", _text(36), primary_key=True),
        sa.Column("key", _text(30), primary_key=True),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("control", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "experiment_draw",
        sa.Column("id", _text(36), primary_key=True),
        sa.Column("experiment_id", _text(36), nullable=False),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("seed_from", _text(10), nullable=False),
        sa.Column("client_ids", sa.JSON(), nullable=False),
        sa.Column("group_order", sa.JSON(), nullable=False),
        sa.Column("assignment", sa.JSON(), nullable=False),
        sa.Column("drawn_by", _text(80), nullable=False),
        sa.Column("drawn_at", _at(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_monitoring_experiment_draw_experiment_id", "experiment_draw", ["experiment_id"], schema=SCHEMA)
    op.create_table(
        "experiment_assignment",
        sa.Column("id", _text(36), primary_key=True),
        sa.Column("experiment_id", _text(36), nullable=False),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("client_id", _text(36), nullable=False),
        sa.Column("group_key", _text(30), nullable=False),
        sa.Column("how", _text(20), nullable=False),
        sa.Column("draw_id", _text(36), nullable=True),
        sa.Column("assigned_by", _text(80), nullable=False),
        sa.Column("assigned_at", _at(), nullable=False),
        sa.UniqueConstraint("experiment_id", "client_id", name="uq_monitoring_experiment_assignment_client"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_monitoring_experiment_assignment_experiment_id", "experiment_assignment", ["experiment_id"], schema=SCHEMA
    )
    op.create_index(
        "ix_monitoring_experiment_assignment_client_id", "experiment_assignment", ["client_id"], schema=SCHEMA
    )
    op.create_table(
        "research_export_log",
        sa.Column("id", _text(36), primary_key=True),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("requested_by", _text(80), nullable=False),
        sa.Column("role", _text(20), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("format", _text(10), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("at", _at(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_monitoring_research_export_log_municipality", "research_export_log", ["municipality"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_index("ix_monitoring_research_export_log_municipality", table_name="research_export_log", schema=SCHEMA)
    op.drop_table("research_export_log", schema=SCHEMA)
    op.drop_index("ix_monitoring_experiment_assignment_client_id", table_name="experiment_assignment", schema=SCHEMA)
    op.drop_index(
        "ix_monitoring_experiment_assignment_experiment_id", table_name="experiment_assignment", schema=SCHEMA
    )
    op.drop_table("experiment_assignment", schema=SCHEMA)
    op.drop_index("ix_monitoring_experiment_draw_experiment_id", table_name="experiment_draw", schema=SCHEMA)
    op.drop_table("experiment_draw", schema=SCHEMA)
    op.drop_table("experiment_group", schema=SCHEMA)
    op.drop_index("ix_monitoring_experiment_municipality", table_name="experiment", schema=SCHEMA)
    op.drop_table("experiment", schema=SCHEMA)
