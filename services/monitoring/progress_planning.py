"""Progress conversations, milestones, time entries and what needs attention: commands and queries.

Each conversation and milestone is a follow-up (ref_id: its id): holding or reaching it completes
the follow-up, cancelling it cancels it, and one left open past its day is flagged by the daily
scan. Minutes held or entered add to the trajectory's `case_minutes` (the execution cost). A
closed trajectory takes no new plans, but a conversation may still be held and time recorded
(the closing conversation comes after the end).

Also the reactions to the trajectory's life that handlers.py calls: its start (the default report
schedule, the six-month presentation), a changed plan (the reports still to come), its close.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from contracts.events import GrantedLine
from services.monitoring import follow_ups, repository
from services.monitoring.domain.follow_up import (
    DEFAULT_REPORTER,
    DEFAULT_SEGMENTS,
    FollowUpKind,
    FollowUpStatus,
    Reporter,
    due_dates,
    is_overdue,
    six_month_presentation_on,
)
from services.monitoring.domain.progress import (
    Conversation as ConversationPlan,
)
from services.monitoring.domain.progress import (
    ConversationKind,
    ConversationStatus,
    MilestoneStatus,
    check_day,
    check_minutes,
    ensure_milestone_open,
    ensure_running,
)
from services.monitoring.domain.trajectory import Trajectory, TrajectoryKind, TrajectoryStatus
from services.monitoring.models_progress import (
    Conversation,
    ConversationCreate,
    ConversationHeld,
    ConversationPublic,
    FollowUp,
    FollowUpPublic,
    Milestone,
    MilestoneCreate,
    MilestonePublic,
    MilestoneReached,
    ReportSchedule,
    TimeEntry,
    TimeEntryCreate,
    TimeEntryPublic,
)
from services.monitoring.permissions import STAFF, Action, authorize
from services.monitoring.progress import plan_reports, reach, segments_of
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

SYSTEM = "system"

# --- conversations ---------------------------------------------------------------------------


def _conversation_public(row: Conversation, who: Principal | None = None) -> ConversationPublic:
    staff = who is None or who.role in STAFF
    return ConversationPublic(
        id=row.id,
        plan_id=row.plan_id,
        kind=ConversationKind(row.kind),
        title=row.title,
        planned_on=row.planned_on,
        status=ConversationStatus(row.status),
        held_on=row.held_on,
        note=row.note if staff else None,
        minutes=row.minutes,
    )


def _add_conversation(
    session: Session,
    trajectory: Trajectory,
    *,
    kind: ConversationKind,
    title: str,
    planned_on: date,
    by: str,
    at: datetime,
) -> Conversation:
    plan = ConversationPlan.plan(
        conversation_id=str(uuid.uuid4()),
        plan_id=trajectory.plan_id,
        kind=kind,
        title=title,
        planned_on=planned_on,
        started_on=trajectory.started_on,
    )
    row = Conversation(
        id=plan.id,
        municipality=trajectory.municipality,
        plan_id=trajectory.plan_id,
        client_id=trajectory.client_id,
        kind=plan.kind,
        title=plan.title,
        planned_on=plan.planned_on,
        status=plan.status,
        created_by=by,
        created_at=at,
    )
    session.add(row)
    follow_ups.schedule(
        session,
        trajectory,
        kind=FollowUpKind.CONVERSATION,
        due_on=plan.planned_on,
        ref_id=plan.id,
        title=plan.title,
    )
    return row


def plan_conversation(uow: UnitOfWork, who: Principal, plan_id: str, data: ConversationCreate) -> ConversationPublic:
    authorize(who, Action.PLAN_FOLLOW_UPS)
    trajectory = reach(uow.session, who, plan_id, lock=True)
    ensure_running(trajectory.status, "conversation")
    row = _add_conversation(
        uow.session,
        trajectory,
        kind=data.kind,
        title=data.title,
        planned_on=data.planned_on,
        by=who.subject,
        at=uow.clock.now(),
    )
    uow.commit()
    return _conversation_public(row)


def _conversation(session: Session, plan_id: str, conversation_id: str) -> tuple[Conversation, ConversationPlan]:
    row = session.get(Conversation, conversation_id)
    if row is None or row.plan_id != plan_id:
        raise NotFound("conversation", "gesprek")
    plan = ConversationPlan(
        id=row.id,
        plan_id=row.plan_id,
        kind=ConversationKind(row.kind),
        title=row.title,
        planned_on=row.planned_on,
        status=ConversationStatus(row.status),
        held_on=row.held_on,
        note=row.note,
        minutes=row.minutes,
    )
    return row, plan


def hold_conversation(
    uow: UnitOfWork, who: Principal, plan_id: str, conversation_id: str, data: ConversationHeld
) -> ConversationPublic:
    """Held: the note and the minutes; completes its follow-up and adds the minutes to `case_minutes`."""
    authorize(who, Action.PLAN_FOLLOW_UPS)
    trajectory = reach(uow.session, who, plan_id, lock=True)
    row, plan = _conversation(uow.session, plan_id, conversation_id)
    plan.hold(
        held_on=data.held_on,
        note=data.note,
        minutes=data.minutes,
        started_on=trajectory.started_on,
        today=uow.clock.today(),
    )
    row.status, row.held_on, row.note, row.minutes, row.held_by = (
        plan.status,
        plan.held_on,
        plan.note,
        plan.minutes,
        who.subject,
    )
    uow.session.add(row)
    follow_ups.complete(uow, plan_id=plan_id, kind=FollowUpKind.CONVERSATION, ref_id=conversation_id, on=data.held_on)
    trajectory.case_minutes += plan.minutes
    repository.save(uow.session, trajectory)
    uow.commit()
    return _conversation_public(row)


def cancel_conversation(uow: UnitOfWork, who: Principal, plan_id: str, conversation_id: str) -> ConversationPublic:
    authorize(who, Action.PLAN_FOLLOW_UPS)
    reach(uow.session, who, plan_id, lock=True)
    row, plan = _conversation(uow.session, plan_id, conversation_id)
    plan.cancel()
    row.status = plan.status
    uow.session.add(row)
    follow_ups.cancel_ref(uow, plan_id=plan_id, kind=FollowUpKind.CONVERSATION, ref_id=conversation_id)
    uow.commit()
    return _conversation_public(row)


def list_conversations(
    session: Session, who: Principal, plan_id: str, page: PageRequest, *, status: ConversationStatus | None = None
) -> Page[ConversationPublic]:
    """A trajectory's conversations by planned day; the note only for staff."""
    authorize(who, Action.READ_PLANNING)
    reach(session, who, plan_id)
    query = select(Conversation).where(Conversation.plan_id == plan_id)
    if status is not None:
        query = query.where(Conversation.status == status)
    query = query.order_by(col(Conversation.planned_on), col(Conversation.id))
    return page_of(session, query, page).map(lambda row: _conversation_public(row, who))


