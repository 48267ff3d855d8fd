"""budget jobs: a payment run or a bulk upload of invoices, run by a worker with its progress

Revision ID: budget_0007
Revises: budget_0006

- budget_job: queued by POST /payment-runs/jobs or /invoices/upload-jobs (202), run by the
  budget.run_queued_jobs job, which writes `done` of `total` as it goes, and the result (the
  payment run's id, or each uploaded invoice's result).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "budget_0007"
down_revision = "budget_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_job",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("payment_run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("error_message", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema="budget",
    )
    with op.batch_alter_table("budget_job", schema="budget") as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_budget_job_municipality"), ["municipality"], unique=False)
        batch_op.create_index(batch_op.f("ix_budget_budget_job_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("budget_job", schema="budget") as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_budget_job_status"))
        batch_op.drop_index(batch_op.f("ix_budget_budget_job_municipality"))
    op.drop_table("budget_job")
