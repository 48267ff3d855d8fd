"""Monitoring's reactions to other services' events, and the table that routes them here.

Trajectories follow the plan (PlanApproved) or the orientation phase (OrientationStarted), the
budget (BudgetOpened) and the money (InvoicePaid), until TrajectoryClosed. Each handler runs in
the consumer's unit of work, which commits it with the event's inbox row.

Queues are independent: an event about a trajectory can arrive before the event that starts it
(BudgetOpened before OrientationStarted, say). The handler then fails with TrajectoryNotKnownYet
and the consumer retries it with backoff until the start has arrived; an id that no start ever
names ends as a dead letter with that reason, for ops to look at and replay.
"""

from __future__ import annotations

from datetime import date

from contracts.events import (
    BudgetOpenedV1,
    InvoicePaidV1,
    InvoicePaidV2,
    InvoicePaymentReturnedV1,
    OrientationStartedV1,
    PartnerCredentialsRevokedV1,
    PlanApprovedV1,
    PlanApprovedV2,
    PlanChangedV1,
    PlanChangedV2,
    TrajectoryClosedV1,
    TrajectoryProfiledV1,
)
from services.monitoring import audited, progress_planning, repository
from services.monitoring.domain.trajectory import CloseReason, Trajectory, TrajectoryKind
from shared import revocation
from shared.audit import AuditAction
from shared.bus.consumer import EventHandlers
from shared.clock import NETHERLANDS
from shared.events import Envelope
from shared.uow import UnitOfWork


class TrajectoryNotKnownYet(LookupError):
    """Not a refusal: the event that starts the trajectory has not been handled yet. Retried."""

    def __init__(self, plan_id: str) -> None:
        super().__init__(f"trajectory {plan_id} not known yet")


def _dutch_day(event: Envelope) -> date:
    """The municipality's calendar day the event happened on (the trajectory's start)."""
    return event.occurred_at.astimezone(NETHERLANDS).date()


def _known(uow: UnitOfWork, plan_id: str) -> Trajectory:
    trajectory = repository.get(uow.session, plan_id, lock=True)
    if trajectory is None:
        raise TrajectoryNotKnownYet(plan_id)
    return trajectory


def start_trajectory_on_plan_approved(uow: UnitOfWork, plan: PlanApprovedV1, event: Envelope) -> None:
    if repository.exists(uow.session, plan.plan_id):
        return
    trajectory = Trajectory.start(
        plan_id=plan.plan_id,
        kind=TrajectoryKind.PLAN,
        municipality=event.tenant,
        client_id=plan.client_id,
        scheme=plan.scheme,
        granted_cents=plan.granted_cents,
        started_on=_dutch_day(event),
        execution_deadline=plan.execution_deadline,
    )
    trajectory.first_plan = not repository.has_plan_trajectory(uow.session, plan.client_id, event.tenant)
    repository.add(uow.session, trajectory)
    audited.record(uow, None, trajectory, AuditAction.CREATE, new=audited.audited_trajectory(trajectory))
    repository.replace_lines(uow.session, trajectory, plan.lines)
    progress_planning.on_trajectory_started(uow.session, trajectory, uow.clock.now(), plan.lines)


def follow_plan_change_on_plan_changed(uow: UnitOfWork, changed: PlanChangedV1, event: Envelope) -> None:
    trajectory = _known(uow, changed.plan_id)
    before = audited.audited_trajectory(trajectory)
    trajectory.change_plan(granted_cents=changed.granted_cents, execution_deadline=changed.execution_deadline)
    repository.save(uow.session, trajectory)
    audited.record(uow, None, trajectory, AuditAction.UPDATE, old=before, new=audited.audited_trajectory(trajectory))
    repository.replace_lines(uow.session, trajectory, changed.lines)
    progress_planning.on_plan_changed(uow, trajectory)


