"""Monitoring HTTP routes for outcomes, durability, aftercare and the client's voice: parse,
authorise, call a command or a query. No rules here (domain/outcomes.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.monitoring import outcomes
from services.monitoring.api_params import PlanId, Uow
from services.monitoring.domain.outcomes import OutcomeKind
from services.monitoring.models_outcomes import (
    AftercareCreate,
    AftercarePublic,
    ClientVoiceCreate,
    ClientVoicePublic,
    DurabilityCheckCreate,
    DurabilityCheckPublic,
    OutcomeCreate,
    OutcomePublic,
    OutcomeStatePublic,
)
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep
from shared.pagination import PAGED, PageDep, page_answer

router = APIRouter()


@router.post(
    "/trajectories/{plan_id}/outcomes",
    status_code=201,
    response_model=OutcomePublic,
    tags=["outcomes"],
    summary="Register an outcome",
)
def register_outcome(plan_id: PlanId, data: OutcomeCreate, who: CurrentPrincipal, uow: Uow) -> OutcomePublic:
    """An outcome as in Table 4.7 of the benchmark, on its day `on` (`OutcomeRegistered`). Work found
    needs the day it started (`working_since`): not in the future, not before the trajectory
    started; `work_after` only after the trajectory closed. One final outcome per trajectory (409
    `outcome.final_exists`). Work found plans a durability check six months after the start and
    aftercare after 1 and 3 months. `durable`: work observed to last six full months."""
    return outcomes.register_outcome(uow, who, plan_id, data)


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
    """A trajectory's outcomes, oldest registration first."""
    return page_answer(outcomes.list_outcomes(session, who, plan_id, page, outcome=outcome, durable=durable), response)


@router.get(
    "/trajectories/{plan_id}/outcome-state",
    response_model=OutcomeStatePublic,
    tags=["outcomes"],
    summary="The trajectory's outcome now",
)
def get_outcome_state(plan_id: PlanId, who: CurrentPrincipal, session: SessionDep) -> OutcomeStatePublic:
    """The row of Table 4.7 the trajectory is in now, the kind and start of its latest work and
    whether it counts as durable outflow: derived from every outcome and durability check."""
    return outcomes.outcome_state(session, who, plan_id)


@router.post(
    "/trajectories/{plan_id}/durability-checks",
    status_code=201,
    response_model=DurabilityCheckPublic,
    tags=["outcomes"],
    summary="Record whether the client still works",
)
def record_durability_check(
    plan_id: PlanId, data: DurabilityCheckCreate, who: CurrentPrincipal, uow: Uow
) -> DurabilityCheckPublic:
    """About a work outcome (`outcome_id`), on `checked_on`: still working or not. Still working six
    full months or more after the start makes the outflow durable; no longer working makes the
    trajectory's row `work_ended` (durable stays once shown). Completes the durability follow-up."""
    return outcomes.record_durability_check(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/durability-checks",
    response_model=list[DurabilityCheckPublic],
    responses=PAGED,
    tags=["outcomes"],
    summary="List durability checks",
)
def list_durability_checks(
    plan_id: PlanId, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[DurabilityCheckPublic]:
    """A trajectory's durability checks, by the day they are about."""
    return page_answer(outcomes.list_durability_checks(session, who, plan_id, page), response)


@router.post(
    "/trajectories/{plan_id}/aftercare",
    status_code=201,
    response_model=AftercarePublic,
    tags=["outcomes"],
    summary="Record an aftercare check-in",
)
def record_aftercare(plan_id: PlanId, data: AftercareCreate, who: CurrentPrincipal, uow: Uow) -> AftercarePublic:
    """An aftercare (nazorg) contact after a placement; completes the earliest open aftercare
    follow-up. Its `minutes` count in the trajectory's case-manager minutes."""
    return outcomes.record_aftercare(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/aftercare",
    response_model=list[AftercarePublic],
    responses=PAGED,
    tags=["outcomes"],
    summary="List aftercare check-ins",
)
def list_aftercare(
    plan_id: PlanId, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[AftercarePublic]:
    """A trajectory's aftercare check-ins, oldest first."""
    return page_answer(outcomes.list_aftercare(session, who, plan_id, page), response)


@router.post(
    "/trajectories/{plan_id}/client-voice",
    status_code=201,
    response_model=ClientVoicePublic,
    tags=["outcomes"],
    summary="Record what a step brought the client",
)
def record_client_voice(plan_id: PlanId, data: ClientVoiceCreate, who: CurrentPrincipal, uow: Uow) -> ClientVoicePublic:
    """The client's own voice ("Gewogen Maatwerk"): a step (in words or a plan line), what it
    brought them in their words, and a score from 1 to 10. The client side on its own trajectory,
    or staff writing it down for them."""
    return outcomes.record_client_voice(uow, who, plan_id, data)


@router.get(
    "/trajectories/{plan_id}/client-voice",
    response_model=list[ClientVoicePublic],
    responses=PAGED,
    tags=["outcomes"],
    summary="List what the steps brought the client",
)
def list_client_voice(
    plan_id: PlanId, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[ClientVoicePublic]:
    """The client's words and scores on a trajectory, oldest first. Staff and the client side; not
    policy (the benchmark has the averages)."""
    return page_answer(outcomes.list_client_voice(session, who, plan_id, page), response)
