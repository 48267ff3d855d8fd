"""reminders at their source: follow_up.reminded_at (FollowUpDueSoon said once) and
trajectory.ending_reminded_for (the deadline TrajectoryEndingSoon was said for), each with a
partial index holding only what is still to remind of

Revision ID: monitoring_0012
Revises: monitoring_0011
Create Date: 2026-12-02 18:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "monitoring_0012"
down_revision = "monitoring_0011"
branch_labels = None
depends_on = None

S = "monitoring"
TO_REMIND = "status = 'open' AND reminded_at IS NULL"
TO_REMIND_END = (
    "status = 'running' AND kind = 'plan' "
    "AND (ending_reminded_for IS NULL OR ending_reminded_for <> execution_deadline)"
)


def upgrade() -> None:
    with op.batch_alter_table("follow_up", schema=S) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("trajectory", schema=S) as batch_op:
        batch_op.add_column(sa.Column("ending_reminded_for", sa.Date(), nullable=True))
    # What is already overdue is the overdue scan's: nothing before today is reminded of as due
    # soon (the scan reads from today on), so the rows there need no backfill.
    op.create_index(
        "ix_monitoring_follow_up_to_remind",
        "follow_up",
        ["due_on", "id"],
        schema=S,
        postgresql_where=sa.text(TO_REMIND),
        sqlite_where=sa.text(TO_REMIND),
    )
    op.create_index(
        "ix_monitoring_trajectory_to_remind_end",
        "trajectory",
        ["execution_deadline", "plan_id"],
        schema=S,
        postgresql_where=sa.text(TO_REMIND_END),
        sqlite_where=sa.text(TO_REMIND_END),
    )


def downgrade() -> None:
    op.drop_index("ix_monitoring_trajectory_to_remind_end", table_name="trajectory", schema=S)
    op.drop_index("ix_monitoring_follow_up_to_remind", table_name="follow_up", schema=S)
    with op.batch_alter_table("trajectory", schema=S) as batch_op:
        batch_op.drop_column("ending_reminded_for")
    with op.batch_alter_table("follow_up", schema=S) as batch_op:
        batch_op.drop_column("reminded_at")
