"""orientation reminded_at: OrientationEndingSoon said once, with a partial index holding only the
running phases not reminded of yet

Revision ID: intake_0006
Revises: intake_0005
Create Date: 2026-12-02 18:20:00
"""

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import UTCDateTime

revision = "intake_0006"
down_revision = "intake_0005"
branch_labels = None
depends_on = None

S = "intake"
TO_REMIND = "status = 'running' AND reminded_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("orientation", schema=S) as batch_op:
        batch_op.add_column(sa.Column("reminded_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_intake_orientation_to_remind",
        "orientation",
        ["ends_on", "id"],
        schema=S,
        postgresql_where=sa.text(TO_REMIND),
        sqlite_where=sa.text(TO_REMIND),
    )


def downgrade() -> None:
    op.drop_index("ix_intake_orientation_to_remind", table_name="orientation", schema=S)
    with op.batch_alter_table("orientation", schema=S) as batch_op:
        batch_op.drop_column("reminded_at")
