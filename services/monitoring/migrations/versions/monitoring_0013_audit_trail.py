"""audit_record: the audit trail of personal-data access in the monitoring schema (issue 13)

Revision ID: monitoring_0013
Revises: monitoring_0012

Who read or changed which client's data, when, through which endpoint and for which purpose; one
hash chain per municipality (shared/audit.py). On PostgreSQL a trigger refuses UPDATE, DELETE and
TRUNCATE on the table: records are only ever added.
"""

from alembic import op

from shared.audit import create_audit_table_in_migration, drop_audit_table_in_migration

revision = "monitoring_0013"
down_revision = "monitoring_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table_in_migration(op, "monitoring")


def downgrade() -> None:
    drop_audit_table_in_migration(op, "monitoring")
