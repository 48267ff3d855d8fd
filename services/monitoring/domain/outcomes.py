"""Outcomes as the benchmark counts them (Table 4.7 of the Divosa report)."""

from __future__ import annotations

from datetime import date

WORKING = frozenset({"work_during", "work_after"})
# Outflow to work = the first three rows of Table 4.7.
OUTFLOW = frozenset({"work_during", "work_after", "work_ended"})
DURABLE_MONTHS = 6


def months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def is_durable(outcome: str, working_since: date | None, on: date) -> bool:
    """Durable outflow: still working, for at least six months."""
    return outcome in WORKING and working_since is not None and months_between(working_since, on) >= DURABLE_MONTHS
