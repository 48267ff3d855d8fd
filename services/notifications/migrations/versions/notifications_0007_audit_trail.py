"""audit_record: the audit trail of personal-data access in the notifications schema (issue 13)

Revision ID: notifications_0007
Revises: notifications_0006

Who read or changed which client's data, when, through which endpoint and for which purpose; one
hash chain per municipality (shared/audit.py). On PostgreSQL a trigger refuses UPDATE, DELETE and
TRUNCATE on the table: records are only ever added.
"""

from alembic import op

from shared.audit import create_audit_table_in_migration, drop_audit_table_in_migration

revision = "notifications_0007"
down_revision = "notifications_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table_in_migration(op, "notifications")


def downgrade() -> None:
    drop_audit_table_in_migration(op, "notifications")
