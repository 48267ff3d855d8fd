"""Monitoring's scheduled work. Every job has one signature, `(uow) -> int` (how many it
handled), and takes time from `uow.clock`; service.py schedules them."""

from __future__ import annotations

from services.monitoring import follow_ups
from shared.uow import UnitOfWork


def flag_overdue_follow_ups(uow: UnitOfWork) -> int:
    """Daily: flag each open follow-up (progress report, conversation, milestone, durability check,
    aftercare) whose day has passed, once, and say FollowUpOverdue for it (notifications reminds
    the case team); an overdue progress report flags its trajectory (`?overdue=true`). Reads only
    what is due (follow_ups.flag_overdue; its ScanResult counts the rows read). How many it flagged."""
    return follow_ups.flag_overdue(uow).flagged
