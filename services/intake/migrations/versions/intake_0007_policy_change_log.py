"""municipal_policy_change: the policy's change log (who changed which setting, from what to what, when)

Revision ID: intake_0007
Revises: intake_0006
Create Date: 2026-12-02 18:45:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "intake_0007"
down_revision = "intake_0006"
branch_labels = None
depends_on = None

S = "intake"


def upgrade() -> None:
    op.create_table(
        "municipal_policy_change",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    op.create_index(
        "ix_intake_policy_change_municipality_at",
        "municipal_policy_change",
        ["municipality", "changed_at"],
        schema=S,
    )


def downgrade() -> None:
    op.drop_index("ix_intake_policy_change_municipality_at", table_name="municipal_policy_change", schema=S)
    op.drop_table("municipal_policy_change", schema=S)
