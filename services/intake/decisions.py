"""Intake commands after submission: the review's decisions, objections, change requests on an
approved plan and closing the trajectory. The same shape as commands.py: load, ask the domain
(ReviewState decides the review, PlanAggregate applies it and records the events), store,
emit, commit.
"""

from __future__ import annotations

from sqlmodel import col, select

from services.intake import repository
from services.intake.audited import audited_change, audited_plan
from services.intake.commands import emit_all, emit_trajectory_profile
from services.intake.domain.client import ensure_objection_date
from services.intake.domain.errors import Conflict
from services.intake.domain.letters import letter_data_from_review
from services.intake.domain.plan import ChangeStatus, ChangeView
from services.intake.domain.plan_content import granted_lines
from services.intake.domain.review import Approve, Reviewer, ReviewStatus
from services.intake.models import ChangeRequest, Client, DecisionRecord, Objection
from services.intake.permissions import Action, authorize
from services.intake.queries import change_public, plan_public
from services.intake.schemas import (
    ChangeDecisionIn,
    ChangeRequestCreate,
    ChangeRequestPublic,
    CloseTrajectory,
    DecisionIn,
    ObjectionCreate,
    ObjectionPublic,
    PlanPublic,
)
from shared import audit
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.uow import UnitOfWork


def decide(uow: UnitOfWork, who: Principal, plan_id: str, cmd: DecisionIn) -> PlanPublic:
    """A reviewer's decision on the submitted plan: approve, return, reject or confirm."""
    authorize(who, Action.DECIDE)
    row = repository.plan_for(uow.session, who, plan_id, lock=True)
    plan = repository.plan_aggregate(row)
    plan.ensure_version(cmd.plan_version)
    review = repository.open_review(uow.session, row)
    state = repository.review_state(uow.session, review)
    today, now = uow.clock.today(), uow.clock.now()
    details = cmd.model_dump(mode="json", exclude={"plan_version", "kind"}, exclude_defaults=True)
    decision = repository.domain_decision(cmd.kind, details, Reviewer(id=who.subject, role=who.role.value), today)
    new_state = state.decide(decision)
    before = {**audited_plan(row), "review.status": review.status}
    grants = None
    if new_state.status is ReviewStatus.APPROVED:
        if isinstance(decision, Approve):
            holdback = cmd.holdback_percent
        else:  # the second reviewer confirmed: the first approval's holdback stands
            first = uow.session.exec(
                select(DecisionRecord).where(
                    DecisionRecord.review_id == review.id,
                    col(DecisionRecord.kind).in_(("approve", "approve_with_conditions")),
                )
            ).first()
            holdback = first.details.get("holdback_percent") if first else None
        grants = granted_lines(
            repository.submitted_version(uow.session, review).content,
            new_state.grants,
            holdback,
            catalogue=repository.policy_for(uow.session, row.municipality).catalogue_product,
        )
    kind = decision.kind.value if isinstance(decision, Approve) else cmd.kind
    record = DecisionRecord(
        review_id=review.id,
        plan_id=row.id,
        kind=kind,
        reviewer_id=who.subject,
        reviewer_role=who.role.value,
        decided_on=today,
        details=details,
        decided_at=now,
    )
    uow.session.add(record)
    review.status = new_state.status.value
    if new_state.status is not ReviewStatus.PENDING_SECOND_APPROVAL:
        review.decided_at = now
        row.decided_at, row.decided_by = now, who.subject
    plan.apply_review(new_state, grants)
    uow.session.add(review)
    repository.store_plan(uow.session, row, plan, now)
    emit_all(uow, plan.events, tenant=row.municipality, subject=row.id)
    if new_state.status is ReviewStatus.APPROVED:
        client = uow.session.get(Client, row.client_id)
        assert client is not None  # a plan always belongs to a registered client
        emit_trajectory_profile(uow, client, row.id)
    # The reviewer's reasons, conditions, comments and assessments are free text: masked there.
    after = {**audited_plan(row), "review.status": review.status, "decision_id": record.id, "decision.kind": kind}
    after |= {f"decision.{name}": value for name, value in details.items()}
    audit.record_change(uow, who, row.client_id, audit.AuditAction.UPDATE, old=before, new=after)
    uow.commit()
    return plan_public(row)


