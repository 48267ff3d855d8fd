"""Tables of the monitoring service for experiments (schema "monitoring"): the experiment and its
groups, each draw as it was made (seed, the ordered list, the result), each client's assignment,
and the log of research exports. And their API shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from services.monitoring.domain.experiments import MAX_GROUPS, MAX_SEED, AssignmentMethod, IntervalMethod
from shared.text import FreeText, Line

SCHEMA = "monitoring"
MAX_DRAW = 10_000  # clients in one draw


class Experiment(SQLModel, table=True):
    __tablename__ = "experiment"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    assignment: AssignmentMethod = Field(sa_type=AutoString(length=20))
    created_by: str = Field(max_length=80)
    created_at: datetime


class ExperimentGroup(SQLModel, table=True):
    __tablename__ = "experiment_group"
    __table_args__ = {"schema": SCHEMA}

    experiment_id: str = Field(primary_key=True, max_length=36)
    key: str = Field(primary_key=True, max_length=30)
    name: str = Field(max_length=200)
    control: bool = False
    position: int  # the defined order: results list the groups in it, a first draw deals in it


class ExperimentDraw(SQLModel, table=True):
    """One lottery as it was drawn: re-run `lottery(client_ids, group_order, seed)` to check it."""

    __tablename__ = "experiment_draw"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    experiment_id: str = Field(index=True, max_length=36)
    municipality: str = Field(max_length=4)
    seed: int = Field(sa_type=BigInteger)
    seed_from: str = Field(max_length=10)  # "caller" or "system" (drawn with secrets)
    client_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))  # sorted: the shuffle's input
    group_order: list[str] = Field(sa_column=Column(JSON, nullable=False))
    assignment: list[list[str]] = Field(sa_column=Column(JSON, nullable=False))  # [client id, group key]
    drawn_by: str = Field(max_length=80)
    drawn_at: datetime


class ExperimentAssignment(SQLModel, table=True):
    """A client's group in an experiment: once per experiment, by lottery (with its draw) or by choice."""

    __tablename__ = "experiment_assignment"
    __table_args__ = (
        UniqueConstraint("experiment_id", "client_id", name="uq_monitoring_experiment_assignment_client"),
        {"schema": SCHEMA},
    )

    id: str = Field(primary_key=True, max_length=36)
    experiment_id: str = Field(index=True, max_length=36)
    municipality: str = Field(max_length=4)
    client_id: str = Field(index=True, max_length=36)
    group_key: str = Field(max_length=30)
    how: AssignmentMethod = Field(sa_type=AutoString(length=20))
    draw_id: str | None = Field(default=None, max_length=36)
    assigned_by: str = Field(max_length=80)
    assigned_at: datetime


class ResearchExportLog(SQLModel, table=True):
    """Who exported what, when: one row per research export, whatever became of the file."""

    __tablename__ = "research_export_log"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)  # the municipality asked for
    requested_by: str = Field(max_length=80)  # the token's subject
    role: str = Field(max_length=20)
    filters: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    format: str = Field(max_length=10)
    row_count: int
    at: datetime


# --- API shapes -------------------------------------------------------------------------------


class GroupIn(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    key: str = Field(max_length=30, description="Lower case letters, digits and _, e.g. `more_support`.")
    name: Line = Field(min_length=1, max_length=200)
    control: bool = False


class ExperimentCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    name: Line = Field(min_length=1, max_length=200)
    description: FreeText = Field(default="", max_length=4000)
    assignment: AssignmentMethod = Field(
        description="`lottery`: groups are drawn; `choice`: each client chooses (the analysis says so)."
    )
    groups: list[GroupIn] = Field(
        min_length=1, max_length=MAX_GROUPS + 1, description="2 to 6 groups, exactly one with `control`."
    )


class GroupPublic(SQLModel):
    key: str
    name: str
    control: bool
    participants: int


class ExperimentPublic(SQLModel):
    id: str
    municipality: str
    name: str
    description: str
    assignment: AssignmentMethod
    groups: list[GroupPublic]
    created_at: datetime


class DrawCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    client_ids: list[Line] = Field(
        max_length=MAX_DRAW,
        description="The eligible clients' ids (e.g. from intake's candidates); their order does not matter.",
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEED,
        description="Absent: the system draws one (with `secrets`) and records it.",
    )

    @field_validator("client_ids")
    @classmethod
    def _ids_are_ids(cls, ids: list[str]) -> list[str]:
        if any(not 1 <= len(i) <= 36 for i in ids):
            raise ValueError("a client id has 1 to 36 characters")
        return ids


class AssignmentPublic(SQLModel):
    client_id: str
    group: str
    how: AssignmentMethod
    draw_id: str | None
    assigned_at: datetime


class DrawPublic(SQLModel):
    id: str
    experiment_id: str
    seed: int
    seed_from: str = Field(description="`caller` (given in the request) or `system` (drawn with `secrets`).")
    client_ids: list[str] = Field(description="The clients, sorted: the list the shuffle started from.")
    group_order: list[str] = Field(description="The groups in the order the shuffled list was dealt over.")
    assignment: list[AssignmentPublic]
    drawn_at: datetime
    how_to_rerun: str


class DrawSummary(SQLModel):
    id: str
    seed: int
    seed_from: str
    clients: int
    drawn_at: datetime


class ChoiceCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    client_id: Line = Field(min_length=1, max_length=36)
    group: str = Field(max_length=30, description="The key of the group the client chose.")


class DifferencePublic(SQLModel):
    estimate: float = Field(description="This group's proportion minus control's.")
    low: float
    high: float
    method: IntervalMethod
    confidence: float


class GroupResultPublic(SQLModel):
    key: str
    name: str
    control: bool
    suppressed: bool = Field(
        default=False,
        description="For the policy role: the group's figures are left out (null) because a count is under the "
        "municipality's minimum cell size (benchmark settings), so that no person can be recognised.",
    )
    n: int | None = Field(description="Participants in this group.")
    outflow: int | None = Field(description="Participants with outflow to work on any of their plan trajectories.")
    proportion: float | None = Field(description="outflow / n; null while the group has no participants.")
    without_trajectory: int | None = Field(description="Participants with no plan trajectory: counted as no outflow.")
    difference: DifferencePublic | None = Field(
        description="Against control, with its interval; null for control or while a group is empty."
    )


class ExperimentResults(SQLModel):
    experiment_id: str
    assignment: AssignmentMethod
    warning: str | None = Field(
        description="Set when the groups were chosen, not drawn: a difference may come from who chose what."
    )
    outflow_definition: str
    interval_method: IntervalMethod
    computed_on: date
    groups: list[GroupResultPublic]


class ResearchExportLogPublic(SQLModel):
    id: str
    municipality: str
    requested_by: str
    role: str
    filters: dict[str, Any]
    format: str
    row_count: int
    at: datetime
