"""plans in the Groningen format, reviews, decisions, attachments, objections, changes

Revision ID: intake_0002
Revises: intake_0001
Create Date: 2026-11-23 03:14:53.230220
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "intake_0002"
down_revision = "intake_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Columns added to existing tables get a server default, so rows from 0001 stay valid.
    op.create_table(
        "attachment",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "sha256", name="uq_attachment_content"),
        schema="intake",
    )
    with op.batch_alter_table("attachment", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_attachment_municipality"), ["municipality"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_attachment_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "change_request",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema="intake",
    )
    with op.batch_alter_table("change_request", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_change_request_municipality"), ["municipality"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_change_request_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "contact_record",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("contacted_on", sa.Date(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("interest", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="intake",
    )
    with op.batch_alter_table("contact_record", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_contact_record_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_contact_record_municipality"), ["municipality"], unique=False)

    op.create_table(
        "decision",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("review_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("reviewer_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("reviewer_role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="intake",
    )
    with op.batch_alter_table("decision", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_decision_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_decision_review_id"), ["review_id"], unique=False)

    op.create_table(
        "municipal_policy",
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("municipality"),
        schema="intake",
    )
    op.create_table(
        "objection",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("review_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("lodged_on", sa.Date(), nullable=False),
        sa.Column("grounds", sqlmodel.sql.sqltypes.AutoString(length=8000), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="intake",
    )
    with op.batch_alter_table("objection", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_objection_municipality"), ["municipality"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_objection_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "orientation",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("scheme", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("budget_cents", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("started_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="intake",
    )
    with op.batch_alter_table("orientation", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_orientation_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_orientation_municipality"), ["municipality"], unique=False)

    op.create_table(
        "plan_version",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id", "number", name="uq_plan_version_number"),
        schema="intake",
    )
    with op.batch_alter_table("plan_version", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_plan_version_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "representative",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("relation", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "subject", name="uq_representative_subject"),
        schema="intake",
    )
    with op.batch_alter_table("representative", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_representative_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_representative_municipality"), ["municipality"], unique=False)

    op.create_table(
        "review",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("plan_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("plan_version_number", sa.Integer(), nullable=False),
        sa.Column("case_manager", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("warn_on", sa.Date(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema="intake",
    )
    with op.batch_alter_table("review", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_review_case_manager"), ["case_manager"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_review_municipality"), ["municipality"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_review_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_intake_review_status"), ["status"], unique=False)

    with op.batch_alter_table("plan_line", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_plan_line_plan_id"))

    op.drop_table("plan_line", schema="intake")
    with op.batch_alter_table("client", schema="intake") as batch_op:
        batch_op.add_column(sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sqlmodel.sql.sqltypes.UTCDateTime(),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch_op.create_index(batch_op.f("ix_intake_client_case_manager"), ["case_manager"], unique=False)

    with op.batch_alter_table("plan", schema="intake") as batch_op:
        batch_op.add_column(sa.Column("content", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("latest_version_number", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("submitted_version_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("granted", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sqlmodel.sql.sqltypes.UTCDateTime(),
                nullable=False,
                server_default=sa.func.current_timestamp(),
            )
        )
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closure_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.add_column(sa.Column("closure_note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.alter_column(
            "status",
            existing_type=sa.VARCHAR(length=20),
            type_=sqlmodel.sql.sqltypes.AutoString(length=30),
            existing_nullable=False,
        )
        batch_op.drop_column("goal")
        batch_op.drop_column("decision_note")

    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("plan", schema="intake") as batch_op:
        batch_op.add_column(sa.Column("decision_note", sa.VARCHAR(length=4000), nullable=True))
        batch_op.add_column(sa.Column("goal", sa.VARCHAR(length=4000), nullable=False))
        batch_op.alter_column(
            "status",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=30),
            type_=sa.VARCHAR(length=20),
            existing_nullable=False,
        )
        batch_op.drop_column("closure_note")
        batch_op.drop_column("closure_reason")
        batch_op.drop_column("closed_on")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("created_by")
        batch_op.drop_column("granted")
        batch_op.drop_column("submitted_version_number")
        batch_op.drop_column("latest_version_number")
        batch_op.drop_column("content")

    with op.batch_alter_table("client", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_client_case_manager"))
        batch_op.drop_column("updated_at")
        batch_op.drop_column("facts")
        batch_op.drop_column("date_of_birth")
        batch_op.drop_column("address")

    op.create_table(
        "plan_line",
        sa.Column("id", sa.VARCHAR(length=36), nullable=False),
        sa.Column("plan_id", sa.VARCHAR(length=36), nullable=False),
        sa.Column("position", sa.INTEGER(), nullable=False),
        sa.Column("description", sa.VARCHAR(length=500), nullable=False),
        sa.Column("category", sa.VARCHAR(length=40), nullable=False),
        sa.Column("provider_name", sa.VARCHAR(length=200), nullable=False),
        sa.Column("amount_cents", sa.INTEGER(), nullable=False),
        sa.Column("granted_cents", sa.INTEGER(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["intake.plan.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="intake",
    )
    with op.batch_alter_table("plan_line", schema="intake") as batch_op:
        batch_op.create_index(batch_op.f("ix_intake_plan_line_plan_id"), ["plan_id"], unique=False)

    with op.batch_alter_table("review", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_review_status"))
        batch_op.drop_index(batch_op.f("ix_intake_review_plan_id"))
        batch_op.drop_index(batch_op.f("ix_intake_review_municipality"))
        batch_op.drop_index(batch_op.f("ix_intake_review_case_manager"))

    op.drop_table("review", schema="intake")
    with op.batch_alter_table("representative", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_representative_municipality"))
        batch_op.drop_index(batch_op.f("ix_intake_representative_client_id"))

    op.drop_table("representative", schema="intake")
    with op.batch_alter_table("plan_version", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_plan_version_plan_id"))

    op.drop_table("plan_version", schema="intake")
    with op.batch_alter_table("orientation", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_orientation_municipality"))
        batch_op.drop_index(batch_op.f("ix_intake_orientation_client_id"))

    op.drop_table("orientation", schema="intake")
    with op.batch_alter_table("objection", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_objection_plan_id"))
        batch_op.drop_index(batch_op.f("ix_intake_objection_municipality"))

    op.drop_table("objection", schema="intake")
    op.drop_table("municipal_policy", schema="intake")
    with op.batch_alter_table("decision", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_decision_review_id"))
        batch_op.drop_index(batch_op.f("ix_intake_decision_plan_id"))

    op.drop_table("decision", schema="intake")
    with op.batch_alter_table("contact_record", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_contact_record_municipality"))
        batch_op.drop_index(batch_op.f("ix_intake_contact_record_client_id"))

    op.drop_table("contact_record", schema="intake")
    with op.batch_alter_table("change_request", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_change_request_plan_id"))
        batch_op.drop_index(batch_op.f("ix_intake_change_request_municipality"))

    op.drop_table("change_request", schema="intake")
    with op.batch_alter_table("attachment", schema="intake") as batch_op:
        batch_op.drop_index(batch_op.f("ix_intake_attachment_plan_id"))
        batch_op.drop_index(batch_op.f("ix_intake_attachment_municipality"))

    op.drop_table("attachment", schema="intake")
    # ### end Alembic commands ###
