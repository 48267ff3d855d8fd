"""revoked_credential: partner applications whose tokens the monitoring service refuses (issue 13)

Revision ID: monitoring_0014
Revises: monitoring_0013

One row per partner application revoked or whose secret was rotated: its tokens (all of them, or
those issued before the rotation) are refused at token verification at once (shared/revocation.py).
"""

from alembic import op

from shared.revocation import create_revocation_table_in_migration, drop_revocation_table_in_migration

revision = "monitoring_0014"
down_revision = "monitoring_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_revocation_table_in_migration(op, "monitoring")


def downgrade() -> None:
    drop_revocation_table_in_migration(op, "monitoring")
