"""The local OpenID Connect issuer (embedded mode, dev and test only; off where `oidc_issuer` names
a real one): the authorization-code flow with PKCE (S256, required) for one public client, the web
pages. /oidc/authorize shows the demo users (eigenregie/web/demo.py) and answers the chosen one's
code to the registered redirect URI; /oidc/token exchanges a code once, within a minute, for the
client and redirect URI it was given to and with the verifier of its challenge, for an ID token
and an access token signed with the signing keys (shared/signing_keys.py). The discovery document
is at /.well-known/openid-configuration, the JWKS at /.well-known/jwks.json (shared/well_known.py).

Codes live in this process's memory: the local issuer runs only in the embedded app (one process).
The protocol pieces are Authlib's (PKCE's S256, tokens, the redirect's parameters)."""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import jwt
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.common.urls import add_params_to_uri  # type: ignore[import-untyped]
from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from eigenregie.web import demo, pages
from eigenregie.web.pages import PageProblem, render
from shared.auth import Principal, issue_token
from shared.config import Settings
from shared.signing_keys import key_set

CALLBACK_PATH = "/login/callback"
CODE_TTL_SECONDS = 60
ID_TOKEN_TTL = timedelta(minutes=5)
router = APIRouter(include_in_schema=False)


def enabled(settings: Settings) -> bool:
    """The local issuer answers only in dev and test, and only when no real issuer is configured."""
    return demo.allowed(settings) and not settings.oidc_issuer


def issuer_id(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/")


def redirect_uris(settings: Settings) -> tuple[str, ...]:
    """The web pages' callback, as a path (the same origin) or on the public base URL."""
    return (CALLBACK_PATH, issuer_id(settings) + CALLBACK_PATH)


def discovery(settings: Settings) -> dict[str, Any]:
    base = issuer_id(settings)
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oidc/authorize",
        "token_endpoint": f"{base}/oidc/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted({k.algorithm for k in key_set(settings).keys}),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "scopes_supported": ["openid", "profile"],
        "claims_supported": [
            "sub",
            settings.oidc_role_claim,
            settings.oidc_municipality_claim,
            settings.oidc_client_id_claim,
            settings.oidc_provider_id_claim,
        ],
    }


@router.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request) -> Response:
    """The local issuer's discovery document (OpenID Connect Discovery 1.0); 404 where it is off."""
    settings = pages.settings_of(request)
    if not enabled(settings):
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(discovery(settings), headers={"Cache-Control": "public, max-age=300"})


@dataclass(frozen=True)
class Grant:
    principal: Principal
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    expires: float


class CodeStore:
    """Authorization codes: each taken once (a second try finds nothing), and only in time."""

    def __init__(self) -> None:
        self._codes: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def add(self, grant: Grant) -> str:
        code = generate_token(48)
        with self._lock:
            now = time.monotonic()
            self._codes = {c: g for c, g in self._codes.items() if g.expires > now}
            self._codes[code] = grant
        return code

    def take(self, code: str) -> Grant | None:
        with self._lock:
            grant = self._codes.pop(code, None)
        return grant if grant is not None and grant.expires > time.monotonic() else None


_codes = CodeStore()


def _checked_request(settings: Settings, client_id: str, redirect_uri: str) -> None:
    """An unknown client or redirect URI is never redirected to: the page says no."""
    if not enabled(settings):
        raise PageProblem(404, "error.not_found")
    if client_id != settings.oidc_client_id or redirect_uri not in redirect_uris(settings):
        raise PageProblem(400, "error.title")


def _refused(redirect_uri: str, state: str, error: str) -> Response:
    return RedirectResponse(add_params_to_uri(redirect_uri, {"error": error, "state": state}), status_code=303)


AuthorizeParam = Annotated[str, Query(max_length=200)]


@router.get("/oidc/authorize")
async def authorize_page(
    request: Request,
    client_id: AuthorizeParam,
    redirect_uri: AuthorizeParam,
    state: AuthorizeParam,
    code_challenge: AuthorizeParam = "",
    code_challenge_method: AuthorizeParam = "",
    response_type: AuthorizeParam = "code",
    scope: AuthorizeParam = "openid",
    nonce: AuthorizeParam = "",
) -> Response:
    """The authorization request: the demo users to choose from (one click each)."""
    settings = pages.settings_of(request)
    _checked_request(settings, client_id, redirect_uri)
    if response_type != "code":
        return _refused(redirect_uri, state, "unsupported_response_type")
    if "openid" not in scope.split():
        return _refused(redirect_uri, state, "invalid_scope")
    if not code_challenge or code_challenge_method != "S256":
        return _refused(redirect_uri, state, "invalid_request")  # PKCE with S256 is required
    hidden = {
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": code_challenge,
        "nonce": nonce,
    }
    return render(
        request,
        None,
        "login.html",
        title_key="login.title",
        demo=True,
        expired=False,
        action="/oidc/authorize",
        hidden=hidden,
        staff=demo.staff(),
        clients=await demo.clients(request),
        partners=await demo.partners(request),
    )


