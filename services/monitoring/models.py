"""Tables owned by the monitoring service (schema "monitoring")."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Literal

from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from shared.money import EuroAmount
from shared.text import FreeText

SCHEMA = "monitoring"


def _uuid() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(timezone.utc)


# "plan": an approved plan being carried out; "orientation": the orientation phase before the
# plan, followed because its orientation budget is spent (and counts in the cost of the route).
TrajectoryKind = Literal["plan", "orientation"]


class Trajectory(SQLModel, table=True):
    """One approved plan being carried out, as monitoring sees it (ids and amounts only)."""

    __tablename__ = "trajectory"
    __table_args__ = {"schema": SCHEMA}

    # The plan id, or the orientation id for an orientation phase (kind "orientation").
    plan_id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(default="plan", max_length=20)  # TrajectoryKind
    municipality: str = Field(index=True, max_length=4)
    client_id: str = Field(index=True, max_length=36)
    scheme: str = Field(max_length=20)
    budget_id: str | None = Field(default=None, max_length=36)
    granted_cents: int = 0
    spent_cents: int = 0
    started_on: date
    execution_deadline: date
    last_report_at: datetime | None = None
    report_overdue: bool = False
    status: str = Field(default="running", max_length=20)
    closed_on: date | None = None
    close_reason: str | None = Field(default=None, max_length=20)


class ProgressReport(SQLModel, table=True):
    __tablename__ = "progress_report"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    client_id: str = Field(max_length=36)
    reported_by: str = Field(max_length=80)
    reported_by_role: str = Field(max_length=20)
    on_track: bool
    summary: str = Field(max_length=8000)
    created_at: datetime = Field(default_factory=_now)


class Outcome(SQLModel, table=True):
    """An outcome as in the benchmark's Table 4.7; `durable` means working six months or more."""

    __tablename__ = "outcome"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    client_id: str = Field(max_length=36)
    outcome: str = Field(max_length=30)
    kind_of_work: str | None = Field(default=None, max_length=30)
    working_since: date | None = None
    hours_per_week: int | None = None
    durable: bool = False
    registered_by: str = Field(max_length=80)
    registered_at: datetime = Field(default_factory=_now)


class TrajectoryPublic(SQLModel):
    plan_id: str
    kind: str
    municipality: str
    client_id: str
    scheme: str
    budget_id: str | None
    granted: EuroAmount
    spent: EuroAmount
    started_on: date
    execution_deadline: date
    last_report_at: datetime | None
    report_overdue: bool
    status: str
    closed_on: date | None
    close_reason: str | None


class ProgressReportCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")

    on_track: bool
    summary: FreeText = Field(min_length=1, max_length=8000)


class ProgressReportPublic(SQLModel):
    id: str
    plan_id: str
    client_id: str
    reported_by_role: str
    on_track: bool
    summary: str
    created_at: datetime


# Table 4.7 of the benchmark: the first three count as outflow to work.
OutcomeKind = Literal["work_during", "work_after", "work_ended", "no_work_running", "no_work_ended", "unknown"]
KindOfWork = Literal["work_experience", "secondment", "trial_placement", "permanent_job", "temporary_job",
                     "temp_agency", "own_business"]


class OutcomeCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")

    outcome: OutcomeKind
    kind_of_work: KindOfWork | None = None
    working_since: date | None = None
    hours_per_week: int | None = Field(default=None, ge=1, le=60)


class OutcomePublic(SQLModel):
    id: str
    plan_id: str
    client_id: str
    outcome: str
    kind_of_work: str | None
    working_since: date | None
    hours_per_week: int | None
    durable: bool
    registered_at: datetime
