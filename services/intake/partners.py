"""Partner applications, the commands and queries: register, list, read, rotate a secret, revoke,
and the OAuth2 client-credentials exchange (issue 13). The rules are in domain/partners.py, the
routes in api_partners.py.

Who: ops or a team lead of the municipality manages its applications; another municipality's id is
a 404. The secret is in the answer of `register_partner_app` and `rotate_secret` only; it is never
logged (the log names the application's id) and never stored (only its scrypt hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import structlog
from sqlmodel import Session, col, select

from contracts.events import PartnerCredentialsRevokedV1
from services.intake.domain.partners import (
    InvalidScope,
    checked_scopes,
    hash_secret,
    new_client_id,
    new_client_secret,
    token_scopes,
    verify_secret,
)
from services.intake.models_partners import (
    PartnerApp,
    PartnerAppCreate,
    PartnerAppCredentials,
    PartnerAppPublic,
)
from services.intake.permissions import Action, authorize
from services.intake.repository import insert_unique
from shared import revocation
from shared.auth import Principal, Role
from shared.errors import Conflict, DomainError, NotFound
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)


class CredentialsRevoked(DomainError):
    """A partner token of an application revoked since: no longer accepted (401)."""

    status = 401


def app_public(app: PartnerApp) -> PartnerAppPublic:
    return PartnerAppPublic(
        id=app.id,
        client_id=app.oauth_client_id,
        name=app.name,
        organisation_kvk=app.organisation_kvk,
        kind=app.kind,
        allowed_scopes=list(app.allowed_scopes),
        created_at=app.created_at,
        secret_rotated_at=app.secret_rotated_at,
        revoked_at=app.revoked_at,
    )


def _credentials(app: PartnerApp, secret: str) -> PartnerAppCredentials:
    return PartnerAppCredentials(**app_public(app).model_dump(), client_secret=secret)


def _app_for(session: Session, who: Principal, app_id: str) -> PartnerApp:
    app = session.get(PartnerApp, app_id)
    if app is None or app.municipality != who.municipality:
        raise NotFound("partner application", "partnerapplicatie")
    return app


# --- commands --------------------------------------------------------------------------------


def register_partner_app(uow: UnitOfWork, who: Principal, data: PartnerAppCreate) -> PartnerAppCredentials:
    authorize(who, Action.MANAGE_PARTNER_APPS)
    secret = new_client_secret()
    app = PartnerApp(
        municipality=who.municipality,
        oauth_client_id=new_client_id(),
        secret_hash=hash_secret(secret),
        name=data.name,
        organisation_kvk=data.organisation_kvk,
        kind=data.kind.value,
        allowed_scopes=list(checked_scopes(scope.value for scope in data.allowed_scopes)),
        created_by=who.subject,
        created_at=uow.clock.now(),
    )
    insert_unique(uow.session, app, Conflict("partner_app.client_id_taken", "Try again.", "client_id"))
    uow.commit()
    log.info("partner_app.registered", partner_app_id=app.id, kind=app.kind, municipality=app.municipality)
    return _credentials(app, secret)


def rotate_secret(uow: UnitOfWork, who: Principal, app_id: str) -> PartnerAppCredentials:
    """A new secret; the old one stops at once (no grace period: a leaked secret is the usual
    reason to rotate), and so do the tokens issued with it, in every service (_refuse_tokens)."""
    authorize(who, Action.MANAGE_PARTNER_APPS)
    app = _app_for(uow.session, who, app_id)
    _ensure_not_revoked(app)
    secret = new_client_secret()
    app.secret_hash, app.secret_rotated_at = hash_secret(secret), uow.clock.now()
    uow.session.add(app)
    _refuse_tokens(uow, app, "secret_rotated")
    uow.commit()
    log.info("partner_app.secret_rotated", partner_app_id=app.id, municipality=app.municipality)
    return _credentials(app, secret)


def revoke_partner_app(uow: UnitOfWork, who: Principal, app_id: str) -> PartnerAppPublic:
    """The application can no longer sign in, and its tokens stop at once, in every service."""
    authorize(who, Action.MANAGE_PARTNER_APPS)
    app = _app_for(uow.session, who, app_id)
    _ensure_not_revoked(app)
    app.revoked_at, app.revoked_by = uow.clock.now(), who.subject
    uow.session.add(app)
    _refuse_tokens(uow, app, "app_revoked")
    uow.commit()
    log.info("partner_app.revoked", partner_app_id=app.id, municipality=app.municipality)
    return app_public(app)


def _refuse_tokens(uow: UnitOfWork, app: PartnerApp, reason: Literal["app_revoked", "secret_rotated"]) -> None:
    """Intake refuses the tokens from this transaction on; the other services from the moment they
    have PartnerCredentialsRevoked (shared/revocation.py). The moment is the wall clock's, as the
    tokens' `iat` is (shared.auth.issue_token)."""
    moment = revocation.tokens_clock_now()
    revocation.record(
        uow, subject=app.id, municipality=app.municipality, tokens_issued_before=moment, revoked=reason == "app_revoked"
    )
    payload = PartnerCredentialsRevokedV1(partner_app_id=app.id, reason=reason, tokens_issued_before=moment)
    uow.emit(payload, tenant=app.municipality, subject=app.id)


