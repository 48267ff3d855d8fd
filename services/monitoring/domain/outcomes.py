"""Outcomes as the benchmark counts them (Table 4.7 of the Divosa report)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class OutcomeKind(StrEnum):
    """The rows of Table 4.7: the first three count as outflow to work."""

    WORK_DURING = "work_during"
    WORK_AFTER = "work_after"
    WORK_ENDED = "work_ended"
    NO_WORK_RUNNING = "no_work_running"
    NO_WORK_ENDED = "no_work_ended"
    UNKNOWN = "unknown"


class KindOfWork(StrEnum):
    WORK_EXPERIENCE = "work_experience"
    SECONDMENT = "secondment"
    TRIAL_PLACEMENT = "trial_placement"
    PERMANENT_JOB = "permanent_job"
    TEMPORARY_JOB = "temporary_job"
    TEMP_AGENCY = "temp_agency"
    OWN_BUSINESS = "own_business"


WORKING = frozenset({OutcomeKind.WORK_DURING, OutcomeKind.WORK_AFTER})
# Outflow to work = the first three rows of Table 4.7.
OUTFLOW = frozenset({OutcomeKind.WORK_DURING, OutcomeKind.WORK_AFTER, OutcomeKind.WORK_ENDED})
DURABLE_MONTHS = 6


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end`: a month counts once its day is reached (31 January to
    28 February is 0, not 1 as `relativedelta` would say: the benchmark counts full months worked)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def is_durable(outcome: str, working_since: date | None, on: date) -> bool:
    """Durable outflow: still working, for at least six months."""
    return outcome in WORKING and working_since is not None and months_between(working_since, on) >= DURABLE_MONTHS
