"""The two checks every service applies: the role may do the action (403), and the record is
within reach (404: same municipality always; a client only themself; a provider only its own).
A partner application's token is held to its OAuth2 scopes as well (`scope_required`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

from shared.auth import CurrentPrincipal, Principal, Role
from shared.errors import Forbidden, NotFound


class Scope(StrEnum):
    """What a partner application may be granted (OAuth2 scopes, RFC 6749 section 3.3)."""

    INVOICES_WRITE = "invoices:write"
    PROGRESS_WRITE = "progress:write"
    CLIENTS_READ_OWN = "clients:read-own"
    WEBHOOKS_MANAGE = "webhooks:manage"
    HANDOVERS_WRITE = "handovers:write"  # warm hand-overs between UWV and the municipality (iro)


PARTNER_SCOPES: tuple[str, ...] = tuple(scope.value for scope in Scope)


def ensure_visible(
    who: Principal, *, municipality: str, client_id: str | None, what: str, provider_id: str | None = None
) -> None:
    """404 (never 403) when a record is outside the caller's reach, so ids leak nothing."""
    if municipality != who.municipality:
        raise NotFound(what)
    if who.is_client_side() and client_id != who.client_id:
        raise NotFound(what)
    if who.role == Role.PROVIDER and provider_id is not None and provider_id != who.provider_id:
        raise NotFound(what)


def require_one_of(who: Principal, roles: Iterable[Role]) -> None:
    """403 unless `who` has one of `roles`; the answer names the roles that may, in English and Dutch.
    Each service's permissions table says which roles an action needs and calls this."""
    allowed_roles = tuple(roles)
    if who.role in allowed_roles:
        return
    allowed = ", ".join(role.value for role in allowed_roles)
    raise Forbidden(
        "auth.role_not_allowed",
        f"This needs one of the roles: {allowed}.",
        message_nl=f"Hiervoor is een van deze rollen nodig: {allowed}.",
    )


def require_scope(who: Principal, scope: Scope) -> None:
    """403 naming the scope when a partner token lacks it. Scopes apply to partner tokens only:
    staff, client and provider tokens are held to their role alone."""
    if who.role != Role.PARTNER or scope.value in who.scopes:
        return
    raise Forbidden(
        "auth.scope_missing",
        f"This needs the scope {scope.value}; ask the municipality to grant it to your application.",
        "scope",
        message_nl=f"Hiervoor is de scope {scope.value} nodig; vraag de gemeente die aan uw applicatie toe te kennen.",
    )


def scope_required(scope: Scope) -> Callable[[Principal], None]:
    """A route dependency: `dependencies=[Depends(scope_required(Scope.PROGRESS_WRITE))]`."""

    def _check(who: CurrentPrincipal) -> None:
        require_scope(who, scope)

    _check.required_scope = scope  # type: ignore[attr-defined]  # read by the route walker's tests
    return _check


def as_provider(who: Principal, scope: Scope) -> Principal:
    """A partner application with `scope` acts as the provider its organisation's KvK number is
    (provider id `kvk:<number>`, the form provider tokens carry), so every provider check applies
    to it unchanged; without the scope a 403 naming it. Other tokens come back as they are."""
    if who.role != Role.PARTNER:
        return who
    require_scope(who, scope)
    if not who.organisation_kvk:
        raise Forbidden(
            "auth.partner_without_organisation",
            "This partner token names no organisation (KvK number); get one from the token endpoint.",
            message_nl="Dit partnertoken noemt geen organisatie (KvK-nummer); vraag een token aan bij het "
            "tokenendpoint.",
        )
    return who.model_copy(update={"role": Role.PROVIDER, "provider_id": f"kvk:{who.organisation_kvk}"})