# --- milestones ------------------------------------------------------------------------------


def _milestone_public(row: Milestone) -> MilestonePublic:
    return MilestonePublic.model_validate(row, from_attributes=True)


def add_milestone(uow: UnitOfWork, who: Principal, plan_id: str, data: MilestoneCreate) -> MilestonePublic:
    authorize(who, Action.PLAN_FOLLOW_UPS)
    trajectory = reach(uow.session, who, plan_id, lock=True)
    ensure_running(trajectory.status, "milestone")
    check_day(data.due_on, "due_on", started_on=trajectory.started_on, today=None)
    row = _new_milestone(
        uow.session, trajectory, title=data.title, due_on=data.due_on, by=who.subject, at=uow.clock.now()
    )
    uow.commit()
    return _milestone_public(row)


def reach_milestone(
    uow: UnitOfWork, who: Principal, plan_id: str, milestone_id: str, data: MilestoneReached
) -> MilestonePublic:
    authorize(who, Action.PLAN_FOLLOW_UPS)
    trajectory = reach(uow.session, who, plan_id, lock=True)
    row = uow.session.get(Milestone, milestone_id)
    if row is None or row.plan_id != plan_id:
        raise NotFound("milestone", "mijlpaal")
    ensure_milestone_open(MilestoneStatus(row.status))
    today = uow.clock.today()
    reached_on = data.reached_on or today
    check_day(reached_on, "reached_on", started_on=trajectory.started_on, today=today)
    row.status, row.reached_on = MilestoneStatus.REACHED, reached_on
    uow.session.add(row)
    follow_ups.complete(uow, plan_id=plan_id, kind=FollowUpKind.MILESTONE, ref_id=milestone_id, on=reached_on)
    uow.commit()
    return _milestone_public(row)


