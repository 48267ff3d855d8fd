"""Intake HTTP routes: parse, authorise, call a command or a query. No rules here.

Authorisation is in the commands and queries (permissions.py), so the demo data and the
tests that call them directly pass the same checks as a request. The review and decision
routes are in api_decisions.py, included here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Depends, Path, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.intake import commands, decisions, queries
from services.intake.api_decisions import router as decisions_router
from services.intake.api_handovers import router as handovers_router
from services.intake.api_partners import router as partners_router
from services.intake.api_provider_list import router as provider_list_router
from services.intake.domain.attachment_checks import MAX_ATTACHMENT_BYTES
from services.intake.domain.plan import AttachmentRefused, PlanChecksFailed, PlanStatus
from services.intake.schemas import (
    AttachmentPublic,
    CandidatePublic,
    ClientContactPublic,
    ClientCreate,
    ClientPublic,
    ClientUpdate,
    CloseTrajectory,
    ContactCreate,
    ContactPublic,
    EligibilityPublic,
    OrientationPublic,
    OrientationStart,
    PibPresetApply,
    PlanChecksPublic,
    PlanCreate,
    PlanPublic,
    PlanSave,
    PlanVersionPublic,
    PlanVersionRef,
    PolicyChangePublic,
    RepresentativeCreate,
    RepresentativePublic,
)
from shared.auth import CurrentPrincipal
from shared.deps import ClockDep, SessionDep, uow_dependency
from shared.identifiers import BSN, INT32_MAX
from shared.money import Money
from shared.pagination import PAGED, PageDep, page_answer
from shared.problems import Problem
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("intake"))]
Id = str  # ids are opaque: an unknown one is a 404, whatever its length
T = TypeVar("T")


@contextmanager
def _listing_every_finding() -> Iterator[None]:
    """A refused submission or upload answers with every finding in `errors`, not only the first."""
    try:
        yield
    except PlanChecksFailed as exc:
        raise Problem(
            422,
            "Plan cannot be submitted yet",
            exc.message,
            code=exc.code,
            errors=[
                {"field": f.field, "code": f.code, "message": f.message_en, "message_nl": f.message_nl}
                for f in exc.findings
            ],
        ) from exc
    except AttachmentRefused as exc:
        raise Problem(
            exc.status,
            "Attachment refused",
            exc.message,
            code=exc.code,
            errors=[{"field": f.field, "code": f.code, "message": f.message_en} for f in exc.findings],
        ) from exc


def _refusing_with_findings(work: Callable[[], T]) -> T:
    with _listing_every_finding():
        return work()


# --- policy ---------------------------------------------------------------------------------


@router.get("/policy", tags=["policy"], summary="Read the intake policy")
def get_policy(who: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """The municipality's intake policy: schemes and maximums, orientation phase, admission rules,
    review model, execution months, four-eyes threshold, decision term, required plan elements and
    quotes. Without a stored policy: the municipality's preset, or a neutral default."""
    return queries.get_policy(session, who)


