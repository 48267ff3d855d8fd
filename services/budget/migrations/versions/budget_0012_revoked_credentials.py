"""revoked_credential: partner applications whose tokens the budget service refuses (issue 13)

Revision ID: budget_0012
Revises: budget_0011

One row per partner application revoked or whose secret was rotated: its tokens (all of them, or
those issued before the rotation) are refused at token verification at once (shared/revocation.py).
"""

from alembic import op

from shared.revocation import create_revocation_table_in_migration, drop_revocation_table_in_migration

revision = "budget_0012"
down_revision = "budget_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_revocation_table_in_migration(op, "budget")


def downgrade() -> None:
    drop_revocation_table_in_migration(op, "budget")
