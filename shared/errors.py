"""The errors domain code raises: not found, forbidden, conflict, rule broken.

Each has a stable `code` (e.g. "plan.over_budget"), the `field` it is about when there is
one, and a message in English and in Dutch (B1). One mapper (shared.problems) turns them
into problem+json, for the exception handlers and the idempotency replay alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class DomainError(Exception):
    """A rule said no (422). The subclasses say why otherwise."""

    status = 422

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        *,
        message_nl: str | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_nl = message_nl or message
        self.field = field
        # Several fields at once (a plan that fails more than one check): each {"field", "message", "code"}.
        self.errors = [dict(error) for error in errors]

    def message_in(self, language: str) -> str:
        return self.message_nl if language == "nl" else self.message


class RuleBroken(DomainError):
    """The request is well-formed but a rule of the domain or the municipality's policy refuses it."""

    status = 422


class NotFound(DomainError):
    """No such record, or one the caller may not see: the same answer, so ids leak nothing."""

    status = 404

    def __init__(self, what: str, what_nl: str | None = None, *, code: str | None = None) -> None:
        super().__init__(
            code or f"{what.replace(' ', '_')}.not_found",
            f"No {what} with this id that you may see.",
            message_nl=f"Er is geen {what_nl or what} met dit id dat u mag zien.",
        )


class Forbidden(DomainError):
    """The caller is known but their role or relation does not allow this."""

    status = 403


class Conflict(DomainError):
    """The state changed meanwhile, or the action does not fit the current state."""

    status = 409


class TemporarilyUnavailable(DomainError):
    """Nothing was changed and the same request may succeed shortly (a lost race for a lock)."""

    status = 503

    def __init__(self, code: str, message: str, *, retry_after: int = 1, message_nl: str | None = None) -> None:
        super().__init__(code, message, message_nl=message_nl)
        self.retry_after = retry_after


# The names used before the family had one spelling; new code uses Conflict and Forbidden.
ConflictError = Conflict
ForbiddenError = Forbidden
