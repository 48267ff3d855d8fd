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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from contracts.events import OutcomeRegisteredV1, Payload, ProgressReportedV1
from services.monitoring.domain.outcomes import (
    DurabilityCheck,
    KindOfWork,
    Outcome,
    OutcomeKind,
    OutcomeState,
    category_on_close,
    check_outcome,
    derive_state,
    is_durable,
)
from services.monitoring.domain.registration import (
    PROVISIONS,
    SOFT_CHARACTERISTICS,
    CostEntry,
    Registration,
    check_cost,
)
from shared.errors import RuleBroken


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
    first_plan: bool = True  # the client's first plan trajectory (orientation costs count with it)
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

    def payment_returned(self, amount_cents: int) -> None:
        """The bank sent a transfer back: it was not paid out after all. A plain subtraction, so the
        total is right whichever of InvoicePaid and InvoicePaymentReturned is delivered first."""
        self.paid_incl_vat_cents -= amount_cents

    def close(self, reason: CloseReason, on: date) -> None:
        self.status, self.closed_on, self.close_reason = TrajectoryStatus.CLOSED, on, reason
        self.report_overdue = False
        self.outcome_category = category_on_close(self.outcome_category)

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

    def flag_report_overdue(self) -> None:
        """A progress report it was due is overdue (the daily follow-up scan, follow_ups.py)."""
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
        on: date | None = None,
        earlier: Sequence[Outcome] = (),
        checks: Sequence[DurabilityCheck] = (),
    ) -> Outcome:
        """An outcome as in Table 4.7, checked against the trajectory and its `earlier` outcomes
        (domain/outcomes.py check_outcome: dates, the close, one final outcome); the outcome state
        is derived again from all of them and the durability `checks`. `OutcomeRegistered` says
        whether this registration itself showed six months of work."""
        day = check_outcome(
            outcome=outcome,
            on=on,
            kind_of_work=kind_of_work,
            working_since=working_since,
            hours_per_week=hours_per_week,
            started_on=self.started_on,
            closed_on=self.closed_on,
            today=today,
            earlier=earlier,
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
            on=day,
            registered_on=today,
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
        self.follow_outcomes([*earlier, registered], checks)
        return registered

    def follow_outcomes(self, outcomes: Sequence[Outcome], checks: Sequence[DurabilityCheck]) -> OutcomeState:
        """Derive the outcome state from every outcome and durability check (never frozen)."""
        state = derive_state(outcomes, checks, closed=self.closed_on is not None)
        self.outcome_category = state.category.value if state.category else None
        self.kind_of_work = state.kind_of_work.value if state.kind_of_work else None
        self.outflow_on, self.durable = state.outflow_on, state.durable
        return state