FormParam = Annotated[str, Form(max_length=200)]


@router.post("/oidc/authorize")
async def authorize(
    request: Request,
    user: FormParam,
    client_id: FormParam,
    redirect_uri: FormParam,
    state: FormParam,
    code_challenge: FormParam,
    nonce: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The chosen demo user (nothing else): a code for the client's redirect URI."""
    settings = pages.settings_of(request)
    _checked_request(settings, client_id, redirect_uri)
    chosen = await demo.user(request, user)
    if chosen is None:
        raise PageProblem(403, "error.forbidden")
    grant = Grant(
        chosen.principal, client_id, redirect_uri, code_challenge, nonce or None, time.monotonic() + CODE_TTL_SECONDS
    )
    code = _codes.add(grant)
    return RedirectResponse(add_params_to_uri(redirect_uri, {"code": code, "state": state}), status_code=303)


def _token_error(error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=400,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.post("/oidc/token")
async def token(
    request: Request,
    grant_type: FormParam,
    code: Annotated[str, Form(max_length=200)] = "",
    redirect_uri: Annotated[str, Form(max_length=200)] = "",
    client_id: Annotated[str, Form(max_length=200)] = "",
    code_verifier: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The code for the tokens (RFC 6749 section 4.1.3, RFC 7636 section 4.6); errors as RFC 6749 says."""
    settings = pages.settings_of(request)
    if not enabled(settings):
        return JSONResponse({"error": "invalid_request"}, status_code=404)
    if grant_type != "authorization_code":
        return _token_error("unsupported_grant_type", "Only authorization_code.")
    grant = _codes.take(code)  # taken even when the rest is wrong: a code is tried once
    if grant is None:
        return _token_error("invalid_grant", "The code is unknown, used or expired.")
    if client_id != grant.client_id or redirect_uri != grant.redirect_uri:
        return _token_error("invalid_grant", "The code was issued to another client or redirect URI.")
    if not (43 <= len(code_verifier) <= 128) or not hmac.compare_digest(
        create_s256_code_challenge(code_verifier), grant.code_challenge
    ):
        return _token_error("invalid_grant", "The code_verifier does not match the code_challenge.")
    return JSONResponse(
        {
            "access_token": issue_token(grant.principal, settings, ttl=ID_TOKEN_TTL),
            "token_type": "Bearer",
            "expires_in": int(ID_TOKEN_TTL.total_seconds()),
            "scope": "openid",
            "id_token": id_token(grant, settings),
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


ORGANISATION_CLAIM = "organisation_kvk"
SCOPES_CLAIM = "partner_scopes"


def id_token(grant: Grant, settings: Settings) -> str:
    """The ID token: who logged in, with the role and scope claims the configuration maps."""
    now = int(time.time())
    p = grant.principal
    claims: dict[str, Any] = {
        "iss": issuer_id(settings),
        "sub": p.subject,
        "aud": grant.client_id,
        "azp": grant.client_id,
        "iat": now,
        "auth_time": now,
        "exp": now + int(ID_TOKEN_TTL.total_seconds()),
        "jti": str(uuid.uuid4()),
        settings.oidc_role_claim: p.role.value,
        settings.oidc_municipality_claim: p.municipality,
    }
    if grant.nonce:
        claims["nonce"] = grant.nonce
    if p.client_id:
        claims[settings.oidc_client_id_claim] = p.client_id
    if p.provider_id:
        claims[settings.oidc_provider_id_claim] = p.provider_id
    if p.organisation_kvk:  # a chain partner's employee: the organisation and what it may do
        claims[ORGANISATION_CLAIM] = p.organisation_kvk
    if p.scopes:
        claims[SCOPES_CLAIM] = list(p.scopes)
    key = key_set(settings).signing
    assert key.private is not None
    return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid})
