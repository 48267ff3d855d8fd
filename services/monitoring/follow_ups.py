"""Follow-ups on a trajectory: schedule, complete, cancel (owned by the follow-ups area).

The contract other areas call (see /work/notes/issue10_brief.md); the bodies are filled in by the
follow-ups work.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from services.monitoring.domain.follow_up import FollowUpKind


def schedule(
    session: Session,
    *,
    municipality: str,
    plan_id: str,
    client_id: str,
    kind: FollowUpKind,
    due_on: date,
    ref_id: str | None,
    title: str = "",
) -> str:
    """Plan a follow-up; idempotent on (plan_id, kind, ref_id, due_on). Returns its id."""
    raise NotImplementedError


def complete(session: Session, *, plan_id: str, kind: FollowUpKind, ref_id: str | None, on: date) -> bool:
    """Mark the earliest open follow-up of this kind (and ref) done; False when none was open."""
    raise NotImplementedError


def cancel_open(session: Session, *, plan_id: str, kind: FollowUpKind | None = None) -> int:
    """Cancel open follow-ups (all, or of one kind) of a trajectory, e.g. when it closes."""
    raise NotImplementedError
