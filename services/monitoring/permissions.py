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
    DEFINE_EXPERIMENT = "experiment.define"
    READ_EXPERIMENT = "experiment.read"  # the experiment, its groups and its results (aggregates)
    DRAW_LOTTERY = "experiment.draw"
    RECORD_CHOICE = "experiment.record_choice"
    READ_ASSIGNMENTS = "experiment.read_assignments"  # who is in which group: client ids
    EXPORT_RESEARCH = "research.export"  # the anonymised export and its log
    RECORD_REGISTRATION = "registration.record"  # the benchmark's registration form
    READ_REGISTRATION = "registration.read"  # the form and the costs outside the budget
    RECORD_COST = "cost.record"


PERMISSIONS: dict[Action, tuple[Role, ...]] = {
    # The client side reads only its own trajectories (ensure_visible).
    Action.READ_TRAJECTORY: (*STAFF, Role.POLICY, *CLIENT_SIDE),
    # Not the provider: monitoring does not know which provider works on which trajectory, so it
    # could not keep a provider to its own clients. Not policy either: it reads, it does not report.
    Action.FILE_PROGRESS_REPORT: (*STAFF, *CLIENT_SIDE),
    Action.REGISTER_OUTCOME: STAFF,
    # Experiments: policy and the team lead set them up; staff and policy read them and their
    # results (aggregates). A draw and a choice name clients: the team lead draws, any case worker
    # records a client's choice; who is in which group (client ids) is for staff only.
    Action.DEFINE_EXPERIMENT: (Role.TEAM_LEAD, Role.POLICY),
    Action.READ_EXPERIMENT: (*STAFF, Role.POLICY),
    Action.DRAW_LOTTERY: (Role.TEAM_LEAD,),
    Action.RECORD_CHOICE: STAFF,
    Action.READ_ASSIGNMENTS: STAFF,
    # Pseudonymised rows for researchers: policy (who commissions the evaluation) and the team lead
    # (who runs the experiment); not the case manager, whose work needs no bulk data.
    Action.EXPORT_RESEARCH: (Role.POLICY, Role.TEAM_LEAD),
    # The form holds judgements and health and debt facts: staff only, never the client side or policy.
    Action.RECORD_REGISTRATION: STAFF,
    Action.READ_REGISTRATION: STAFF,
    Action.RECORD_COST: STAFF,
}


def allowed_roles(action: Action) -> tuple[Role, ...]:
    return PERMISSIONS[action]


def authorize(who: Principal, action: Action) -> None:
    """403 unless `who`'s role may do `action`."""
    require_one_of(who, PERMISSIONS[action])
