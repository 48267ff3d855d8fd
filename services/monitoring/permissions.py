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
    FILE_PROGRESS_REPORT = "progress_report.file"  # and attach files to one's report
    READ_PROGRESS = "progress.read"  # progress reports (a provider: its own), their files, the report schedule
    PLAN_FOLLOW_UPS = "follow_up.plan"  # the report schedule, conversations, milestones, time entries
    READ_PLANNING = "planning.read"  # a trajectory's conversations and milestones
    READ_FOLLOW_UPS = "follow_up.read"  # what needs attention across the municipality
    REGISTER_OUTCOME = "outcome.register"  # and durability checks, aftercare check-ins
    READ_OUTCOME_NOTES = "outcome_notes.read"  # durability checks, aftercare, the client's voice
    RECORD_CLIENT_VOICE = "client_voice.record"
    DEFINE_EXPERIMENT = "experiment.define"
    READ_EXPERIMENT = "experiment.read"  # the experiment, its groups and its results (aggregates)
    DRAW_LOTTERY = "experiment.draw"
    RECORD_CHOICE = "experiment.record_choice"
    READ_ASSIGNMENTS = "experiment.read_assignments"  # who is in which group: client ids
    EXPORT_RESEARCH = "research.export"  # the pseudonymised export: a row per trajectory
    READ_RESEARCH_EXPORTS = "research.read_exports"  # the log of who exported what, when
    RECORD_REGISTRATION = "registration.record"  # the benchmark's registration form
    READ_REGISTRATION = "registration.read"  # the form and the costs outside the budget
    RECORD_COST = "cost.record"
    READ_BENCHMARK = "benchmark.read"  # the benchmark of one's own municipality (aggregates), its settings
    READ_NATIONAL_BENCHMARK = "benchmark.read_national"  # the national view (municipality=all)
    MANAGE_BENCHMARK_SETTINGS = "benchmark.settings"


PERMISSIONS: dict[Action, tuple[Role, ...]] = {
    # The benchmark: aggregates with small cells suppressed, for staff and policy of the municipality.
    # The national view shows other municipalities' figures (Table 4.3 per municipality): policy only.
    Action.READ_BENCHMARK: (*STAFF, Role.POLICY),
    Action.READ_NATIONAL_BENCHMARK: (Role.POLICY,),
    Action.MANAGE_BENCHMARK_SETTINGS: (Role.TEAM_LEAD, Role.POLICY),
    # The client side reads only its own trajectories (ensure_visible).
    # Not policy: policy staff see aggregates only (the benchmark), never one person's trajectory.
    Action.READ_TRAJECTORY: (*STAFF, *CLIENT_SIDE),
    # A provider only on a trajectory whose plan lines name it (its KvK number), else a 404
    # (services/monitoring/progress.py). Not policy: it reads aggregates, it does not report.
    # A partner application as a provider: its organisation's KvK number, with scope progress:write.
    Action.FILE_PROGRESS_REPORT: (*STAFF, *CLIENT_SIDE, Role.PROVIDER, Role.PARTNER),
    # Personal rows, so not policy; the client side its own trajectory, a provider its own reports.
    Action.READ_PROGRESS: (*STAFF, *CLIENT_SIDE, Role.PROVIDER),
    Action.PLAN_FOLLOW_UPS: STAFF,
    Action.READ_PLANNING: (*STAFF, *CLIENT_SIDE),
    Action.READ_FOLLOW_UPS: STAFF,
    Action.REGISTER_OUTCOME: STAFF,
    # Personal notes in the client's or the case manager's words: not policy (aggregates only).
    Action.READ_OUTCOME_NOTES: (*STAFF, *CLIENT_SIDE),
    # The client side on its own trajectory (ensure_visible), or staff writing it down for them.
    Action.RECORD_CLIENT_VOICE: (*STAFF, *CLIENT_SIDE),
    # Experiments: policy and the team lead set them up; staff and policy read them and their
    # results (aggregates). A draw and a choice name clients: the team lead draws, any case worker
    # records a client's choice; who is in which group (client ids) is for staff only.
    Action.DEFINE_EXPERIMENT: (Role.TEAM_LEAD, Role.POLICY),
    Action.READ_EXPERIMENT: (*STAFF, Role.POLICY),
    Action.DRAW_LOTTERY: (Role.TEAM_LEAD,),
    Action.RECORD_CHOICE: STAFF,
    Action.READ_ASSIGNMENTS: STAFF,
    # Pseudonymised rows for researchers: the team lead (who runs the experiment); not the case
    # manager, whose work needs no bulk data, and not policy: a row per trajectory (with its health
    # and debt provisions) is one person's, pseudonymised or not, and policy sees aggregates only.
    # Policy, who commissions the evaluation, reads the log of who exported what.
    Action.EXPORT_RESEARCH: (Role.TEAM_LEAD,),
    Action.READ_RESEARCH_EXPORTS: (Role.POLICY, Role.TEAM_LEAD),
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
