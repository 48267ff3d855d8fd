"""Follow-ups: what is due on a trajectory by a date (a progress report, a conversation, a
milestone, a durability check, an aftercare check-in), and when it is overdue."""

from __future__ import annotations

from enum import StrEnum


class FollowUpKind(StrEnum):
    PROGRESS_REPORT = "progress_report"
    CONVERSATION = "conversation"
    MILESTONE = "milestone"
    DURABILITY_CHECK = "durability_check"
    AFTERCARE = "aftercare"
