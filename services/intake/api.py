"""Intake HTTP routes: parse, authorise, call a handler. No rules here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.intake import handlers
from services.intake.models import ApprovePlan, ClientCreate, ClientPublic, PlanCreate, PlanPublic, PlanVersionRef, RejectPlan
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("intake"))]


@router.post("/clients", status_code=201, response_model=ClientPublic, tags=["clients"])
def register_client(data: ClientCreate, who: CurrentPrincipal, uow: Uow) -> ClientPublic:
    return handlers.register_client(uow, who, data)


@router.get("/clients", response_model=list[ClientPublic], tags=["clients"])
def list_clients(who: CurrentPrincipal, session: SessionDep) -> list[ClientPublic]:
    return handlers.list_clients(session, who)


@router.get("/clients/{client_id}", response_model=ClientPublic, tags=["clients"])
def get_client(client_id: str, who: CurrentPrincipal, session: SessionDep) -> ClientPublic:
    return handlers.get_client(session, who, client_id)


@router.post("/plans", status_code=201, response_model=PlanPublic, tags=["plans"])
def create_plan(data: PlanCreate, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.create_plan(uow, who, data)


@router.get("/plans", response_model=list[PlanPublic], tags=["plans"])
def list_plans(who: CurrentPrincipal, session: SessionDep, status: str | None = None) -> list[PlanPublic]:
    return handlers.list_plans(session, who, status)


@router.get("/plans/{plan_id}", response_model=PlanPublic, tags=["plans"])
def get_plan(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> PlanPublic:
    return handlers.get_plan(session, who, plan_id)


@router.post("/plans/{plan_id}/submit", response_model=PlanPublic, tags=["plans"])
def submit_plan(plan_id: str, ref: PlanVersionRef, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.submit_plan(uow, who, plan_id, ref)


@router.post("/plans/{plan_id}/approve", response_model=PlanPublic, tags=["decisions"])
def approve_plan(plan_id: str, cmd: ApprovePlan, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.approve_plan(uow, who, plan_id, cmd)


@router.post("/plans/{plan_id}/reject", response_model=PlanPublic, tags=["decisions"])
def reject_plan(plan_id: str, cmd: RejectPlan, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.reject_plan(uow, who, plan_id, cmd)
