"""Bearer tokens for tests, as `prb token` issues them."""

from __future__ import annotations

from collections.abc import Sequence

from shared.access import PARTNER_SCOPES
from shared.auth import Principal, Role, issue_token
from shared.config import Settings


def token_for(role: Role | str, municipality: str = "0014", *, subject: str | None = None,
              client_id: str | None = None, provider_id: str | None = None, settings: Settings | None = None,
              scopes: Sequence[str] | None = None, organisation_kvk: str | None = None) -> str:
    """A partner token carries every partner scope unless `scopes` says otherwise (as if its
    application were granted them all); other roles carry none."""
    role = Role(role)
    if scopes is None:
        scopes = PARTNER_SCOPES if role == Role.PARTNER else ()
    principal = Principal(subject=subject or f"{role.value}-{municipality}", role=role, municipality=municipality,
                          client_id=client_id, provider_id=provider_id, scopes=tuple(scopes),
                          organisation_kvk=organisation_kvk)
    return issue_token(principal, settings or Settings())


def auth(role: Role | str, municipality: str = "0014", **kwargs: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(role, municipality, **kwargs)}"}
