"""Tables owned by the intake service (schema "intake").

Status columns hold the values of the domain's enums (PlanStatus, ReviewStatus, ChangeStatus,
OrientationStatus). Timestamps have no default: commands set them from the unit of work's
clock. The API's request and answer shapes are in schemas.py.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from services.intake.domain.client import OrientationStatus
from services.intake.domain.plan import ChangeStatus, PlanStatus
from services.intake.domain.review import ReviewStatus
from shared.field_crypto import EncryptedJSON, EncryptedText, keyed_hash

SCHEMA = "intake"


def new_id() -> str:
    return str(uuid.uuid4())


def bsn_hash_of(bsn: str) -> str:
    """The keyed hash a client's BSN is stored, found and kept unique by."""
    return keyed_hash(bsn)


# Client columns that hold Fernet tokens (`prb keys rotate-data` encrypts them again).
CLIENT_ENCRYPTED_COLUMNS = ("bsn_encrypted", "name", "email", "phone", "address", "facts")
# Other tables' columns that hold Fernet tokens (`prb keys rotate-data` encrypts them again too).
OTHER_ENCRYPTED_COLUMNS = {"plan": ("content",), "plan_version": ("content",)}


# --- tables ---------------------------------------------------------------------------------


class PolicyRecord(SQLModel, table=True):
    """A municipality's own policy; without one, its preset (or the neutral default) applies."""

    __tablename__ = "municipal_policy"
    __table_args__ = {"schema": SCHEMA}

    municipality: str = Field(primary_key=True, max_length=4)
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=80)
    updated_at: datetime


class PolicyChange(SQLModel, table=True):
    """One change of a municipality's policy: who, when, and each setting's old and new value."""

    __tablename__ = "municipal_policy_change"
    __table_args__ = (
        Index("ix_intake_policy_change_municipality_at", "municipality", "changed_at"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    changed_by: str = Field(max_length=80)  # the token's subject
    role: str = Field(max_length=20)
    changed_at: datetime
    # [{"setting": "orientation.months", "old": 3, "new": 4}, ...]: dotted names, JSON values.
    changes: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))


class Client(SQLModel, table=True):
    """A client. The BSN, the name, the contact details and the facts are encrypted at rest (shared.field_crypto: the
    attributes hold the plain values, the columns Fernet tokens); the BSN is found, and kept unique
    per municipality, by its keyed hash (`bsn_hash`, set with `bsn_hash_of`)."""

    __tablename__ = "client"
    __table_args__ = (
        UniqueConstraint("municipality", "bsn_hash", name="uq_client_bsn_hash"),
        UniqueConstraint("municipality", "client_number", name="uq_client_number"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    bsn: str = Field(sa_column=Column("bsn_encrypted", EncryptedText, nullable=False))
    bsn_hash: str = Field(max_length=64)
    client_number: str = Field(max_length=40)
    name: str = Field(sa_column=Column("name", EncryptedText, nullable=False))
    email: str | None = Field(default=None, sa_column=Column("email", EncryptedText, nullable=True))
    phone: str | None = Field(default=None, sa_column=Column("phone", EncryptedText, nullable=True))
    address: str | None = Field(default=None, sa_column=Column("address", EncryptedText, nullable=True))
    language: str = Field(default="nl", max_length=2)
    scheme: str = Field(default="prb", max_length=20)
    benefit_type: str = Field(default="WWB", max_length=10)
    date_of_birth: date | None = None
    # What the admission rules need (ClientFacts), as the case manager recorded it.
    # Encrypted too: among them health and household facts (a long-term disability, a Wsw indication).
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(EncryptedJSON, nullable=False))
    case_manager: str = Field(max_length=80, index=True)
    created_at: datetime
    updated_at: datetime


class Representative(SQLModel, table=True):
    """A guardian or helper who acts for a client with their own login."""

    __tablename__ = "representative"
    __table_args__ = (UniqueConstraint("client_id", "subject", name="uq_representative_subject"), {"schema": SCHEMA})

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    client_id: str = Field(index=True, max_length=36)
    subject: str = Field(max_length=80)
    name: str = Field(max_length=200)
    relation: str = Field(max_length=20)
    email: str | None = Field(default=None, max_length=254)
    active: bool = True
    created_by: str = Field(max_length=80)
    created_at: datetime


class ContactRecord(SQLModel, table=True):
    """Recruitment and information: the client was told about the budget, how, and what they thought."""

    __tablename__ = "contact_record"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    client_id: str = Field(index=True, max_length=36)
    contacted_on: date
    channel: str = Field(max_length=30)
    interest: str = Field(max_length=20)
    note: str = Field(default="", max_length=2000)
    recorded_by: str = Field(max_length=80)
    created_at: datetime


# What the daily orientation-ending scan still has to remind of (a partial index on both databases).
ORIENTATION_TO_REMIND = "status = 'running' AND reminded_at IS NULL"


class Orientation(SQLModel, table=True):
    __tablename__ = "orientation"
    __table_args__ = (
        Index(
            "ix_intake_orientation_to_remind",
            "ends_on",
            "id",
            postgresql_where=text(ORIENTATION_TO_REMIND),
            sqlite_where=text(ORIENTATION_TO_REMIND),
        ),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    client_id: str = Field(index=True, max_length=36)
    scheme: str = Field(max_length=20)
    starts_on: date
    ends_on: date
    budget_cents: int = 0
    status: str = Field(default=OrientationStatus.RUNNING, max_length=20)
    started_by: str = Field(max_length=80)
    created_at: datetime
    # When OrientationEndingSoon was said for it (once).
    reminded_at: datetime | None = None


class Plan(SQLModel, table=True):
    __tablename__ = "plan"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    client_id: str = Field(index=True, max_length=36)
    status: str = Field(default=PlanStatus.DRAFT, max_length=30, index=True)
    # Optimistic concurrency: every change raises it; a command names the version it saw.
    version: int = Field(default=1)
    scheme: str = Field(default="prb", max_length=20)
    title: str = Field(default="", max_length=200)
    # The plan's texts in the client's own words (their situation, obstacles, goals): encrypted at rest.
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(EncryptedJSON, nullable=False))
    latest_version_number: int = 1
    submitted_version_number: int | None = None
    requested_cents: int = 0
    granted: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    granted_cents: int | None = None
    execution_deadline: date | None = None
    created_by: str = Field(max_length=80)
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=80)
    closed_on: date | None = None
    closure_reason: str | None = Field(default=None, max_length=20)
    closure_note: str | None = Field(default=None, max_length=2000)


