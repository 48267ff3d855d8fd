"""Progress reports and report schedules: commands and queries.

Who reaches a trajectory: staff of its municipality, its client side, and a provider whose KvK
number a line of the plan names (trajectory_line); anyone else gets a 404. A provider reads only
the reports it filed itself. A report completes the earliest open progress-report follow-up; the
trajectory's `report_overdue` stays true while another one is open and flagged overdue.

What the trajectory's start and a changed deadline plan (the default schedule, the six-month
presentation): progress_planning.py, with conversations, milestones and time entries.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.monitoring import audited, follow_ups, repository
from services.monitoring.domain.follow_up import (
    DEFAULT_REPORTER,
    DEFAULT_SEGMENTS,
    FollowUpKind,
    Reporter,
    Segment,
    due_dates,
)
from services.monitoring.domain.progress import (
    check_attachment,
    check_attendance,
    ensure_running,
    provider_kvk,
    reporter_for,
)
from services.monitoring.domain.trajectory import Trajectory, TrajectoryKind
from services.monitoring.models import ProgressReport
from services.monitoring.models_progress import (
    Attendance,
    ProgressReportAttachment,
    ProgressReportCreate,
    ProgressReportDetail,
    ProgressReportPublic,
    ReportAttachmentPublic,
    ReportSchedule,
    ReportScheduleIn,
    ReportSchedulePublic,
    SegmentIn,
)
from services.monitoring.permissions import Action, authorize
from shared import audit
from shared.auth import Principal, Role
from shared.errors import Conflict, NotFound, RuleBroken
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

REPORTER_NL = {Reporter.CLIENT: "klant", Reporter.COACH: "coach", Reporter.PROVIDER: "aanbieder"}


def as_provider(who: Principal) -> bool:
    """A provider token, or a partner application's (reporting as the provider its KvK number is)."""
    return who.role in (Role.PROVIDER, Role.PARTNER)


def kvk_of(who: Principal) -> str | None:
    """The KvK number a provider-like caller acts as: a provider's id, a partner token's organisation."""
    return who.organisation_kvk if who.role == Role.PARTNER else provider_kvk(who.provider_id)


def reach(session: Session, who: Principal, plan_id: str, *, lock: bool = False) -> Trajectory:
    """The trajectory if `who` may reach it (a provider or partner: only when the plan names its
    KvK number), else a 404."""
    trajectory = repository.visible_trajectory(session, who, plan_id, lock=lock)
    if as_provider(who) and not repository.names_provider(session, plan_id, kvk_of(who)):
        raise NotFound("trajectory", "traject")
    return trajectory


def emit_recorded(uow: UnitOfWork, trajectory: Trajectory) -> None:
    for payload in trajectory.events:
        uow.emit(payload=payload, tenant=trajectory.municipality, subject=trajectory.plan_id)
    trajectory.events.clear()


# --- progress reports ------------------------------------------------------------------------


def file_progress_report(
    uow: UnitOfWork, who: Principal, plan_id: str, data: ProgressReportCreate
) -> ProgressReportPublic:
    """Record a report (ProgressReported), complete the earliest open progress-report follow-up."""
    authorize(who, Action.FILE_PROGRESS_REPORT)
    trajectory = reach(uow.session, who, plan_id, lock=True)
    ensure_running(trajectory.status, "report")
    reporter = reporter_for(who.role.value, data.reporter)
    attendance = data.attendance or Attendance()
    check_attendance(attendance.sessions_attended, attendance.sessions_planned)
    report = trajectory.report_progress(
        report_id=str(uuid.uuid4()),
        by=who.subject,
        by_role=who.role.value,
        on_track=data.on_track,
        summary=data.summary,
        at=uow.clock.now(),
    )
    row = repository.add_progress_report(uow.session, report)
    detail = ProgressReportDetail(
        report_id=report.id,
        plan_id=plan_id,
        reporter=reporter,
        provider_id=kvk_of(who) if as_provider(who) else None,
        done=data.done,
        sessions_attended=attendance.sessions_attended,
        sessions_planned=attendance.sessions_planned,
        next_steps=data.next_steps,
        problems=data.problems,
    )
    uow.session.add(detail)
    follow_ups.complete(uow, plan_id=plan_id, kind=FollowUpKind.PROGRESS_REPORT, ref_id=None, on=uow.clock.today())
    trajectory.report_overdue = follow_ups.progress_report_overdue(uow.session, plan_id)
    repository.save(uow.session, trajectory)
    emit_recorded(uow, trajectory)
    texts = {"summary": data.summary, "done": data.done, "next_steps": data.next_steps, "problems": data.problems}
    report_fields = {
        "report_id": report.id,
        "report.on_track": data.on_track,
        "report.reporter": reporter,
        "report.sessions_attended": attendance.sessions_attended,
        "report.sessions_planned": attendance.sessions_planned,
        **{f"report.{name}": text for name, text in texts.items()},
    }
    audited.record(uow, who, trajectory, audit.AuditAction.CREATE, new={"plan_id": plan_id, **report_fields})
    uow.commit()
    return _report_public(row, detail, [])


