"""Intake routes for the warm hand-over between UWV and the municipality (iro, issue 13): parse,
authorise, call handovers.py. Included by api.py. docs/api.md has a worked example of each call."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.intake import handovers
from services.intake.models_handovers import (
    HandoverAccept,
    HandoverCreate,
    HandoverDecline,
    HandoverPublic,
    HandoverToPartner,
    PartnerHandoverPublic,
)
from shared.auth import CurrentPrincipal
from shared.deps import ClockDep, SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("intake"))]
Id = str


# --- the partner (UWV) -------------------------------------------------------------------------


@router.post(
    "/partner/handovers",
    status_code=201,
    response_model=PartnerHandoverPublic,
    tags=["handovers"],
    summary="Hand a client over to the municipality",
)
def send_handover(data: HandoverCreate, who: CurrentPrincipal, uow: Uow) -> PartnerHandoverPublic:
    """A partner application with scope `handovers:write` (UWV) hands a client over: the BSN (in this
    body only), a reason code, the trajectory so far as structured fields, the reintegration company
    chosen under the iro if any, and the consent the client gave (date and reference). Pending until
    a case manager accepts or declines it."""
    return handovers.send_to_municipality(uow, who, data)


@router.get(
    "/partner/handovers",
    response_model=list[PartnerHandoverPublic],
    tags=["handovers"],
    responses=PAGED,
    summary="List this partner's hand-overs",
)
def list_partner_handovers(
    who: CurrentPrincipal, session: SessionDep, clock: ClockDep, page: PageDep, response: Response
) -> list[PartnerHandoverPublic]:
    """The hand-overs the partner's organisation sent (their status) and those addressed to it while
    the client's consent for it lasts, oldest first."""
    return page_answer(handovers.list_partner_handovers(session, who, clock.today(), page), response)


@router.get(
    "/partner/handovers/{handover_id}",
    response_model=PartnerHandoverPublic,
    tags=["handovers"],
    summary="Read one of this partner's hand-overs",
)
def get_partner_handover(
    handover_id: Id, who: CurrentPrincipal, session: SessionDep, clock: ClockDep
) -> PartnerHandoverPublic:
    """One of the partner's own hand-overs (as in the list); any other id is a 404."""
    return handovers.get_partner_handover(session, who, handover_id, clock.today())


# --- the municipality ----------------------------------------------------------------------------


@router.get(
    "/handovers",
    response_model=list[HandoverPublic],
    tags=["handovers"],
    responses=PAGED,
    summary="List the municipality's hand-overs",
)
def list_handovers(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    status: Annotated[Literal["pending", "accepted", "declined", "sent"] | None, Query()] = None,
    direction: Annotated[Literal["to_municipality", "to_partner"] | None, Query()] = None,
) -> list[HandoverPublic]:
    """The municipality's hand-overs in both directions, oldest first (`status=pending`: the ones
    waiting for a decision); without the BSN, which only the single read shows."""
    return page_answer(handovers.list_handovers(session, who, page, status, direction), response)


@router.get("/handovers/{handover_id}", response_model=HandoverPublic, tags=["handovers"], summary="Read a hand-over")
def get_handover(handover_id: Id, who: CurrentPrincipal, session: SessionDep) -> HandoverPublic:
    """One hand-over of the municipality, with the BSN the partner sent and the trajectory so far."""
    return handovers.get_handover(session, who, handover_id)


@router.post(
    "/handovers/{handover_id}/accept",
    response_model=HandoverPublic,
    tags=["handovers"],
    summary="Accept a partner's hand-over",
)
def accept_handover(handover_id: Id, data: HandoverAccept, who: CurrentPrincipal, uow: Uow) -> HandoverPublic:
    """Accept a pending hand-over: link the client the BSN matched, or name one (`client_id`), or
    register one (`new_client`); records the client's consent for the partner (purpose
    `warm_handover`); emits HandoverAccepted."""
    return handovers.accept_handover(uow, who, handover_id, data)


@router.post(
    "/handovers/{handover_id}/decline",
    response_model=HandoverPublic,
    tags=["handovers"],
    summary="Decline a partner's hand-over",
)
def decline_handover(handover_id: Id, data: HandoverDecline, who: CurrentPrincipal, uow: Uow) -> HandoverPublic:
    """Decline a pending hand-over with a reason code (and a note for staff); emits HandoverDeclined."""
    return handovers.decline_handover(uow, who, handover_id, data)


@router.post(
    "/clients/{client_id}/handovers",
    status_code=201,
    response_model=HandoverPublic,
    tags=["handovers"],
    summary="Hand a client over to a partner",
)
def send_handover_to_partner(client_id: Id, data: HandoverToPartner, who: CurrentPrincipal, uow: Uow) -> HandoverPublic:
    """Hand the client over to a partner (UWV) by its KvK number, only while the client has an active
    consent for that partner with purpose `warm_handover` (else 422 naming `partner_kvk`); emits
    HandoverSent."""
    return handovers.send_to_partner(uow, who, client_id, data)
