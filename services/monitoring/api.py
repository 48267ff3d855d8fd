"""Monitoring HTTP routes: parse, authorise, call a command or a query. No rules here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.monitoring import (
    api_benchmark,
    api_experiments,
    api_outcomes,
    api_progress,
    api_registration,
    queries,
)
from services.monitoring.api_params import PlanId
from services.monitoring.domain.trajectory import TrajectoryKind, TrajectoryStatus
from services.monitoring.models import TrajectoryPublic
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep
from shared.pagination import PAGED, PageDep, page_answer

router = APIRouter()


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
    client_id: Annotated[
        list[str] | None, Query(max_length=100, description="Only these clients' (repeat the parameter; at most 100).")
    ] = None,
) -> list[TrajectoryPublic]:
    """The municipality's trajectories, oldest first: one per approved plan (kind `plan`) and one per
    orientation phase (kind `orientation`, under the orientation id). The client side sees only
    its own. `paid_incl_vat` is what was paid out, incl. VAT (see the field)."""
    return page_answer(
        queries.list_trajectories(session, who, page, overdue=overdue, kind=kind, status=status, client_ids=client_id),
        response,
    )


@router.get(
    "/trajectories/{plan_id}", response_model=TrajectoryPublic, tags=["trajectories"], summary="Get a trajectory"
)
def get_trajectory(plan_id: PlanId, who: CurrentPrincipal, session: SessionDep) -> TrajectoryPublic:
    """One trajectory: granted, paid out (incl. VAT), deadline and report status. A trajectory outside
    the caller's reach is a 404."""
    return queries.get_trajectory(session, who, plan_id)


# Each area's routes live in its own module; this router is the service's one router.
for area_router in (
    api_progress.router,
    api_outcomes.router,
    api_registration.router,
    api_benchmark.router,
    api_experiments.router,
):
    router.include_router(area_router)
