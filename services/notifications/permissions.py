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
    # Webhooks: a partner application manages its own subscriptions; ops sees and mends all of its
    # municipality's (failing ones, replay, resume). Which event types: domain/webhooks.ALLOWED_EVENTS.
    MANAGE_WEBHOOKS = "webhook.manage"
    OPERATE_WEBHOOKS = "webhook.operate"
    READ_DELIVERIES = "delivery.read"
    MANAGE_SETTINGS = "settings.manage"
    READ_PREFERENCES = "preference.read"
    SET_PREFERENCES = "preference.set"


PERMISSIONS: dict[Action, tuple[Role, ...]] = {
    Action.READ_MESSAGES: (*STAFF, *CLIENT_SIDE),
    Action.MANAGE_WEBHOOKS: (Role.PARTNER, Role.PROVIDER),
    Action.OPERATE_WEBHOOKS: (Role.PARTNER, Role.PROVIDER, Role.OPS),
    Action.READ_DELIVERIES: STAFF,
    Action.MANAGE_SETTINGS: (Role.TEAM_LEAD,),
    Action.READ_PREFERENCES: (*STAFF, *CLIENT_SIDE),
    Action.SET_PREFERENCES: CLIENT_SIDE,  # the client side sets its own; staff may read
}


def allowed_roles(action: Action) -> tuple[Role, ...]:
    return PERMISSIONS[action]


def authorize(who: Principal, action: Action) -> None:
    """403 unless `who`'s role may do `action`."""
    require_one_of(who, PERMISSIONS[action])
