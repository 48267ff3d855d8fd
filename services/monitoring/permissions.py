"""Who may do what in the monitoring service: one table, one check.

`authorize(who, action)` answers 403 naming the allowed roles (docs/api.md lists the same roles
per route). Which trajectory a caller may see (their municipality; the client side only its own)
is checked where it is read, with shared.access.ensure_visible: a 404, never a 403.
"""

from __future__ import annotations

from enum import StrEnum

from shared.access import require_one_of
from shared.auth import STAFF_ROLES, Principal, Role

# In a fixed order: a 403 names them (a frozenset's order changes from one process to the next).
STAFF = tuple(sorted(STAFF_ROLES))
CLIENT_SIDE = (Role.CLIENT, Role.REPRESENTATIVE)


class Action(StrEnum):
    READ_TRAJECTORY = "trajectory.read"  # trajectories, their progress reports and outcomes
    FILE_PROGRESS_REPORT = "progress_report.file"
    REGISTER_OUTCOME = "outcome.register"


PERMISSIONS: dict[Action, tuple[Role, ...]] = {
    # The client side reads only its own trajectories (ensure_visible).
    Action.READ_TRAJECTORY: (*STAFF, Role.POLICY, *CLIENT_SIDE),
    # Not the provider: monitoring does not know which provider works on which trajectory, so it
    # could not keep a provider to its own clients. Not policy either: it reads, it does not report.
    Action.FILE_PROGRESS_REPORT: (*STAFF, *CLIENT_SIDE),
    Action.REGISTER_OUTCOME: STAFF,
}


def allowed_roles(action: Action) -> tuple[Role, ...]:
    return PERMISSIONS[action]


def authorize(who: Principal, action: Action) -> None:
    """403 unless `who`'s role may do `action`."""
    require_one_of(who, PERMISSIONS[action])
