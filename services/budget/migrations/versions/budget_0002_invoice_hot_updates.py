"""invoice status without index, room for HOT updates

Revision ID: budget_0002
Revises: budget_0001
Create Date: 2026-11-23 04:13:24.525269
"""

from alembic import op

revision = "budget_0002"
down_revision = "budget_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An invoice's status changes several times (received, approved, scheduled, paid). Without an
    # index on it, and with free room in each page, PostgreSQL can update it in place (a HOT update)
    # instead of writing a new entry in every index: a 100,000-invoice payment run sets it at once.
    with op.batch_alter_table("invoice", schema="budget") as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_invoice_status"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE budget.invoice SET (fillfactor = 80)")

    # ### end Alembic commands ###


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE budget.invoice RESET (fillfactor)")
    with op.batch_alter_table("invoice", schema="budget") as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_invoice_status"), ["status"], unique=False)

    # ### end Alembic commands ###
