"""audit_record: the audit trail of personal-data access in the intake schema (issue 13)

Revision ID: intake_0011
Revises: intake_0010

Who read or changed which client's data, when, through which endpoint and for which purpose; one
hash chain per municipality (shared/audit.py). On PostgreSQL a trigger refuses UPDATE, DELETE and
TRUNCATE on the table: records are only ever added.
"""

from alembic import op

from shared.audit import create_audit_table_in_migration, drop_audit_table_in_migration

revision = "intake_0011"
down_revision = "intake_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table_in_migration(op, "intake")


def downgrade() -> None:
    drop_audit_table_in_migration(op, "intake")
