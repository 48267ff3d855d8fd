"""Tables of the monitoring service for outcomes (schema "monitoring"): durability checks, aftercare
check-ins and the client's own voice, and the API shapes of outcomes and these. (The outcome table
itself is in models.py.) Times are set by the commands from the unit of work's clock."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import AutoString, Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from services.monitoring.domain.outcomes import KindOfWork, OutcomeKind
from services.monitoring.models import SCHEMA
from shared.text import FreeText, Line

# --- tables --------------------------------------------------------------------------------------


class DurabilityCheck(SQLModel, table=True):
    """Whether the person still works, asked about one work outcome (six months after its start)."""

    __tablename__ = "durability_check"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    outcome_id: str = Field(max_length=36)
    checked_on: date
    still_working: bool
    note: str = Field(default="", max_length=2000)
    recorded_by: str = Field(max_length=80)
    recorded_at: datetime


class AftercareCheckIn(SQLModel, table=True):
    """An aftercare (nazorg) contact after a placement."""

    __tablename__ = "aftercare_check_in"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    held_on: date  # `on` in the API
    note: str = Field(max_length=2000)
    still_working: bool | None = None
    minutes: int | None = None
    recorded_by: str = Field(max_length=80)
    recorded_at: datetime


class ClientVoice(SQLModel, table=True):
    """The client's own words about a step ("Gewogen Maatwerk": ask after each step what it brought)."""

    __tablename__ = "client_voice"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    step: str | None = Field(default=None, max_length=200)
    plan_line_id: str | None = Field(default=None, max_length=36)
    brought: str = Field(max_length=2000)
    score: int
    recorded_by: str = Field(max_length=80)
    recorded_by_role: str = Field(sa_type=AutoString(length=20))
    recorded_at: datetime


# --- API shapes ----------------------------------------------------------------------------------


class OutcomeCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    outcome: OutcomeKind
    on: date | None = Field(
        default=None,
        description="The day the situation was found (default today); not in the future, not before the "
        "trajectory started. For work found (work_during, work_after) it is working_since: leave it out.",
    )
    kind_of_work: KindOfWork | None = Field(default=None, description="Only for work (the first three rows).")
    working_since: date | None = Field(
        default=None, description="The day the work started: not in the future and not before the trajectory started."
    )
    hours_per_week: int | None = Field(default=None, ge=1, le=60, description="Only for work.")


class OutcomePublic(SQLModel):
    id: str
    plan_id: str
    client_id: str
    outcome: OutcomeKind
    on: date = Field(description="The day the situation was found; for work found, the day it started.")
    kind_of_work: KindOfWork | None
    working_since: date | None
    hours_per_week: int | None
    durable: bool = Field(
        description="Work observed to last six full months or more (its registration or a durability check "
        "saying still working on such a day); re-evaluated with every check."
    )
    final: bool = Field(description="Whether this outcome says how the trajectory ended.")
    registered_at: datetime


class OutcomeStatePublic(SQLModel):
    """The trajectory's outcome now, as the benchmark counts it."""

    plan_id: str
    outcome_category: OutcomeKind = Field(
        description="The row of Table 4.7 now: the latest outcome by its day, adjusted by the latest "
        "durability check (no longer working: work_ended). With no outcome yet: no_work_running while "
        "the trajectory runs, unknown once it closed."
    )
    recorded: bool = Field(description="False when no outcome was registered yet (the category is read as above).")
    kind_of_work: KindOfWork | None
    outflow_on: date | None = Field(description="The day the latest work started.")
    durable: bool = Field(description="Durable outflow: some work observed to last six full months.")


class DurabilityCheckCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    outcome_id: Line = Field(max_length=36, description="The work outcome (work_during or work_after) asked about.")
    checked_on: date = Field(description="The day the answer is about; not in the future, not before the work started.")
    still_working: bool
    note: FreeText = Field(default="", max_length=2000)


class DurabilityCheckPublic(SQLModel):
    id: str
    plan_id: str
    outcome_id: str
    checked_on: date
    still_working: bool
    note: str
    recorded_at: datetime


class AftercareCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    on: date = Field(description="The day of the check-in; not in the future, not before the trajectory started.")
    note: FreeText = Field(min_length=1, max_length=2000)
    still_working: bool | None = None
    minutes: int | None = Field(default=None, ge=1, le=600, description="Case-manager minutes spent.")


class AftercarePublic(SQLModel):
    id: str
    plan_id: str
    on: date
    note: str
    still_working: bool | None
    minutes: int | None
    recorded_at: datetime


class ClientVoiceCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    step: Line | None = Field(default=None, min_length=1, max_length=200, description="The step, in words.")
    plan_line_id: Line | None = Field(default=None, max_length=36, description="Or the plan line the step was.")
    brought: FreeText = Field(min_length=1, max_length=2000, description="What it brought the client, in their words.")
    score: int = Field(ge=1, le=10, description="The client's score, 1 to 10.")


class ClientVoicePublic(SQLModel):
    id: str
    plan_id: str
    step: str | None
    plan_line_id: str | None
    brought: str
    score: int
    recorded_by_role: str = Field(description="Who wrote it down: the client side itself, or staff for them.")
    recorded_at: datetime
