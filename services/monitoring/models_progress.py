"""Tables of the monitoring service for progress (schema "monitoring"): follow-ups (what is due by
when, read by the daily overdue scan through an index on (status, due_on)), report schedules,
the details and attachments of progress reports, conversations, milestones and time entries;
and their API shapes.

Times are set by the commands from the unit of work's clock, never by a default here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint, text
from sqlmodel import AutoString, Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from services.monitoring.domain.follow_up import FollowUpKind, FollowUpStatus, Reporter
from services.monitoring.domain.progress import (
    MAX_MINUTES,
    MAX_NOTE,
    MIN_MINUTES,
    ConversationKind,
    ConversationStatus,
    MilestoneStatus,
    TimeActivity,
)
from services.monitoring.models import SCHEMA
from shared.text import FreeText, Line

# What the daily scan still has to flag: open, not flagged yet (a partial index on both databases).
TO_FLAG = "status = 'open' AND overdue_flagged_at IS NULL"
# What the daily due-soon scan still has to remind of: open, not reminded yet.
TO_REMIND = "status = 'open' AND reminded_at IS NULL"


class FollowUp(SQLModel, table=True):
    """Something due on a trajectory by a day (domain/follow_up.py)."""

    __tablename__ = "follow_up"
    __table_args__ = (
        Index("ix_monitoring_follow_up_municipality_status_due_on", "municipality", "status", "due_on"),
        Index(
            "ix_monitoring_follow_up_to_flag",
            "due_on",
            "id",
            postgresql_where=text(TO_FLAG),
            sqlite_where=text(TO_FLAG),
        ),
        Index(
            "ix_monitoring_follow_up_to_remind",
            "due_on",
            "id",
            postgresql_where=text(TO_REMIND),
            sqlite_where=text(TO_REMIND),
        ),
        {"schema": SCHEMA},
    )

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    client_id: str = Field(max_length=36)
    kind: FollowUpKind = Field(sa_type=AutoString(length=30))
    # What it is about: the conversation's or milestone's id (None for a scheduled progress report).
    ref_id: str | None = Field(default=None, max_length=36)
    title: str = Field(default="", max_length=200)
    due_on: date
    status: FollowUpStatus = Field(default=FollowUpStatus.OPEN, sa_type=AutoString(length=12))
    done_on: date | None = None
    overdue_flagged_at: datetime | None = None
    # When the due-soon scan said FollowUpDueSoon for it (once).
    reminded_at: datetime | None = None


class ReportSchedule(SQLModel, table=True):
    """Who reports progress on a plan, and how often (domain/follow_up.py Segment)."""

    __tablename__ = "report_schedule"
    __table_args__ = {"schema": SCHEMA}

    plan_id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    reporter: Reporter = Field(sa_type=AutoString(length=20))
    segments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_default: bool = True
    set_by: str = Field(max_length=80)
    set_at: datetime


class ProgressReportDetail(SQLModel, table=True):
    """What a progress report says beyond on track and the summary (one per progress_report)."""

    __tablename__ = "progress_report_detail"
    __table_args__ = {"schema": SCHEMA}

    report_id: str = Field(primary_key=True, max_length=36)
    plan_id: str = Field(index=True, max_length=36)
    reporter: Reporter = Field(sa_type=AutoString(length=20))
    # The provider that filed it (its KvK number, from the token), for a provider's own reports.
    provider_id: str | None = Field(default=None, max_length=36)
    done: str | None = Field(default=None, max_length=4000)
    sessions_attended: int | None = None
    sessions_planned: int | None = None
    next_steps: str | None = Field(default=None, max_length=4000)
    problems: str | None = Field(default=None, max_length=4000)


class ProgressReportAttachment(SQLModel, table=True):
    __tablename__ = "progress_report_attachment"
    __table_args__ = (
        UniqueConstraint("report_id", "sha256", name="uq_progress_report_attachment_content"),
        {"schema": SCHEMA},
    )

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    plan_id: str = Field(max_length=36)
    report_id: str = Field(index=True, max_length=36)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str = Field(max_length=80)
    created_at: datetime


class Conversation(SQLModel, table=True):
    __tablename__ = "conversation"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    client_id: str = Field(max_length=36)
    kind: ConversationKind = Field(sa_type=AutoString(length=30))
    title: str = Field(max_length=200)
    planned_on: date
    status: ConversationStatus = Field(default=ConversationStatus.PLANNED, sa_type=AutoString(length=12))
    held_on: date | None = None
    note: str = Field(default="", max_length=MAX_NOTE)
    minutes: int = 0
    created_by: str = Field(max_length=80)
    created_at: datetime
    held_by: str | None = Field(default=None, max_length=80)


class Milestone(SQLModel, table=True):
    __tablename__ = "milestone"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    client_id: str = Field(max_length=36)
    title: str = Field(max_length=200)
    due_on: date
    status: MilestoneStatus = Field(default=MilestoneStatus.OPEN, sa_type=AutoString(length=12))
    reached_on: date | None = None
    created_by: str = Field(max_length=80)
    created_at: datetime


class TimeEntry(SQLModel, table=True):
    """Case-manager minutes on a trajectory outside a conversation (a review, administration, ...)."""

    __tablename__ = "time_entry"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(max_length=4)
    plan_id: str = Field(index=True, max_length=36)
    activity: TimeActivity = Field(sa_type=AutoString(length=20))
    minutes: int
    spent_on: date
    recorded_by: str = Field(max_length=80)
    recorded_at: datetime


# --- API shapes -------------------------------------------------------------------------------


class Attendance(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    sessions_attended: int | None = Field(default=None, ge=0, le=1000)
    sessions_planned: int | None = Field(default=None, ge=0, le=1000)


class ProgressReportCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    on_track: bool
    summary: FreeText = Field(min_length=1, max_length=8000)
    reporter: Reporter | None = Field(
        default=None,
        description="Who the report is from. The client side reports as `client`, a provider as `provider`; "
        "staff file for the `coach` unless they say otherwise.",
    )
    done: FreeText | None = Field(default=None, max_length=4000, description="What was done since the last report.")
    attendance: Attendance | None = None
    next_steps: FreeText | None = Field(default=None, max_length=4000)
    problems: FreeText | None = Field(default=None, max_length=4000)


class ReportAttachmentPublic(SQLModel):
    id: str
    report_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class ProgressReportPublic(SQLModel):
    id: str
    plan_id: str
    client_id: str
    reported_by_role: str
    on_track: bool
    summary: str
    created_at: datetime
    reporter: Reporter | None = None
    done: str | None = None
    attendance: Attendance | None = None
    next_steps: str | None = None
    problems: str | None = None
    attachments: list[ReportAttachmentPublic] = Field(default_factory=list)


class SegmentIn(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    every_months: int = Field(ge=1, le=24, description="Months between two reports.")
    times: int | None = Field(
        default=None, ge=1, le=60, description="How many reports; left out: until the deadline (last segment only)."
    )


class ReportScheduleIn(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    reporter: Reporter
    segments: list[SegmentIn] = Field(min_length=1, max_length=12)


class ReportSchedulePublic(SQLModel):
    plan_id: str
    reporter: Reporter
    segments: list[SegmentIn]
    default: bool = Field(description="True: no schedule was set; a report every two months until the deadline.")
    due_dates: list[date] = Field(description="The schedule's due dates from the start up to the deadline.")
    set_at: datetime | None = Field(description="When it was set; null: the default, never stored.")


class ConversationCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    planned_on: date
    kind: ConversationKind = ConversationKind.PROGRESS
    title: Line = Field(default="", max_length=200)


class ConversationHeld(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    held_on: date
    note: FreeText = Field(default="", max_length=MAX_NOTE, description="The case manager's short note.")
    minutes: int = Field(ge=MIN_MINUTES, le=MAX_MINUTES, description="Minutes the case manager spent.")


class ConversationPublic(SQLModel):
    id: str
    plan_id: str
    kind: ConversationKind
    title: str
    planned_on: date
    status: ConversationStatus
    held_on: date | None
    note: str | None = Field(description="The case manager's note; for staff only (null for others).")
    minutes: int


class MilestoneCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    title: Line = Field(min_length=1, max_length=200)
    due_on: date


class MilestoneReached(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    reached_on: date | None = Field(default=None, description="Default: today.")


class MilestonePublic(SQLModel):
    id: str
    plan_id: str
    title: str
    due_on: date
    status: MilestoneStatus
    reached_on: date | None


class TimeEntryCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    activity: TimeActivity
    minutes: int = Field(ge=MIN_MINUTES, le=MAX_MINUTES)
    on: date = Field(description="The day the time was spent: not in the future.")


class TimeEntryPublic(SQLModel):
    id: str
    plan_id: str
    activity: TimeActivity
    minutes: int
    on: date
    recorded_at: datetime
    case_minutes: int = Field(description="The trajectory's case-manager minutes after this entry.")


class FollowUpPublic(SQLModel):
    id: str
    plan_id: str
    client_id: str
    kind: FollowUpKind
    ref_id: str | None
    title: str
    due_on: date
    status: FollowUpStatus
    done_on: date | None
    overdue: bool = Field(description="Open and its day has passed.")
    overdue_flagged_at: datetime | None = Field(description="When the daily scan flagged it (and sent a reminder).")