@router.put("/policy", tags=["policy"], summary="Replace the intake policy")
def put_policy(document: dict[str, Any], who: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Replace the policy with this whole document; settings it leaves out take the neutral
    defaults, the municipality's code and name stay. Reviews already running keep the policy of
    their submission day."""
    return commands.put_policy(uow, who, document)


MERGE_PATCH = "application/merge-patch+json"


def _merge_patch_body(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != MERGE_PATCH:
        raise Problem(
            415,
            "Unsupported media type",
            f"Send the change as a JSON merge patch (RFC 7396) with Content-Type: {MERGE_PATCH}.",
            headers={"Accept-Patch": MERGE_PATCH},
        )


@router.patch(
    "/policy",
    tags=["policy"],
    dependencies=[Depends(_merge_patch_body)],
    summary="Change the policy",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {MERGE_PATCH: {"schema": {"type": "object", "additionalProperties": True}}},
        }
    },
)
def patch_policy(
    who: CurrentPrincipal, uow: Uow, patch: Annotated[dict[str, Any], Body(media_type=MERGE_PATCH)]
) -> dict[str, Any]:
    """Change part of the policy with a JSON merge patch (RFC 7396): objects merge, `null`
    removes a setting (it takes the default), lists are replaced whole."""
    return commands.patch_policy(uow, who, patch)


@router.get(
    "/policy/changes",
    response_model=list[PolicyChangePublic],
    tags=["policy"],
    responses=PAGED,
    summary="List the policy's changes",
)
def list_policy_changes(
    who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[PolicyChangePublic]:
    """Who changed the municipality's policy, when, and each setting's old and new value (dotted
    names such as `orientation.months`), newest first. A PUT or PATCH that changes nothing adds nothing."""
    return page_answer(queries.list_policy_changes(session, who, page), response)


@router.post("/policy/scheme-presets/pib", tags=["policy"], summary="Offer pib with its preset")
def apply_pib_preset(data: PibPresetApply, who: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Offer the persoonlijk inburgeringsbudget (pib) with its preset: a request the municipality
    assesses, a duaal traject (civic integration and reintegration parts in every plan), the
    municipality as contracting party, and the maximum given here (required: the report gives none).
    Answers the whole policy; in the change log."""
    return commands.apply_pib_preset(uow, who, Money.euros(str(data.maximum_budget)))


@router.get("/policy/presets", tags=["policy"], summary="List the policy presets")
def list_presets(who: CurrentPrincipal) -> dict[str, dict[str, Any]]:
    """The shipped presets (the report's municipalities), as policy documents to start from."""
    return queries.list_presets(who)


# --- clients --------------------------------------------------------------------------------


@router.post("/clients", status_code=201, response_model=ClientPublic, tags=["clients"], summary="Register a client")
def register_client(data: ClientCreate, who: CurrentPrincipal, uow: Uow) -> ClientPublic:
    """Register a client of the caller's municipality, in a scheme it offers; emits ClientRegistered."""
    return commands.register_client(uow, who, data)


@router.get("/clients", response_model=list[ClientPublic], tags=["clients"], responses=PAGED, summary="List clients")
def list_clients(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    case_manager: Annotated[
        list[str] | None,
        Query(max_length=20, description="Only the clients of these case managers (repeat it; empty: no one's)."),
    ] = None,
) -> list[ClientPublic]:
    """The municipality's clients, oldest first; the client side sees only itself."""
    return page_answer(queries.list_clients(session, who, page, case_manager), response)


@router.post("/clients/search", response_model=list[ClientPublic], tags=["clients"], summary="Find a client by BSN")
def find_clients_by_bsn(
    bsn: Annotated[BSN, Body(embed=True)], who: CurrentPrincipal, session: SessionDep
) -> list[ClientPublic]:
    """The municipality's client with this BSN (a list of none or one). A POST, so the BSN is in the
    body and never in a URL or an access log; found by the BSN's keyed hash."""
    return queries.find_clients_by_bsn(session, who, bsn)


@router.get("/clients/{client_id}", response_model=ClientPublic, tags=["clients"], summary="Read a client")
def get_client(client_id: Id, who: CurrentPrincipal, session: SessionDep) -> ClientPublic:
    """One client with contact details and the facts for the admission rules."""
    return queries.get_client(session, who, client_id)


@router.get(
    "/clients/{client_id}/contact",
    response_model=ClientContactPublic,
    tags=["clients"],
    summary="Where to reach a client",
)
def get_client_contact(client_id: Id, who: CurrentPrincipal, session: SessionDep) -> ClientContactPublic:
    """E-mail, phone, language and the active representatives' e-mail: staff, and notifications
    (role `service`) when it sends a message."""
    return queries.get_client_contact(session, who, client_id)


@router.patch("/clients/{client_id}", response_model=ClientPublic, tags=["clients"], summary="Change a client")
def update_client(client_id: Id, data: ClientUpdate, who: CurrentPrincipal, uow: Uow) -> ClientPublic:
    """Change contact details, scheme, facts or case manager; only what is sent changes."""
    return commands.update_client(uow, who, client_id, data)


@router.get(
    "/clients/{client_id}/eligibility",
    response_model=EligibilityPublic,
    tags=["clients"],
    summary="Check a client's eligibility",
)
def check_eligibility(
    client_id: Id,
    who: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    scheme: Literal["prb", "pgb_bw", "pib", "rio_iro"] | None = None,
    on: date | None = None,
) -> EligibilityPublic:
    """Every admission criterion with passed or failed, the reason in Dutch and English, and
    whether a fact is still unknown; for the client's scheme (or `scheme`), today (or `on`)."""
    return queries.check_client_eligibility(session, who, client_id, scheme, on, clock.today())


@router.post(
    "/clients/{client_id}/representatives",
    status_code=201,
    response_model=RepresentativePublic,
    tags=["clients"],
    summary="Register a representative",
)
def add_representative(
    client_id: Id, data: RepresentativeCreate, who: CurrentPrincipal, uow: Uow
) -> RepresentativePublic:
    """A guardian or helper who acts for the client with their own login (a `representative`
    token with that `subject` and `client_id`)."""
    return commands.add_representative(uow, who, client_id, data)


@router.get(
    "/clients/{client_id}/representatives",
    response_model=list[RepresentativePublic],
    tags=["clients"],
    responses=PAGED,
    summary="List a client's representatives",
)
def list_representatives(
    client_id: Id, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[RepresentativePublic]:
    """The client's representatives, active and ended, oldest first."""
    return page_answer(queries.list_representatives(session, who, client_id, page), response)


@router.delete(
    "/clients/{client_id}/representatives/{representative_id}",
    response_model=RepresentativePublic,
    tags=["clients"],
    summary="End a representation",
)
def end_representation(client_id: Id, representative_id: Id, who: CurrentPrincipal, uow: Uow) -> RepresentativePublic:
    """End the representation: the representative's login loses access to the client at once."""
    return commands.end_representation(uow, who, client_id, representative_id)


@router.post(
    "/clients/{client_id}/contacts",
    status_code=201,
    response_model=ContactPublic,
    tags=["recruitment"],
    summary="Record a contact",
)
def record_contact(client_id: Id, data: ContactCreate, who: CurrentPrincipal, uow: Uow) -> ContactPublic:
    """Recruitment and information: when and how the client was informed, and their interest."""
    return commands.record_contact(uow, who, client_id, data)


@router.get(
    "/clients/{client_id}/contacts",
    response_model=list[ContactPublic],
    tags=["recruitment"],
    responses=PAGED,
    summary="List a client's contacts",
)
def list_contacts(
    client_id: Id, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[ContactPublic]:
    """The contacts with the client, in the order they happened."""
    return page_answer(queries.list_contacts(session, who, client_id, page), response)


@router.get(
    "/candidates",
    response_model=list[CandidatePublic],
    tags=["recruitment"],
    responses=PAGED,
    summary="List candidates",
)
def list_candidates(
    who: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    page: PageDep,
    response: Response,
    eligible_only: bool = True,
) -> list[CandidatePublic]:
    """The caseload (a case manager's own clients; a team lead's whole municipality) checked
    against the hard criteria today, with the last contact."""
    return page_answer(queries.list_candidates(session, who, clock.today(), page, eligible_only), response)


@router.post(
    "/clients/{client_id}/orientation",
    status_code=201,
    response_model=OrientationPublic,
    tags=["orientation"],
    summary="Start the orientation phase",
)
def start_orientation(client_id: Id, data: OrientationStart, who: CurrentPrincipal, uow: Uow) -> OrientationPublic:
    """Start the orientation phase for the policy's length, with its orientation budget if the
    policy has one; emits OrientationStarted."""
    return commands.start_orientation(uow, who, client_id, data)


@router.get(
    "/clients/{client_id}/orientation",
    response_model=list[OrientationPublic],
    tags=["orientation"],
    responses=PAGED,
    summary="List a client's orientation phases",
)
def list_orientations(
    client_id: Id, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[OrientationPublic]:
    """The client's orientation phases, earliest first."""
    return page_answer(queries.list_orientations(session, who, client_id, page), response)


# --- plans ----------------------------------------------------------------------------------


@router.post("/plans", status_code=201, response_model=PlanPublic, tags=["plans"], summary="Create a plan")
def create_plan(data: PlanCreate, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    """Create a plan in the Groningen format as a draft, version 1; one unfinished plan per client."""
    return commands.create_plan(uow, who, data)


@router.get("/plans", response_model=list[PlanPublic], tags=["plans"], responses=PAGED, summary="List plans")
def list_plans(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    status: PlanStatus | None = None,
    client_id: Annotated[str | None, Query(max_length=36)] = None,
) -> list[PlanPublic]:
    """The municipality's plans, oldest first, optionally of one status or one client; the client
    side sees only its own. An unknown status is a 422."""
    return page_answer(queries.list_plans(session, who, page, status, client_id), response)


@router.get("/plans/{plan_id}", response_model=PlanPublic, tags=["plans"], summary="Read a plan")
def get_plan(plan_id: Id, who: CurrentPrincipal, session: SessionDep) -> PlanPublic:
    """One plan with its content and, once approved, its granted lines."""
    return queries.get_plan(session, who, plan_id)


@router.put("/plans/{plan_id}", response_model=PlanPublic, tags=["plans"], summary="Save a draft")
def save_draft(plan_id: Id, data: PlanSave, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    """Save a new draft of a draft or returned plan (with the `plan_version` read); every save is
    kept as a numbered version. Keep a budget line's `id` to change that line."""
    return commands.save_draft(uow, who, plan_id, data)


@router.get(
    "/plans/{plan_id}/versions",
    response_model=list[PlanVersionPublic],
    tags=["plans"],
    responses=PAGED,
    summary="List a plan's versions",
)
def list_versions(
    plan_id: Id, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[PlanVersionPublic]:
    """Every saved draft and submitted version with its SHA-256 (without the content)."""
    return page_answer(queries.list_versions(session, who, plan_id, page), response)


@router.get(
    "/plans/{plan_id}/versions/{number}",
    response_model=PlanVersionPublic,
    tags=["plans"],
    summary="Read a plan version",
)
def get_version(
    plan_id: Id, number: Annotated[int, Path(ge=1, le=INT32_MAX)], who: CurrentPrincipal, session: SessionDep
) -> PlanVersionPublic:
    """One numbered version with its content; submitted versions never change."""
    return queries.get_version(session, who, plan_id, number)


@router.get("/plans/{plan_id}/checks", response_model=PlanChecksPublic, tags=["plans"], summary="Check a plan")
def plan_checks(plan_id: Id, who: CurrentPrincipal, session: SessionDep, clock: ClockDep) -> PlanChecksPublic:
    """The plan checks as of today: each finding a block, warning or signal with the field and a
    message in Dutch and English; whether it can be submitted, its total and its maximum."""
    return queries.plan_checks(session, who, plan_id, clock.today())


@router.post("/plans/{plan_id}/submit", response_model=PlanPublic, tags=["plans"], summary="Submit a plan")
def submit_plan(plan_id: Id, ref: PlanVersionRef, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    """Submit the plan (with `plan_version`): refused with 422 `plan.checks_failed` and every
    blocking finding in `errors`; otherwise the review starts with its decision deadline and
    PlanSubmitted is emitted."""
    return _refusing_with_findings(lambda: commands.submit_plan(uow, who, plan_id, ref))


@router.post(
    "/plans/{plan_id}/attachments",
    status_code=201,
    response_model=AttachmentPublic,
    tags=["plans"],
    summary="Attach a file",
)
async def add_attachment(plan_id: Id, file: UploadFile, who: CurrentPrincipal, uow: Uow) -> AttachmentPublic:
    """Attach a quote or another document (PDF, PNG, JPEG, XML or DOCX, at most 10 MiB) to a draft
    or returned plan; stored with its SHA-256."""
    # Read one byte past the limit: enough to refuse, never the whole of a huge upload.
    data = await file.read(MAX_ATTACHMENT_BYTES + 1)
    with _listing_every_finding():
        return await run_in_threadpool(
            commands.add_attachment, uow, who, plan_id, file.filename or "", file.content_type or "", data
        )


@router.get(
    "/plans/{plan_id}/attachments",
    response_model=list[AttachmentPublic],
    tags=["plans"],
    responses=PAGED,
    summary="List a plan's attachments",
)
def list_attachments(
    plan_id: Id, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[AttachmentPublic]:
    """The plan's attachments, oldest first, without their content."""
    return page_answer(queries.list_attachments(session, who, plan_id, page), response)


@router.get(
    "/plans/{plan_id}/attachments/{attachment_id}",
    tags=["plans"],
    summary="Download an attachment",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_attachment(plan_id: Id, attachment_id: Id, who: CurrentPrincipal, session: SessionDep) -> Response:
    """The attachment's bytes, with its SHA-256 in the `X-Content-SHA256` header."""
    attachment = queries.get_attachment(session, who, plan_id, attachment_id)
    return Response(
        attachment.content,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{attachment.id}"',
            "X-Content-SHA256": attachment.sha256,
        },
    )


# --- review and decisions: api_decisions.py, included here to keep the routes' order --------

router.include_router(decisions_router)


@router.post("/plans/{plan_id}/close", response_model=PlanPublic, tags=["plans"], summary="Close a trajectory")
def close_trajectory(plan_id: Id, cmd: CloseTrajectory, who: CurrentPrincipal, uow: Uow) -> PlanPublic:
    """Close the trajectory of an approved plan: completed, stopped early (with a note) or expired
    (after the execution deadline); emits TrajectoryClosed."""
    return decisions.close_trajectory(uow, who, plan_id, cmd)


# --- partner applications, the OAuth2 token endpoint, consents: api_partners.py ------------

router.include_router(partners_router)
router.include_router(handovers_router)
router.include_router(provider_list_router)
