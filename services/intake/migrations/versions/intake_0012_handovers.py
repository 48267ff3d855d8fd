"""handover: warm hand-overs between UWV (a partner application) and the municipality (iro, issue
13), both directions; the BSN a partner sends and the trajectory so far encrypted at rest

Revision ID: intake_0012
Revises: intake_0011
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "intake_0012"
down_revision = "intake_0011"
branch_labels = None
depends_on = None

S = "intake"


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _at() -> sqlmodel.sql.sqltypes.UTCDateTime:
    return sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "handover",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("direction", _text(20), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("partner_kvk", _text(8), nullable=False),
        sa.Column("partner_app_id", _text(36), nullable=True),
        sa.Column("bsn_encrypted", sa.Text(), nullable=True),
        sa.Column("bsn_hash", _text(64), nullable=True),
        sa.Column("client_id", _text(36), nullable=True),
        sa.Column("reason_code", _text(40), nullable=False),
        sa.Column("trajectory", sa.Text(), nullable=False),
        sa.Column("chosen_company", sa.JSON(), nullable=True),
        sa.Column("consent_given_on", sa.Date(), nullable=True),
        sa.Column("consent_reference", _text(80), nullable=True),
        sa.Column("consent_id", _text(36), nullable=True),
        sa.Column("created_by", _text(80), nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("decided_by", _text(80), nullable=True),
        sa.Column("decided_at", _at(), nullable=True),
        sa.Column("decline_reason", _text(30), nullable=True),
        sa.Column("decline_note", _text(500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    op.create_index("ix_intake_handover_client_id", "handover", ["client_id"], schema=S)
    op.create_index("ix_intake_handover_partner", "handover", ["municipality", "partner_kvk"], schema=S)
    op.create_index("ix_intake_handover_status", "handover", ["municipality", "status"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_intake_handover_status", table_name="handover", schema=S)
    op.drop_index("ix_intake_handover_partner", table_name="handover", schema=S)
    op.drop_index("ix_intake_handover_client_id", table_name="handover", schema=S)
    op.drop_table("handover", schema=S)
