"""Tables owned by the intake service (schema "intake")."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Literal

from pydantic import ConfigDict, EmailStr
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.identifiers import BSN
from shared.money import EuroAmount

SCHEMA = "intake"


def _uuid() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Client(SQLModel, table=True):
    __tablename__ = "client"
    __table_args__ = (
        UniqueConstraint("municipality", "bsn", name="uq_client_bsn"),
        UniqueConstraint("municipality", "client_number", name="uq_client_number"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    bsn: str = Field(max_length=9)
    client_number: str = Field(max_length=40)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    language: str = Field(default="nl", max_length=2)
    scheme: str = Field(default="prb", max_length=20)
    benefit_type: str = Field(default="WWB", max_length=10)
    case_manager: str = Field(max_length=80)
    created_at: datetime = Field(default_factory=_now)


class Plan(SQLModel, table=True):
    __tablename__ = "plan"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    client_id: str = Field(index=True, max_length=36)
    status: str = Field(default="draft", max_length=20, index=True)
    version: int = Field(default=1)
    title: str = Field(max_length=200)
    goal: str = Field(default="", max_length=4000)
    scheme: str = Field(default="prb", max_length=20)
    requested_cents: int = Field(default=0)
    granted_cents: int | None = None
    execution_deadline: date | None = None
    created_at: datetime = Field(default_factory=_now)
    submitted_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=80)
    decision_note: str | None = Field(default=None, max_length=4000)


class PlanLine(SQLModel, table=True):
    __tablename__ = "plan_line"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    plan_id: str = Field(foreign_key="intake.plan.id", index=True, max_length=36)
    position: int
    description: str = Field(max_length=500)
    category: str = Field(max_length=40)
    provider_name: str = Field(max_length=200)
    amount_cents: int
    granted_cents: int | None = None


# --- API shapes ---------------------------------------------------------------------------

Category = Literal[
    "coaching", "training_knowledge", "training_skills", "study_material", "job_mediation",
    "driving_lessons", "computer", "other",
]


class ClientCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")

    bsn: BSN
    client_number: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    language: Literal["nl", "en"] = "nl"
    scheme: Literal["prb", "pgb_bw", "pib", "rio_iro"] = "prb"
    benefit_type: Literal["WWB", "NUG", "WW", "WIA", "Wajong", "Wsw"] = "WWB"
    case_manager: str | None = Field(default=None, max_length=80)


class ClientPublic(SQLModel):
    id: str
    municipality: str
    bsn: str
    client_number: str
    name: str
    email: str | None
    phone: str | None
    language: str
    scheme: str
    benefit_type: str
    case_manager: str
    created_at: datetime


class PlanLineCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=500)
    category: Category
    provider_name: str = Field(min_length=1, max_length=200)
    amount: EuroAmount


class PlanCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, max_length=36)
    title: str = Field(min_length=1, max_length=200)
    goal: str = Field(default="", max_length=4000)
    lines: list[PlanLineCreate] = Field(min_length=1, max_length=50)


class PlanLinePublic(SQLModel):
    id: str
    position: int
    description: str
    category: str
    provider_name: str
    amount: EuroAmount
    granted: EuroAmount | None


class PlanPublic(SQLModel):
    id: str
    municipality: str
    client_id: str
    status: str
    version: int
    title: str
    goal: str
    scheme: str
    requested: EuroAmount
    granted: EuroAmount | None
    execution_deadline: date | None
    submitted_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    lines: list[PlanLinePublic]


class PlanVersionRef(SQLModel):
    model_config = ConfigDict(extra="forbid")

    plan_version: int = Field(ge=1, description="The version you looked at; a changed plan answers 409.")


class GrantedLineIn(SQLModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str
    granted: EuroAmount


class ApprovePlan(PlanVersionRef):
    granted_lines: list[GrantedLineIn] | None = Field(
        default=None, description="Granted amount per line; leave out to grant every line as asked."
    )
    note: str | None = Field(default=None, max_length=4000)


class RejectPlan(PlanVersionRef):
    reason: str = Field(min_length=1, max_length=4000)
