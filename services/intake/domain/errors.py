"""Errors the intake domain raises.

`DomainError` extends the project-wide `shared.errors.DomainError`, so the HTTP layer that
already turns that one into problem+json handles these too. `code` is stable and meant for
programs ("review.same_reviewer"); `message` is for people; `field` names the input.
"""

from __future__ import annotations

from shared.errors import DomainError as _SharedDomainError


class DomainError(_SharedDomainError):
    """A rule of the intake domain said no."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(code, message, field)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, field={self.field!r}, message={self.message!r})"


class PolicyError(DomainError, ValueError):
    """A municipal policy that cannot be right. Also a ValueError, so parsers can catch it as one."""


class ReviewForbidden(DomainError):
    """This person may not take this review step (wrong role, or the same person twice)."""

    status = 403


class FourEyesError(ReviewForbidden):
    """The second approval must come from a different person than the first."""


class ReviewConflict(DomainError):
    """The review is not in a state where this step fits (for example: already decided)."""

    status = 409


class AttachmentRejected(DomainError, ValueError):
    """An uploaded file that is too big, empty, or of a type we do not accept."""
