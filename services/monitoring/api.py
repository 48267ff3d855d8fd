"""Monitoring HTTP routes: parse, authorise, call a handler. No rules here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.monitoring import handlers
from services.monitoring.models import (
    OutcomeCreate,
    OutcomePublic,
    ProgressReportCreate,
    ProgressReportPublic,
    TrajectoryPublic,
)
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("monitoring"))]


@router.get("/trajectories", response_model=list[TrajectoryPublic], tags=["trajectories"])
def list_trajectories(who: CurrentPrincipal, session: SessionDep, overdue: bool | None = None) -> list[TrajectoryPublic]:
    return handlers.list_trajectories(session, who, overdue)


@router.get("/trajectories/{plan_id}", response_model=TrajectoryPublic, tags=["trajectories"])
def get_trajectory(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> TrajectoryPublic:
    return handlers.get_trajectory(session, who, plan_id)


@router.post("/trajectories/{plan_id}/progress-reports", status_code=201, response_model=ProgressReportPublic,
             tags=["progress"])
def file_progress_report(plan_id: str, data: ProgressReportCreate, who: CurrentPrincipal, uow: Uow) -> ProgressReportPublic:
    return handlers.file_progress_report(uow, who, plan_id, data)


@router.get("/trajectories/{plan_id}/progress-reports", response_model=list[ProgressReportPublic], tags=["progress"])
def list_progress_reports(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> list[ProgressReportPublic]:
    return handlers.list_progress_reports(session, who, plan_id)


@router.post("/trajectories/{plan_id}/outcomes", status_code=201, response_model=OutcomePublic, tags=["outcomes"])
def register_outcome(plan_id: str, data: OutcomeCreate, who: CurrentPrincipal, uow: Uow) -> OutcomePublic:
    return handlers.register_outcome(uow, who, plan_id, data)


@router.get("/trajectories/{plan_id}/outcomes", response_model=list[OutcomePublic], tags=["outcomes"])
def list_outcomes(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> list[OutcomePublic]:
    return handlers.list_outcomes(session, who, plan_id)
