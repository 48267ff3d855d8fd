"""The due-soon rule of follow-ups (domain/follow_up.py): within the kind's lead time, today
included; never overdue, closed or reminded already; closing says so only after a reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.monitoring.domain.follow_up import (
    FollowUpKind,
    FollowUpStatus,
    is_due_soon,
    remind_until,
    was_reminded,
)

TODAY = date(2026, 4, 25)
LEADS = {FollowUpKind.PROGRESS_REPORT: 7, FollowUpKind.CONVERSATION: 3}
AT = datetime(2026, 4, 20, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "due_on", "expected"),
    [
        (FollowUpKind.PROGRESS_REPORT, date(2026, 5, 2), True),  # seven days ahead
        (FollowUpKind.PROGRESS_REPORT, date(2026, 5, 3), False),  # eight
        (FollowUpKind.PROGRESS_REPORT, TODAY, True),  # due today, not yet overdue
        (FollowUpKind.PROGRESS_REPORT, date(2026, 4, 24), False),  # overdue: the overdue scan's
        (FollowUpKind.CONVERSATION, date(2026, 4, 28), True),
        (FollowUpKind.CONVERSATION, date(2026, 4, 29), False),  # four days: beyond its three
        (FollowUpKind.MILESTONE, TODAY, False),  # a kind without a lead time
    ],
)
def test_an_open_item_is_due_soon_within_its_kinds_lead_time(kind, due_on, expected):
    assert is_due_soon(FollowUpStatus.OPEN, kind, due_on, None, TODAY, LEADS) is expected


@pytest.mark.parametrize("status", [FollowUpStatus.DONE, FollowUpStatus.CANCELLED])
def test_a_closed_item_is_never_due_soon(status):
    assert not is_due_soon(status, FollowUpKind.PROGRESS_REPORT, date(2026, 5, 1), None, TODAY, LEADS)


def test_an_item_reminded_of_already_is_not_due_soon_again():
    assert not is_due_soon(FollowUpStatus.OPEN, FollowUpKind.PROGRESS_REPORT, date(2026, 5, 1), AT, TODAY, LEADS)


def test_the_scan_reads_up_to_the_longest_lead_time():
    assert remind_until(TODAY, LEADS) == date(2026, 5, 2)
    assert remind_until(TODAY, {}) == TODAY


def test_closing_is_said_only_after_a_reminder_or_an_overdue_flag():
    assert was_reminded(AT, None) and was_reminded(None, AT) and was_reminded(AT, AT)
    assert not was_reminded(None, None)