def _ensure_not_revoked(app: PartnerApp) -> None:
    if app.revoked_at is not None:
        raise Conflict(
            "partner_app.revoked",
            "This application is revoked; register a new one.",
            message_nl="Deze applicatie is ingetrokken; registreer een nieuwe.",
        )


# --- queries ---------------------------------------------------------------------------------


def list_partner_apps(session: Session, who: Principal, page: PageRequest) -> Page[PartnerAppPublic]:
    authorize(who, Action.MANAGE_PARTNER_APPS)
    query = (
        select(PartnerApp)
        .where(PartnerApp.municipality == who.municipality)
        .order_by(col(PartnerApp.created_at), col(PartnerApp.id))
    )
    return page_of(session, query, page).map(app_public)


def get_partner_app(session: Session, who: Principal, app_id: str) -> PartnerAppPublic:
    authorize(who, Action.MANAGE_PARTNER_APPS)
    return app_public(_app_for(session, who, app_id))


def active_partner_app(session: Session, who: Principal) -> PartnerApp:
    """The application behind a partner token, while it is not revoked (a 401 once it is)."""
    app = session.get(PartnerApp, who.subject) if who.role == Role.PARTNER else None
    if app is None or app.municipality != who.municipality or app.revoked_at is not None:
        raise CredentialsRevoked(
            "partner_app.revoked",
            "This application's credentials are no longer valid.",
            message_nl="De inloggegevens van deze applicatie zijn niet meer geldig.",
        )
    return app


# --- the OAuth2 token endpoint (RFC 6749 section 4.4) ------------------------------------------


class TokenError(Exception):
    """An RFC 6749 section 5.2 error: `invalid_client` (401) or `invalid_scope` (400)."""

    def __init__(self, error: str, description: str, status: int) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass(frozen=True)
class Grant:
    principal: Principal
    scopes: tuple[str, ...]


def client_credentials_grant(session: Session, client_id: str, client_secret: str, scope: str | None) -> Grant:
    """Check the client's credentials (constant time, an unknown client as slow as a wrong secret)
    and the scopes asked for; the token names the application, its organisation and its scopes."""
    app = session.exec(select(PartnerApp).where(PartnerApp.oauth_client_id == client_id)).first()
    if not verify_secret(client_secret, app.secret_hash if app else None) or app is None or app.revoked_at:
        log.info("partner_app.token_refused", reason="invalid_client")
        raise TokenError("invalid_client", "Client authentication failed.", 401)
    try:
        scopes = token_scopes(scope, app.allowed_scopes)
    except InvalidScope as exc:
        log.info("partner_app.token_refused", reason="invalid_scope", partner_app_id=app.id)
        raise TokenError("invalid_scope", f"Not granted to this client: {exc}.", 400) from exc
    principal = Principal(
        subject=app.id,
        role=Role.PARTNER,
        municipality=app.municipality,
        scopes=scopes,
        organisation_kvk=app.organisation_kvk,
    )
    log.info("partner_app.token_issued", partner_app_id=app.id, scopes=list(scopes))
    return Grant(principal, scopes)
