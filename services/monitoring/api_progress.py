"""Monitoring HTTP routes for progress: parse, authorise, call a command or a query. No rules here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from services.monitoring import progress, progress_planning
from services.monitoring.api_params import Id, PlanId, Uow
from services.monitoring.domain.follow_up import FollowUpKind, FollowUpStatus
from services.monitoring.domain.progress import MAX_ATTACHMENT_BYTES, ConversationStatus
from services.monitoring.models import NO_CONTROLS
from services.monitoring.models_progress import (
    ConversationCreate,
    ConversationHeld,
    ConversationPublic,
    FollowUpPublic,
    MilestoneCreate,
    MilestonePublic,
    MilestoneReached,
    ProgressReportCreate,
    ProgressReportPublic,
    ReportAttachmentPublic,
    ReportScheduleIn,
    ReportSchedulePublic,
    TimeEntryCreate,
    TimeEntryPublic,
)
from shared.access import Scope, scope_required
from shared.auth import CurrentPrincipal
from shared.deps import ClockDep, SessionDep
from shared.pagination import PAGED, PageDep, page_answer

router = APIRouter()


# --- progress reports ------------------------------------------------------------------------


@router.post(
    "/trajectories/{plan_id}/progress-reports",
    status_code=201,
    response_model=ProgressReportPublic,
    tags=["progress"],
    summary="File a progress report",
    dependencies=[Depends(scope_required(Scope.PROGRESS_WRITE))],
)
def file_progress_report(
    plan_id: PlanId, data: ProgressReportCreate, who: CurrentPrincipal, uow: Uow
) -> ProgressReportPublic:
    """Staff, the client side, or a provider that the plan names report how the trajectory goes
    (`ProgressReported`): on track, a summary, and optionally what was done, attendance, next
    steps and problems. It completes the earliest open progress-report follow-up and clears the
    overdue flag unless another report is still overdue. A closed trajectory is a 409 naming
    `plan_id`; a provider not named on the plan gets a 404."""
    return progress.file_progress_report(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/progress-reports",
    response_model=list[ProgressReportPublic],
    responses=PAGED,
    tags=["progress"],
    summary="List progress reports",
)
def list_progress_reports(
    plan_id: PlanId,
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    on_track: Annotated[bool | None, Query(description="Only reports that say it is (not) on track.")] = None,
) -> list[ProgressReportPublic]:
    """A trajectory's progress reports, oldest first, with their attachments (without content). A
    provider sees only the reports it filed."""
    return page_answer(progress.list_progress_reports(session, who, plan_id, page, on_track=on_track), response)


@router.post(
    "/trajectories/{plan_id}/progress-reports/{report_id}/attachments",
    dependencies=[Depends(scope_required(Scope.PROGRESS_WRITE))],
    status_code=201,
    response_model=ReportAttachmentPublic,
    tags=["progress"],
    summary="Attach a file to a progress report",
)
async def add_report_attachment(
    plan_id: PlanId, report_id: Id, file: UploadFile, who: CurrentPrincipal, uow: Uow
) -> ReportAttachmentPublic:
    """An attendance form or another document (PDF, PNG or JPEG, at most 10 MiB), stored with its
    SHA-256; staff attach to any report, others to the reports they filed. 413 too large, 415 a
    type not taken, 409 the same file twice."""
    # Read one byte past the limit: enough to refuse, never the whole of a huge upload.
    data = await file.read(MAX_ATTACHMENT_BYTES + 1)
    return await run_in_threadpool(
        progress.add_report_attachment, uow, who, plan_id, report_id, file.filename or "", file.content_type or "", data
    )


@router.get(
    "/trajectories/{plan_id}/progress-reports/{report_id}/attachments/{attachment_id}",
    tags=["progress"],
    summary="Download a progress report's attachment",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_report_attachment(
    plan_id: PlanId, report_id: Id, attachment_id: Id, who: CurrentPrincipal, session: SessionDep
) -> Response:
    """The attachment's bytes, with its SHA-256 in the `X-Content-SHA256` header."""
    attachment = progress.get_report_attachment(session, who, plan_id, report_id, attachment_id)
    return Response(
        attachment.content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{attachment.id}"',
            "X-Content-SHA256": attachment.sha256,
        },
    )


# --- report schedule -------------------------------------------------------------------------


@router.put(
    "/trajectories/{plan_id}/report-schedule",
    response_model=ReportSchedulePublic,
    tags=["progress"],
    summary="Set the report schedule",
)
def set_report_schedule(
    plan_id: PlanId, data: ReportScheduleIn, who: CurrentPrincipal, uow: Uow
) -> ReportSchedulePublic:
    """Who reports (client, coach, provider) and how often: segments such as
    `[{"every_months": 1, "times": 3}, {"every_months": 2}]`, months counted from the start; only
    the last may leave out `times` (until the deadline). Almere's coach reporting 3 times in 15
    months: `[{"every_months": 5, "times": 3}]`. Replaces the open progress-report follow-ups by
    the schedule's due dates from today on."""
    return progress.set_report_schedule(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/report-schedule",
    response_model=ReportSchedulePublic,
    tags=["progress"],
    summary="Get the report schedule",
)
def get_report_schedule(plan_id: PlanId, who: CurrentPrincipal, session: SessionDep) -> ReportSchedulePublic:
    """The schedule and its due dates; without one set, the default (every two months until the deadline)."""
    return progress.get_report_schedule(session, who, plan_id)