def record_profile_on_trajectory_profiled(uow: UnitOfWork, profiled: TrajectoryProfiledV1, event: Envelope) -> None:
    """Sent beside PlanApproved or OrientationStarted; retried until that start has arrived."""
    trajectory = _known(uow, profiled.plan_id)
    trajectory.record_profile(
        benefit=profiled.benefit,
        gender=profiled.gender,
        age_band=profiled.age_band,
        benefit_duration=profiled.benefit_duration,
        education=profiled.education,
    )
    repository.save(uow.session, trajectory)
    repository.set_line_benefit(uow.session, trajectory.plan_id, trajectory.benefit)


def start_orientation_trajectory_on_orientation_started(
    uow: UnitOfWork, started: OrientationStartedV1, event: Envelope
) -> None:
    """The orientation phase (DOMAIN.md: about three months in which the client drafts the plan) may
    have an orientation budget; budget opens it under the orientation id and says `BudgetOpened`,
    and its invoices are `InvoicePaid` like a plan's. That money is part of what the route to work
    costs, which monitoring reports (benchmark and evidence), so the phase is followed as a
    trajectory of kind "orientation", keyed by the orientation id that BudgetOpened names."""
    if repository.exists(uow.session, started.orientation_id):
        return
    trajectory = Trajectory.start(
        plan_id=started.orientation_id,
        kind=TrajectoryKind.ORIENTATION,
        municipality=event.tenant,
        client_id=started.client_id,
        scheme=started.scheme,
        granted_cents=started.budget_cents,
        started_on=_dutch_day(event),
        execution_deadline=started.ends_on,
    )
    repository.add(uow.session, trajectory)
    audited.record(uow, None, trajectory, AuditAction.CREATE, new=audited.audited_trajectory(trajectory))


def link_budget_on_budget_opened(uow: UnitOfWork, opened: BudgetOpenedV1, event: Envelope) -> None:
    trajectory = _known(uow, opened.plan_id)
    trajectory.link_budget(opened.budget_id)
    repository.save(uow.session, trajectory)


def record_payment_on_invoice_paid(uow: UnitOfWork, paid: InvoicePaidV1 | InvoicePaidV2, event: Envelope) -> None:
    trajectory = _known(uow, paid.plan_id)
    trajectory.paid_out(paid.amount_cents)
    repository.save(uow.session, trajectory)


def undo_payment_on_invoice_payment_returned(
    uow: UnitOfWork, returned: InvoicePaymentReturnedV1, event: Envelope
) -> None:
    trajectory = _known(uow, returned.plan_id)
    trajectory.payment_returned(returned.amount_cents)
    repository.save(uow.session, trajectory)


def close_trajectory_on_trajectory_closed(uow: UnitOfWork, closed: TrajectoryClosedV1, event: Envelope) -> None:
    trajectory = _known(uow, closed.plan_id)
    before = audited.audited_trajectory(trajectory)
    trajectory.close(CloseReason(closed.reason), closed.closed_on)
    repository.save(uow.session, trajectory)
    audited.record(uow, None, trajectory, AuditAction.UPDATE, old=before, new=audited.audited_trajectory(trajectory))
    progress_planning.on_trajectory_closed(uow, closed.plan_id)


EVENT_HANDLERS: EventHandlers = {
    PartnerCredentialsRevokedV1: revocation.refuse_tokens_on_partner_credentials_revoked,
    PlanApprovedV1: start_trajectory_on_plan_approved,  # still in flight from before version 2
    PlanApprovedV2: start_trajectory_on_plan_approved,
    OrientationStartedV1: start_orientation_trajectory_on_orientation_started,
    BudgetOpenedV1: link_budget_on_budget_opened,
    InvoicePaidV1: record_payment_on_invoice_paid,  # still in flight from before version 2
    InvoicePaidV2: record_payment_on_invoice_paid,
    InvoicePaymentReturnedV1: undo_payment_on_invoice_payment_returned,
    TrajectoryClosedV1: close_trajectory_on_trajectory_closed,
    PlanChangedV1: follow_plan_change_on_plan_changed,
    PlanChangedV2: follow_plan_change_on_plan_changed,
    TrajectoryProfiledV1: record_profile_on_trajectory_profiled,
}
