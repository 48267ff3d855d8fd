"""Intake routes for partner applications, the OAuth2 token endpoint and the client's consents
(issue 13): parse, authorise, call partners.py or consents.py. Included by api.py.

The token endpoint answers as RFC 6749 says (section 5: JSON with `access_token`, `token_type`,
`expires_in`, `scope`; errors `{"error": "invalid_client"}` and the like), not as problem+json:
OAuth2 client libraries read exactly that shape.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Annotated
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBasic
from starlette.concurrency import run_in_threadpool

from services.intake import consents, partners
from services.intake.models_partners import (
    ConsentCreate,
    ConsentPublic,
    PartnerAppCreate,
    PartnerAppCredentials,
    PartnerAppPublic,
    PartnerClientPublic,
)
from shared.auth import CurrentPrincipal, issue_token
from shared.deps import ClockDep, SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("intake"))]
Id = str

# Partner tokens live short; a revoked or rotated application's tokens are refused at once anyway
# (shared/revocation.py).
PARTNER_TOKEN_TTL = timedelta(minutes=15)
FORM = "application/x-www-form-urlencoded"
_MAX_FIELD = 200  # client_id, client_secret, scope and grant_type are short; longer is a bad request
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# Declared so /docs can send the client's credentials with HTTP Basic (RFC 6749 section 2.3.1).
_client_basic = HTTPBasic(auto_error=False, description="The partner application's client_id and client_secret.")


# --- partner applications ---------------------------------------------------------------------


@router.post(
    "/partner-apps",
    status_code=201,
    response_model=PartnerAppCredentials,
    tags=["partners"],
    summary="Register a partner application",
)
def register_partner_app(data: PartnerAppCreate, who: CurrentPrincipal, uow: Uow) -> PartnerAppCredentials:
    """Register an application of a partner organisation (by its KvK number) with the scopes it may
    ask for. The answer holds `client_id` and `client_secret`: the secret is shown this once, only
    its hash is stored."""
    return partners.register_partner_app(uow, who, data)


@router.get(
    "/partner-apps",
    response_model=list[PartnerAppPublic],
    tags=["partners"],
    responses=PAGED,
    summary="List partner applications",
)
def list_partner_apps(
    who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[PartnerAppPublic]:
    """The municipality's partner applications, revoked ones too, oldest first; never a secret."""
    return page_answer(partners.list_partner_apps(session, who, page), response)


@router.get(
    "/partner-apps/{app_id}", response_model=PartnerAppPublic, tags=["partners"], summary="Read a partner application"
)
def get_partner_app(app_id: Id, who: CurrentPrincipal, session: SessionDep) -> PartnerAppPublic:
    """One partner application: its client_id, organisation, kind, scopes, rotation and revocation."""
    return partners.get_partner_app(session, who, app_id)


@router.post(
    "/partner-apps/{app_id}/rotate-secret",
    response_model=PartnerAppCredentials,
    tags=["partners"],
    summary="Rotate a partner application's secret",
)
def rotate_secret(app_id: Id, who: CurrentPrincipal, uow: Uow) -> PartnerAppCredentials:
    """A new client secret, shown this once; the old one, and the tokens got with it, stop working at once."""
    return partners.rotate_secret(uow, who, app_id)


@router.delete(
    "/partner-apps/{app_id}", response_model=PartnerAppPublic, tags=["partners"], summary="Revoke a partner application"
)
def revoke_partner_app(app_id: Id, who: CurrentPrincipal, uow: Uow) -> PartnerAppPublic:
    """Revoke the application: no new tokens, and its tokens are refused by every service, at once."""
    return partners.revoke_partner_app(uow, who, app_id)


# --- the OAuth2 token endpoint -----------------------------------------------------------------


