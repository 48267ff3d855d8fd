"""Scoping rules every service applies: same municipality always; a client only themself."""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.errors import NotFound


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
