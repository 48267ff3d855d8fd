"""Intake HTTP routes: parse, authorise, call a handler. No rules here."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.intake import handlers
from services.intake.domain.plan_checks import MAX_ATTACHMENT_BYTES
from services.intake.models import (
    AttachmentPublic,
    CandidatePublic,
    ChangeDecisionIn,
    ChangeRequestCreate,
    ChangeRequestPublic,
    ClientCreate,
    ClientPublic,
    ClientUpdate,
    CloseTrajectory,
    ContactCreate,
    ContactPublic,
    DecisionIn,
    DecisionPublic,
    EligibilityPublic,
    ObjectionCreate,
    ObjectionPublic,
    OrientationPublic,
    OrientationStart,
    PlanChecksPublic,
    PlanCreate,
    PlanPublic,
    PlanSave,
    PlanVersionPublic,
    PlanVersionRef,
    RepresentativeCreate,
    RepresentativePublic,
    ReviewPublic,
)
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.identifiers import INT32_MAX
from shared.problems import Problem
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("intake"))]


# --- policy ---------------------------------------------------------------------------------


@router.get("/policy", tags=["policy"])
def get_policy(who: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return handlers.get_policy(session, who)


@router.put("/policy", tags=["policy"])
def put_policy(document: dict[str, Any], who: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Replace the policy; settings the document leaves out take the defaults."""
    return handlers.put_policy(uow, who, document)


MERGE_PATCH = "application/merge-patch+json"


