"""The plan's life: draft -> submitted -> approved | rejected (| returned -> draft)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import ConflictError, DomainError
from shared.money import Money


class PlanStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


_ALLOWED = {
    "submit": {PlanStatus.DRAFT},
    "decide": {PlanStatus.SUBMITTED},
}


def ensure_transition(status: str, action: str) -> None:
    if PlanStatus(status) not in _ALLOWED[action]:
        raise ConflictError("plan.wrong_state", f"A plan that is {status} cannot be {action}ed.", "status")


def ensure_version(current: int, expected: int) -> None:
    """Optimistic concurrency: decide only on the version you looked at."""
    if current != expected:
        raise ConflictError(
            "plan.changed_meanwhile",
            f"The plan changed meanwhile (now version {current}, you sent {expected}); reload it.",
            "plan_version",
        )


@dataclass(frozen=True)
class LineGrant:
    line_id: str
    asked: Money
    granted: Money


def grant_lines(asked: dict[str, Money], granted: dict[str, Money] | None) -> list[LineGrant]:
    """Grant each line as asked, or the given amount, which may be less, never more."""
    if granted is None:
        return [LineGrant(line_id, amount, amount) for line_id, amount in asked.items()]
    unknown = set(granted) - set(asked)
    if unknown:
        raise DomainError("plan.unknown_line", f"Unknown plan line: {sorted(unknown)[0]}", "granted_lines")
    result = []
    for line_id, amount in asked.items():
        value = granted.get(line_id, Money.zero())
        if value.cents < 0:
            raise DomainError("plan.negative_grant", "A granted amount cannot be negative.", "granted_lines")
        if value > amount:
            raise DomainError("plan.grant_above_asked",
                              "A line cannot be granted more than was asked.", "granted_lines")
        result.append(LineGrant(line_id, amount, value))
    if Money.total(g.granted for g in result) == Money.zero():
        raise DomainError("plan.nothing_granted", "Approving a plan grants at least one line; reject it instead.",
                          "granted_lines")
    return result


def execution_deadline(decided_on: date, months: int) -> date:
    year, month = divmod(decided_on.month - 1 + months, 12)
    target_year, target_month = decided_on.year + year, month + 1
    # Clamp to the month's last day (31 January + 1 month -> 28/29 February).
    for day in (decided_on.day, 30, 29, 28):
        try:
            return date(target_year, target_month, min(day, decided_on.day))
        except ValueError:
            continue
    raise AssertionError("unreachable")
