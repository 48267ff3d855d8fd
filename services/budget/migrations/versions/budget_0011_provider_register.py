"""provider register; invoice findings; a budget line's catalogue product (issue 13)

Revision ID: budget_0011
Revises: budget_0010

- provider: the organisations a municipality pays, one per municipality and KvK number (unique),
  with VAT number, the IBAN payment runs pay to, and a contract status; provider_history: every
  registration and change (status, changed fields, an IBAN masked).
- invoice.findings: what finance must look at before paying (an IBAN not the register's, an
  unregistered provider, a unit price above the catalogue's maximum); such an invoice is on hold.
- budget_line.product_code / product_unit / max_unit_price_cents: the catalogue product the
  approved plan named for the line (PlanApproved and PlanChanged version 2).
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "budget_0011"
down_revision = "budget_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("kvk", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("vat_number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("iban", sqlmodel.sql.sqltypes.AutoString(length=34), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("municipality", "kvk", name="uq_provider_municipality_kvk"),
        schema="budget",
    )
    op.create_index("ix_budget_provider_municipality", "provider", ["municipality"], unique=False, schema="budget")
    op.create_table(
        "provider_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("changed_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("changed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="budget",
    )
    op.create_index(
        "ix_budget_provider_history_provider_id", "provider_history", ["provider_id"], unique=False, schema="budget"
    )
    with op.batch_alter_table("invoice", schema="budget") as batch:
        batch.add_column(sa.Column("findings", sa.JSON(), nullable=True))
    with op.batch_alter_table("budget_line", schema="budget") as batch:
        batch.add_column(sa.Column("product_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch.add_column(sa.Column("product_unit", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch.add_column(sa.Column("max_unit_price_cents", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    # Not a batch: on SQLite that copies the table, and the ledger trigger (budget_0003) that names
    # budget_line breaks on the rename. Both databases drop a column in place.
    for column in ("max_unit_price_cents", "product_unit", "product_code"):
        op.execute(f"ALTER TABLE budget.budget_line DROP COLUMN {column}")
    with op.batch_alter_table("invoice", schema="budget") as batch:
        batch.drop_column("findings")
    op.drop_index("ix_budget_provider_history_provider_id", table_name="provider_history", schema="budget")
    op.drop_table("provider_history", schema="budget")
    op.drop_index("ix_budget_provider_municipality", table_name="provider", schema="budget")
    op.drop_table("provider", schema="budget")
