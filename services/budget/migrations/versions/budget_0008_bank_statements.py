"""bank statements: camt.053 / camt.054 imports reconcile payment runs

Revision ID: budget_0008
Revises: budget_0007

- bank_statement: one imported file per municipality and message id (unique), with the file
  itself and how many transactions had each outcome; bank_statement_entry: each transaction's
  outcome (paid, returned, not found, ...), unique per file and position.
- payment_item gets `paid_on`, `returned_on` and `return_code`: what the bank did with each
  transfer. Items of runs confirmed before this revision (and manual payments) get their paid_on
  from the run (the invoice). An index on end_to_end_id finds an item from a statement.
- uq_payment_item_invoice_part becomes a unique index over items not returned: a returned
  transfer leaves room for paying the invoice part again (by hand), and one still out never
  goes out twice.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "budget_0008"
down_revision = "budget_0007"
branch_labels = None
depends_on = None

NOT_RETURNED = sa.text("returned_on IS NULL")


def upgrade() -> None:
    op.create_table(
        "bank_statement",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("schema_version", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("statement_ids", sa.JSON(), nullable=False),
        sa.Column("account_iban", sqlmodel.sql.sqltypes.AutoString(length=34), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("transaction_count", sa.Integer(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("imported_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("imported_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("municipality", "message_id", name="uq_bank_statement_message_id"),
        schema="budget",
    )
    op.create_index(
        "ix_budget_bank_statement_municipality", "bank_statement", ["municipality"], unique=False, schema="budget"
    )
    op.create_table(
        "bank_statement_entry",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("bank_statement_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("statement_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("entry_ref", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("end_to_end_id", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
        sa.Column("booking_date", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("credit_debit", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason_code", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True),
        sa.Column("payment_run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("payment_item_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("invoice_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank_statement_id", "position", name="uq_bank_statement_entry_position"),
        schema="budget",
    )
    op.create_index(
        "ix_budget_bank_statement_entry_bank_statement_id",
        "bank_statement_entry",
        ["bank_statement_id"],
        unique=False,
        schema="budget",
    )

    with op.batch_alter_table("payment_item", schema="budget") as batch_op:
        batch_op.add_column(sa.Column("paid_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("returned_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("return_code", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=True))
        batch_op.drop_constraint("uq_payment_item_invoice_part", type_="unique")
    op.create_index(
        "uq_payment_item_invoice_part",
        "payment_item",
        ["invoice_id", "part"],
        unique=True,
        schema="budget",
        postgresql_where=NOT_RETURNED,
        sqlite_where=NOT_RETURNED,
    )
    op.create_index(
        "ix_budget_payment_item_end_to_end_id", "payment_item", ["end_to_end_id"], unique=False, schema="budget"
    )
    # What was paid before: a confirmed run's items on its day, a manual payment on its invoice's.
    op.execute(
        "UPDATE budget.payment_item SET paid_on = (SELECT r.paid_on FROM budget.payment_run r "
        "WHERE r.id = budget.payment_item.run_id) "
        "WHERE run_id IN (SELECT id FROM budget.payment_run WHERE status = 'paid')"
    )
    op.execute(
        "UPDATE budget.payment_item SET paid_on = (SELECT i.paid_on FROM budget.invoice i "
        "WHERE i.id = budget.payment_item.invoice_id) WHERE run_id = 'manual'"
    )


def downgrade() -> None:
    op.drop_index("ix_budget_payment_item_end_to_end_id", table_name="payment_item", schema="budget")
    op.drop_index("uq_payment_item_invoice_part", table_name="payment_item", schema="budget")
    with op.batch_alter_table("payment_item", schema="budget") as batch_op:
        batch_op.create_unique_constraint("uq_payment_item_invoice_part", ["invoice_id", "part"])
        batch_op.drop_column("return_code")
        batch_op.drop_column("returned_on")
        batch_op.drop_column("paid_on")
    op.drop_index(
        "ix_budget_bank_statement_entry_bank_statement_id", table_name="bank_statement_entry", schema="budget"
    )
    op.drop_table("bank_statement_entry", schema="budget")
    op.drop_index("ix_budget_bank_statement_municipality", table_name="bank_statement", schema="budget")
    op.drop_table("bank_statement", schema="budget")