def _token_error(error: str, description: str, status: int = 400) -> JSONResponse:
    headers = dict(_NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="oauth"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """client_secret_basic: `Authorization: Basic base64(urlencoded id ":" urlencoded secret)`."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        client_id, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (unquote(client_id), unquote(secret)) if sep else None


@router.post(
    "/oauth/token",
    tags=["partners"],
    summary="Get an access token (OAuth2 client credentials)",
    dependencies=[Depends(_client_basic)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string", "maxLength": _MAX_FIELD},
                            "client_secret": {"type": "string", "maxLength": _MAX_FIELD},
                            "scope": {"type": "string", "maxLength": _MAX_FIELD},
                        },
                    }
                }
            },
        },
        "responses": {"200": {"description": "RFC 6749 section 5.1: access_token, token_type, expires_in, scope."}},
    },
)
async def token(request: Request, session: SessionDep) -> JSONResponse:
    """RFC 6749 section 4.4: a partner application sends `grant_type=client_credentials`, its
    credentials (HTTP Basic, or `client_id` and `client_secret` in the form) and optionally `scope`
    (a subset of its scopes; none: all of them). Errors: `invalid_client` (401), `invalid_scope`,
    `invalid_request`, `unsupported_grant_type` (400)."""
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != FORM:
        return _token_error("invalid_request", f"Send the request as {FORM}.")
    form = await request.form(max_files=0, max_fields=10)
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if not isinstance(value, str) or len(value) > _MAX_FIELD or name in fields:
            return _token_error("invalid_request", f"The parameter {name!r} is repeated, too long or not text.")
        fields[name] = value
    if fields.get("grant_type") != "client_credentials":
        if "grant_type" not in fields:
            return _token_error("invalid_request", "grant_type is missing.")
        return _token_error("unsupported_grant_type", "Only grant_type=client_credentials is supported.")
    basic = _basic_credentials(request)
    if basic is not None and ("client_id" in fields or "client_secret" in fields):
        return _token_error("invalid_request", "Send the credentials once: HTTP Basic or the form, not both.")
    client_id, client_secret = basic or (fields.get("client_id", ""), fields.get("client_secret", ""))
    if not client_id or not client_secret:
        return _token_error("invalid_client", "Client authentication failed.", 401)
    try:
        grant = await run_in_threadpool(
            partners.client_credentials_grant, session, client_id, client_secret, fields.get("scope")
        )
    except partners.TokenError as exc:
        return _token_error(exc.error, exc.description, exc.status)
    settings = request.app.state.runtime.settings
    ttl = min(PARTNER_TOKEN_TTL, timedelta(minutes=settings.token_ttl_minutes))
    body = {
        "access_token": issue_token(grant.principal, settings, ttl),
        "token_type": "Bearer",
        "expires_in": int(ttl.total_seconds()),
        "scope": " ".join(grant.scopes),
    }
    return JSONResponse(body, headers=_NO_STORE)


# --- consents ---------------------------------------------------------------------------------


@router.post(
    "/clients/{client_id}/consents",
    status_code=201,
    response_model=ConsentPublic,
    tags=["consent"],
    summary="Grant a partner consent",
)
def grant_consent(client_id: Id, data: ConsentCreate, who: CurrentPrincipal, uow: Uow) -> ConsentPublic:
    """The client (or their representative) lets a partner, named by KvK number or by its
    application, see them for a purpose, until a day or until withdrawn; staff record one given on paper."""
    return consents.grant_consent(uow, who, client_id, data)


@router.get(
    "/clients/{client_id}/consents",
    response_model=list[ConsentPublic],
    tags=["consent"],
    responses=PAGED,
    summary="List a client's consents",
)
def list_consents(
    client_id: Id, who: CurrentPrincipal, session: SessionDep, clock: ClockDep, page: PageDep, response: Response
) -> list[ConsentPublic]:
    """The client's consents, withdrawn and ended ones too, oldest first, each with `active`."""
    return page_answer(consents.list_consents(session, who, client_id, clock.today(), page), response)


@router.post(
    "/clients/{client_id}/consents/{consent_id}/withdraw",
    response_model=ConsentPublic,
    tags=["consent"],
    summary="Withdraw a consent",
)
def withdraw_consent(client_id: Id, consent_id: Id, who: CurrentPrincipal, uow: Uow) -> ConsentPublic:
    """Withdraw the consent: from the partner's next request on it no longer finds the client through it."""
    return consents.withdraw_consent(uow, who, client_id, consent_id)


# --- a partner's own clients ------------------------------------------------------------------


@router.get(
    "/partner/clients",
    response_model=list[PartnerClientPublic],
    tags=["partners"],
    responses=PAGED,
    summary="List the clients who chose this partner",
)
def list_partner_clients(
    who: CurrentPrincipal, session: SessionDep, clock: ClockDep, page: PageDep, response: Response
) -> list[PartnerClientPublic]:
    """A partner application (scope `clients:read-own`): the clients with an active consent naming
    its KvK number, or an open plan naming it as a provider; name and contact details, no BSN."""
    return page_answer(consents.list_partner_clients(session, who, clock.today(), page), response)


@router.get(
    "/partner/clients/{client_id}",
    response_model=PartnerClientPublic,
    tags=["partners"],
    summary="Read a client who chose this partner",
)
def get_partner_client(
    client_id: Id, who: CurrentPrincipal, session: SessionDep, clock: ClockDep
) -> PartnerClientPublic:
    """One client who chose this partner (as in the list); any other client id is a 404."""
    return consents.get_partner_client(session, who, client_id, clock.today())
