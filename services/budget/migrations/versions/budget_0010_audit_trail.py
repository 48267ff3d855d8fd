"""audit_record: the audit trail of personal-data access in the budget schema (issue 13)

Revision ID: budget_0010
Revises: budget_0009

Who read or changed which client's data, when, through which endpoint and for which purpose; one
hash chain per municipality (shared/audit.py). On PostgreSQL a trigger refuses UPDATE, DELETE and
TRUNCATE on the table: records are only ever added.
"""

from alembic import op

from shared.audit import create_audit_table_in_migration, drop_audit_table_in_migration

revision = "budget_0010"
down_revision = "budget_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_audit_table_in_migration(op, "budget")


def downgrade() -> None:
    drop_audit_table_in_migration(op, "budget")
