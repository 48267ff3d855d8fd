"""The two checks every service applies: the role may do the action (403), and the record is
within reach (404: same municipality always; a client only themself; a provider only its own)."""

from __future__ import annotations

from collections.abc import Iterable

from shared.auth import Principal, Role
from shared.errors import Forbidden, NotFound


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