def _report_public(
    row: ProgressReport, detail: ProgressReportDetail | None, attachments: Sequence[ProgressReportAttachment]
) -> ProgressReportPublic:
    public = ProgressReportPublic.model_validate(row, from_attributes=True)
    public.attachments = [ReportAttachmentPublic.model_validate(a, from_attributes=True) for a in attachments]
    if detail is not None:
        public.reporter = Reporter(detail.reporter)
        public.done, public.next_steps, public.problems = detail.done, detail.next_steps, detail.problems
        if detail.sessions_attended is not None or detail.sessions_planned is not None:
            public.attendance = Attendance(
                sessions_attended=detail.sessions_attended, sessions_planned=detail.sessions_planned
            )
    return public


def list_progress_reports(
    session: Session, who: Principal, plan_id: str, page: PageRequest, *, on_track: bool | None = None
) -> Page[ProgressReportPublic]:
    """A trajectory's reports, oldest first; a provider sees only those it filed."""
    authorize(who, Action.READ_PROGRESS)
    reach(session, who, plan_id)
    query = (
        select(ProgressReport, ProgressReportDetail)
        .outerjoin(ProgressReportDetail, col(ProgressReportDetail.report_id) == col(ProgressReport.id))
        .where(ProgressReport.plan_id == plan_id)
    )
    if as_provider(who):
        query = query.where(ProgressReportDetail.provider_id == kvk_of(who))
    if on_track is not None:
        query = query.where(ProgressReport.on_track == on_track)
    query = query.order_by(col(ProgressReport.created_at), col(ProgressReport.id))
    found = page_of(session, query, page)
    ids = [report.id for report, _detail in found.items]
    files: dict[str, list[ProgressReportAttachment]] = {}
    if ids:
        attached = select(ProgressReportAttachment).where(col(ProgressReportAttachment.report_id).in_(ids))
        for attachment in session.exec(attached.order_by(col(ProgressReportAttachment.created_at))):
            files.setdefault(attachment.report_id, []).append(attachment)
    return found.map(lambda pair: _report_public(pair[0], pair[1], files.get(pair[0].id, [])))


def _visible_report(session: Session, who: Principal, plan_id: str, report_id: str, *, to_write: bool) -> None:
    """A 404 unless `who` may see the report (a provider: the ones it filed) or, `to_write`, add to
    it (staff any; the client side the ones it filed)."""
    report = session.get(ProgressReport, report_id)
    if report is None or report.plan_id != plan_id:
        raise NotFound("progress report", "voortgangsrapportage")
    detail = session.get(ProgressReportDetail, report_id)
    if as_provider(who) and (detail is None or detail.provider_id != kvk_of(who)):
        raise NotFound("progress report", "voortgangsrapportage")
    if to_write and who.is_client_side() and report.reported_by != who.subject:
        raise NotFound("progress report", "voortgangsrapportage")


def add_report_attachment(
    uow: UnitOfWork, who: Principal, plan_id: str, report_id: str, filename: str, content_type: str, data: bytes
) -> ReportAttachmentPublic:
    """Attach a PDF, PNG or JPEG (at most 10 MiB) to a report: staff to any, others to their own."""
    authorize(who, Action.FILE_PROGRESS_REPORT)
    trajectory = reach(uow.session, who, plan_id, lock=True)
    ensure_running(trajectory.status, "file")
    _visible_report(uow.session, who, plan_id, report_id, to_write=True)
    check_attachment(filename, content_type, len(data), data[:16])
    digest = hashlib.sha256(data).hexdigest()
    duplicate = Conflict(
        "attachment.duplicate",
        "This file is already attached to the report.",
        "file",
        message_nl="Dit bestand hoort al bij de rapportage.",
    )
    same = select(ProgressReportAttachment).where(
        ProgressReportAttachment.report_id == report_id, ProgressReportAttachment.sha256 == digest
    )
    if uow.session.exec(same).first() is not None:
        raise duplicate
    row = ProgressReportAttachment(
        id=str(uuid.uuid4()),
        municipality=trajectory.municipality,
        plan_id=plan_id,
        report_id=report_id,
        filename=filename,
        content_type=content_type.split(";", 1)[0].strip().lower(),
        size=len(data),
        sha256=digest,
        content=data,
        uploaded_by=who.subject,
        created_at=uow.clock.now(),
    )
    uow.session.add(row)
    attached: dict[str, Any] = {"plan_id": plan_id, "report_id": report_id, "attachment_id": row.id}
    attached["attachment.filename"] = filename
    attached |= {"attachment.content_type": row.content_type, "attachment.size": row.size}
    audited.record(uow, who, trajectory, audit.AuditAction.CREATE, new=attached)
    try:
        uow.commit()
    except IntegrityError as exc:  # the same file uploaded twice at once
        uow.rollback()
        raise duplicate from exc
    return ReportAttachmentPublic.model_validate(row, from_attributes=True)


