"""Who may do what in the intake service: one table, one check.

`authorize(who, action)` answers 403 naming the allowed roles (docs/api.md lists the same roles
per route). Which record a caller may see is checked where the record is read
(repository.client_for / plan_for): the same municipality (shared.access.ensure_visible, a
404), and for a representative a registration with that client that is still active (a 403).
"""

from __future__ import annotations

from enum import StrEnum

from shared.access import require_one_of
from shared.auth import Principal, Role

# In a fixed order: a 403 names them in this order.
STAFF = (Role.CASE_MANAGER, Role.TEAM_LEAD)  # case managers decide; team leads give the second approval
CLIENT_SIDE = (Role.CLIENT, Role.REPRESENTATIVE)


class Action(StrEnum):
    READ_POLICY = "policy.read"
    READ_PRESETS = "policy.presets"
    CHANGE_POLICY = "policy.change"  # replace or merge-patch
    READ_POLICY_CHANGES = "policy.read_changes"  # the change log: who changed what, when
    REGISTER_CLIENT = "client.register"
    UPDATE_CLIENT = "client.update"
    READ_CLIENT = "client.read"  # clients, eligibility, representatives, contacts, orientations
    SEARCH_CLIENTS = "client.search"  # find a client by BSN
    READ_CONTACT_DETAILS = "client.contact_details"  # e-mail, phone, language: where messages go
    MANAGE_REPRESENTATIVES = "representative.manage"  # add, end
    RECORD_CONTACT = "contact.record"
    LIST_CANDIDATES = "candidate.list"
    START_ORIENTATION = "orientation.start"
    WRITE_PLAN = "plan.write"  # create, save a draft, attach, submit, ask for a change
    READ_PLAN = "plan.read"  # plans, versions, checks, attachments, decisions, the letter, objections, changes
    REVIEW_QUEUE = "review.queue"
    DECIDE = "plan.decide"
    LODGE_OBJECTION = "objection.lodge"
    DECIDE_CHANGE = "change.decide"
    CLOSE_TRAJECTORY = "trajectory.close"
    MANAGE_PARTNER_APPS = "partner_app.manage"  # register, list, rotate a secret, revoke
    GRANT_CONSENT = "consent.grant"  # grant or withdraw; staff record a consent given on paper
    READ_CONSENTS = "consent.read"
    READ_OWN_CLIENTS = "partner.clients"  # a partner application: the clients who chose it
    READ_HANDOVERS = "handover.read"  # the municipality's warm hand-overs, both directions
    DECIDE_HANDOVER = "handover.decide"  # accept or decline a partner's hand-over
    SEND_HANDOVER = "handover.send"  # hand a client over to a partner with the client's consent
    PARTNER_HANDOVERS = "partner.handovers"  # a partner application: send and read its own hand-overs


PERMISSIONS: dict[Action, tuple[Role, ...]] = {
    Action.READ_POLICY: (*STAFF, Role.POLICY, *CLIENT_SIDE),
    Action.READ_PRESETS: (Role.POLICY, *STAFF),
    Action.CHANGE_POLICY: (Role.POLICY,),
    Action.READ_POLICY_CHANGES: (Role.POLICY, *STAFF),
    Action.REGISTER_CLIENT: STAFF,
    Action.UPDATE_CLIENT: STAFF,
    Action.READ_CLIENT: (*STAFF, *CLIENT_SIDE),
    Action.SEARCH_CLIENTS: STAFF,
    Action.READ_CONTACT_DETAILS: (*STAFF, Role.SERVICE),  # service: notifications, at send time
    Action.MANAGE_REPRESENTATIVES: STAFF,
    Action.RECORD_CONTACT: STAFF,
    Action.LIST_CANDIDATES: STAFF,
    Action.START_ORIENTATION: STAFF,
    # The client writes the plan (or their representative); a case manager may help.
    Action.WRITE_PLAN: (*CLIENT_SIDE, *STAFF),
    Action.READ_PLAN: (*STAFF, *CLIENT_SIDE),
    Action.REVIEW_QUEUE: STAFF,
    Action.DECIDE: STAFF,
    Action.LODGE_OBJECTION: (*STAFF, *CLIENT_SIDE),
    Action.DECIDE_CHANGE: STAFF,
    Action.CLOSE_TRAJECTORY: STAFF,
    Action.MANAGE_PARTNER_APPS: (Role.OPS, Role.TEAM_LEAD),
    Action.GRANT_CONSENT: (*CLIENT_SIDE, *STAFF),
    Action.READ_CONSENTS: (*CLIENT_SIDE, *STAFF),
    Action.READ_OWN_CLIENTS: (Role.PARTNER,),
    Action.READ_HANDOVERS: STAFF,
    Action.DECIDE_HANDOVER: STAFF,
    Action.SEND_HANDOVER: STAFF,
    Action.PARTNER_HANDOVERS: (Role.PARTNER,),
}


def allowed_roles(action: Action) -> tuple[Role, ...]:
    return PERMISSIONS[action]


def authorize(who: Principal, action: Action) -> None:
    """403 unless `who`'s role may do `action`; the answer names the roles that may."""
    require_one_of(who, PERMISSIONS[action])
