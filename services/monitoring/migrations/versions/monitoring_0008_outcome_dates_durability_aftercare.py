"""outcome dates, durability checks, aftercare check-ins, the client's voice

An outcome gets its day (`found_on`: when the situation was found; for work, working_since) and the
day it was registered (`registered_on`). Existing rows: found_on = working_since, else the day of
registered_at; registered_on = the day of registered_at (in the Netherlands on PostgreSQL, the UTC
day on SQLite). The trajectory's outcome state (monitoring_0006 columns) is filled in for
trajectories that already have outcomes, as domain/outcomes.py derive_state would (no durability
checks exist yet).

Revision ID: monitoring_0008
Revises: monitoring_0007
Create Date: 2026-12-02 15:20:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "monitoring_0008"
down_revision = "monitoring_0007"
branch_labels = None
depends_on = None

SCHEMA = "monitoring"
WORKING = ("work_during", "work_after")
OUTFLOW = ("work_during", "work_after", "work_ended")


def _backfill_outcome_days() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        day = "CAST(registered_at AT TIME ZONE 'Europe/Amsterdam' AS DATE)"
    else:
        day = "date(registered_at)"
    op.execute(f"UPDATE {SCHEMA}.outcome SET registered_on = {day}, found_on = COALESCE(working_since, {day})")


def _backfill_trajectory_state() -> None:
    """The outcome state of trajectories that have outcomes (derive_state without checks)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            f"SELECT o.plan_id, o.outcome, o.kind_of_work, o.working_since, o.durable, t.status "
            f"FROM {SCHEMA}.outcome o JOIN {SCHEMA}.trajectory t ON t.plan_id = o.plan_id "
            f"ORDER BY o.plan_id, o.found_on, o.registered_at, o.id"
        )
    ).all()
    by_plan: dict[str, list] = {}
    for row in rows:
        by_plan.setdefault(row.plan_id, []).append(row)
    for plan_id, outcomes in by_plan.items():
        latest = outcomes[-1]
        category = latest.outcome
        if category in ("no_work_running", "no_work_ended") and any(o.outcome in OUTFLOW for o in outcomes[:-1]):
            category = "work_ended"
        if category == "no_work_running" and latest.status == "closed":
            category = "no_work_ended"
        started = [o for o in outcomes if o.outcome in OUTFLOW and o.working_since is not None]
        durable = any(bool(o.durable) and o.outcome in WORKING for o in outcomes)
        bind.execute(
            sa.text(
                f"UPDATE {SCHEMA}.trajectory SET outcome_category = :category, kind_of_work = :kind, "
                f"outflow_on = :outflow_on, durable = :durable WHERE plan_id = :plan_id"
            ),
            {
                "category": category,
                "kind": started[-1].kind_of_work if started else None,
                "outflow_on": started[-1].working_since if started else None,
                "durable": durable,
                "plan_id": plan_id,
            },
        )


def upgrade() -> None:
    with op.batch_alter_table("outcome", schema=SCHEMA) as batch_op:
        batch_op.add_column(sa.Column("found_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("registered_on", sa.Date(), nullable=True))
    _backfill_outcome_days()
    with op.batch_alter_table("outcome", schema=SCHEMA) as batch_op:
        batch_op.alter_column("found_on", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("registered_on", existing_type=sa.Date(), nullable=False)
    _backfill_trajectory_state()

    op.create_table(
        "durability_check",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("outcome_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("still_working", sa.Boolean(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index("ix_monitoring_durability_check_plan_id", "durability_check", ["plan_id"], schema=SCHEMA)

    op.create_table(
        "aftercare_check_in",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("still_working", sa.Boolean(), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index("ix_monitoring_aftercare_check_in_plan_id", "aftercare_check_in", ["plan_id"], schema=SCHEMA)

    op.create_table(
        "client_voice",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("step", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("plan_line_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("brought", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("recorded_by_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema=SCHEMA,
    )
    op.create_index("ix_monitoring_client_voice_plan_id", "client_voice", ["plan_id"], schema=SCHEMA)
    op.create_index("ix_monitoring_client_voice_municipality", "client_voice", ["municipality"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("ix_monitoring_client_voice_municipality", table_name="client_voice", schema=SCHEMA)
    op.drop_index("ix_monitoring_client_voice_plan_id", table_name="client_voice", schema=SCHEMA)
    op.drop_table("client_voice", schema=SCHEMA)
    op.drop_index("ix_monitoring_aftercare_check_in_plan_id", table_name="aftercare_check_in", schema=SCHEMA)
    op.drop_table("aftercare_check_in", schema=SCHEMA)
    op.drop_index("ix_monitoring_durability_check_plan_id", table_name="durability_check", schema=SCHEMA)
    op.drop_table("durability_check", schema=SCHEMA)
    with op.batch_alter_table("outcome", schema=SCHEMA) as batch_op:
        batch_op.drop_column("registered_on")
        batch_op.drop_column("found_on")
