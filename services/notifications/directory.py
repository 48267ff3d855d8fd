"""Where a recipient's address comes from: the owning service's API, asked at send time under
notifications' own authorisation (role `service`). Events and notifications' tables keep ids only.

`ContactDirectory` is what the sender needs; `ServiceDirectory` asks intake
(`GET /intake/v1/clients/{client_id}/contact`) and budget (`GET /budget/v1/invoices/{invoice_id}/supplier-contact`)
over HTTP. Tests pass an httpx transport to the app in process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import httpx

from shared.auth import Principal, Role, issue_token
from shared.config import Settings

TOKEN_TTL = timedelta(minutes=5)
PURPOSE = "notification.delivery"


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

    def supplier_contact(self, municipality: str, invoice_id: str) -> Contact | None:
        """The address of the supplier who sent an invoice, as budget knows it; None when unknown."""
        ...


class ServiceDirectory:
    """Asks the owning service: intake for a client, budget for an invoice's supplier."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self._settings = settings
        self._transport = transport

    def _token(self, municipality: str) -> str:
        who = Principal(subject="notifications", role=Role.SERVICE, municipality=municipality)
        return issue_token(who, self._settings, ttl=TOKEN_TTL)

    def _get(self, base_url: str, path: str, municipality: str, owner: str) -> dict[str, object] | None:
        # The owner's audit trail records the read with this purpose (shared.audit_http).
        headers = {"Authorization": f"Bearer {self._token(municipality)}", "X-Purpose": PURPOSE}
        try:
            with httpx.Client(base_url=base_url, transport=self._transport, timeout=10.0) as http:
                r = http.get(path, headers=headers)
        except httpx.HTTPError as exc:
            raise DirectoryUnavailable(f"{owner} did not answer: {type(exc).__name__}") from exc
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise DirectoryUnavailable(f"{owner} answered {r.status_code}")
        data = r.json()
        return data if isinstance(data, dict) else None

    def client_contact(self, municipality: str, client_id: str) -> Contact | None:
        data = self._get(
            self._settings.directory_base_url, f"/intake/v1/clients/{client_id}/contact", municipality, "intake"
        )
        if data is None:
            return None
        emails = data.get("representative_emails") or ()
        return Contact(
            email=_text(data.get("email")),
            phone=_text(data.get("phone")),
            language=_text(data.get("language")),
            representative_emails=tuple(str(a) for a in emails if a) if isinstance(emails, list | tuple) else (),
        )

    def supplier_contact(self, municipality: str, invoice_id: str) -> Contact | None:
        base = self._settings.supplier_directory_base_url or self._settings.directory_base_url
        data = self._get(base, f"/budget/v1/invoices/{invoice_id}/supplier-contact", municipality, "budget")
        return None if data is None else Contact(email=_text(data.get("email")))


def _text(value: object) -> str | None:
    return str(value) if value else None
