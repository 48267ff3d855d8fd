"""Who may do what in the notifications service: one table, one check.

`authorize(who, action)` answers 403 naming the allowed roles (docs/api.md lists the same). Which
messages a caller sees (their municipality; the client side only its own, addressed to the
client) is decided by the query.
"""

from __future__ import annotations

from enum import StrEnum

from shared.access import require_one_of
from shared.auth import STAFF_ROLES, Principal, Role

# In a fixed order: a 403 names them (a frozenset's order changes from one process to the next).
STAFF = tuple(sorted(STAFF_ROLES))
CLIENT_SIDE = (Role.CLIENT, Role.REPRESENTATIVE)


class Action(StrEnum):
    READ_MESSAGES = "message.read"
    READ_DELIVERIES = "delivery.read"
    MANAGE_SETTINGS = "settings.manage"


PERMISSIONS: dict[Action, tuple[Role, ...]] = {
    Action.READ_MESSAGES: (*STAFF, *CLIENT_SIDE),
    Action.READ_DELIVERIES: STAFF,
    Action.MANAGE_SETTINGS: (Role.TEAM_LEAD,),
}


def allowed_roles(action: Action) -> tuple[Role, ...]:
    return PERMISSIONS[action]


def authorize(who: Principal, action: Action) -> None:
    """403 unless `who`'s role may do `action`."""
    require_one_of(who, PERMISSIONS[action])