# --- conversations ---------------------------------------------------------------------------


@router.post(
    "/trajectories/{plan_id}/conversations",
    status_code=201,
    response_model=ConversationPublic,
    tags=["progress"],
    summary="Plan a progress conversation",
)
def plan_conversation(plan_id: PlanId, data: ConversationCreate, who: CurrentPrincipal, uow: Uow) -> ConversationPublic:
    """A conversation on a day (`kind`: progress, six_month_presentation, closing, other); it is a
    follow-up until it is held or cancelled."""
    return progress_planning.plan_conversation(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/conversations",
    response_model=list[ConversationPublic],
    responses=PAGED,
    tags=["progress"],
    summary="List conversations",
)
def list_conversations(
    plan_id: PlanId,
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    status: Annotated[ConversationStatus | None, Query(description="planned, held or cancelled.")] = None,
) -> list[ConversationPublic]:
    """A trajectory's conversations by planned day. The case manager's note is for staff only."""
    return page_answer(progress_planning.list_conversations(session, who, plan_id, page, status=status), response)


@router.post(
    "/trajectories/{plan_id}/conversations/{conversation_id}/held",
    response_model=ConversationPublic,
    tags=["progress"],
    summary="Mark a conversation held",
)
def hold_conversation(
    plan_id: PlanId, conversation_id: Id, data: ConversationHeld, who: CurrentPrincipal, uow: Uow
) -> ConversationPublic:
    """Held on a day (not in the future), with a short note (at most 2000 characters) and the
    minutes spent (1-600), which add to the trajectory's case-manager minutes."""
    return progress_planning.hold_conversation(uow, who, plan_id, conversation_id, data)


@router.post(
    "/trajectories/{plan_id}/conversations/{conversation_id}/cancel",
    response_model=ConversationPublic,
    tags=["progress"],
    summary="Cancel a conversation",
)
def cancel_conversation(plan_id: PlanId, conversation_id: Id, who: CurrentPrincipal, uow: Uow) -> ConversationPublic:
    """A planned conversation that will not take place; its follow-up is cancelled."""
    return progress_planning.cancel_conversation(uow, who, plan_id, conversation_id)


# --- milestones ------------------------------------------------------------------------------


@router.post(
    "/trajectories/{plan_id}/milestones",
    status_code=201,
    response_model=MilestonePublic,
    tags=["progress"],
    summary="Add a milestone",
)
def add_milestone(plan_id: PlanId, data: MilestoneCreate, who: CurrentPrincipal, uow: Uow) -> MilestonePublic:
    """A milestone from the plan with the day it is due; a follow-up until it is reached."""
    return progress_planning.add_milestone(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/milestones",
    response_model=list[MilestonePublic],
    responses=PAGED,
    tags=["progress"],
    summary="List milestones",
)
def list_milestones(
    plan_id: PlanId, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[MilestonePublic]:
    """A trajectory's milestones by due day."""
    return page_answer(progress_planning.list_milestones(session, who, plan_id, page), response)


@router.post(
    "/trajectories/{plan_id}/milestones/{milestone_id}/reached",
    response_model=MilestonePublic,
    tags=["progress"],
    summary="Mark a milestone reached",
)
def reach_milestone(
    plan_id: PlanId, milestone_id: Id, data: MilestoneReached, who: CurrentPrincipal, uow: Uow
) -> MilestonePublic:
    """Reached on a day (default today; not in the future, not before the start)."""
    return progress_planning.reach_milestone(uow, who, plan_id, milestone_id, data)


# --- time entries and what needs attention ---------------------------------------------------


@router.post(
    "/trajectories/{plan_id}/time-entries",
    status_code=201,
    response_model=TimeEntryPublic,
    tags=["progress"],
    summary="Record case-manager time",
)
def record_time(plan_id: PlanId, data: TimeEntryCreate, who: CurrentPrincipal, uow: Uow) -> TimeEntryPublic:
    """Minutes (1-600) spent on a trajectory outside a conversation (`activity`: review,
    orientation, coaching, administration, other); they count in the execution cost."""
    return progress_planning.record_time(uow, who, plan_id, data)


@router.get(
    "/follow-ups",
    response_model=list[FollowUpPublic],
    responses=PAGED,
    tags=["progress"],
    summary="List what needs attention",
)
def list_follow_ups(
    who: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    page: PageDep,
    response: Response,
    overdue: Annotated[bool | None, Query(description="true: past its day; false: still to come.")] = None,
    kind: Annotated[FollowUpKind | None, Query(description="Only this kind of follow-up.")] = None,
    plan_id: Annotated[
        str | None, Query(max_length=36, pattern=NO_CONTROLS, description="Only this trajectory's.")
    ] = None,
    status: Annotated[FollowUpStatus, Query(description="open (default), done or cancelled.")] = FollowUpStatus.OPEN,
    client_id: Annotated[
        list[str] | None, Query(max_length=100, description="Only these clients' (repeat the parameter; at most 100).")
    ] = None,
) -> list[FollowUpPublic]:
    """The municipality's follow-ups (reports, conversations, milestones, durability checks,
    aftercare), by due day: for staff, what needs attention."""
    return page_answer(
        progress_planning.list_follow_ups(
            session,
            who,
            page,
            clock.today(),
            overdue=overdue,
            kind=kind,
            plan_id=plan_id,
            status=status,
            client_ids=client_id,
        ),
        response,
    )
