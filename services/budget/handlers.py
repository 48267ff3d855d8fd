"""Budget reactions to other services' events, and the table that maps payload classes to them.

Each handler runs in the unit of work the bus gives it (the bus commits); money moves through
the ledger on rows (repository.py), budget lock first.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from contracts.events import (
    BudgetClosedV1,
    BudgetOpenedV1,
    GrantedLine,
    GrantedLineV2,
    OrientationStartedV1,
    OutcomeRegisteredV1,
    PartnerCredentialsRevokedV1,
    PlanApprovedV1,
    PlanApprovedV2,
    PlanChangedV1,
    PlanChangedV2,
    PlanChangeRefusedV1,
    TrajectoryClosedV1,
)
from services.budget import repository
from services.budget.domain.invoice import HoldbackStatus
from services.budget.models import Budget, BudgetLine, Order
from shared import revocation
from shared.bus.consumer import EventHandlers
from shared.events import Envelope
from shared.money import Money
from shared.uow import UnitOfWork

WORK_FOUND = frozenset({"work_during", "work_after"})


def _move(uow: UnitOfWork, line: BudgetLine, operation: str, amount: Money, invoice_id: str | None = None) -> None:
    repository.move(uow.session, line, operation, amount, uow.clock.now(), invoice_id)


def _deduct_execution_costs(lines: tuple[GrantedLine, ...], cost: Money) -> list[Money]:
    """Spread the municipality's execution costs over the lines in proportion, to the cent."""
    total = sum(line.granted_cents for line in lines)
    shares = [Money(cost.cents * line.granted_cents // total) if total else Money(0) for line in lines]
    leftover = cost.cents - sum(s.cents for s in shares)
    if lines and leftover:
        largest = max(range(len(lines)), key=lambda i: lines[i].granted_cents)
        shares[largest] = shares[largest] + Money(leftover)
    return [Money(line.granted_cents) - share for line, share in zip(lines, shares, strict=True)]


def _open_budget(
    uow: UnitOfWork,
    event: Envelope,
    *,
    trajectory_id: str,
    client_id: str,
    kind: str,
    scheme: str,
    lines: tuple[GrantedLine, ...],
    deadline: date,
) -> None:
    if uow.session.exec(select(Budget).where(Budget.plan_id == trajectory_id)).first():
        return  # one budget per trajectory
    policy = repository.finance_policy(uow.session, event.tenant)
    granted = Money(sum(line.granted_cents for line in lines))
    cost = granted.percent(policy.pgb_bw_execution_cost_percent) if scheme == "pgb_bw" else Money(0)
    amounts = _deduct_execution_costs(lines, cost) if cost else [Money(line.granted_cents) for line in lines]
    budget = Budget(
        municipality=event.tenant,
        plan_id=trajectory_id,
        client_id=client_id,
        kind=kind,
        scheme=scheme,
        granted_cents=(granted - cost).cents,
        execution_cost_cents=cost.cents,
        execution_deadline=deadline,
        opened_at=uow.clock.now(),
    )
    uow.session.add(budget)
    for granted_line, amount in zip(lines, amounts, strict=True):
        line = BudgetLine(
            budget_id=budget.id,
            plan_line_id=granted_line.plan_line_id,
            category=granted_line.category,
            provider_name=granted_line.provider_name,
            provider_kvk=granted_line.provider_kvk,
            starts_on=granted_line.starts_on,
            ends_on=granted_line.ends_on,
            holdback_percent=granted_line.holdback_percent,
        )
        _set_catalogue(line, granted_line)
        uow.session.add(line)
        if amount.cents > 0:
            _move(uow, line, "grant", amount)
    uow.emit(
        tenant=budget.municipality,
        subject=trajectory_id,
        payload=BudgetOpenedV1(
            budget_id=budget.id, plan_id=trajectory_id, client_id=client_id, granted_cents=budget.granted_cents
        ),
    )


def _set_catalogue(line: BudgetLine, granted: GrantedLine) -> None:
    """The line's price catalogue product (PlanApproved/PlanChanged v2); a v1 line names none."""
    if isinstance(granted, GrantedLineV2) and granted.product_code and granted.max_unit_price_cents:
        line.product_code, line.product_unit = granted.product_code, granted.unit
        line.max_unit_price_cents = granted.max_unit_price_cents
    else:
        line.product_code = line.product_unit = line.max_unit_price_cents = None


def open_budget_on_plan_approved(uow: UnitOfWork, plan: PlanApprovedV1, event: Envelope) -> None:
    _open_budget(
        uow,
        event,
        trajectory_id=plan.plan_id,
        client_id=plan.client_id,
        kind="plan",
        scheme=plan.scheme,
        lines=plan.lines,
        deadline=plan.execution_deadline,
    )


def open_orientation_budget_on_orientation_started(
    uow: UnitOfWork, started: OrientationStartedV1, event: Envelope
) -> None:
    if started.budget_cents <= 0:
        return  # the policy has no orientation budget
    line = GrantedLine(
        plan_line_id=started.orientation_id,
        category="orientation",
        granted_cents=started.budget_cents,
        ends_on=started.ends_on,
    )
    _open_budget(
        uow,
        event,
        trajectory_id=started.orientation_id,
        client_id=started.client_id,
        kind="orientation",
        scheme=started.scheme,
        lines=(line,),
        deadline=started.ends_on,
    )


def change_budget_on_plan_changed(uow: UnitOfWork, change: PlanChangedV1, event: Envelope) -> None:
    budget = repository.budget_for_plan(uow.session, change.plan_id, lock=True)
    current = {
        line.plan_line_id: repository.locked_line(uow.session, line.id)
        for line in repository.lines(uow.session, budget.id)
    }
    wanted = {line.plan_line_id: line for line in change.lines}
    refusal = None
    if change.granted_cents > budget.granted_cents + budget.execution_cost_cents:
        refusal = "change_above_total"  # a change moves money between lines, it does not add to the total
    elif any(
        (wanted[pid].granted_cents if pid in wanted else 0)
        < line.committed_cents + line.held_cents + line.payable_cents + line.paid_cents
        for pid, line in current.items()
    ):
        refusal = "change_below_spent"  # a line cannot go below what is already ordered or approved
    if refusal:
        # Not a failure to retry: the budget stays as it is and intake restores the grants.
        uow.emit(
            tenant=budget.municipality,
            subject=change.plan_id,
            payload=PlanChangeRefusedV1(
                plan_id=change.plan_id, client_id=change.client_id, change_id=change.change_id, reason_code=refusal
            ),
        )
        return
    # Release first, so money moved between lines is free before it is granted again.
    for plan_line_id, line in current.items():
        target = wanted.get(plan_line_id)
        target_cents = target.granted_cents if target else 0
        if line.granted_cents > target_cents:
            _move(uow, line, "release", Money(line.granted_cents - target_cents))
        if target is None:
            line.status = "closed"
        current[plan_line_id] = line
    for plan_line_id, target in wanted.items():
        existing = current.get(plan_line_id)
        if existing is None:
            line = BudgetLine(budget_id=budget.id, plan_line_id=plan_line_id, category=target.category)
            uow.session.add(line)
        else:
            line = existing
        line.provider_name, line.provider_kvk = target.provider_name, target.provider_kvk
        line.starts_on, line.ends_on, line.holdback_percent = target.starts_on, target.ends_on, target.holdback_percent
        line.category, line.status = target.category, "open"
        _set_catalogue(line, target)
        if target.granted_cents > line.granted_cents:
            _move(uow, line, "grant", Money(target.granted_cents - line.granted_cents))
        uow.session.add(line)
    budget.execution_deadline = change.execution_deadline
    uow.session.add(budget)


def close_budget_on_trajectory_closed(uow: UnitOfWork, closed: TrajectoryClosedV1, event: Envelope) -> None:
    budget = repository.budget_for_plan(uow.session, closed.plan_id, lock=True)
    if budget.status == "closed":
        return
    released = Money(0)
    if not budget.outcome_reached:
        _settle_holdbacks(uow, budget, "cancel_holdback", HoldbackStatus.CANCELLED)
    for order in uow.session.exec(select(Order).where(Order.budget_id == budget.id, Order.status == "open")).all():
        order.status = "closed"
        uow.session.add(order)
    for line in repository.lines(uow.session, budget.id):
        line = repository.locked_line(uow.session, line.id)
        if line.committed_cents:
            _move(uow, line, "uncommit", Money(line.committed_cents))
        if line.available_cents:
            released = released + Money(line.available_cents)
            _move(uow, line, "release", Money(line.available_cents))
        line.status = "closed"
        uow.session.add(line)
    budget.status, budget.closed_on, budget.close_reason = "closed", closed.closed_on, closed.reason
    uow.session.add(budget)
    uow.emit(
        tenant=budget.municipality,
        subject=budget.plan_id,
        payload=BudgetClosedV1(
            budget_id=budget.id, plan_id=budget.plan_id, client_id=budget.client_id, released_cents=released.cents
        ),
    )


def _settle_holdbacks(uow: UnitOfWork, budget: Budget, operation: str, status: str) -> None:
    for invoice in repository.held_invoices_locked(uow.session, budget.id):
        line = repository.locked_line(uow.session, invoice.budget_line_id)
        _move(uow, line, operation, Money(invoice.held_cents), invoice.id)
        invoice.holdback_status = status
        uow.session.add(invoice)


def release_holdback_on_outcome_registered(uow: UnitOfWork, outcome: OutcomeRegisteredV1, event: Envelope) -> None:
    if outcome.outcome not in WORK_FOUND:
        return
    budget = repository.budget_of_plan_locked(uow.session, outcome.plan_id)
    if budget is None or budget.outcome_reached:
        return  # no budget for this trajectory (e.g. no prb), or already released
    budget.outcome_reached = True
    uow.session.add(budget)
    _settle_holdbacks(uow, budget, "release_holdback", HoldbackStatus.RELEASED)


EVENT_HANDLERS: EventHandlers = {
    PartnerCredentialsRevokedV1: revocation.refuse_tokens_on_partner_credentials_revoked,
    PlanApprovedV1: open_budget_on_plan_approved,  # still in flight from before version 2
    PlanApprovedV2: open_budget_on_plan_approved,
    OrientationStartedV1: open_orientation_budget_on_orientation_started,
    PlanChangedV1: change_budget_on_plan_changed,
    PlanChangedV2: change_budget_on_plan_changed,
    TrajectoryClosedV1: close_budget_on_trajectory_closed,
    OutcomeRegisteredV1: release_holdback_on_outcome_registered,
}
