"""The trajectory aggregate: one approved plan (or orientation phase) being carried out, as
monitoring follows it, and the rules for what may be recorded on it.

    (PlanApproved | OrientationStarted) ─> running ─(TrajectoryClosed)─> closed
    running: BudgetOpened links the budget, InvoicePaid adds to what was paid out,
             progress reports and outcomes are recorded (ProgressReported, OutcomeRegistered)

Plain Python: no session, no clock (the caller passes the instant and the day), no HTTP. It
decides, refuses with a domain error naming the field, and records the events it causes in
`events`; the command stores it and emits them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from contracts.events import OutcomeRegisteredV1, Payload, ProgressReportedV1
from services.monitoring.domain.outcomes import WORKING, KindOfWork, OutcomeKind, is_durable
from services.monitoring.domain.registration import (
    PROVISIONS,
    SOFT_CHARACTERISTICS,
    CostEntry,
    Registration,
    check_cost,
)
from shared.errors import RuleBroken

# A plan trajectory with no progress report for this long is flagged for the case manager.
REPORT_INTERVAL = timedelta(days=60)


class TrajectoryKind(StrEnum):
    PLAN = "plan"  # an approved plan being carried out
    # The orientation phase before the plan: followed because its orientation budget is spent
    # (and counts in the cost of the route to work). No progress reports are due in it.
    ORIENTATION = "orientation"


class TrajectoryStatus(StrEnum):
    RUNNING = "running"
    CLOSED = "closed"


class CloseReason(StrEnum):
    COMPLETED = "completed"
    STOPPED_EARLY = "stopped_early"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ProgressReport:
    id: str
    plan_id: str
    client_id: str
    municipality: str
    reported_by: str
    reported_by_role: str
    on_track: bool
    summary: str
    created_at: datetime


@dataclass(frozen=True)
class Outcome:
    id: str
    plan_id: str
    client_id: str
    municipality: str
    outcome: OutcomeKind
    kind_of_work: KindOfWork | None
    working_since: date | None
    hours_per_week: int | None
    durable: bool
    registered_by: str
    registered_at: datetime


@dataclass
class Trajectory:
    """What decides what may be recorded on a trajectory. Amounts in cents, as the rows keep them."""

    plan_id: str  # the plan id, or the orientation id for an orientation phase
    municipality: str
    client_id: str
    scheme: str
    started_on: date
    execution_deadline: date
    kind: TrajectoryKind = TrajectoryKind.PLAN
    granted_cents: int = 0
    # What was paid out for it, incl. VAT: the sum of InvoicePaid `amount_cents` (the transfers).
    paid_incl_vat_cents: int = 0
    budget_id: str | None = None
    last_report_at: datetime | None = None
    report_overdue: bool = False
    status: TrajectoryStatus = TrajectoryStatus.RUNNING
    closed_on: date | None = None
    close_reason: CloseReason | None = None
    # The statistical profile at the start (categories; see StatisticalProfile in contracts).
    benefit: str = "unknown"
    gender: str = "unknown"
    age_band: str = "unknown"
    benefit_duration: str = "unknown"
    education: str = "unknown"
    # The case manager's registration form (Tables 4.2, 4.5, 4.6): None means not recorded.
    motivation: str | None = None
    self_reliance: str | None = None
    self_awareness: str | None = None
    initiative: str | None = None
    social_skills: str | None = None
    realistic_self_image: str | None = None
    provisions_recorded: bool = False
    debt_counselling: bool = False
    special_assistance: bool = False
    childcare: bool = False
    victim_support: bool = False
    health_provisions: bool = False
    contact_hours: str | None = None
    # The outcome state now (derived from outcomes and durability checks; None: no outcome yet).
    outcome_category: str | None = None
    kind_of_work: str | None = None
    outflow_on: date | None = None
    durable: bool = False
    # Case-manager minutes and costs outside the client's budget (execution cost).
    case_minutes: int = 0
    external_cost_cents: int = 0
    events: list[Payload] = field(default_factory=list, compare=False, repr=False)

    # --- following the plan and the money --------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        plan_id: str,
        kind: TrajectoryKind,
        municipality: str,
        client_id: str,
        scheme: str,
        granted_cents: int,
        started_on: date,
        execution_deadline: date,
    ) -> Trajectory:
        return cls(
            plan_id=plan_id,
            kind=kind,
            municipality=municipality,
            client_id=client_id,
            scheme=scheme,
            granted_cents=granted_cents,
            started_on=started_on,
            execution_deadline=execution_deadline,
        )

    def record_profile(
        self, *, benefit: str, gender: str, age_band: str, benefit_duration: str, education: str
    ) -> None:
        """The client's statistical profile at the start (categories, from intake)."""
        self.benefit, self.gender, self.age_band = benefit, gender, age_band
        self.benefit_duration, self.education = benefit_duration, education

    def change_plan(self, *, granted_cents: int, execution_deadline: date) -> None:
        """An approved change request: the new total and deadline."""
        self.granted_cents, self.execution_deadline = granted_cents, execution_deadline

    def record_registration(self, registration: Registration) -> None:
        """The case manager's registration form replaces what was recorded before."""
        if self.kind != TrajectoryKind.PLAN:
            raise RuleBroken(
                "registration.orientation",
                "The registration form is for a plan's trajectory, not for an orientation phase.",
                "plan_id",
                message_nl="Het registratieformulier hoort bij het traject van een plan, niet bij een oriëntatiefase.",
            )
        for name in SOFT_CHARACTERISTICS:
            value = registration.soft.get(name)
            setattr(self, name, value.value if value else None)
        used = registration.provisions or frozenset()
        self.provisions_recorded = registration.provisions is not None
        for name in PROVISIONS:
            setattr(self, name, name in used)
        self.contact_hours = registration.contact_hours.value if registration.contact_hours else None

    def add_cost(self, cost: CostEntry, today: date) -> None:
        check_cost(
            amount_cents=cost.amount_cents, incurred_on=cost.incurred_on, started_on=self.started_on, today=today
        )
        self.external_cost_cents += cost.amount_cents

    def link_budget(self, budget_id: str) -> None:
        self.budget_id = budget_id

    def paid_out(self, amount_cents: int) -> None:
        """A transfer for this trajectory went out (an invoice's main part or its released holdback)."""
        self.paid_incl_vat_cents += amount_cents

    def close(self, reason: CloseReason, on: date) -> None:
        self.status, self.closed_on, self.close_reason = TrajectoryStatus.CLOSED, on, reason
        self.report_overdue = False

    # --- progress reports ----------------------------------------------------------------------

    def report_progress(
        self, *, report_id: str, by: str, by_role: str, on_track: bool, summary: str, at: datetime
    ) -> ProgressReport:
        report = ProgressReport(
            id=report_id,
            plan_id=self.plan_id,
            client_id=self.client_id,
            municipality=self.municipality,
            reported_by=by,
            reported_by_role=by_role,
            on_track=on_track,
            summary=summary,
            created_at=at,
        )
        self.last_report_at, self.report_overdue = at, False
        self.events.append(
            ProgressReportedV1(
                report_id=report_id,
                plan_id=self.plan_id,
                client_id=self.client_id,
                reported_by_role=by_role,
                on_track=on_track,
            )
        )
        return report

    def report_is_overdue(self, now: datetime, today: date) -> bool:
        """A running plan whose last report (or start) is more than REPORT_INTERVAL ago, before its
        deadline. Not an orientation phase: the client drafts the plan then, nothing is carried out
        yet to report progress on."""
        if self.kind != TrajectoryKind.PLAN or self.status != TrajectoryStatus.RUNNING or self.report_overdue:
            return False
        last = self.last_report_at or datetime.combine(self.started_on, datetime.min.time(), UTC)
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return now - last > REPORT_INTERVAL and self.execution_deadline >= today

    def flag_report_overdue(self) -> None:
        self.report_overdue = True

    # --- outcomes ------------------------------------------------------------------------------

    def register_outcome(
        self,
        *,
        outcome_id: str,
        outcome: OutcomeKind,
        kind_of_work: KindOfWork | None,
        working_since: date | None,
        hours_per_week: int | None,
        by: str,
        at: datetime,
        today: date,
    ) -> Outcome:
        """An outcome as in Table 4.7. Work found needs the day it started, which lies neither in
        the future nor before the trajectory started (work the client already had is no outcome
        of it)."""
        if outcome in WORKING and working_since is None:
            raise RuleBroken(
                "outcome.working_since",
                "Say since when the client works.",
                "working_since",
                message_nl="Vul in sinds wanneer de klant werkt.",
            )
        if working_since is not None and working_since > today:
            raise RuleBroken(
                "outcome.future",
                "The start of work cannot be in the future.",
                "working_since",
                message_nl="De start van het werk kan niet in de toekomst liggen.",
            )
        if working_since is not None and working_since < self.started_on:
            raise RuleBroken(
                "outcome.before_trajectory",
                f"The start of work cannot lie before the trajectory started ({self.started_on.isoformat()}).",
                "working_since",
                message_nl=f"Het werk kan niet zijn begonnen voor de start van het traject "
                f"({self.started_on.isoformat()}).",
            )
        registered = Outcome(
            id=outcome_id,
            plan_id=self.plan_id,
            client_id=self.client_id,
            municipality=self.municipality,
            outcome=outcome,
            kind_of_work=kind_of_work,
            working_since=working_since,
            hours_per_week=hours_per_week,
            durable=is_durable(outcome, working_since, today),
            registered_by=by,
            registered_at=at,
        )
        self.events.append(
            OutcomeRegisteredV1(
                outcome_id=outcome_id,
                plan_id=self.plan_id,
                client_id=self.client_id,
                outcome=outcome.value,
                durable=registered.durable,
            )
        )
        return registered
