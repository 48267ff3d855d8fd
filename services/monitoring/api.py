"""Monitoring HTTP routes: parse, authorise, call a command or a query. No rules here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from services.monitoring import (
    api_benchmark,
    api_experiments,
    api_outcomes,
    api_progress,
    api_registration,
    commands,
    queries,
)
from services.monitoring.domain.outcomes import OutcomeKind
from services.monitoring.domain.trajectory import TrajectoryKind, TrajectoryStatus
from services.monitoring.models import (
    OutcomeCreate,
    OutcomePublic,
    ProgressReportCreate,
    ProgressReportPublic,
    TrajectoryPublic,
)
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("monitoring"))]
PlanId = Annotated[str, Path(max_length=36, description="The plan id, or the orientation id for an orientation phase.")]


@router.get(
    "/trajectories",
    response_model=list[TrajectoryPublic],
    responses=PAGED,
    tags=["trajectories"],
    summary="List trajectories",
)
def list_trajectories(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    overdue: Annotated[
        bool | None, Query(description="Only those (not) flagged for a missing progress report.")
    ] = None,
    kind: Annotated[TrajectoryKind | None, Query(description="plan or orientation.")] = None,
    status: Annotated[TrajectoryStatus | None, Query(description="running or closed.")] = None,
) -> list[TrajectoryPublic]:
    """The municipality's trajectories, oldest first: one per approved plan (kind `plan`) and one per
    orientation phase (kind `orientation`, under the orientation id). The client side sees only
    its own. `paid_incl_vat` is what was paid out, incl. VAT (see the field)."""
    return page_answer(
        queries.list_trajectories(session, who, page, overdue=overdue, kind=kind, status=status), response
    )


@router.get(
    "/trajectories/{plan_id}", response_model=TrajectoryPublic, tags=["trajectories"], summary="Get a trajectory"
)
def get_trajectory(plan_id: PlanId, who: CurrentPrincipal, session: SessionDep) -> TrajectoryPublic:
    """One trajectory: granted, paid out (incl. VAT), deadline and report status. A trajectory outside
    the caller's reach is a 404."""
    return queries.get_trajectory(session, who, plan_id)


@router.post(
    "/trajectories/{plan_id}/progress-reports",
    status_code=201,
    response_model=ProgressReportPublic,
    tags=["progress"],
    summary="File a progress report",
)
def file_progress_report(
    plan_id: PlanId, data: ProgressReportCreate, who: CurrentPrincipal, uow: Uow
) -> ProgressReportPublic:
    """Staff or the client side report how the trajectory goes (`ProgressReported`); the report
    clears the overdue flag."""
    return commands.file_progress_report(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/progress-reports",
    response_model=list[ProgressReportPublic],
    responses=PAGED,
    tags=["progress"],
    summary="List progress reports",
)
def list_progress_reports(
    plan_id: PlanId,
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    on_track: Annotated[bool | None, Query(description="Only reports that say it is (not) on track.")] = None,
) -> list[ProgressReportPublic]:
    """A trajectory's progress reports, oldest first."""
    return page_answer(queries.list_progress_reports(session, who, plan_id, page, on_track=on_track), response)


@router.post(
    "/trajectories/{plan_id}/outcomes",
    status_code=201,
    response_model=OutcomePublic,
    tags=["outcomes"],
    summary="Register an outcome",
)
def register_outcome(plan_id: PlanId, data: OutcomeCreate, who: CurrentPrincipal, uow: Uow) -> OutcomePublic:
    """An outcome as in Table 4.7 of the benchmark (`OutcomeRegistered`). Work found needs the day it
    started: not in the future and not before the trajectory started (422 naming
    `working_since`). `durable`: working six months or more."""
    return commands.register_outcome(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/outcomes",
    response_model=list[OutcomePublic],
    responses=PAGED,
    tags=["outcomes"],
    summary="List outcomes",
)
def list_outcomes(
    plan_id: PlanId,
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    outcome: Annotated[OutcomeKind | None, Query(description="Only this row of Table 4.7.")] = None,
    durable: Annotated[bool | None, Query(description="Only (not) durable outcomes.")] = None,
) -> list[OutcomePublic]:
    """A trajectory's outcomes, oldest first."""
    return page_answer(queries.list_outcomes(session, who, plan_id, page, outcome=outcome, durable=durable), response)


# Each area's routes live in its own module; this router is the service's one router.
for area_router in (
    api_progress.router,
    api_outcomes.router,
    api_registration.router,
    api_benchmark.router,
    api_experiments.router,
):
    router.include_router(area_router)