def lodge_objection(uow: UnitOfWork, who: Principal, plan_id: str, data: ObjectionCreate) -> ObjectionPublic:
    authorize(who, Action.LODGE_OBJECTION)
    plan = repository.plan_for(uow.session, who, plan_id)
    review = repository.decided_review(uow.session, plan)
    state = repository.review_state(uow.session, review)
    if state.status is ReviewStatus.RETURNED:
        raise Conflict(
            "objection.nothing_decided",
            "A plan returned for changes has no decision to object to yet.",
            "plan_id",
            message_nl="Een plan dat terug is gestuurd heeft nog geen besluit om bezwaar tegen te maken.",
        )
    assert state.decided_on is not None
    ensure_objection_date(data.lodged_on, state.decided_on, uow.clock.today())
    client = repository.client_of(uow.session, plan)
    letter = letter_data_from_review(
        state, client_display_name=client.name, client_number=client.client_number, letter_date=state.decided_on
    )
    objection = Objection(
        municipality=plan.municipality,
        plan_id=plan.id,
        review_id=review.id,
        lodged_on=data.lodged_on,
        grounds=data.grounds,
        late=data.lodged_on > letter.objection_deadline,
        recorded_by=who.subject,
        created_at=uow.clock.now(),
    )
    uow.session.add(objection)
    audited = {"plan_id": plan.id, "objection_id": objection.id, "objection.lodged_on": objection.lodged_on}
    audited |= {"objection.grounds": objection.grounds, "objection.late": objection.late}
    audit.record_change(uow, who, plan.client_id, audit.AuditAction.CREATE, new=audited)
    uow.commit()
    return ObjectionPublic.model_validate(objection, from_attributes=True)


def request_change(uow: UnitOfWork, who: Principal, plan_id: str, data: ChangeRequestCreate) -> ChangeRequestPublic:
    authorize(who, Action.WRITE_PLAN)
    row = repository.plan_for(uow.session, who, plan_id, lock=True)
    plan = repository.plan_aggregate(row)
    plan.ensure_version(data.plan_version)
    pending = uow.session.exec(
        select(ChangeRequest.id).where(ChangeRequest.plan_id == row.id, ChangeRequest.status == ChangeStatus.SUBMITTED)
    ).first()
    lines = [line.model_dump(mode="json") for line in data.lines]
    before = audited_plan(row)
    plan.ask_change(lines, repository.policy_for(uow.session, row.municipality), pending=pending is not None)
    now = uow.clock.now()
    change = ChangeRequest(
        municipality=row.municipality,
        plan_id=row.id,
        reason=data.reason,
        lines=lines,
        requested_by=who.subject,
        created_at=now,
    )
    uow.session.add(change)
    repository.store_plan(uow.session, row, plan, now)
    after = {**audited_plan(row), **audited_change(change)}
    audit.record_change(uow, who, row.client_id, audit.AuditAction.CREATE, old=before, new=after)
    uow.commit()
    return change_public(change)


def decide_change(
    uow: UnitOfWork, who: Principal, plan_id: str, change_id: str, cmd: ChangeDecisionIn
) -> ChangeRequestPublic:
    authorize(who, Action.DECIDE_CHANGE)
    row = repository.plan_for(uow.session, who, plan_id, lock=True)
    plan = repository.plan_aggregate(row)
    plan.ensure_version(cmd.plan_version)
    change = uow.session.get(ChangeRequest, change_id)
    if change is None or change.plan_id != row.id:
        raise NotFound("change request", "wijzigingsverzoek")
    previous = plan.granted
    before = {**audited_plan(row), **audited_change(change)}
    status = plan.decide_change(
        ChangeView(change.id, change.status, change.requested_by, tuple(change.lines)),
        approve=cmd.approve,
        decider_id=who.subject,
        decider_is_team_lead=who.role == Role.TEAM_LEAD,
        policy=repository.policy_for(uow.session, row.municipality),
    )
    now = uow.clock.now()
    change.status, change.decided_by, change.decided_at, change.decision_note = status, who.subject, now, cmd.note
    if status == ChangeStatus.APPROVED:
        change.previous_granted = previous
    uow.session.add(change)
    repository.store_plan(uow.session, row, plan, now)
    emit_all(uow, plan.events, tenant=row.municipality, subject=row.id)
    after = {**audited_plan(row), **audited_change(change)}
    audit.record_change(uow, who, row.client_id, audit.AuditAction.UPDATE, old=before, new=after)
    uow.commit()
    return change_public(change)


def close_trajectory(uow: UnitOfWork, who: Principal, plan_id: str, cmd: CloseTrajectory) -> PlanPublic:
    authorize(who, Action.CLOSE_TRAJECTORY)
    row = repository.plan_for(uow.session, who, plan_id, lock=True)
    plan = repository.plan_aggregate(row)
    plan.ensure_version(cmd.plan_version)
    today = uow.clock.today()
    before = audited_plan(row)
    plan.close(cmd.reason, cmd.closed_on or today, today, cmd.note)
    repository.store_plan(uow.session, row, plan, uow.clock.now())
    emit_all(uow, plan.events, tenant=row.municipality, subject=row.id)
    audit.record_change(uow, who, row.client_id, audit.AuditAction.UPDATE, old=before, new=audited_plan(row))
    uow.commit()
    return plan_public(row)
