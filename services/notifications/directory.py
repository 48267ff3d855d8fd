"""Where a recipient's address comes from: the owning service's API, asked at send time under
notifications' own authorisation (role `service`). Events and notifications' tables keep ids only.

`ContactDirectory` is what the sender needs; `IntakeDirectory` asks intake over HTTP
(`GET /intake/v1/clients/{client_id}/contact`). Tests pass an httpx transport to the app in process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import httpx

from shared.auth import Principal, Role, issue_token
from shared.config import Settings

TOKEN_TTL = timedelta(minutes=5)


@dataclass(frozen=True)
class Contact:
    email: str | None = None
    phone: str | None = None
    language: str | None = None
    representative_emails: tuple[str, ...] = field(default_factory=tuple)


class DirectoryUnavailable(Exception):
    """The owning service did not answer: try again later (the delivery is deferred)."""


class ContactDirectory(Protocol):
    def client_contact(self, municipality: str, client_id: str) -> Contact | None:
        """The client's addresses now; None when the client is not known there."""
        ...


class IntakeDirectory:
    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self._settings = settings
        self._transport = transport

    def _token(self, municipality: str) -> str:
        who = Principal(subject="notifications", role=Role.SERVICE, municipality=municipality)
        return issue_token(who, self._settings, ttl=TOKEN_TTL)

    def client_contact(self, municipality: str, client_id: str) -> Contact | None:
        try:
            with httpx.Client(
                base_url=self._settings.directory_base_url, transport=self._transport, timeout=10.0
            ) as http:
                r = http.get(
                    f"/intake/v1/clients/{client_id}/contact",
                    headers={"Authorization": f"Bearer {self._token(municipality)}"},
                )
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"intake did not answer: {type(exc).__name__}") from exc
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise DirectoryUnavailable(f"intake answered {r.status_code}")
        data = r.json()
        return Contact(
            email=data.get("email"),
            phone=data.get("phone"),
            language=data.get("language"),
            representative_emails=tuple(data.get("representative_emails") or ()),
        )
