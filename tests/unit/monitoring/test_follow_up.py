"""Report schedules expand to due dates counted from the start (Almere's three coach reports in
fifteen months, an open-ended last segment up to the deadline, month ends that do not drift),
and a follow-up is overdue the day after its due date, flagged once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.monitoring.domain.follow_up import (
    DEFAULT_SEGMENTS,
    MAX_DUE_DATES,
    FollowUpStatus,
    Segment,
    due_dates,
    is_overdue,
    needs_flagging,
    six_month_presentation_on,
)
from shared.clock import FrozenClock
from shared.errors import RuleBroken

START = date(2026, 3, 2)


def test_almere_the_coach_reports_three_times_in_fifteen_months():
    deadline = date(2027, 6, 2)  # fifteen months after the start
    assert due_dates(START, deadline, [Segment(every_months=5, times=3)]) == [
        date(2026, 8, 2),
        date(2027, 1, 2),
        date(2027, 6, 2),
    ]


def test_monthly_three_times_then_every_two_months_until_the_deadline():
    segments = [Segment(every_months=1, times=3), Segment(every_months=2)]
    assert due_dates(START, date(2026, 12, 1), segments) == [
        date(2026, 4, 2),
        date(2026, 5, 2),
        date(2026, 6, 2),
        date(2026, 8, 2),
        date(2026, 10, 2),
        # 2026-12-02 lies after the deadline (2026-12-01): not asked.
    ]


def test_a_due_date_on_the_deadline_itself_is_asked():
    assert due_dates(START, date(2026, 7, 2), DEFAULT_SEGMENTS) == [date(2026, 5, 2), date(2026, 7, 2)]


def test_a_fixed_segment_stops_at_the_deadline_too():
    assert due_dates(START, date(2026, 6, 1), [Segment(every_months=1, times=12)]) == [
        date(2026, 4, 2),
        date(2026, 5, 2),
    ]


def test_month_ends_count_from_the_start_and_do_not_drift():
    # 31 January plus 1, 2, 3 months: 28 February, 31 March, 30 April (not 28 March, 28 April).
    assert due_dates(date(2026, 1, 31), date(2026, 5, 1), [Segment(every_months=1)]) == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    # A leap year's 29 February.
    assert due_dates(date(2027, 11, 30), date(2028, 3, 1), [Segment(every_months=3)]) == [date(2028, 2, 29)]


def test_the_default_is_every_two_months_until_the_deadline():
    assert due_dates(START, date(2027, 3, 2), DEFAULT_SEGMENTS) == [
        date(2026, 5, 2),
        date(2026, 7, 2),
        date(2026, 9, 2),
        date(2026, 11, 2),
        date(2027, 1, 2),
        date(2027, 3, 2),
    ]


def test_a_deadline_far_away_asks_at_most_the_cap():
    assert len(due_dates(START, date(2999, 1, 1), [Segment(every_months=1)])) == MAX_DUE_DATES


@pytest.mark.parametrize(
    "segments,field,code",
    [
        ([], "segments", "schedule.empty"),
        (
            [Segment(every_months=1), Segment(every_months=2, times=1)],
            "segments.0.times",
            "schedule.open_ended_not_last",
        ),
        ([Segment(every_months=0, times=1)], "segments.0.every_months", "schedule.every_months"),
        ([Segment(every_months=1, times=2), Segment(every_months=1, times=0)], "segments.1.times", "schedule.times"),
    ],
)
def test_a_schedule_that_cannot_be_followed_is_refused_naming_the_field(segments, field, code):
    with pytest.raises(RuleBroken) as refused:
        due_dates(START, date(2027, 3, 2), segments)
    assert refused.value.field == field and refused.value.code == code
    assert refused.value.message_nl != refused.value.message


def test_the_six_month_presentation_only_when_the_trajectory_runs_longer():
    assert six_month_presentation_on(START, date(2027, 3, 2)) == date(2026, 9, 2)
    assert six_month_presentation_on(START, date(2026, 9, 2)) is None  # ends on that very day
    assert six_month_presentation_on(date(2026, 3, 31), date(2027, 1, 1)) == date(2026, 9, 30)


def test_a_follow_up_is_overdue_the_day_after_it_was_due_on_the_dutch_calendar():
    due = date(2026, 5, 2)
    clock = FrozenClock.on(due, hour=23)
    assert not is_overdue(FollowUpStatus.OPEN, due, clock.today())
    clock.advance(timedelta(hours=1))  # midnight in Amsterdam: the next day
    assert clock.today() == date(2026, 5, 3) and is_overdue(FollowUpStatus.OPEN, due, clock.today())
    assert not is_overdue(FollowUpStatus.DONE, due, clock.today())
    assert not is_overdue(FollowUpStatus.CANCELLED, due, clock.today())


def test_an_overdue_item_is_flagged_once():
    clock = FrozenClock.on(date(2026, 6, 1))
    due = date(2026, 5, 2)
    assert needs_flagging(FollowUpStatus.OPEN, due, None, clock.today())
    flagged_at = datetime(2026, 6, 1, 7, tzinfo=UTC)
    assert not needs_flagging(FollowUpStatus.OPEN, due, flagged_at, clock.today())
    assert not needs_flagging(FollowUpStatus.DONE, due, None, clock.today())
