"""credit notes in transfer terms, provider credit note documents, e-invoice warnings on the invoice

Revision ID: budget_0005
Revises: budget_0004

- invoice.credited_pay_cents / credit_note.pay_cents: a credit note lowers the transfer (incl. VAT)
  as well as the budget charge; until now only the charge was recorded and the payment run took
  that off the transfer, so a full credit note before payment still paid out the VAT.
  Existing rows keep what was applied to them (credited_pay_cents = credited_cents).
- credit_note.document_number / document: a UBL CreditNote is kept with the credit it booked,
  once per invoice and number.
- invoice.einvoice_warnings: the SI-UBL 2.0 (BR-NL) warnings of a UBL invoice.
"""

import sqlalchemy as sa
from alembic import op

revision = "budget_0005"
down_revision = "budget_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoice", schema="budget") as batch_op:
        batch_op.add_column(sa.Column("credited_pay_cents", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("einvoice_warnings", sa.JSON(), nullable=True))
    op.execute("UPDATE budget.invoice SET credited_pay_cents = credited_cents")
    with op.batch_alter_table("credit_note", schema="budget") as batch_op:
        batch_op.add_column(sa.Column("pay_cents", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("document_number", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("document", sa.LargeBinary(), nullable=True))
        batch_op.create_unique_constraint("uq_credit_note_document_number", ["invoice_id", "document_number"])
    op.execute("UPDATE budget.credit_note SET pay_cents = amount_cents")


def downgrade() -> None:
    with op.batch_alter_table("credit_note", schema="budget") as batch_op:
        batch_op.drop_constraint("uq_credit_note_document_number", type_="unique")
        batch_op.drop_column("document")
        batch_op.drop_column("document_number")
        batch_op.drop_column("pay_cents")
    with op.batch_alter_table("invoice", schema="budget") as batch_op:
        batch_op.drop_column("einvoice_warnings")
        batch_op.drop_column("credited_pay_cents")
