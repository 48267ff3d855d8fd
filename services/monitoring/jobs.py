"""Monitoring's scheduled work. Every job has one signature, `(uow) -> int` (how many it
handled), and takes time from `uow.clock`; service.py schedules them."""

from __future__ import annotations

from services.monitoring import ending_soon, follow_ups
from shared.uow import UnitOfWork


def flag_overdue_follow_ups(uow: UnitOfWork) -> int:
    """Daily: flag each open follow-up (progress report, conversation, milestone, durability check,
    aftercare) whose day has passed, once, and say FollowUpOverdue for it (notifications reminds
    the case team); an overdue progress report flags its trajectory (`?overdue=true`). Reads only
    what is due (follow_ups.flag_overdue; its ScanResult counts the rows read). How many it flagged."""
    return follow_ups.flag_overdue(uow).flagged


def remind_follow_ups_due_soon(uow: UnitOfWork) -> int:
    """Daily: say FollowUpDueSoon once for each open follow-up due within its kind's lead time
    (Settings reminder_lead_days_*: progress report 7, conversation 3, milestone 7, durability
    check 7, aftercare 3 days; today included), with the conversation's kind for a conversation
    (the six-month presentation). Never for what is overdue already or closed. Reads only what is
    still to remind of (follow_ups.flag_due_soon). How many it reminded of."""
    return follow_ups.flag_due_soon(uow).flagged


def remind_trajectories_ending_soon(uow: UnitOfWork) -> int:
    """Daily: say TrajectoryEndingSoon once per deadline for each running plan trajectory whose
    execution deadline is within Settings reminder_trajectory_end_days (30); a plan change to
    another deadline reminds again (ending_soon.flag_ending_soon). How many it reminded of."""
    return ending_soon.flag_ending_soon(uow)