def _merge_patch_body(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != MERGE_PATCH:
        raise Problem(415, "Unsupported media type",
                      f"Send the change as a JSON merge patch (RFC 7396) with Content-Type: {MERGE_PATCH}.",
                      headers={"Accept-Patch": MERGE_PATCH})


@router.patch("/policy", tags=["policy"], dependencies=[Depends(_merge_patch_body)],
              openapi_extra={"requestBody": {"required": True, "content": {
                  MERGE_PATCH: {"schema": {"type": "object", "additionalProperties": True}}}}})
def patch_policy(who: CurrentPrincipal, uow: Uow,
                 patch: Annotated[dict[str, Any], Body(media_type=MERGE_PATCH)]) -> dict[str, Any]:
    """Change part of the policy with a JSON merge patch (RFC 7396): objects merge, `null`
    removes a setting (it takes the default), lists are replaced whole."""
    return handlers.patch_policy(uow, who, patch)


@router.get("/policy/presets", tags=["policy"])
def list_presets(who: CurrentPrincipal) -> dict[str, dict[str, Any]]:
    return handlers.list_presets(who)


# --- clients --------------------------------------------------------------------------------


@router.post("/clients", status_code=201, response_model=ClientPublic, tags=["clients"])
def register_client(data: ClientCreate, who: CurrentPrincipal, uow: Uow) -> ClientPublic:
    return handlers.register_client(uow, who, data)


@router.get("/clients", response_model=list[ClientPublic], tags=["clients"])
def list_clients(who: CurrentPrincipal, session: SessionDep) -> list[ClientPublic]:
    return handlers.list_clients(session, who)


@router.get("/clients/{client_id}", response_model=ClientPublic, tags=["clients"])
def get_client(client_id: str, who: CurrentPrincipal, session: SessionDep) -> ClientPublic:
    return handlers.get_client(session, who, client_id)


@router.patch("/clients/{client_id}", response_model=ClientPublic, tags=["clients"])
def update_client(client_id: str, data: ClientUpdate, who: CurrentPrincipal, uow: Uow) -> ClientPublic:
    return handlers.update_client(uow, who, client_id, data)


@router.get("/clients/{client_id}/eligibility", response_model=EligibilityPublic, tags=["clients"])
def check_eligibility(client_id: str, who: CurrentPrincipal, session: SessionDep,
                      scheme: Literal["prb", "pgb_bw", "pib", "rio_iro"] | None = None,
                      on: date | None = None) -> EligibilityPublic:
    return handlers.check_client_eligibility(session, who, client_id, scheme, on)


@router.post("/clients/{client_id}/representatives", status_code=201, response_model=RepresentativePublic,
             tags=["clients"])
def add_representative(client_id: str, data: RepresentativeCreate, who: CurrentPrincipal,
                       uow: Uow) -> RepresentativePublic:
    return handlers.add_representative(uow, who, client_id, data)


@router.get("/clients/{client_id}/representatives", response_model=list[RepresentativePublic], tags=["clients"])
def list_representatives(client_id: str, who: CurrentPrincipal, session: SessionDep) -> list[RepresentativePublic]:
    return handlers.list_representatives(session, who, client_id)


@router.delete("/clients/{client_id}/representatives/{representative_id}", response_model=RepresentativePublic,
               tags=["clients"])
def end_representation(client_id: str, representative_id: str, who: CurrentPrincipal,
                       uow: Uow) -> RepresentativePublic:
    return handlers.end_representation(uow, who, client_id, representative_id)


@router.post("/clients/{client_id}/contacts", status_code=201, response_model=ContactPublic, tags=["recruitment"])
def record_contact(client_id: str, data: ContactCreate, who: CurrentPrincipal, uow: Uow) -> ContactPublic:
    return handlers.record_contact(uow, who, client_id, data)


@router.get("/clients/{client_id}/contacts", response_model=list[ContactPublic], tags=["recruitment"])
def list_contacts(client_id: str, who: CurrentPrincipal, session: SessionDep) -> list[ContactPublic]:
    return handlers.list_contacts(session, who, client_id)


@router.get("/candidates", response_model=list[CandidatePublic], tags=["recruitment"])
def list_candidates(who: CurrentPrincipal, session: SessionDep, eligible_only: bool = True) -> list[CandidatePublic]:
    return handlers.list_candidates(session, who, eligible_only)


@router.post("/clients/{client_id}/orientation", status_code=201, response_model=OrientationPublic,
             tags=["orientation"])
def start_orientation(client_id: str, data: OrientationStart, who: CurrentPrincipal, uow: Uow) -> OrientationPublic:
    return handlers.start_orientation(uow, who, client_id, data)


@router.get("/clients/{client_id}/orientation", response_model=list[OrientationPublic], tags=["orientation"])
def list_orientations(client_id: str, who: CurrentPrincipal, session: SessionDep) -> list[OrientationPublic]:
    return handlers.list_orientations(session, who, client_id)


# --- plans ----------------------------------------------------------------------------------


@router.post("/plans", status_code=201, response_model=PlanPublic, tags=["plans"])
def create_plan(data: PlanCreate, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.create_plan(uow, who, data)


@router.get("/plans", response_model=list[PlanPublic], tags=["plans"])
def list_plans(who: CurrentPrincipal, session: SessionDep, status: str | None = None,
               client_id: str | None = None) -> list[PlanPublic]:
    return handlers.list_plans(session, who, status, client_id)


@router.get("/plans/{plan_id}", response_model=PlanPublic, tags=["plans"])
def get_plan(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> PlanPublic:
    return handlers.get_plan(session, who, plan_id)


@router.put("/plans/{plan_id}", response_model=PlanPublic, tags=["plans"])
def save_draft(plan_id: str, data: PlanSave, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.save_draft(uow, who, plan_id, data)


@router.get("/plans/{plan_id}/versions", response_model=list[PlanVersionPublic], tags=["plans"])
def list_versions(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> list[PlanVersionPublic]:
    return handlers.list_versions(session, who, plan_id)


@router.get("/plans/{plan_id}/versions/{number}", response_model=PlanVersionPublic, tags=["plans"])
def get_version(plan_id: str, number: Annotated[int, Path(ge=1, le=INT32_MAX)], who: CurrentPrincipal,
                session: SessionDep) -> PlanVersionPublic:
    return handlers.get_version(session, who, plan_id, number)


@router.get("/plans/{plan_id}/checks", response_model=PlanChecksPublic, tags=["plans"])
def plan_checks(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> PlanChecksPublic:
    return handlers.plan_checks(session, who, plan_id)


@router.post("/plans/{plan_id}/submit", response_model=PlanPublic, tags=["plans"])
def submit_plan(plan_id: str, ref: PlanVersionRef, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.submit_plan(uow, who, plan_id, ref)


@router.post("/plans/{plan_id}/attachments", status_code=201, response_model=AttachmentPublic, tags=["plans"])
async def add_attachment(plan_id: str, file: UploadFile, who: CurrentPrincipal, uow: Uow) -> AttachmentPublic:
    # Read one byte past the limit: enough to refuse, never the whole of a huge upload.
    data = await file.read(MAX_ATTACHMENT_BYTES + 1)
    return await run_in_threadpool(handlers.add_attachment, uow, who, plan_id, file.filename or "",
                                   file.content_type or "", data)


@router.get("/plans/{plan_id}/attachments", response_model=list[AttachmentPublic], tags=["plans"])
def list_attachments(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> list[AttachmentPublic]:
    return handlers.list_attachments(session, who, plan_id)


@router.get("/plans/{plan_id}/attachments/{attachment_id}", tags=["plans"],
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_attachment(plan_id: str, attachment_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    attachment = handlers.get_attachment(session, who, plan_id, attachment_id)
    return Response(attachment.content, media_type=attachment.content_type, headers={
        "Content-Disposition": f'attachment; filename="{attachment.id}"', "X-Content-SHA256": attachment.sha256})


# --- review and decisions -------------------------------------------------------------------


@router.get("/reviews", response_model=list[ReviewPublic], tags=["decisions"])
def review_queue(who: CurrentPrincipal, session: SessionDep, mine: bool = True) -> list[ReviewPublic]:
    return handlers.review_queue(session, who, mine)


@router.post("/plans/{plan_id}/decisions", response_model=PlanPublic, tags=["decisions"])
def decide(plan_id: str, cmd: DecisionIn, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.decide(uow, who, plan_id, cmd)


@router.get("/plans/{plan_id}/decisions", response_model=list[DecisionPublic], tags=["decisions"])
def list_decisions(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> list[DecisionPublic]:
    return handlers.list_decisions(session, who, plan_id)


@router.get("/plans/{plan_id}/letter", tags=["decisions"],
            responses={200: {"content": {"text/html": {}, "application/pdf": {}}}})
def decision_letter(plan_id: str, who: CurrentPrincipal, session: SessionDep,
                    language: Literal["nl", "en"] | None = None,
                    format: Annotated[Literal["html", "pdf"], Query()] = "html") -> Response:
    body, media_type = handlers.decision_letter(session, who, plan_id, language, format)
    headers = {"Content-Disposition": 'attachment; filename="besluit.pdf"'} if format == "pdf" else {}
    return Response(body, media_type=media_type, headers=headers)


@router.post("/plans/{plan_id}/objections", status_code=201, response_model=ObjectionPublic, tags=["decisions"])
def lodge_objection(plan_id: str, data: ObjectionCreate, who: CurrentPrincipal, uow: Uow) -> ObjectionPublic:
    return handlers.lodge_objection(uow, who, plan_id, data)


@router.get("/plans/{plan_id}/objections", response_model=list[ObjectionPublic], tags=["decisions"])
def list_objections(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> list[ObjectionPublic]:
    return handlers.list_objections(session, who, plan_id)


@router.post("/plans/{plan_id}/changes", status_code=201, response_model=ChangeRequestPublic, tags=["changes"])
def request_change(plan_id: str, data: ChangeRequestCreate, who: CurrentPrincipal, uow: Uow) -> ChangeRequestPublic:
    return handlers.request_change(uow, who, plan_id, data)


@router.get("/plans/{plan_id}/changes", response_model=list[ChangeRequestPublic], tags=["changes"])
def list_changes(plan_id: str, who: CurrentPrincipal, session: SessionDep) -> list[ChangeRequestPublic]:
    return handlers.list_changes(session, who, plan_id)


@router.post("/plans/{plan_id}/changes/{change_id}/decision", response_model=ChangeRequestPublic, tags=["changes"])
def decide_change(plan_id: str, change_id: str, cmd: ChangeDecisionIn, who: CurrentPrincipal,
                  uow: Uow) -> ChangeRequestPublic:
    return handlers.decide_change(uow, who, plan_id, change_id, cmd)


@router.post("/plans/{plan_id}/close", response_model=PlanPublic, tags=["plans"])
def close_trajectory(plan_id: str, cmd: CloseTrajectory, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    return handlers.close_trajectory(uow, who, plan_id, cmd)

