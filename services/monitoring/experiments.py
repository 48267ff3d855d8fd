"""Experiments: set one up, draw a lottery or record a client's choice, read the draws, the
assignments and the results. Commands take the time from `uow.clock`; the rules are in
domain/experiments.py. An experiment of another municipality is a 404, like any record."""

from __future__ import annotations

import secrets
import uuid
from collections import Counter
from typing import Any

from sqlalchemy import and_, case, func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.monitoring import benchmark
from services.monitoring.domain import experiments as domain
from services.monitoring.domain.experiments import AssignmentMethod, IntervalMethod
from services.monitoring.domain.outcomes import OUTFLOW
from services.monitoring.domain.trajectory import TrajectoryKind
from services.monitoring.models import Trajectory
from services.monitoring.models_experiments import (
    AssignmentPublic,
    ChoiceCreate,
    DifferencePublic,
    DrawCreate,
    DrawPublic,
    DrawSummary,
    Experiment,
    ExperimentAssignment,
    ExperimentCreate,
    ExperimentDraw,
    ExperimentGroup,
    ExperimentPublic,
    ExperimentResults,
    GroupPublic,
    GroupResultPublic,
)
from services.monitoring.permissions import Action, authorize
from shared.access import ensure_visible
from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import Conflict, NotFound
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

HOW_TO_RERUN = (
    "In Python: ids = sorted(client_ids); random.Random(seed).shuffle(ids); the i-th id of the shuffled "
    "list goes to group_order[i % len(group_order)]."
)
OUTFLOW_DEFINITION = (
    "A participant counts as outflow to work when any of their plan trajectories in this municipality "
    "has the outcome work_during, work_after or work_ended (Table 4.7); participants without a plan "
    "trajectory count as no outflow (see without_trajectory). Computed when asked, from the outcomes "
    "recorded so far."
)
CHOSEN_WARNING = (
    "The groups were chosen by the clients, not drawn by lottery: a difference between groups may come "
    "from who chose which group, not from the group itself. Read it as a description, not as an effect."
)


# --- loading ----------------------------------------------------------------------------------


def _visible(session: Session, who: Principal, experiment_id: str, *, lock: bool = False) -> Experiment:
    query = select(Experiment).where(Experiment.id == experiment_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    row = session.exec(query).first()
    if row is None:
        raise NotFound("experiment", "experiment")
    ensure_visible(who, municipality=row.municipality, client_id=None, what="experiment")
    return row


def _groups(session: Session, experiment_id: str) -> list[ExperimentGroup]:
    query = select(ExperimentGroup).where(ExperimentGroup.experiment_id == experiment_id)
    return list(session.exec(query.order_by(col(ExperimentGroup.position))))


def _domain(row: Experiment, groups: list[ExperimentGroup]) -> domain.Experiment:
    return domain.Experiment(
        id=row.id,
        municipality=row.municipality,
        name=row.name,
        assignment=AssignmentMethod(row.assignment),
        groups=tuple(domain.Group(g.key, g.name, g.control) for g in groups),
    )


def _sizes(session: Session, experiment_id: str) -> Counter[str]:
    query = (
        select(ExperimentAssignment.group_key, func.count())
        .where(ExperimentAssignment.experiment_id == experiment_id)
        .group_by(col(ExperimentAssignment.group_key))
    )
    return Counter({key: int(n) for key, n in session.exec(query)})


def _public(session: Session, row: Experiment) -> ExperimentPublic:
    sizes = _sizes(session, row.id)
    return ExperimentPublic(
        id=row.id,
        municipality=row.municipality,
        name=row.name,
        description=row.description,
        assignment=row.assignment,
        groups=[
            GroupPublic(key=g.key, name=g.name, control=g.control, participants=sizes.get(g.key, 0))
            for g in _groups(session, row.id)
        ],
        created_at=row.created_at,
    )


def _assignment_public(a: ExperimentAssignment) -> AssignmentPublic:
    return AssignmentPublic(
        client_id=a.client_id, group=a.group_key, how=a.how, draw_id=a.draw_id, assigned_at=a.assigned_at
    )


def _flush_or_taken(uow: UnitOfWork, field: str, rows: list[dict[str, Any]] | None = None) -> None:
    """Write the assignments (`rows` in one executemany, else what the session holds). A client
    assigned by another request meanwhile: the unique constraint says so."""
    try:
        with uow.session.begin_nested():
            if rows:
                uow.session.execute(insert(ExperimentAssignment), rows)
            uow.session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "experiment.already_assigned",
            "A client already has a group in this experiment (assigned at the same moment).",
            field,
            message_nl="Een klant heeft al een groep in dit experiment (op hetzelfde moment ingedeeld).",
        ) from exc


# --- commands ---------------------------------------------------------------------------------


