"""Errors the intake domain raises: the shared family (shared.errors), with intake's own kinds.

`RuleBroken` (422), `Forbidden` (403), `Conflict` (409) and `NotFound` (404) come from
shared.errors, so the one mapper there turns every one of them into problem+json. The classes
below only name intake's cases more precisely; `DomainError` is re-exported so callers can
catch any of them. `code` is stable and meant for programs ("review.same_reviewer"); the
message is for people; `field` names the input.
"""

from __future__ import annotations

from shared.errors import Conflict, DomainError, Forbidden, RuleBroken

__all__ = [
    "AttachmentRejected",
    "Conflict",
    "DomainError",
    "FourEyesError",
    "Forbidden",
    "PolicyError",
    "ReviewConflict",
    "ReviewForbidden",
    "RuleBroken",
]


class PolicyError(RuleBroken, ValueError):
    """A municipal policy that cannot be right. Also a ValueError, so parsers can catch it as one."""


class ReviewForbidden(Forbidden):
    """This person may not take this review step (wrong role, or the same person twice)."""


class FourEyesError(ReviewForbidden):
    """The second approval must come from a different person than the first."""


class ReviewConflict(Conflict):
    """The review is not in a state where this step fits (for example: already decided)."""


class AttachmentRejected(RuleBroken, ValueError):
    """An uploaded file that is too big, empty, or of a type we do not accept."""
