"""benchmark facts kept at write time: trajectory.first_plan (orientation costs count with the
client's first plan) and, on trajectory_line, the trajectory's start, scheme and benefit and whether
the line is its plan's first of the category (Table 4.4 then reads the lines alone)

Revision ID: monitoring_0011
Revises: monitoring_0010
Create Date: 2026-12-02 16:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "monitoring_0011"
down_revision = "monitoring_0010"
branch_labels = None
depends_on = None

S = "monitoring"


def upgrade() -> None:
    with op.batch_alter_table("trajectory", schema=S) as batch_op:
        batch_op.add_column(sa.Column("first_plan", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("trajectory_line", schema=S) as batch_op:
        batch_op.add_column(sa.Column("started_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("scheme", sa.String(20), nullable=True))
        batch_op.add_column(sa.Column("benefit", sa.String(10), nullable=False, server_default="unknown"))
        batch_op.add_column(sa.Column("first_of_category", sa.Boolean(), nullable=False, server_default=sa.true()))
    # The rows already there, by the same rules the handlers follow from now on.
    op.execute(
        f"""UPDATE {S}.trajectory SET first_plan = false
        WHERE kind = 'plan' AND EXISTS (
            SELECT 1 FROM {S}.trajectory AS q
            WHERE q.kind = 'plan' AND q.client_id = {S}.trajectory.client_id
              AND q.municipality = {S}.trajectory.municipality
              AND (q.started_on < {S}.trajectory.started_on
                   OR (q.started_on = {S}.trajectory.started_on AND q.plan_id < {S}.trajectory.plan_id)))"""
    )
    for column in ("started_on", "scheme", "benefit"):
        op.execute(
            f"""UPDATE {S}.trajectory_line SET {column} = (
                SELECT t.{column} FROM {S}.trajectory AS t WHERE t.plan_id = {S}.trajectory_line.plan_id)
            WHERE EXISTS (SELECT 1 FROM {S}.trajectory AS t WHERE t.plan_id = {S}.trajectory_line.plan_id)"""
        )
    op.execute(
        f"""UPDATE {S}.trajectory_line SET first_of_category = false
        WHERE EXISTS (
            SELECT 1 FROM {S}.trajectory_line AS e
            WHERE e.plan_id = {S}.trajectory_line.plan_id AND e.category = {S}.trajectory_line.category
              AND e.plan_line_id < {S}.trajectory_line.plan_line_id)"""
    )
    # Table 4.4 of one municipality reads its lines started in the period.
    op.create_index(
        "ix_monitoring_trajectory_line_municipality_started_on",
        "trajectory_line",
        ["municipality", "started_on"],
        schema=S,
    )
    # The lines in (municipality, plan, category) order served a query that now reads first_of_category.
    op.drop_index("ix_monitoring_trajectory_line_municipality_plan_category", "trajectory_line", schema=S)


def downgrade() -> None:
    op.create_index(
        "ix_monitoring_trajectory_line_municipality_plan_category",
        "trajectory_line",
        ["municipality", "plan_id", "category"],
        schema=S,
    )
    op.drop_index("ix_monitoring_trajectory_line_municipality_started_on", "trajectory_line", schema=S)
    with op.batch_alter_table("trajectory_line", schema=S) as batch_op:
        for column in ("first_of_category", "benefit", "scheme", "started_on"):
            batch_op.drop_column(column)
    with op.batch_alter_table("trajectory", schema=S) as batch_op:
        batch_op.drop_column("first_plan")
