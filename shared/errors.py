"""The one error type domain code raises; the HTTP layer turns it into problem+json."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. `code` is stable (e.g. "plan.over_budget"); `field` names the input."""

    status = 422

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ConflictError(DomainError):
    """The state changed meanwhile or the action does not fit the current state."""

    status = 409


class ForbiddenError(DomainError):
    status = 403


class TemporarilyUnavailable(DomainError):
    """Nothing was changed and the same request may succeed shortly (a lost race for a lock)."""

    status = 503

    def __init__(self, code: str, message: str, *, retry_after: int = 1) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after
