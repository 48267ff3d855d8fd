"""follow-ups (due items with a due-date index), report schedules, conversations, milestones, progress report details

Running plan trajectories get the default report schedule (every two months from the start until
the deadline) as follow-ups; a due date on or before the last report (or the start) counts as
done, so the daily scan asks only for what the old 60-day rule would have asked for as well.

Revision ID: monitoring_0007
Revises: monitoring_0006
Create Date: 2026-12-02 15:20:00
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from dateutil.relativedelta import relativedelta
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "monitoring_0007"
down_revision = "monitoring_0006"
branch_labels = None
depends_on = None

S = "monitoring"
TO_FLAG = "status = 'open' AND overdue_flagged_at IS NULL"
MAX_DUE_DATES = 120


def _id() -> sa.Column:
    return sa.Column("id", AutoString(36), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "follow_up",
        _id(),
        sa.Column("municipality", AutoString(4), nullable=False),
        sa.Column("plan_id", AutoString(36), nullable=False),
        sa.Column("client_id", AutoString(36), nullable=False),
        sa.Column("kind", AutoString(30), nullable=False),
        sa.Column("ref_id", AutoString(36), nullable=True),
        sa.Column("title", AutoString(200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", AutoString(12), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("overdue_flagged_at", UTCDateTime(), nullable=True),
        schema=S,
    )
    op.create_index("ix_monitoring_follow_up_plan_id", "follow_up", ["plan_id"], schema=S)
    op.create_index(
        "ix_monitoring_follow_up_municipality_status_due_on",
        "follow_up",
        ["municipality", "status", "due_on"],
        schema=S,
    )
    op.create_index(
        "ix_monitoring_follow_up_to_flag",
        "follow_up",
        ["due_on", "id"],
        schema=S,
        postgresql_where=sa.text(TO_FLAG),
        sqlite_where=sa.text(TO_FLAG),
    )
    op.create_table(
        "report_schedule",
        sa.Column("plan_id", AutoString(36), primary_key=True),
        sa.Column("municipality", AutoString(4), nullable=False),
        sa.Column("reporter", AutoString(20), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("set_by", AutoString(80), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        schema=S,
    )
    op.create_table(
        "progress_report_detail",
        sa.Column("report_id", AutoString(36), primary_key=True),
        sa.Column("plan_id", AutoString(36), nullable=False),
        sa.Column("reporter", AutoString(20), nullable=False),
        sa.Column("provider_id", AutoString(36), nullable=True),
        sa.Column("done", AutoString(4000), nullable=True),
        sa.Column("sessions_attended", sa.Integer(), nullable=True),
        sa.Column("sessions_planned", sa.Integer(), nullable=True),
        sa.Column("next_steps", AutoString(4000), nullable=True),
        sa.Column("problems", AutoString(4000), nullable=True),
        schema=S,
    )
    op.create_index("ix_monitoring_progress_report_detail_plan_id", "progress_report_detail", ["plan_id"], schema=S)
    op.create_table(
        "progress_report_attachment",
        _id(),
        sa.Column("municipality", AutoString(4), nullable=False),
        sa.Column("plan_id", AutoString(36), nullable=False),
        sa.Column("report_id", AutoString(36), nullable=False),
        sa.Column("filename", AutoString(200), nullable=False),
        sa.Column("content_type", AutoString(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", AutoString(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", AutoString(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("report_id", "sha256", name="uq_progress_report_attachment_content"),
        schema=S,
    )
    op.create_index(
        "ix_monitoring_progress_report_attachment_report_id", "progress_report_attachment", ["report_id"], schema=S
    )
    op.create_table(
        "conversation",
        _id(),
        sa.Column("municipality", AutoString(4), nullable=False),
        sa.Column("plan_id", AutoString(36), nullable=False),
        sa.Column("client_id", AutoString(36), nullable=False),
        sa.Column("kind", AutoString(30), nullable=False),
        sa.Column("title", AutoString(200), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("status", AutoString(12), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("note", AutoString(2000), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_by", AutoString(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("held_by", AutoString(80), nullable=True),
        schema=S,
    )
    op.create_index("ix_monitoring_conversation_plan_id", "conversation", ["plan_id"], schema=S)
    op.create_table(
        "milestone",
        _id(),
        sa.Column("municipality", AutoString(4), nullable=False),
        sa.Column("plan_id", AutoString(36), nullable=False),
        sa.Column("client_id", AutoString(36), nullable=False),
        sa.Column("title", AutoString(200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", AutoString(12), nullable=False),
        sa.Column("reached_on", sa.Date(), nullable=True),
        sa.Column("created_by", AutoString(80), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        schema=S,
    )
    op.create_index("ix_monitoring_milestone_plan_id", "milestone", ["plan_id"], schema=S)
    op.create_table(
        "time_entry",
        _id(),
        sa.Column("municipality", AutoString(4), nullable=False),
        sa.Column("plan_id", AutoString(36), nullable=False),
        sa.Column("activity", AutoString(20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("spent_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", AutoString(80), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        schema=S,
    )
    op.create_index("ix_monitoring_time_entry_plan_id", "time_entry", ["plan_id"], schema=S)
    _default_schedules_for_running_plans()


def _default_schedules_for_running_plans() -> None:
    """Running plan trajectories started before follow-ups existed: the default schedule's due dates
    after the last report (or the start) become open progress-report follow-ups."""
    trajectory = sa.table(
        "trajectory",
        sa.column("plan_id"),
        sa.column("municipality"),
        sa.column("client_id"),
        sa.column("kind"),
        sa.column("status"),
        sa.column("started_on", sa.Date()),
        sa.column("execution_deadline", sa.Date()),
        sa.column("last_report_at", UTCDateTime()),
        schema=S,
    )
    follow_up = sa.table(
        "follow_up",
        *(sa.column(name) for name in ("id", "municipality", "plan_id", "client_id", "kind", "ref_id", "title")),
        sa.column("due_on", sa.Date()),
        sa.column("status"),
        schema=S,
    )
    schedule = sa.table(
        "report_schedule",
        *(sa.column(name) for name in ("plan_id", "municipality", "reporter", "is_default", "set_by")),
        sa.column("segments", sa.JSON()),
        sa.column("set_at", UTCDateTime()),
        schema=S,
    )
    bind = op.get_bind()
    running = bind.execute(
        sa.select(trajectory).where(trajectory.c.kind == "plan", trajectory.c.status == "running")
    ).all()
    items, schedules, now = [], [], datetime.now(UTC)
    for row in running:
        answered = row.last_report_at.date() if row.last_report_at else row.started_on
        for n in range(1, MAX_DUE_DATES + 1):
            due = row.started_on + relativedelta(months=2 * n)
            if due > row.execution_deadline:
                break
            if due <= answered:
                continue
            items.append(
                {
                    "id": str(uuid.uuid4()),
                    "municipality": row.municipality,
                    "plan_id": row.plan_id,
                    "client_id": row.client_id,
                    "kind": "progress_report",
                    "ref_id": None,
                    "title": "Voortgangsrapportage (klant)",
                    "due_on": due,
                    "status": "open",
                }
            )
        schedules.append(
            {
                "plan_id": row.plan_id,
                "municipality": row.municipality,
                "reporter": "client",
                "segments": [{"every_months": 2, "times": None}],
                "is_default": True,
                "set_by": "system",
                "set_at": now,
            }
        )
    if items:
        op.bulk_insert(follow_up, items)
    for values in schedules:
        bind.execute(sa.insert(schedule).values(**values))


def downgrade() -> None:
    for table, indexes in (
        ("time_entry", ["ix_monitoring_time_entry_plan_id"]),
        ("milestone", ["ix_monitoring_milestone_plan_id"]),
        ("conversation", ["ix_monitoring_conversation_plan_id"]),
        ("progress_report_attachment", ["ix_monitoring_progress_report_attachment_report_id"]),
        ("progress_report_detail", ["ix_monitoring_progress_report_detail_plan_id"]),
        ("report_schedule", []),
        (
            "follow_up",
            [
                "ix_monitoring_follow_up_to_flag",
                "ix_monitoring_follow_up_municipality_status_due_on",
                "ix_monitoring_follow_up_plan_id",
            ],
        ),
    ):
        for index in indexes:
            op.drop_index(index, table_name=table, schema=S)
        op.drop_table(table, schema=S)
