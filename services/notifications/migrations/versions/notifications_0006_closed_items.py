"""closed items: a late reminder about an item already done is not made

Revision ID: notifications_0006
Revises: notifications_0005
Create Date: 2026-12-02 19:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "notifications_0006"
down_revision = "notifications_0005"
branch_labels = None
depends_on = None

S = "notifications"


def upgrade() -> None:
    op.create_table(
        "closed_item",
        sa.Column("item", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("item", "municipality"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("closed_item", schema=S)
