"""Monitoring HTTP routes for the case manager's registration form and the costs outside the
budget: parse, authorise, call a command or a query. No rules here."""

from __future__ import annotations

from fastapi import APIRouter, Response

from services.monitoring import registration
from services.monitoring.api_params import PlanId, Uow
from services.monitoring.models_registration import CostCreate, CostPublic, RegistrationForm
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep
from shared.pagination import PAGED, PageDep, page_answer

router = APIRouter()


@router.put(
    "/trajectories/{plan_id}/registration",
    response_model=RegistrationForm,
    tags=["registration"],
    summary="Record the registration form",
)
def put_registration(plan_id: PlanId, form: RegistrationForm, who: CurrentPrincipal, uow: Uow) -> RegistrationForm:
    """The case manager's judgement for the benchmark: soft characteristics compared with an average
    client (Table 4.2), other municipal provisions used at the same time (Table 4.5) and contact
    hours compared with a regular trajectory (Table 4.6). Replaces what was recorded before. Only
    staff read it back; policy staff see it only as counts in the benchmark."""
    return registration.put_registration(uow, who, plan_id, form)


@router.get(
    "/trajectories/{plan_id}/registration",
    response_model=RegistrationForm,
    tags=["registration"],
    summary="Read the registration form",
)
def get_registration(plan_id: PlanId, who: CurrentPrincipal, session: SessionDep) -> RegistrationForm:
    """The registration form as recorded (what was not judged is null; `provisions` null: not known). Staff only."""
    return registration.get_registration(session, who, plan_id)


@router.post(
    "/trajectories/{plan_id}/costs",
    status_code=201,
    response_model=CostPublic,
    tags=["registration"],
    summary="Record a cost outside the budget",
)
def add_cost(plan_id: PlanId, data: CostCreate, who: CurrentPrincipal, uow: Uow) -> CostPublic:
    """A cost of this trajectory that the client's budget does not carry (external coaching the
    municipality buys itself, an assessment): it counts in the execution cost per trajectory."""
    return registration.add_cost(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/costs",
    response_model=list[CostPublic],
    responses=PAGED,
    tags=["registration"],
    summary="List the costs outside the budget",
)
def list_costs(
    plan_id: PlanId, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[CostPublic]:
    """The costs outside the budget recorded for this trajectory, paged, by day. Staff only."""
    return page_answer(registration.list_costs(session, who, plan_id, page), response)