def get_report_attachment(
    session: Session, who: Principal, plan_id: str, report_id: str, attachment_id: str
) -> ProgressReportAttachment:
    authorize(who, Action.READ_PROGRESS)
    reach(session, who, plan_id)
    _visible_report(session, who, plan_id, report_id, to_write=False)
    attachment = session.get(ProgressReportAttachment, attachment_id)
    if attachment is None or attachment.report_id != report_id:
        raise NotFound("attachment", "bijlage")
    return attachment


# --- report schedules ------------------------------------------------------------------------


def segments_of(stored: Sequence[dict[str, int | None]]) -> list[Segment]:
    return [Segment(every_months=int(s["every_months"] or 0), times=s.get("times")) for s in stored]


def _schedule_public(trajectory: Trajectory, row: ReportSchedule | None) -> ReportSchedulePublic:
    reporter = Reporter(row.reporter) if row else DEFAULT_REPORTER
    segments = segments_of(row.segments) if row else list(DEFAULT_SEGMENTS)
    return ReportSchedulePublic(
        plan_id=trajectory.plan_id,
        reporter=reporter,
        segments=[SegmentIn(every_months=s.every_months, times=s.times) for s in segments],
        default=row.is_default if row else True,
        due_dates=due_dates(trajectory.started_on, trajectory.execution_deadline, segments),
        set_at=row.set_at if row else None,
    )


def plan_reports(session: Session, trajectory: Trajectory, reporter: Reporter, dates: Sequence[date]) -> None:
    for due in dates:
        follow_ups.schedule(
            session,
            trajectory,
            kind=FollowUpKind.PROGRESS_REPORT,
            due_on=due,
            ref_id=None,
            title=f"Voortgangsrapportage ({REPORTER_NL[reporter]})",
        )


def ensure_plan(trajectory: Trajectory) -> None:
    if trajectory.kind != TrajectoryKind.PLAN:
        raise RuleBroken(
            "schedule.orientation",
            "Progress reports are scheduled for a plan's trajectory, not for an orientation phase.",
            "plan_id",
            message_nl="Voortgangsrapportages horen bij het traject van een plan, niet bij een oriëntatiefase.",
        )


def set_report_schedule(uow: UnitOfWork, who: Principal, plan_id: str, data: ReportScheduleIn) -> ReportSchedulePublic:
    """Who reports and how often; replaces the open progress-report follow-ups by the schedule's
    due dates from today on (what lay before today is not asked again)."""
    authorize(who, Action.PLAN_FOLLOW_UPS)
    trajectory = reach(uow.session, who, plan_id, lock=True)
    ensure_running(trajectory.status, "schedule")
    ensure_plan(trajectory)
    segments = [Segment(every_months=s.every_months, times=s.times) for s in data.segments]
    dates = due_dates(trajectory.started_on, trajectory.execution_deadline, segments)
    row = uow.session.get(ReportSchedule, plan_id) or ReportSchedule(
        plan_id=plan_id,
        municipality=trajectory.municipality,
        reporter=data.reporter,
        set_by=who.subject,
        set_at=uow.clock.now(),
    )
    row.reporter, row.is_default, row.set_by, row.set_at = data.reporter, False, who.subject, uow.clock.now()
    row.segments = [{"every_months": s.every_months, "times": s.times} for s in segments]
    uow.session.add(row)
    follow_ups.cancel_open(uow, plan_id=plan_id, kind=FollowUpKind.PROGRESS_REPORT)
    today = uow.clock.today()
    plan_reports(uow.session, trajectory, data.reporter, [d for d in dates if d >= today])
    trajectory.report_overdue = False
    repository.save(uow.session, trajectory)
    uow.commit()
    return _schedule_public(trajectory, row)


def get_report_schedule(session: Session, who: Principal, plan_id: str) -> ReportSchedulePublic:
    authorize(who, Action.READ_PROGRESS)
    trajectory = reach(session, who, plan_id)
    ensure_plan(trajectory)
    return _schedule_public(trajectory, session.get(ReportSchedule, plan_id))
