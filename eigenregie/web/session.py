"""The web session: a signed, HttpOnly, SameSite=Lax cookie holding who is logged in (never a
BSN, a name or a token), the CSRF token of the session and the language. It times out after
`web_session_minutes` without a request; every answer renews it."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from shared.auth import Principal, Role
from shared.config import Settings

COOKIE = "prb_session"
_SALT = "eigenregie.web.session"


@dataclass(frozen=True)
class WebSession:
    subject: str
    role: str
    municipality: str
    csrf: str
    client_id: str | None = None
    provider_id: str | None = None
    lang: str = "nl"
    # A chain partner's employee: the organisation's KvK number and the scopes it holds.
    organisation_kvk: str | None = None
    scopes: tuple[str, ...] = ()

    @classmethod
    def start(cls, principal: Principal, lang: str = "nl") -> WebSession:
        return cls(
            subject=principal.subject,
            role=principal.role.value,
            municipality=principal.municipality,
            csrf=secrets.token_urlsafe(32),
            client_id=principal.client_id,
            provider_id=principal.provider_id,
            lang=lang,
            organisation_kvk=principal.organisation_kvk,
            scopes=principal.scopes,
        )

    @property
    def principal(self) -> Principal:
        return Principal(
            subject=self.subject,
            role=Role(self.role),
            municipality=self.municipality,
            client_id=self.client_id,
            provider_id=self.provider_id,
            organisation_kvk=self.organisation_kvk,
            scopes=self.scopes,
        )

    def with_lang(self, lang: str) -> WebSession:
        return replace(self, lang=lang)

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, str(token))


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.jwt_secret, salt=_SALT)


def dump(session: WebSession, settings: Settings) -> str:
    return _serializer(settings).dumps(asdict(session))


def load(cookie: str | None, settings: Settings) -> WebSession | None:
    """The session in the cookie, or None when there is none, it was tampered with or it timed out."""
    if not cookie:
        return None
    try:
        data: dict[str, Any] = _serializer(settings).loads(cookie, max_age=settings.web_session_minutes * 60)
        return WebSession(**{**data, "scopes": tuple(data.get("scopes") or ())})
    except (BadSignature, TypeError, ValueError):
        return None
