"""revoked_credential: partner applications whose tokens the intake service refuses (issue 13)

Revision ID: intake_0015
Revises: intake_0014

One row per partner application revoked or whose secret was rotated: its tokens (all of them, or
those issued before the rotation) are refused at token verification at once (shared/revocation.py).
"""

from alembic import op

from shared.revocation import create_revocation_table_in_migration, drop_revocation_table_in_migration

revision = "intake_0015"
down_revision = "intake_0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_revocation_table_in_migration(op, "intake")


def downgrade() -> None:
    drop_revocation_table_in_migration(op, "intake")
