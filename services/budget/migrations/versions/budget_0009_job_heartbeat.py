"""budget jobs: a heartbeat, so that a job whose worker died (SIGKILL, a lost host) is taken up again

Revision ID: budget_0009
Revises: budget_0008

- budget_job.heartbeat_at: written when a worker claims the job and with each chunk it commits.
  A job still `running` whose heartbeat is older than a few minutes is claimed again: an upload
  goes on after its last committed chunk, a payment run (one transaction) starts again.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "budget_0009"
down_revision = "budget_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("budget_job", schema="budget") as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("budget_job", schema="budget") as batch_op:
        batch_op.drop_column("heartbeat_at")
