"""The web pages as an OpenID Connect relying party: the authorization-code flow with PKCE (S256)
and a nonce, through Authlib's OAuth 2 client; the ID token validated against the issuer's keys
(its JWKS, fetched and cached by PyJWT's PyJWKClient, fetched again for an unknown kid), then its
claims mapped to a Principal for the session cookie (eigenregie/web/session.py; the token itself
is not kept).

The issuer: the local one in dev and test (eigenregie/web/oidc_issuer.py, called in process), or
the one `oidc_issuer` names (a broker for DigiD and eHerkenning, e.g. Keycloak), found through its
discovery document; the same code talks to both. The state, nonce and code verifier of a log-in
under way are in a signed, short-lived cookie on /login (`FLOW_COOKIE`)."""

from __future__ import annotations

import hmac
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import structlog
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from fastapi import Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import ValidationError

from eigenregie.web import oidc_issuer, pages
from eigenregie.web.pages import PageProblem
from shared.auth import Principal, Role, jwks_client
from shared.config import Settings
from shared.signing_keys import key_set

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 package and warns once when it falls back to httpx (ours).
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError  # type: ignore[import-untyped]

log = structlog.get_logger("web.oidc")
FLOW_COOKIE = "prb_oidc"
FLOW_MINUTES = 10
_SALT = "eigenregie.web.oidc-flow"
PAGE_ROLES = frozenset(Role) - {Role.SERVICE}
DISCOVERY_TTL_SECONDS = 3600.0
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}


@dataclass(frozen=True)
class Issuer:
    issuer: str
    authorization_endpoint: str  # where the browser goes
    token_endpoint: str
    jwks_uri: str | None  # None: the local signing keys
    redirect_uri: str
    client_secret: str | None
    transport: httpx.AsyncBaseTransport | None  # in process for the local issuer


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> Flow:
        return cls(state=generate_token(32), nonce=generate_token(32), verifier=generate_token(64))


def available(settings: Settings) -> bool:
    return bool(settings.oidc_issuer) or oidc_issuer.enabled(settings)


async def issuer_of(request: Request) -> Issuer:
    settings = pages.settings_of(request)
    if settings.oidc_issuer:
        meta = await _discovery(settings.oidc_issuer)
        return Issuer(
            issuer=meta["issuer"],
            authorization_endpoint=meta["authorization_endpoint"],
            token_endpoint=meta["token_endpoint"],
            jwks_uri=meta["jwks_uri"],
            redirect_uri=settings.public_base_url.rstrip("/") + oidc_issuer.CALLBACK_PATH,
            client_secret=settings.oidc_client_secret,
            transport=None,
        )
    if not oidc_issuer.enabled(settings):
        raise PageProblem(404, "error.not_found")
    return Issuer(
        issuer=oidc_issuer.issuer_id(settings),
        authorization_endpoint="/oidc/authorize",
        token_endpoint="http://in-process/oidc/token",
        jwks_uri=None,
        redirect_uri=oidc_issuer.CALLBACK_PATH,
        client_secret=None,
        transport=httpx.ASGITransport(app=request.app),
    )


async def _discovery(issuer: str) -> dict[str, Any]:
    """The real issuer's metadata (cached an hour); it must name itself as configured."""
    cached = _discovered.get(issuer)
    if cached and time.monotonic() - cached[0] < DISCOVERY_TTL_SECONDS:
        return cached[1]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(url)
            answer.raise_for_status()
            meta: dict[str, Any] = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("oidc.discovery_failed", issuer=issuer, error=type(exc).__name__)
        raise PageProblem(503, "error.title") from None
    if meta.get("issuer") != issuer or not all(meta.get(k) for k in ("authorization_endpoint", "token_endpoint")):
        log.warning("oidc.discovery_mismatch", issuer=issuer)
        raise PageProblem(503, "error.title")
    _discovered[issuer] = (time.monotonic(), meta)
    return meta


def _client(settings: Settings, issuer: Issuer) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=issuer.client_secret,
        token_endpoint_auth_method="client_secret_basic" if issuer.client_secret else "none",
        scope=settings.oidc_scopes,
        redirect_uri=issuer.redirect_uri,
        code_challenge_method="S256",
        transport=issuer.transport,
        timeout=10,
    )


def authorization_url(settings: Settings, issuer: Issuer, flow: Flow) -> str:
    url, _ = _client(settings, issuer).create_authorization_url(
        issuer.authorization_endpoint, state=flow.state, code_verifier=flow.verifier, nonce=flow.nonce
    )
    return str(url)


def dump_flow(flow: Flow, settings: Settings) -> str:
    return _serializer(settings).dumps([flow.state, flow.nonce, flow.verifier])


