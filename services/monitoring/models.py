"""Tables owned by the monitoring service (schema "monitoring"), and its API shapes.

Times are set by the commands from the unit of work's clock, never by a default here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Index, text
from sqlmodel import AutoString, Field, SQLModel

from services.monitoring.domain.outcomes import KindOfWork, OutcomeKind
from services.monitoring.domain.trajectory import CloseReason, TrajectoryKind, TrajectoryStatus
from shared.money import EuroAmount

SCHEMA = "monitoring"
# An id or a code in a path, a query or a body: no control character (PostgreSQL refuses a NUL in
# text, which would be a 500 instead of a 422 naming the parameter).
NO_CONTROLS = r"^[^\x00-\x1f\x7f]*$"

# What the daily ending-soon scan still has to remind of: a running plan trajectory whose current
# deadline was not reminded of (a later deadline after a plan change is again), a partial index.
TO_REMIND_END = (
    "status = 'running' AND kind = 'plan' "
    "AND (ending_reminded_for IS NULL OR ending_reminded_for <> execution_deadline)"
)

PAID_INCL_VAT = (
    "What was paid out for this trajectory, incl. VAT: the sum of the transfers to its providers and "
    "its client (each InvoicePaid `amount_cents`; a held-back part counts when it is paid out). The "
    "budget service's `paid` is what was charged to the budget instead: excl. VAT unless the "
    "municipality's budgets include VAT. Refunds are not subtracted."
)


class Trajectory(SQLModel, table=True):
    """One approved plan (or orientation phase) being carried out, as monitoring sees it (ids and amounts only)."""

    __tablename__ = "trajectory"
    __table_args__ = (
        Index(
            "ix_monitoring_trajectory_to_remind_end",
            "execution_deadline",
            "plan_id",
            postgresql_where=text(TO_REMIND_END),
            sqlite_where=text(TO_REMIND_END),
        ),
        {"schema": SCHEMA},
    )

    # The plan id, or the orientation id for an orientation phase (kind "orientation").
    plan_id: str = Field(primary_key=True, max_length=36)
    kind: TrajectoryKind = Field(default=TrajectoryKind.PLAN, sa_type=AutoString(length=20))
    municipality: str = Field(index=True, max_length=4)
    client_id: str = Field(index=True, max_length=36)
    scheme: str = Field(max_length=20)
    budget_id: str | None = Field(default=None, max_length=36)
    granted_cents: int = Field(default=0, sa_type=BigInteger)
    # Paid out incl. VAT (PAID_INCL_VAT); the column keeps its first name.
    spent_cents: int = Field(default=0, sa_type=BigInteger)
    started_on: date
    execution_deadline: date
    # The deadline TrajectoryEndingSoon was said for (None: not yet; another than the deadline: a
    # plan change moved it, to be reminded of again).
    ending_reminded_for: date | None = None
    last_report_at: datetime | None = None
    report_overdue: bool = False
    status: TrajectoryStatus = Field(default=TrajectoryStatus.RUNNING, sa_type=AutoString(length=20))
    closed_on: date | None = None
    close_reason: CloseReason | None = Field(default=None, sa_type=AutoString(length=20))
    # The statistical profile at the start (TrajectoryProfiled): categories, never a birth date.
    benefit: str = Field(default="unknown", max_length=10)
    gender: str = Field(default="unknown", max_length=10)
    age_band: str = Field(default="unknown", max_length=10)
    benefit_duration: str = Field(default="unknown", max_length=10)
    education: str = Field(default="unknown", max_length=10)
    # The case manager's registration form (Tables 4.2, 4.5, 4.6); None: not recorded.
    motivation: str | None = Field(default=None, max_length=10)
    self_reliance: str | None = Field(default=None, max_length=10)
    self_awareness: str | None = Field(default=None, max_length=10)
    initiative: str | None = Field(default=None, max_length=10)
    social_skills: str | None = Field(default=None, max_length=10)
    realistic_self_image: str | None = Field(default=None, max_length=10)
    provisions_recorded: bool = False
    debt_counselling: bool = False
    special_assistance: bool = False
    childcare: bool = False
    victim_support: bool = False
    health_provisions: bool = False
    contact_hours: str | None = Field(default=None, max_length=10)
    # The outcome state now, derived from the outcomes and durability checks (None: no outcome yet).
    outcome_category: str | None = Field(default=None, max_length=30)
    kind_of_work: str | None = Field(default=None, max_length=30)
    outflow_on: date | None = None
    durable: bool = False
    # Effort and cost outside the client's budget.
    case_minutes: int = 0
    external_cost_cents: int = Field(default=0, sa_type=BigInteger)
    # The client's first plan trajectory here (their orientation phases' cost counts with it).
    first_plan: bool = True


class TrajectoryLine(SQLModel, table=True):
    """A granted plan line as monitoring keeps it (PlanApproved, PlanChanged): what the budget is
    meant for (Table 4.4) and which provider the plan names (who may report progress)."""

    __tablename__ = "trajectory_line"
    __table_args__ = {"schema": SCHEMA}

    plan_line_id: str = Field(primary_key=True, max_length=36)
    plan_id: str = Field(index=True, max_length=36)
    municipality: str = Field(max_length=4)
    category: str = Field(max_length=40)
    granted_cents: int = Field(default=0, sa_type=BigInteger)
    provider_kvk: str | None = Field(default=None, max_length=8, index=True)
    provider_name: str | None = Field(default=None, max_length=200)
    # Copied from the trajectory (they do not change after its start; benefit comes with the
    # profile) so that the benchmark's Table 4.4 reads the lines alone, without a join.
    started_on: date | None = None
    scheme: str | None = Field(default=None, max_length=20)
    benefit: str = Field(default="unknown", max_length=10)
    # The plan's first line of its category: a client counts once per category, however many lines.
    first_of_category: bool = True


class CostEntry(SQLModel, table=True):
    """A cost of a trajectory outside the client's budget: external coaching the municipality buys
    itself (Almere), an assessment, ... It counts in the execution cost per trajectory."""

    __tablename__ = "cost_entry"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    kind: str = Field(max_length=30)
    amount_cents: int = Field(sa_type=BigInteger)
    incurred_on: date
    note: str = Field(default="", max_length=500)
    recorded_by: str = Field(max_length=80)
    recorded_at: datetime


class ProgressReport(SQLModel, table=True):
    __tablename__ = "progress_report"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    client_id: str = Field(max_length=36)
    reported_by: str = Field(max_length=80)
    reported_by_role: str = Field(max_length=20)
    on_track: bool
    summary: str = Field(max_length=8000)
    created_at: datetime


class Outcome(SQLModel, table=True):
    """An outcome as in the benchmark's Table 4.7 (rules: domain/outcomes.py). `durable`: working six
    months or more as observed so far (re-evaluated with each durability check)."""

    __tablename__ = "outcome"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    client_id: str = Field(max_length=36)
    outcome: OutcomeKind = Field(sa_type=AutoString(length=30))
    kind_of_work: KindOfWork | None = Field(default=None, sa_type=AutoString(length=30))
    working_since: date | None = None
    hours_per_week: int | None = None
    durable: bool = False
    registered_by: str = Field(max_length=80)
    registered_at: datetime
    # The outcome's day (`on` in the API): when the situation was found; for work, working_since.
    found_on: date
    registered_on: date  # the Dutch calendar day of the registration


# --- API shapes -------------------------------------------------------------------------------


class TrajectoryProfile(SQLModel):
    """The client's statistical profile at the start (categories only, from intake)."""

    benefit: str = Field(description="wwb, nug, other or unknown.")
    gender: str = Field(description="female, male, other or unknown.")
    age_band: str = Field(description="under_35, 35_44, 45_plus or unknown.")
    benefit_duration: str = Field(description="Time on benefit at the start: under_1y, 1_3y, over_3y, none or unknown.")
    education: str = Field(description="low, middle, high or unknown.")


class TrajectoryPublic(SQLModel):
    plan_id: str = Field(description="The plan id, or the orientation id for a trajectory of kind orientation.")
    kind: TrajectoryKind
    municipality: str
    client_id: str
    scheme: str
    budget_id: str | None
    granted: EuroAmount
    paid_incl_vat: EuroAmount = Field(description=PAID_INCL_VAT)
    spent: EuroAmount = Field(
        description="Deprecated: the first name of `paid_incl_vat` (the same amount); it goes in v2.",
        schema_extra={"json_schema_extra": {"deprecated": True}},
    )
    started_on: date
    execution_deadline: date
    last_report_at: datetime | None
    report_overdue: bool
    status: TrajectoryStatus
    closed_on: date | None
    close_reason: CloseReason | None
    profile: TrajectoryProfile


# area models: the tables in models_<area>.py register with SQLModel's metadata on import.
from services.monitoring import (  # noqa: E402, F401
    models_benchmark,
    models_experiments,
    models_outcomes,
    models_progress,
)
