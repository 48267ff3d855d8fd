"""Who may do what in the notifications service: one table, one check.

`authorize(who, action)` answers 403 naming the allowed roles (docs/api.md lists the same). Which
messages a caller sees (their municipality; the client side only its own, addressed to the
client) is decided by the query.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from services.notifications.domain.messages import RecipientKind
from services.notifications.models import Message
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
    Action.READ_MESSAGES: (*STAFF, *CLIENT_SIDE, Role.FINANCE, Role.OPS, Role.PROVIDER, Role.PARTNER),
    Action.MANAGE_WEBHOOKS: (Role.PARTNER, Role.PROVIDER),
    Action.OPERATE_WEBHOOKS: (Role.PARTNER, Role.PROVIDER, Role.OPS),
    Action.READ_DELIVERIES: (*STAFF, Role.OPS),  # ops: failed mail, the local mailbox
    Action.MANAGE_SETTINGS: (Role.TEAM_LEAD,),
    Action.READ_PREFERENCES: (*STAFF, *CLIENT_SIDE),
    Action.SET_PREFERENCES: CLIENT_SIDE,  # the client side sets its own; staff may read
}


def allowed_roles(action: Action) -> tuple[Role, ...]:
    return PERMISSIONS[action]


def authorize(who: Principal, action: Action) -> None:
    """403 unless `who`'s role may do `action`."""
    require_one_of(who, PERMISSIONS[action])


def visible_messages(who: Principal) -> Any:
    """The WHERE clause for the messages `who` may read: the case team the client and case-team
    messages of its municipality; the client side its own client messages; finance and ops theirs; a provider
    the messages about its invoices; a partner application's owner the alerts about its webhooks."""
    own = col(Message.municipality) == who.municipality
    if who.role in STAFF_ROLES:  # the client's messages and the case team's; not finance's, ops' or a partner's
        return sa.and_(own, col(Message.recipient_kind).in_([RecipientKind.CLIENT, RecipientKind.CASE_TEAM]))
    if who.is_client_side():
        client = col(Message.recipient_kind) == RecipientKind.CLIENT
        return sa.and_(own, col(Message.client_id) == who.client_id, client)
    if who.role == Role.FINANCE:
        return sa.and_(own, col(Message.recipient_kind) == RecipientKind.FINANCE)
    if who.role == Role.OPS:
        return sa.and_(own, col(Message.recipient_kind) == RecipientKind.OPS)
    owner = sa.and_(col(Message.recipient_kind) == RecipientKind.PARTNER, col(Message.recipient_ref) == who.subject)
    if who.role == Role.PROVIDER and who.provider_id:
        provider = sa.and_(
            col(Message.recipient_kind) == RecipientKind.PROVIDER, col(Message.recipient_ref) == who.provider_id
        )
        return sa.and_(own, sa.or_(provider, owner))
    if who.role == Role.PARTNER:
        return sa.and_(own, owner)
    return sa.false()