def create_experiment(uow: UnitOfWork, who: Principal, data: ExperimentCreate) -> ExperimentPublic:
    authorize(who, Action.DEFINE_EXPERIMENT)
    groups = [domain.Group(g.key, g.name, g.control) for g in data.groups]
    domain.check_groups(groups)
    row = Experiment(
        id=str(uuid.uuid4()),
        municipality=who.municipality,
        name=data.name,
        description=data.description,
        assignment=data.assignment,
        created_by=who.subject,
        created_at=uow.clock.now(),
    )
    uow.session.add(row)
    for position, g in enumerate(groups):
        uow.session.add(
            ExperimentGroup(experiment_id=row.id, key=g.key, name=g.name, control=g.control, position=position)
        )
    uow.session.flush()
    answer = _public(uow.session, row)
    uow.commit()
    return answer


def draw(uow: UnitOfWork, who: Principal, experiment_id: str, data: DrawCreate) -> DrawPublic:
    """Assign the clients by the seeded lottery and record the draw. The experiment's row is locked,
    so draws in one experiment happen one after the other (each deals to the smallest groups first)."""
    authorize(who, Action.DRAW_LOTTERY)
    row = _visible(uow.session, who, experiment_id, lock=True)
    experiment = _domain(row, _groups(uow.session, row.id))
    seed_from = "caller" if data.seed is not None else "system"
    seed = data.seed if data.seed is not None else secrets.randbelow(domain.MAX_SEED + 1)
    taken_query = select(ExperimentAssignment.client_id).where(
        ExperimentAssignment.experiment_id == row.id, col(ExperimentAssignment.client_id).in_(set(data.client_ids))
    )
    taken = set(uow.session.exec(taken_query)) if data.client_ids else set()
    result = domain.draw(
        experiment, data.client_ids, seed=seed, sizes=_sizes(uow.session, row.id), already_assigned=taken
    )
    now = uow.clock.now()
    record = ExperimentDraw(
        id=str(uuid.uuid4()),
        experiment_id=row.id,
        municipality=row.municipality,
        seed=seed,
        seed_from=seed_from,
        client_ids=list(result.client_ids),
        group_order=list(result.group_order),
        assignment=[[client, group] for client, group in result.assignment],
        drawn_by=who.subject,
        drawn_at=now,
    )
    uow.session.add(record)
    assignments = [
        ExperimentAssignment(
            id=str(uuid.uuid4()),
            experiment_id=row.id,
            municipality=row.municipality,
            client_id=client,
            group_key=group,
            how=AssignmentMethod.LOTTERY,
            draw_id=record.id,
            assigned_by=who.subject,
            assigned_at=now,
        )
        for client, group in result.assignment
    ]
    uow.session.flush()  # the draw first, then its assignments in one executemany
    _flush_or_taken(uow, "client_ids", [a.model_dump() for a in assignments])
    answer = _draw_public(record, assignments)
    uow.commit()
    return answer


def record_choice(uow: UnitOfWork, who: Principal, experiment_id: str, data: ChoiceCreate) -> AssignmentPublic:
    """The client chose their group (a choice experiment only): recorded as a choice, with when."""
    authorize(who, Action.RECORD_CHOICE)
    row = _visible(uow.session, who, experiment_id)
    experiment = _domain(row, _groups(uow.session, row.id))
    existing = select(ExperimentAssignment.id).where(
        ExperimentAssignment.experiment_id == row.id, ExperimentAssignment.client_id == data.client_id
    )
    group = domain.check_choice(experiment, data.group, uow.session.exec(existing).first() is not None)
    assignment = ExperimentAssignment(
        id=str(uuid.uuid4()),
        experiment_id=row.id,
        municipality=row.municipality,
        client_id=data.client_id,
        group_key=group.key,
        how=AssignmentMethod.CHOICE,
        assigned_by=who.subject,
        assigned_at=uow.clock.now(),
    )
    uow.session.add(assignment)
    _flush_or_taken(uow, "client_id")
    answer = _assignment_public(assignment)
    uow.commit()
    return answer


# --- queries ----------------------------------------------------------------------------------


def get_experiment(session: Session, who: Principal, experiment_id: str) -> ExperimentPublic:
    authorize(who, Action.READ_EXPERIMENT)
    return _public(session, _visible(session, who, experiment_id))


def list_experiments(session: Session, who: Principal, page: PageRequest) -> Page[ExperimentPublic]:
    authorize(who, Action.READ_EXPERIMENT)
    query = select(Experiment).where(Experiment.municipality == who.municipality)
    query = query.order_by(col(Experiment.created_at), col(Experiment.id))
    return page_of(session, query, page).map(lambda row: _public(session, row))


def _draw_public(record: ExperimentDraw, assignments: list[ExperimentAssignment]) -> DrawPublic:
    return DrawPublic(
        id=record.id,
        experiment_id=record.experiment_id,
        seed=record.seed,
        seed_from=record.seed_from,
        client_ids=record.client_ids,
        group_order=record.group_order,
        assignment=[_assignment_public(a) for a in assignments],
        drawn_at=record.drawn_at,
        how_to_rerun=HOW_TO_RERUN,
    )


