"""Intake HTTP routes for review and decisions: the review queue, decisions and the decision
letter, objections and change requests. Parse, authorise, call a command or a query.
Included by api.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from services.intake import decisions, queries
from services.intake.schemas import (
    ChangeDecisionIn,
    ChangeRequestCreate,
    ChangeRequestPublic,
    DecisionIn,
    DecisionPublic,
    ObjectionCreate,
    ObjectionPublic,
    PlanPublic,
    ReviewPublic,
)
from shared.auth import CurrentPrincipal
from shared.deps import ClockDep, SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("intake"))]
Id = str  # ids are opaque: an unknown one is a 404, whatever its length


@router.get(
    "/reviews", response_model=list[ReviewPublic], tags=["decisions"], responses=PAGED, summary="The review queue"
)
def review_queue(
    who: CurrentPrincipal, session: SessionDep, clock: ClockDep, page: PageDep, response: Response, mine: bool = True
) -> list[ReviewPublic]:
    """Submitted plans waiting for a decision, oldest first, with age, decision deadline, warning
    and overdue. A case manager sees their caseload, a team lead the approvals waiting for a
    second look; `mine=false`: everything."""
    return page_answer(queries.review_queue(session, who, clock.today(), page, mine), response)


@router.post("/plans/{plan_id}/decisions", response_model=PlanPublic, tags=["decisions"], summary="Decide on a plan")
def decide(plan_id: Id, cmd: DecisionIn, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    """Approve, return, reject or confirm (the second reviewer) the submitted plan; emits
    PlanApproved, PlanReturned or PlanRejected when the review ends."""
    return decisions.decide(uow, who, plan_id, cmd)


@router.get(
    "/plans/{plan_id}/decisions",
    response_model=list[DecisionPublic],
    tags=["decisions"],
    responses=PAGED,
    summary="List a plan's decisions",
)
def list_decisions(
    plan_id: Id, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[DecisionPublic]:
    """Who decided what, when and why; the client side without internal notes."""
    return page_answer(queries.list_decisions(session, who, plan_id, page), response)


@router.get(
    "/plans/{plan_id}/decision-letter",
    tags=["decisions"],
    summary="The decision letter",
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def decision_letter(
    plan_id: Id,
    who: CurrentPrincipal,
    session: SessionDep,
    lang: Literal["nl", "en"] | None = None,
    format: Literal["html", "pdf"] = "html",
) -> Response:
    """The decision letter (beschikking) as HTML or PDF, in Dutch or English (default: the
    client's language): the decision, reasons, budget per line, conditions and how to object."""
    body, media_type = queries.decision_letter(session, who, plan_id, lang, format)
    headers = {"Content-Disposition": 'attachment; filename="besluit.pdf"'} if format == "pdf" else {}
    return Response(body, media_type=media_type, headers=headers)


@router.post(
    "/plans/{plan_id}/objections",
    status_code=201,
    response_model=ObjectionPublic,
    tags=["decisions"],
    summary="Record an objection",
)
def lodge_objection(plan_id: Id, data: ObjectionCreate, who: CurrentPrincipal, uow: Uow) -> ObjectionPublic:
    """Record an objection (bezwaar) to the decision; one after the six-week term is marked late."""
    return decisions.lodge_objection(uow, who, plan_id, data)


@router.get(
    "/plans/{plan_id}/objections",
    response_model=list[ObjectionPublic],
    tags=["decisions"],
    responses=PAGED,
    summary="List a plan's objections",
)
def list_objections(
    plan_id: Id, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[ObjectionPublic]:
    """The objections to the plan's decision, oldest first."""
    return page_answer(queries.list_objections(session, who, plan_id, page), response)


@router.post(
    "/plans/{plan_id}/changes",
    status_code=201,
    response_model=ChangeRequestPublic,
    tags=["changes"],
    summary="Ask for a change",
)
def request_change(plan_id: Id, data: ChangeRequestCreate, who: CurrentPrincipal, uow: Uow) -> ChangeRequestPublic:
    """Ask to change an approved plan: other providers, moved dates, money moved between lines
    within the granted total."""
    return decisions.request_change(uow, who, plan_id, data)


@router.get(
    "/plans/{plan_id}/changes",
    response_model=list[ChangeRequestPublic],
    tags=["changes"],
    responses=PAGED,
    summary="List a plan's change requests",
)
def list_changes(
    plan_id: Id, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[ChangeRequestPublic]:
    """The plan's change requests, oldest first, with their status."""
    return page_answer(queries.list_changes(session, who, plan_id, page), response)


@router.post(
    "/plans/{plan_id}/changes/{change_id}/decision",
    response_model=ChangeRequestPublic,
    tags=["changes"],
    summary="Decide on a change",
)
def decide_change(
    plan_id: Id, change_id: Id, cmd: ChangeDecisionIn, who: CurrentPrincipal, uow: Uow
) -> ChangeRequestPublic:
    """Approve or reject a change request: someone other than the requester, above the four-eyes
    threshold a team lead. An approval emits PlanChanged."""
    return decisions.decide_change(uow, who, plan_id, change_id, cmd)
