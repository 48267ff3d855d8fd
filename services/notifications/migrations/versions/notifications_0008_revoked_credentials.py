"""revoked_credential: partner applications whose tokens the notifications service refuses (issue 13)

Revision ID: notifications_0008
Revises: notifications_0007

One row per partner application revoked or whose secret was rotated: its tokens (all of them, or
those issued before the rotation) are refused at token verification at once (shared/revocation.py).
"""

from alembic import op

from shared.revocation import create_revocation_table_in_migration, drop_revocation_table_in_migration

revision = "notifications_0008"
down_revision = "notifications_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_revocation_table_in_migration(op, "notifications")


def downgrade() -> None:
    drop_revocation_table_in_migration(op, "notifications")
