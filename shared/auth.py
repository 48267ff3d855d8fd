"""Who is asking: a signed bearer token (JWT) with a role and a municipality.

Every query is scoped to the token's municipality; a client token also names the client,
a provider token the provider. Tokens are signed with the first of the configured signing keys
(RS256 or ES256, shared/signing_keys.py) and name it in their `kid` header; `decode_token`
validates against the published keys (JWKS): the local ones, or those at `jwks_url`, fetched and
cached by PyJWT's PyJWKClient and fetched again when a token names a kid it does not know (a key
rotated in). HS256 with the shared secret is no longer accepted. People log in through OpenID
Connect (eigenregie/web/oidc_login.py); the scoping rules stay the same.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import Engine

from shared import revocation
from shared.config import Settings
from shared.events import MUNICIPALITY_CODE
from shared.problems import Problem
from shared.signing_keys import key_set


class Role(StrEnum):
    CLIENT = "client"
    REPRESENTATIVE = "representative"
    CASE_MANAGER = "case_manager"
    TEAM_LEAD = "team_lead"
    FINANCE = "finance"
    PROVIDER = "provider"
    PARTNER = "partner"
    POLICY = "policy"
    OPS = "ops"
    SERVICE = "service"  # another part of this system acting for itself


STAFF_ROLES = frozenset({Role.CASE_MANAGER, Role.TEAM_LEAD})


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(min_length=1, max_length=80)
    role: Role
    municipality: str = Field(pattern=MUNICIPALITY_CODE)
    client_id: str | None = None  # for client and representative tokens
    provider_id: str | None = None  # for provider tokens
    # Partner application tokens (OAuth2 client credentials): the scopes granted and the
    # organisation's KvK number. Scopes apply to partner tokens only; staff tokens carry none.
    scopes: tuple[str, ...] = ()
    organisation_kvk: str | None = Field(default=None, pattern=r"^[0-9]{8}$")

    def is_client_side(self) -> bool:
        return self.role in (Role.CLIENT, Role.REPRESENTATIVE)


def issue_token(principal: Principal, settings: Settings, ttl: timedelta | None = None) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": principal.subject,
        "role": principal.role.value,
        "municipality": principal.municipality,
        "iss": settings.jwt_issuer,
        # A NumericDate with its fraction (RFC 7519 section 2): a secret rotated within the second a
        # token was issued still tells the older tokens from the newer (shared/revocation.py).
        "iat": now.timestamp(),
        "exp": now + (ttl or timedelta(minutes=settings.token_ttl_minutes)),
        "jti": str(uuid.uuid4()),
    }
    if principal.client_id:
        claims["client_id"] = principal.client_id
    if principal.provider_id:
        claims["provider_id"] = principal.provider_id
    if principal.scopes:
        claims["scope"] = " ".join(principal.scopes)  # RFC 8693 / RFC 9068: space-separated
    if principal.organisation_kvk:
        claims["organisation_kvk"] = principal.organisation_kvk
    key = key_set(settings).signing
    assert key.private is not None  # the first key signs: shared/signing_keys.py refuses a public one
    return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid})


def decode_token(token: str, settings: Settings) -> Principal:
    return _verified(token, settings)[0]


def _verified(token: str, settings: Settings) -> tuple[Principal, dict[str, Any]]:
    try:
        key, algorithm = _validation_key(token, settings)
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Problem(401, "Token expired", "The bearer token has expired; ask for a new one.") from exc
    except jwt.PyJWTError as exc:
        raise Problem(401, "Invalid token", "The bearer token is not valid.") from exc
    try:
        principal = Principal(
            subject=claims["sub"],
            role=claims.get("role"),
            municipality=claims.get("municipality"),
            client_id=claims.get("client_id"),
            provider_id=claims.get("provider_id"),
            scopes=tuple(str(claims.get("scope") or "").split()),
            organisation_kvk=claims.get("organisation_kvk"),
        )
    except ValidationError as exc:
        raise Problem(401, "Invalid token", "The token lacks a valid role or municipality.") from exc
    if principal.is_client_side() and not principal.client_id:
        raise Problem(401, "Invalid token", "A client token must name the client.")
    if principal.role == Role.PROVIDER and not principal.provider_id:
        raise Problem(401, "Invalid token", "A provider token must name the provider.")
    return principal, claims


def ensure_not_revoked(principal: Principal, claims: dict[str, Any], engine: Engine, service: str | None) -> None:
    """A partner token of an application revoked, or issued before its secret was rotated, is
    refused (401) at once by every service (shared/revocation.py); other tokens pass untouched."""
    if principal.role != Role.PARTNER or service is None:
        return
    iat = claims.get("iat")
    issued_at = datetime.fromtimestamp(iat, UTC) if isinstance(iat, int | float) else None
    if revocation.refused(engine, service, principal.subject, issued_at):
        raise Problem(
            401,
            "Credentials revoked",
            "This application's credentials are no longer valid; get a new token with its current secret.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            code="auth.credentials_revoked",
            errors=[
                {
                    "field": "authorization",
                    "code": "auth.credentials_revoked",
                    "message": "The application was revoked or its secret changed.",
                    "message_nl": "De applicatie is ingetrokken of het geheim is vervangen; vraag een nieuw token "
                    "aan met het huidige geheim.",
                }
            ],
        )


ALGORITHMS = ("RS256", "ES256")
# An unknown kid fetches the JWKS again, but at most once per this many seconds (PyJWKClient's
# cool-down: a stream of made-up kids does not hammer the issuer).
JWKS_COOLDOWN_SECONDS = 30.0
_jwks_clients: dict[str, jwt.PyJWKClient] = {}
_jwks_lock = threading.Lock()


def jwks_client(url: str) -> jwt.PyJWKClient:
    """One PyJWKClient per JWKS URL: it caches the key set and fetches it again when a token names
    an unknown kid (at most once per cool-down)."""
    with _jwks_lock:
        client = _jwks_clients.get(url)
        if client is None:
            client = _jwks_clients[url] = jwt.PyJWKClient(
                url, cache_jwk_set=True, lifespan=300, timeout=5, cooldown_duration=JWKS_COOLDOWN_SECONDS
            )
        return client


def _validation_key(token: str, settings: Settings) -> tuple[Any, str]:
    """The published key the token's `kid` names, and its algorithm: none, an unknown kid or an
    algorithm we do not use (HS256, none) is an invalid token."""
    header = jwt.get_unverified_header(token)
    kid, algorithm = header.get("kid"), header.get("alg")
    if algorithm not in ALGORITHMS or not isinstance(kid, str):
        raise jwt.InvalidTokenError("unsupported algorithm or no kid")
    if settings.jwks_url:
        try:
            found = jwks_client(settings.jwks_url).get_signing_key(kid)
        except jwt.PyJWKClientError as exc:
            raise jwt.InvalidTokenError("unknown kid") from exc
        if found.algorithm_name != algorithm:
            raise jwt.InvalidTokenError("algorithm does not match the key")
        return found.key, algorithm
    local = key_set(settings).by_kid(kid)
    if local is None or local.algorithm != algorithm:
        raise jwt.InvalidTokenError("unknown kid")
    return local.public, algorithm


# Declared in OpenAPI as the HTTP bearer scheme, so /docs can send a token; we answer the 401 ourselves.
_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="A bearer token (JWT). In development: `prb token --role ... --municipality ...`.",
)


def current_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials.strip():
        raise Problem(
            401,
            "Not signed in",
            "Send a bearer token in the Authorization header.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    runtime = request.app.state.runtime
    principal, claims = _verified(credentials.credentials.strip(), runtime.settings)
    # Each service app names itself (shared.web.create_service_app); its own table answers.
    ensure_not_revoked(principal, claims, runtime.engine, getattr(request.app.state, "service", None))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
