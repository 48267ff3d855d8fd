"""partner_app and consent: partner applications (OAuth2 client credentials, the secret's scrypt
hash only, scopes, rotation, revocation) and the client's consent per partner and purpose

Revision ID: intake_0010
Revises: intake_0009
Create Date: 2026-12-03 09:40:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "intake_0010"
down_revision = "intake_0009"
branch_labels = None
depends_on = None

S = "intake"


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _at() -> sqlmodel.sql.sqltypes.UTCDateTime:
    return sqlmodel.sql.sqltypes.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "partner_app",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("oauth_client_id", _text(40), nullable=False),
        sa.Column("secret_hash", _text(200), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("organisation_kvk", _text(8), nullable=False),
        sa.Column("kind", _text(30), nullable=False),
        sa.Column("allowed_scopes", sa.JSON(), nullable=False),
        sa.Column("created_by", _text(80), nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("secret_rotated_at", _at(), nullable=True),
        sa.Column("revoked_at", _at(), nullable=True),
        sa.Column("revoked_by", _text(80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("oauth_client_id", name="uq_partner_app_client_id"),
        schema=S,
    )
    op.create_index("ix_intake_partner_app_municipality", "partner_app", ["municipality"], schema=S)
    op.create_index("ix_intake_partner_app_organisation_kvk", "partner_app", ["organisation_kvk"], schema=S)
    op.create_table(
        "consent",
        sa.Column("id", _text(36), nullable=False),
        sa.Column("municipality", _text(4), nullable=False),
        sa.Column("client_id", _text(36), nullable=False),
        sa.Column("partner_kvk", _text(8), nullable=False),
        sa.Column("partner_app_id", _text(36), nullable=True),
        sa.Column("purpose", _text(30), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("on_paper", sa.Boolean(), nullable=False),
        sa.Column("granted_by", _text(80), nullable=False),
        sa.Column("granted_role", _text(20), nullable=False),
        sa.Column("granted_at", _at(), nullable=False),
        sa.Column("withdrawn_at", _at(), nullable=True),
        sa.Column("withdrawn_by", _text(80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema=S,
    )
    op.create_index("ix_intake_consent_client_id", "consent", ["client_id"], schema=S)
    op.create_index("ix_intake_consent_partner", "consent", ["municipality", "partner_kvk"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_intake_consent_partner", table_name="consent", schema=S)
    op.drop_index("ix_intake_consent_client_id", table_name="consent", schema=S)
    op.drop_table("consent", schema=S)
    op.drop_index("ix_intake_partner_app_organisation_kvk", table_name="partner_app", schema=S)
    op.drop_index("ix_intake_partner_app_municipality", table_name="partner_app", schema=S)
    op.drop_table("partner_app", schema=S)
