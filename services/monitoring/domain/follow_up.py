"""Follow-ups: what is due on a trajectory by a date (a progress report, a conversation, a
milestone, a durability check, an aftercare check-in), and when it is overdue.

    schedule ─> open ─(the report, the conversation held, the milestone reached)─> done
                open ─(the trajectory closes, a new report schedule replaces it)─> cancelled
    open and due_on < today: overdue; the daily scan flags it once (overdue_flagged_at) and
    says FollowUpOverdue, so notifications reminds the case team.
    open and due within its kind's lead time (today included): due soon; the daily scan marks it
    once (reminded_at) and says FollowUpDueSoon. An item already overdue is never "due soon".
    done or cancelled after a reminder or an overdue flag: FollowUpClosed (the reminders stop).

Report schedules: who reports (the client, a coach, the provider) and segments such as
[{"every_months": 1, "times": 3}, {"every_months": 2}]: monthly three times, then every two
months until the execution deadline. Almere's "the coach reports 3 times in 15 months" is
[{"every_months": 5, "times": 3}]. Months count from the start with shared.clock.add_months, each
due date from the start itself, so month ends do not drift (31 January, 28 February, 31 March).

Plain Python: no session, no clock (the caller passes the day).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.clock import add_months
from shared.errors import RuleBroken

MAX_SEGMENTS = 12
MAX_DUE_DATES = 120  # ten years of monthly reports; more is a typo in a deadline or a segment
SIX_MONTHS = 6


class FollowUpKind(StrEnum):
    PROGRESS_REPORT = "progress_report"
    CONVERSATION = "conversation"
    MILESTONE = "milestone"
    DURABILITY_CHECK = "durability_check"
    AFTERCARE = "aftercare"


class FollowUpStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Reporter(StrEnum):
    """Who reports progress on a schedule (DOMAIN.md, Monitoring)."""

    CLIENT = "client"
    COACH = "coach"  # the prb-coach or a coaching agency the municipality engaged (Almere)
    PROVIDER = "provider"  # a provider named on the plan


@dataclass(frozen=True)
class Segment:
    """`every_months` apart, `times` times; `times` None: until the deadline (the last segment only)."""

    every_months: int
    times: int | None = None


# A plan trajectory without a schedule of its own: a report every two months until the deadline.
DEFAULT_REPORTER = Reporter.CLIENT
DEFAULT_SEGMENTS: tuple[Segment, ...] = (Segment(every_months=2),)


def check_segments(segments: Sequence[Segment]) -> None:
    """Refuse a schedule that cannot be followed, naming the segment's field."""
    if not segments:
        raise RuleBroken(
            "schedule.empty",
            "Give at least one segment.",
            "segments",
            message_nl="Geef minstens één periode op.",
        )
    if len(segments) > MAX_SEGMENTS:
        raise RuleBroken(
            "schedule.too_many_segments",
            f"Give at most {MAX_SEGMENTS} segments.",
            "segments",
            message_nl=f"Geef hoogstens {MAX_SEGMENTS} periodes op.",
        )
    for i, segment in enumerate(segments):
        if segment.every_months < 1:
            raise RuleBroken(
                "schedule.every_months",
                "The months between two reports must be 1 or more.",
                f"segments.{i}.every_months",
                message_nl="Het aantal maanden tussen twee rapportages moet 1 of meer zijn.",
            )
        if segment.times is None and i < len(segments) - 1:
            raise RuleBroken(
                "schedule.open_ended_not_last",
                "Only the last segment may go on until the deadline; say how many times for this one.",
                f"segments.{i}.times",
                message_nl="Alleen de laatste periode mag doorlopen tot de einddatum. Zeg hoe vaak voor deze periode.",
            )
        if segment.times is not None and segment.times < 1:
            raise RuleBroken(
                "schedule.times",
                "The number of reports in a segment must be 1 or more.",
                f"segments.{i}.times",
                message_nl="Het aantal rapportages in een periode moet 1 of meer zijn.",
            )


def due_dates(start: date, deadline: date, segments: Sequence[Segment]) -> list[date]:
    """The schedule's due dates after `start`, up to and including `deadline`, at most MAX_DUE_DATES.
    Each date is `start` plus the months so far (never the previous date plus a month)."""
    check_segments(segments)
    dates: list[date] = []
    months = 0
    for segment in segments:
        count = 0
        while segment.times is None or count < segment.times:
            months += segment.every_months
            due = add_months(start, months)
            if due > deadline or len(dates) >= MAX_DUE_DATES:
                return dates
            dates.append(due)
            count += 1
    return dates


def six_month_presentation_on(start: date, deadline: date) -> date | None:
    """Almere's presentation "Mijn weg naar werk" six months after the start, when the trajectory
    runs longer than that (its deadline lies more than six months after the start)."""
    on = add_months(start, SIX_MONTHS)
    return on if deadline > on else None


def is_overdue(status: FollowUpStatus, due_on: date, today: date) -> bool:
    """Open and its day has passed: due today is not yet overdue."""
    return status == FollowUpStatus.OPEN and due_on < today


def needs_flagging(status: FollowUpStatus, due_on: date, flagged_at: datetime | None, today: date) -> bool:
    """Overdue and not yet flagged: the scan flags each item once."""
    return flagged_at is None and is_overdue(status, due_on, today)


def remind_until(today: date, lead_days: Mapping[FollowUpKind, int]) -> date:
    """The last due day any kind is reminded of today: today plus the longest lead time."""
    return today + timedelta(days=max(lead_days.values(), default=0))


def is_due_soon(
    status: FollowUpStatus,
    kind: FollowUpKind,
    due_on: date,
    reminded_at: datetime | None,
    today: date,
    lead_days: Mapping[FollowUpKind, int],
) -> bool:
    """Open, not reminded yet, and due from today up to its kind's lead time ahead (a kind
    without a lead time is not reminded of). Overdue (due before today) is the overdue scan's."""
    if reminded_at is not None or status != FollowUpStatus.OPEN or kind not in lead_days:
        return False
    return today <= due_on <= today + timedelta(days=lead_days[kind])


def was_reminded(reminded_at: datetime | None, overdue_flagged_at: datetime | None) -> bool:
    """Someone was told about it (due soon or overdue): closing it says FollowUpClosed."""
    return reminded_at is not None or overdue_flagged_at is not None