class PlanVersion(SQLModel, table=True):
    """Every saved draft and every submission, never changed after it is written."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_plan_version_number"), {"schema": SCHEMA})

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    plan_id: str = Field(index=True, max_length=36)
    number: int
    kind: str = Field(max_length=20)  # draft | submitted
    content: dict[str, Any] = Field(sa_column=Column(EncryptedJSON, nullable=False))  # encrypted, as the plan's
    sha256: str = Field(max_length=64)
    created_by: str = Field(max_length=80)
    created_at: datetime


class Review(SQLModel, table=True):
    """One submitted version under review, with the policy as it was on the day of submission."""

    __tablename__ = "review"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    plan_version_number: int
    case_manager: str = Field(max_length=80, index=True)
    status: str = Field(default=ReviewStatus.AWAITING_DECISION, max_length=30, index=True)
    policy: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    submitted_on: date
    due_on: date
    warn_on: date
    created_at: datetime
    decided_at: datetime | None = None
    warned_at: datetime | None = None  # the case team was told the decision term ends soon


class DecisionRecord(SQLModel, table=True):
    __tablename__ = "decision"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    review_id: str = Field(index=True, max_length=36)
    plan_id: str = Field(index=True, max_length=36)
    kind: str = Field(max_length=30)
    reviewer_id: str = Field(max_length=80)
    reviewer_role: str = Field(max_length=20)
    decided_on: date
    decided_at: datetime
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Attachment(SQLModel, table=True):
    __tablename__ = "attachment"
    __table_args__ = (UniqueConstraint("plan_id", "sha256", name="uq_attachment_content"), {"schema": SCHEMA})

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    client_id: str = Field(max_length=36)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str = Field(max_length=80)
    created_at: datetime


class Objection(SQLModel, table=True):
    """Bezwaar against a decision, lodged within six weeks (a late one is recorded as late)."""

    __tablename__ = "objection"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    review_id: str = Field(max_length=36)
    lodged_on: date
    grounds: str = Field(max_length=8000)
    late: bool = False
    status: str = Field(default="lodged", max_length=20)
    recorded_by: str = Field(max_length=80)
    created_at: datetime


class ChangeRequest(SQLModel, table=True):
    """A change to an approved plan: other provider, moved dates, money moved between lines."""

    __tablename__ = "change_request"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    status: str = Field(default=ChangeStatus.SUBMITTED, max_length=20)
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    reason: str = Field(max_length=4000)
    requested_by: str = Field(max_length=80)
    created_at: datetime
    decided_by: str | None = Field(default=None, max_length=80)
    decided_at: datetime | None = None
    decision_note: str | None = Field(default=None, max_length=4000)
    # The grants before an approved change, to restore if the budget refuses it (PlanChangeRefused).
    previous_granted: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    refusal_reason: str | None = Field(default=None, max_length=40)