def load_flow(cookie: str | None, settings: Settings) -> Flow | None:
    if not cookie:
        return None
    try:
        state, nonce, verifier = _serializer(settings).loads(cookie, max_age=FLOW_MINUTES * 60)
    except (BadSignature, TypeError, ValueError):
        return None
    return Flow(str(state), str(nonce), str(verifier))


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.jwt_secret, salt=_SALT)


async def finish(request: Request, issuer: Issuer, flow: Flow | None, code: str, state: str) -> Principal:
    """The callback: the state must be this browser's, the code is exchanged (with the verifier)
    and the ID token must be the issuer's, for us, in time and with our nonce."""
    settings = pages.settings_of(request)
    if flow is None or not hmac.compare_digest(flow.state, state):
        log.warning("oidc.state_mismatch")
        raise PageProblem(400, "error.title")
    try:
        async with _client(settings, issuer) as client:
            tokens = await client.fetch_token(
                issuer.token_endpoint, grant_type="authorization_code", code=code, code_verifier=flow.verifier
            )
    except (OAuthError, httpx.HTTPError, ValueError) as exc:
        log.warning("oidc.code_refused", error=getattr(exc, "error", type(exc).__name__))
        raise PageProblem(403, "error.forbidden") from None
    claims = validated_id_token(str(tokens.get("id_token") or ""), settings, issuer, flow.nonce)
    return principal_of(claims, settings)


def validated_id_token(token: str, settings: Settings, issuer: Issuer, nonce: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
        kid, algorithm = header.get("kid"), header.get("alg")
        if algorithm not in ("RS256", "ES256", "PS256"):
            raise jwt.InvalidTokenError("unsupported algorithm")
        if issuer.jwks_uri:
            key: Any = jwks_client(issuer.jwks_uri).get_signing_key(str(kid)).key
        else:
            local = key_set(settings).by_kid(kid)
            if local is None:
                raise jwt.InvalidTokenError("unknown kid")
            key = local.public
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=settings.oidc_client_id,
            issuer=issuer.issuer,
            leeway=30,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        log.warning("oidc.id_token_refused", error=type(exc).__name__)
        raise PageProblem(403, "error.forbidden") from None
    if not hmac.compare_digest(str(claims.get("nonce") or ""), nonce):
        log.warning("oidc.nonce_mismatch")
        raise PageProblem(403, "error.forbidden")
    return claims


def principal_of(claims: dict[str, Any], settings: Settings) -> Principal:
    """The ID token's claims as configured (role, municipality, client, provider); a role that
    does not log in to the pages, or claims that do not make a valid Principal, are refused."""
    role = claims.get(settings.oidc_role_claim)
    if isinstance(role, list):  # e.g. Keycloak's roles: exactly one of ours
        ours = [r for r in role if r in {r.value for r in PAGE_ROLES}]
        role = ours[0] if len(ours) == 1 else None
    try:
        principal = Principal(
            subject=str(claims["sub"]),
            role=role,
            municipality=claims.get(settings.oidc_municipality_claim),
            client_id=claims.get(settings.oidc_client_id_claim),
            provider_id=claims.get(settings.oidc_provider_id_claim),
            organisation_kvk=claims.get("organisation_kvk"),
            scopes=tuple(str(s) for s in claims.get("partner_scopes") or ()),
        )
    except (ValidationError, KeyError):
        log.warning("oidc.claims_refused")
        raise PageProblem(403, "error.forbidden") from None
    if (
        principal.role not in PAGE_ROLES
        or (principal.is_client_side() and not principal.client_id)
        or (principal.role == Role.PROVIDER and not principal.provider_id)
    ):
        log.warning("oidc.claims_refused", role=principal.role.value)
        raise PageProblem(403, "error.forbidden")
    return principal


async def demo_one_click(request: Request, user: str) -> Principal:
    """The demo log-in page's one click (POST /login, the local issuer only): the same code flow,
    driven here in process: the authorization request for the chosen demo user (as if clicked on
    /oidc/authorize), then the callback's exchange and checks."""
    settings = pages.settings_of(request)
    if not oidc_issuer.enabled(settings):
        raise PageProblem(403, "error.forbidden")
    issuer = await issuer_of(request)
    flow = Flow.new()
    form = parse_qs(urlsplit(authorization_url(settings, issuer, flow)).query)
    fields = {
        k: v[0] for k, v in form.items() if k in ("client_id", "redirect_uri", "state", "code_challenge", "nonce")
    }
    async with httpx.AsyncClient(transport=issuer.transport, base_url="http://in-process") as http:
        answer = await http.post("/oidc/authorize", data={**fields, "user": user})
    if answer.status_code != 303:
        raise PageProblem(403 if answer.status_code in (403, 422) else answer.status_code, "error.forbidden")
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    return await finish(request, issuer, flow, query.get("code", [""])[0], query.get("state", [""])[0])
