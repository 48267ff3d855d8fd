"""The decision term: by when a submitted plan must be decided (the policy's term, Awb 4:13
at most eight weeks when none is set), and from when the reviewer is warned."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.intake.domain.policy import MunicipalPolicy


@dataclass(frozen=True)
class DecisionDeadline:
    submitted_on: date
    due_on: date
    warn_on: date

    def is_overdue(self, today: date) -> bool:
        """A decision on the due date itself is still on time."""
        return today > self.due_on

    def should_warn(self, today: date) -> bool:
        return self.warn_on <= today <= self.due_on


def decision_deadline(policy: MunicipalPolicy, submitted_on: date) -> DecisionDeadline:
    due = submitted_on + timedelta(weeks=policy.decision_term_weeks)
    return DecisionDeadline(submitted_on, due, due - timedelta(weeks=policy.decision_warning_weeks))


def is_overdue(policy: MunicipalPolicy, submitted_on: date, today: date) -> bool:
    return decision_deadline(policy, submitted_on).is_overdue(today)
