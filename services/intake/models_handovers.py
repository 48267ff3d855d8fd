"""Warm hand-overs between UWV and the municipality (iro, issue 13): the table and the API's shapes.

The BSN a partner sends is stored encrypted (shared.field_crypto, as the client's) and matched by
its keyed hash; the summary of the trajectory so far is encrypted too (it says what benefit a
person had and what they did). The rules are in domain/handovers.py, the commands in handovers.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import ConfigDict, EmailStr
from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from services.intake.domain.handovers import ActivityResult, DeclineReason, HandoverReason
from services.intake.models import SCHEMA, new_id
from services.intake.schemas import BenefitName, CategoryName, ClientFactsIn, SchemeName
from shared.field_crypto import EncryptedJSON, EncryptedText
from shared.identifiers import BSN, KvK
from shared.text import FreeText, Line

# Columns that hold Fernet tokens (`prb keys rotate-data` should encrypt them again, as the client's).
HANDOVER_ENCRYPTED_COLUMNS = ("bsn_encrypted", "trajectory")


class Handover(SQLModel, table=True):
    __tablename__ = "handover"
    __table_args__ = (
        Index("ix_intake_handover_partner", "municipality", "partner_kvk"),
        Index("ix_intake_handover_status", "municipality", "status"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    direction: str = Field(max_length=20)  # HandoverDirection
    status: str = Field(max_length=20)  # HandoverStatus
    partner_kvk: str = Field(max_length=8)  # the partner organisation: sender or addressee
    partner_app_id: str | None = Field(default=None, max_length=36)  # the application that sent it
    # The person: the BSN (to_municipality: as the partner sent it) and the client, once known.
    bsn: str | None = Field(default=None, sa_column=Column("bsn_encrypted", EncryptedText, nullable=True))
    bsn_hash: str | None = Field(default=None, max_length=64)
    client_id: str | None = Field(default=None, index=True, max_length=36)
    reason_code: str = Field(max_length=40)  # HandoverReason
    trajectory: dict[str, Any] = Field(default_factory=dict, sa_column=Column(EncryptedJSON, nullable=False))
    chosen_company: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    consent_given_on: date | None = None  # the consent the client gave at the partner (to_municipality)
    consent_reference: str | None = Field(default=None, max_length=80)
    consent_id: str | None = Field(default=None, max_length=36)  # the consent recorded here, or relied on
    created_by: str = Field(max_length=80)
    created_at: datetime
    decided_by: str | None = Field(default=None, max_length=80)
    decided_at: datetime | None = None
    decline_reason: str | None = Field(default=None, max_length=30)  # DeclineReason
    decline_note: str | None = Field(default=None, max_length=500)  # for the municipality's staff only


# --- API shapes -----------------------------------------------------------------------------


class _Strict(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]  # SQLModel types it as its own dict


class TrajectoryActivity(_Strict):
    """One step of the trajectory so far (Table 4.4's categories)."""

    category: CategoryName
    provider_name: Line = Field(min_length=1, max_length=200)
    provider_kvk: KvK | None = None
    started_on: date
    ended_on: date | None = None
    result: ActivityResult


class TrajectorySoFar(_Strict):
    """What the sender did with the client so far, as structured fields (no free text about the person)."""

    benefit_type: BenefitName | None = Field(default=None, description="The benefit at the sender (WW, WIA...).")
    benefit_ends_on: date | None = None
    months_unemployed: int | None = Field(default=None, ge=0, le=1200)
    distance_to_labour_market_months: int | None = Field(default=None, ge=0, le=600)
    iro: bool = Field(default=False, description="The client had an individual reintegration agreement (iro).")
    activities: list[TrajectoryActivity] = Field(default_factory=list, max_length=30)


class ChosenCompany(_Strict):
    """The reintegration company the client chose under the iro."""

    name: Line = Field(min_length=1, max_length=200)
    kvk: KvK


class ConsentAtPartner(_Strict):
    """The consent the client gave at the partner for this hand-over: its date and the partner's reference."""

    given_on: date
    reference: Line = Field(min_length=1, max_length=80)


class HandoverCreate(_Strict):
    """A partner application (UWV) hands a client over to the municipality. The BSN goes in this body
    only, never in a URL."""

    bsn: BSN
    reason_code: HandoverReason
    trajectory: TrajectorySoFar = Field(default_factory=TrajectorySoFar)
    chosen_company: ChosenCompany | None = None
    consent: ConsentAtPartner


class HandoverToPartner(_Strict):
    """A case manager hands a client over to a partner (UWV) who has the client's consent for it."""

    partner_kvk: KvK
    reason_code: HandoverReason
    trajectory: TrajectorySoFar = Field(default_factory=TrajectorySoFar)


class HandoverClientCreate(_Strict):
    """Register the handed-over person as a client (the BSN is the hand-over's)."""

    client_number: Line = Field(min_length=1, max_length=40)
    name: Line = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: Line | None = Field(default=None, max_length=40)
    address: Line | None = Field(default=None, max_length=300)
    language: Literal["nl", "en"] = "nl"
    scheme: SchemeName = "prb"
    benefit_type: BenefitName = "WWB"
    date_of_birth: date | None = None
    facts: ClientFactsIn = Field(default_factory=ClientFactsIn)
    case_manager: Line | None = Field(default=None, max_length=80)


class HandoverAccept(_Strict):
    """Link the client the BSN matched (send nothing), name one (`client_id`), or register one (`new_client`)."""

    client_id: Line | None = Field(default=None, max_length=36)
    new_client: HandoverClientCreate | None = None


class HandoverDecline(_Strict):
    reason_code: DeclineReason
    note: FreeText | None = Field(default=None, max_length=500, description="For the municipality's staff only.")


class HandoverPublic(SQLModel):
    """What the municipality's staff see of a hand-over."""

    id: str
    direction: str
    status: str
    partner_kvk: str
    partner_app_id: str | None
    client_id: str | None  # the client it is about: matched by BSN, linked or registered at acceptance
    bsn: str | None
    reason_code: str
    trajectory: dict[str, Any]
    chosen_company: dict[str, Any] | None
    consent_given_on: date | None
    consent_reference: str | None
    consent_id: str | None
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decline_reason: str | None
    decline_note: str | None


class PartnerHandoverClient(SQLModel):
    """The client a municipality hands over to a partner: who they are, so the partner can find them."""

    bsn: str
    client_number: str
    name: str
    email: str | None
    phone: str | None
    language: str
    date_of_birth: date | None


class PartnerHandoverPublic(SQLModel):
    """What a partner sees of its own hand-overs. Its own to_municipality ones: the status and the
    decision's reason code (and, once accepted, the municipality's client id); never the BSN back.
    One to_partner addressed to it, while the client's consent lasts: the client and the trajectory."""

    id: str
    direction: str
    status: str
    reason_code: str
    created_at: datetime
    decided_at: datetime | None
    decline_reason: str | None
    client_id: str | None
    client: PartnerHandoverClient | None
    trajectory: dict[str, Any] | None