def list_milestones(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[MilestonePublic]:
    authorize(who, Action.READ_PLANNING)
    reach(session, who, plan_id)
    query = select(Milestone).where(Milestone.plan_id == plan_id).order_by(col(Milestone.due_on), col(Milestone.id))
    return page_of(session, query, page).map(_milestone_public)


# --- time entries ----------------------------------------------------------------------------


def record_time(uow: UnitOfWork, who: Principal, plan_id: str, data: TimeEntryCreate) -> TimeEntryPublic:
    """Case-manager minutes outside a conversation; they add to the trajectory's `case_minutes`."""
    authorize(who, Action.PLAN_FOLLOW_UPS)
    trajectory = reach(uow.session, who, plan_id, lock=True)
    # A review or the orientation comes before the start, so only the future is refused.
    check_day(data.on, "on", started_on=None, today=uow.clock.today())
    minutes = check_minutes(data.minutes)
    row = TimeEntry(
        id=str(uuid.uuid4()),
        municipality=trajectory.municipality,
        plan_id=plan_id,
        activity=data.activity,
        minutes=minutes,
        spent_on=data.on,
        recorded_by=who.subject,
        recorded_at=uow.clock.now(),
    )
    uow.session.add(row)
    trajectory.case_minutes += minutes
    repository.save(uow.session, trajectory)
    uow.commit()
    return TimeEntryPublic(
        id=row.id,
        plan_id=plan_id,
        activity=data.activity,
        minutes=minutes,
        on=data.on,
        recorded_at=row.recorded_at,
        case_minutes=trajectory.case_minutes,
    )


# --- what needs attention --------------------------------------------------------------------


def follow_up_public(row: FollowUp, today: date) -> FollowUpPublic:
    status = FollowUpStatus(row.status)
    return FollowUpPublic(
        id=row.id,
        plan_id=row.plan_id,
        client_id=row.client_id,
        kind=FollowUpKind(row.kind),
        ref_id=row.ref_id,
        title=row.title,
        due_on=row.due_on,
        status=status,
        done_on=row.done_on,
        overdue=is_overdue(status, row.due_on, today),
        overdue_flagged_at=row.overdue_flagged_at,
    )


def list_follow_ups(
    session: Session,
    who: Principal,
    page: PageRequest,
    today: date,
    *,
    overdue: bool | None = None,
    kind: FollowUpKind | None = None,
    plan_id: str | None = None,
    status: FollowUpStatus = FollowUpStatus.OPEN,
    client_ids: list[str] | None = None,
) -> Page[FollowUpPublic]:
    """The municipality's follow-ups (open by default), by due day: `overdue=true` what is past its
    day, `false` what is still to come."""
    authorize(who, Action.READ_FOLLOW_UPS)
    query = select(FollowUp).where(FollowUp.municipality == who.municipality, FollowUp.status == status)
    if overdue is not None:
        query = query.where(FollowUp.due_on < today if overdue else FollowUp.due_on >= today)
    if kind is not None:
        query = query.where(FollowUp.kind == kind)
    if plan_id is not None:
        query = query.where(FollowUp.plan_id == plan_id)
    if client_ids:
        query = query.where(col(FollowUp.client_id).in_(client_ids))
    query = query.order_by(col(FollowUp.due_on), col(FollowUp.id))
    return page_of(session, query, page).map(lambda row: follow_up_public(row, today))


# --- reactions to the trajectory's life (called by handlers.py) ------------------------------


def _new_milestone(
    session: Session, trajectory: Trajectory, *, title: str, due_on: date, by: str, at: datetime
) -> Milestone:
    """A milestone and the follow-up that stays open until it is reached."""
    row = Milestone(
        id=str(uuid.uuid4()),
        municipality=trajectory.municipality,
        plan_id=trajectory.plan_id,
        client_id=trajectory.client_id,
        title=title,
        due_on=due_on,
        created_by=by,
        created_at=at,
    )
    session.add(row)
    follow_ups.schedule(
        session,
        trajectory,
        kind=FollowUpKind.MILESTONE,
        due_on=due_on,
        ref_id=row.id,
        title=title,
    )
    return row


def _milestones_from_plan(session: Session, trajectory: Trajectory, lines: Sequence[GrantedLine], at: datetime) -> None:
    """The plan's own milestones: the day each activity should be done (a line's end), once per
    category and day, within the trajectory."""
    seen: set[tuple[str, date]] = set()
    for line in lines:
        end = line.ends_on
        if end is None or (line.category, end) in seen:
            continue
        if not trajectory.started_on <= end <= trajectory.execution_deadline:
            continue
        seen.add((line.category, end))
        title = f"Activiteit uit het plan klaar ({line.category})"
        _new_milestone(session, trajectory, title=title, due_on=end, by=SYSTEM, at=at)


def on_trajectory_started(
    session: Session, trajectory: Trajectory, at: datetime, lines: Sequence[GrantedLine] = ()
) -> None:
    """A plan trajectory starts: the default report schedule (every two months until the deadline),
    a milestone for the end of each activity in the plan, and, when its deadline lies more than six
    months after the start, the six-month presentation ("Mijn weg naar werk") as a conversation at
    start + 6 months."""
    if trajectory.kind != TrajectoryKind.PLAN:
        return
    _milestones_from_plan(session, trajectory, lines, at)
    if session.get(ReportSchedule, trajectory.plan_id) is None:
        session.add(
            ReportSchedule(
                plan_id=trajectory.plan_id,
                municipality=trajectory.municipality,
                reporter=DEFAULT_REPORTER,
                segments=[{"every_months": s.every_months, "times": s.times} for s in DEFAULT_SEGMENTS],
                is_default=True,
                set_by=SYSTEM,
                set_at=at,
            )
        )
    dates = due_dates(trajectory.started_on, trajectory.execution_deadline, DEFAULT_SEGMENTS)
    plan_reports(session, trajectory, DEFAULT_REPORTER, dates)
    presentation_on = six_month_presentation_on(trajectory.started_on, trajectory.execution_deadline)
    if presentation_on is not None:
        _add_conversation(
            session,
            trajectory,
            kind=ConversationKind.SIX_MONTH_PRESENTATION,
            title="",
            planned_on=presentation_on,
            by=SYSTEM,
            at=at,
        )


def on_plan_changed(uow: UnitOfWork, trajectory: Trajectory) -> None:
    """The deadline may have moved: the reports still to come follow the schedule up to the new one
    (those already past their day stay as they are)."""
    if trajectory.kind != TrajectoryKind.PLAN or trajectory.status != TrajectoryStatus.RUNNING:
        return
    session, today = uow.session, uow.clock.today()
    row = session.get(ReportSchedule, trajectory.plan_id)
    reporter = Reporter(row.reporter) if row else DEFAULT_REPORTER
    segments = segments_of(row.segments) if row else list(DEFAULT_SEGMENTS)
    follow_ups.cancel_open(uow, plan_id=trajectory.plan_id, kind=FollowUpKind.PROGRESS_REPORT, due_from=today)
    dates = due_dates(trajectory.started_on, trajectory.execution_deadline, segments)
    plan_reports(session, trajectory, reporter, [d for d in dates if d >= today])


# What follows the work of the trajectory ends with it; the durability question and aftercare
# follow a placement and outlive the close (Table 4.7 counts work after the end too).
ENDS_WITH_TRAJECTORY = (FollowUpKind.PROGRESS_REPORT, FollowUpKind.CONVERSATION, FollowUpKind.MILESTONE)


def on_trajectory_closed(uow: UnitOfWork, plan_id: str) -> int:
    """The progress reports, conversations and milestones still open on a closed trajectory are
    cancelled (FollowUpClosed for those someone was reminded of)."""
    return sum(follow_ups.cancel_open(uow, plan_id=plan_id, kind=kind) for kind in ENDS_WITH_TRAJECTORY)
