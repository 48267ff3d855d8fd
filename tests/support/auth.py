"""Bearer tokens for tests, as `prb token` issues them."""

from __future__ import annotations

from shared.auth import Principal, Role, issue_token
from shared.config import Settings


def token_for(role: Role | str, municipality: str = "0014", *, subject: str | None = None,
              client_id: str | None = None, provider_id: str | None = None, settings: Settings | None = None) -> str:
    role = Role(role)
    principal = Principal(subject=subject or f"{role.value}-{municipality}", role=role, municipality=municipality,
                          client_id=client_id, provider_id=provider_id)
    return issue_token(principal, settings or Settings())


def auth(role: Role | str, municipality: str = "0014", **kwargs: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(role, municipality, **kwargs)}"}
