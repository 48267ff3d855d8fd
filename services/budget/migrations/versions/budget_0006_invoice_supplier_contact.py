"""the supplier's e-mail address on the invoice, and whether its provider id is an identifier

Revision ID: budget_0006
Revises: budget_0005

- invoice.supplier_email: where to tell the supplier about its invoice (a UBL
  cac:AccountingSupplierParty/cac:Party/cac:Contact/cbc:ElectronicMail, or the JSON
  `supplier_email`). Personal data: given out by GET .../supplier-contact only.
- invoice.provider_identified: whether provider_id identifies the sender (a provider's token, an id
  finance entered, or "kvk:..."), so the invoice events (version 2) may name it; false when it was
  made up from the supplier's name or is the declaring client's. Existing rows: true for JSON
  invoices and those with a KvK number, outside declarations.
"""

import sqlalchemy as sa
from alembic import op

revision = "budget_0006"
down_revision = "budget_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("invoice", schema="budget") as batch_op:
        batch_op.add_column(sa.Column("supplier_email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("provider_identified", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute(
        "UPDATE budget.invoice SET provider_identified = "
        "(flow <> 'declaration' AND (source = 'json' OR provider_kvk IS NOT NULL))"
    )


def downgrade() -> None:
    with op.batch_alter_table("invoice", schema="budget") as batch_op:
        batch_op.drop_column("provider_identified")
        batch_op.drop_column("supplier_email")