def get_draw(session: Session, who: Principal, experiment_id: str, draw_id: str) -> DrawPublic:
    """The draw as recorded; its assignment in the order the lottery dealt it."""
    authorize(who, Action.READ_ASSIGNMENTS)
    _visible(session, who, experiment_id)
    record = session.get(ExperimentDraw, draw_id)
    if record is None or record.experiment_id != experiment_id:
        raise NotFound("draw", "loting")
    by_client = {
        a.client_id: a
        for a in session.exec(select(ExperimentAssignment).where(ExperimentAssignment.draw_id == draw_id))
    }
    return _draw_public(record, [by_client[client] for client, _group in record.assignment])


def list_draws(session: Session, who: Principal, experiment_id: str, page: PageRequest) -> Page[DrawSummary]:
    authorize(who, Action.READ_ASSIGNMENTS)
    _visible(session, who, experiment_id)
    query = select(ExperimentDraw).where(ExperimentDraw.experiment_id == experiment_id)
    query = query.order_by(col(ExperimentDraw.drawn_at), col(ExperimentDraw.id))
    return page_of(session, query, page).map(
        lambda d: DrawSummary(
            id=d.id, seed=d.seed, seed_from=d.seed_from, clients=len(d.client_ids), drawn_at=d.drawn_at
        )
    )


def list_assignments(
    session: Session, who: Principal, experiment_id: str, page: PageRequest, *, group: str | None = None
) -> Page[AssignmentPublic]:
    authorize(who, Action.READ_ASSIGNMENTS)
    row = _visible(session, who, experiment_id)
    query = select(ExperimentAssignment).where(ExperimentAssignment.experiment_id == experiment_id)
    if group is not None:
        _domain(row, _groups(session, row.id)).group(group)  # an unknown group is a 422, not an empty list
        query = query.where(ExperimentAssignment.group_key == group)
    query = query.order_by(col(ExperimentAssignment.assigned_at), col(ExperimentAssignment.client_id))
    return page_of(session, query, page).map(_assignment_public)


def group_counts(session: Session, experiment: Experiment) -> dict[str, domain.GroupCount]:
    """Per group: participants, those with outflow to work on any plan trajectory in the
    experiment's municipality, and those without a plan trajectory (one row per participant)."""
    a, t = ExperimentAssignment, Trajectory
    work = case((col(t.outcome_category).in_([str(o) for o in OUTFLOW]), 1), else_=0)
    per_client = (
        select(a.group_key, a.client_id, func.count(col(t.plan_id)), func.coalesce(func.max(work), 0))
        .select_from(a)
        .outerjoin(
            t,
            and_(
                col(t.client_id) == col(a.client_id),
                col(t.municipality) == col(a.municipality),
                col(t.kind) == TrajectoryKind.PLAN,
            ),
        )
        .where(a.experiment_id == experiment.id)
        .group_by(col(a.group_key), col(a.client_id))
    )
    n: Counter[str] = Counter()
    outflow: Counter[str] = Counter()
    without: Counter[str] = Counter()
    for group_key, _client, trajectories, worked in session.exec(per_client):
        n[group_key] += 1
        outflow[group_key] += int(worked)
        without[group_key] += int(trajectories) == 0
    return {key: domain.GroupCount(n=n[key], outflow=outflow[key], without_trajectory=without[key]) for key in n}


def results(
    session: Session, who: Principal, experiment_id: str, clock: Clock, method: IntervalMethod = IntervalMethod.NEWCOMB
) -> ExperimentResults:
    """Outflow to work per group and each group's difference against control with its 95 % interval,
    from the outcomes recorded up to now."""
    authorize(who, Action.READ_EXPERIMENT)
    row = _visible(session, who, experiment_id)
    experiment = _domain(row, _groups(session, row.id))
    answer = domain.results(experiment, group_counts(session, row), method)
    # Policy staff see aggregates only: a group small enough to point at a person is left out, and
    # so is every difference that involves it.
    minimum = benchmark.settings_for(session, row.municipality)[0].min_cell_size
    hidden = {r.group.key for r in answer if domain.too_small(r.count, minimum)} if who.role == Role.POLICY else set()
    if hidden & {r.group.key for r in answer if r.group.control}:
        hidden = {r.group.key for r in answer}
    return ExperimentResults(
        experiment_id=row.id,
        assignment=experiment.assignment,
        warning=CHOSEN_WARNING if experiment.assignment == AssignmentMethod.CHOICE else None,
        outflow_definition=OUTFLOW_DEFINITION,
        interval_method=method,
        computed_on=clock.today(),
        groups=[
            GroupResultPublic(
                key=r.group.key,
                name=r.group.name,
                control=r.group.control,
                suppressed=True,
                n=None,
                outflow=None,
                proportion=None,
                without_trajectory=None,
                difference=None,
            )
            if r.group.key in hidden
            else GroupResultPublic(
                key=r.group.key,
                name=r.group.name,
                control=r.group.control,
                n=r.count.n,
                outflow=r.count.outflow,
                proportion=None if r.proportion is None else round(r.proportion, 4),
                without_trajectory=r.count.without_trajectory,
                difference=None
                if r.difference is None
                else DifferencePublic(
                    estimate=round(r.difference.estimate, 4),
                    low=round(r.difference.low, 4),
                    high=round(r.difference.high, 4),
                    method=r.difference.method,
                    confidence=r.difference.confidence,
                ),
            )
            for r in answer
        ],
    )
