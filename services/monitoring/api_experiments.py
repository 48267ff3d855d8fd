"""Monitoring HTTP routes for experiments: parse, authorise, call a command or a query. No rules here."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.monitoring import experiments, research_export
from services.monitoring.api_params import Uow
from services.monitoring.domain.experiments import IntervalMethod
from services.monitoring.models import NO_CONTROLS
from services.monitoring.models_experiments import (
    AssignmentPublic,
    ChoiceCreate,
    DrawCreate,
    DrawPublic,
    DrawSummary,
    ExperimentCreate,
    ExperimentPublic,
    ExperimentResults,
    ResearchExportLogPublic,
)
from services.monitoring.research_export import ExportFormat
from shared.auth import CurrentPrincipal
from shared.deps import ClockDep, SessionDep
from shared.pagination import PAGED, PageDep, page_answer

router = APIRouter()
ExperimentId = Annotated[str, Path(max_length=36, pattern=NO_CONTROLS, description="The experiment's id.")]


@router.post(
    "/experiments",
    status_code=201,
    response_model=ExperimentPublic,
    tags=["experiments"],
    summary="Set up an experiment",
)
def create_experiment(data: ExperimentCreate, who: CurrentPrincipal, uow: Uow) -> ExperimentPublic:
    """An evaluation with 2 to 6 groups, exactly one of them the control group; clients are put in a
    group by lottery (`POST .../draws`) or by their own choice (`POST .../choices`). Team lead or policy."""
    return experiments.create_experiment(uow, who, data)


@router.get(
    "/experiments",
    response_model=list[ExperimentPublic],
    responses=PAGED,
    tags=["experiments"],
    summary="List experiments",
)
def list_experiments(
    who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[ExperimentPublic]:
    """The municipality's experiments, oldest first, with the number of participants per group."""
    return page_answer(experiments.list_experiments(session, who, page), response)


@router.get(
    "/experiments/{experiment_id}", response_model=ExperimentPublic, tags=["experiments"], summary="Get an experiment"
)
def get_experiment(experiment_id: ExperimentId, who: CurrentPrincipal, session: SessionDep) -> ExperimentPublic:
    """One experiment; another municipality's is a 404."""
    return experiments.get_experiment(session, who, experiment_id)


@router.post(
    "/experiments/{experiment_id}/draws",
    status_code=201,
    response_model=DrawPublic,
    tags=["experiments"],
    summary="Draw a lottery",
)
def draw(experiment_id: ExperimentId, data: DrawCreate, who: CurrentPrincipal, uow: Uow) -> DrawPublic:
    """Assign the eligible clients by a seeded lottery: the ids sorted, shuffled with
    `random.Random(seed)`, dealt round-robin over the groups (the smallest first), so group sizes
    differ by at most one. The seed (drawn by the system when absent), the sorted list, the group
    order and the result are recorded: anyone can re-run it. Refused: an empty list, an id twice,
    a client already in this experiment, an experiment where clients choose. Team lead."""
    return experiments.draw(uow, who, experiment_id, data)


@router.get(
    "/experiments/{experiment_id}/draws",
    response_model=list[DrawSummary],
    responses=PAGED,
    tags=["experiments"],
    summary="List an experiment's draws",
)
def list_draws(
    experiment_id: ExperimentId, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[DrawSummary]:
    """The draws, oldest first: seed and size (the full record at `.../draws/{draw_id}`). Staff."""
    return page_answer(experiments.list_draws(session, who, experiment_id, page), response)


@router.get(
    "/experiments/{experiment_id}/draws/{draw_id}",
    response_model=DrawPublic,
    tags=["experiments"],
    summary="Get a draw",
)
def get_draw(
    experiment_id: ExperimentId,
    draw_id: Annotated[str, Path(max_length=36, pattern=NO_CONTROLS)],
    who: CurrentPrincipal,
    session: SessionDep,
) -> DrawPublic:
    """The draw as recorded, with how to re-run it. Staff."""
    return experiments.get_draw(session, who, experiment_id, draw_id)


@router.post(
    "/experiments/{experiment_id}/choices",
    status_code=201,
    response_model=AssignmentPublic,
    tags=["experiments"],
    summary="Record a client's choice of group",
)
def record_choice(experiment_id: ExperimentId, data: ChoiceCreate, who: CurrentPrincipal, uow: Uow) -> AssignmentPublic:
    """In an experiment where clients choose: the group this client chose, recorded as a choice
    and when. Staff."""
    return experiments.record_choice(uow, who, experiment_id, data)


@router.get(
    "/experiments/{experiment_id}/assignments",
    response_model=list[AssignmentPublic],
    responses=PAGED,
    tags=["experiments"],
    summary="List who is in which group",
)
def list_assignments(
    experiment_id: ExperimentId,
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    group: Annotated[
        str | None, Query(max_length=30, pattern=NO_CONTROLS, description="Only this group (its key).")
    ] = None,
) -> list[AssignmentPublic]:
    """Each participant's group, how (lottery or choice) and when, in the order assigned. Staff."""
    return page_answer(experiments.list_assignments(session, who, experiment_id, page, group=group), response)


@router.get(
    "/experiments/{experiment_id}/results",
    response_model=ExperimentResults,
    tags=["experiments"],
    summary="Outflow to work per group, against control",
)
def results(
    experiment_id: ExperimentId,
    who: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    interval: Annotated[
        IntervalMethod, Query(description="`newcomb` (hybrid score, the default) or `wald`.")
    ] = IntervalMethod.NEWCOMB,
) -> ExperimentResults:
    """Per group: participants, outflow to work, the proportion, and against control the difference
    with its 95 % confidence interval (statsmodels). Computed when asked, from the outcomes so far.
    When clients chose their groups, `warning` says so. Staff and policy."""
    return experiments.results(session, who, experiment_id, clock, interval)


@router.get(
    "/research-export",
    responses={200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}},
    tags=["research"],
    summary="Export pseudonymised trajectories for research",
)
def research_export_file(
    who: CurrentPrincipal,
    uow: Uow,
    municipality: Annotated[
        str | None, Query(pattern=r"^\d{4}$", description="Your own municipality (the default).")
    ] = None,
    from_: Annotated[date | None, Query(alias="from", description="Trajectories started on or after.")] = None,
    to: Annotated[date | None, Query(description="Trajectories started on or before.")] = None,
    scheme: Annotated[str | None, Query(max_length=20, pattern=NO_CONTROLS)] = None,
    experiment_id: Annotated[
        str | None,
        Query(max_length=36, pattern=NO_CONTROLS, description="Whose group to show (default: each client's first)."),
    ] = None,
    format_: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.CSV,
) -> Response:
    """One row per plan trajectory started in the period: a pseudonym valid in this export only,
    the categories at the start, the registration form, months (never days) of start, close and
    outflow, the outcome, money in euros, case minutes, the experiment group. No client or plan
    id, no BSN, no name. CSV or Parquet (typed columns). Every export is logged. Team lead (not policy:
    a row is one person's, and policy sees aggregates only)."""
    body, media_type, name = research_export.export(
        uow,
        who,
        municipality=municipality,
        start=from_,
        end=to,
        scheme=scheme,
        experiment_id=experiment_id,
        fmt=format_,
    )
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get(
    "/research-exports",
    response_model=list[ResearchExportLogPublic],
    responses=PAGED,
    tags=["research"],
    summary="List the research exports made",
)
def list_research_exports(
    who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[ResearchExportLogPublic]:
    """Who exported what, when, for your municipality, newest first. Policy and team lead."""
    return page_answer(research_export.list_exports(session, who, page), response)
