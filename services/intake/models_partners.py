"""Partner applications and consents (issue 13): the tables and the API's shapes.

A partner application holds only the scrypt hash of its client secret (domain/partners.py); the
secret itself is in one answer, the registration's or the rotation's, and nowhere else. A consent
names the partner by KvK number (and the application, when the client chose one), a purpose and
an optional last day; a withdrawal is a timestamp, so the history stays.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict
from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.intake.domain.partners import ConsentPurpose, PartnerKind
from services.intake.models import SCHEMA, new_id
from shared.access import Scope
from shared.identifiers import KvK
from shared.text import Line

# --- tables ---------------------------------------------------------------------------------


class PartnerApp(SQLModel, table=True):
    __tablename__ = "partner_app"
    __table_args__ = (UniqueConstraint("oauth_client_id", name="uq_partner_app_client_id"), {"schema": SCHEMA})

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    oauth_client_id: str = Field(max_length=40)  # the OAuth2 client_id, public
    secret_hash: str = Field(max_length=200)  # scrypt$n$r$p$salt$hash, never the secret
    name: str = Field(max_length=200)
    organisation_kvk: str = Field(max_length=8, index=True)
    kind: str = Field(max_length=30)
    allowed_scopes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=80)
    created_at: datetime
    secret_rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=80)


class Consent(SQLModel, table=True):
    __tablename__ = "consent"
    __table_args__ = (
        Index("ix_intake_consent_partner", "municipality", "partner_kvk"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    client_id: str = Field(index=True, max_length=36)
    partner_kvk: str = Field(max_length=8)
    partner_app_id: str | None = Field(default=None, max_length=36)
    purpose: str = Field(max_length=30)
    until: date | None = None
    on_paper: bool = False  # recorded by staff from a signed form
    granted_by: str = Field(max_length=80)
    granted_role: str = Field(max_length=20)
    granted_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = Field(default=None, max_length=80)


# --- API shapes -----------------------------------------------------------------------------


class _Strict(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]  # SQLModel types it as its own dict


class PartnerAppCreate(_Strict):
    name: Line = Field(min_length=1, max_length=200)
    organisation_kvk: KvK = Field(description="The organisation's KvK number (8 digits).")
    kind: PartnerKind
    allowed_scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))


class PartnerAppPublic(SQLModel):
    id: str
    client_id: str
    name: str
    organisation_kvk: str
    kind: str
    allowed_scopes: list[str]
    created_at: datetime
    secret_rotated_at: datetime | None
    revoked_at: datetime | None


class PartnerAppCredentials(PartnerAppPublic):
    """The registration's or the rotation's answer: the only time the secret is shown."""

    client_secret: str


class ConsentCreate(_Strict):
    """Name the partner by KvK number or by its application's id (one of both)."""

    partner_kvk: KvK | None = None
    partner_app_id: Line | None = Field(default=None, max_length=36)
    purpose: ConsentPurpose
    until: date | None = Field(default=None, description="The last day the consent counts; none: until withdrawn.")


class ConsentPublic(SQLModel):
    id: str
    client_id: str
    partner_kvk: str
    partner_app_id: str | None
    purpose: str
    until: date | None
    on_paper: bool
    granted_by_role: str
    granted_at: datetime
    withdrawn_at: datetime | None
    active: bool


class PartnerClientPublic(SQLModel):
    """What a partner sees of a client who chose it: no BSN, no facts, no case notes."""

    id: str
    client_number: str
    name: str
    email: str | None
    phone: str | None
    language: str
    purposes: list[str]  # the active consents' purposes, and "plan_line" when a plan names the partner
