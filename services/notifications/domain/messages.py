"""A message to a person, as notifications keeps it: a template and ids, rendered in the reader's
language when it is read (domain/templates.py). Plain Python: no session, no clock of its own.

    (an event or a reminder) ─> pending ─(its deliveries queued: in the app at once, mail/SMS by the sender)─> sent
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.notifications.domain.templates import TEMPLATES, RenderedMessage, render


class RecipientKind(StrEnum):
    CLIENT = "client"  # the client (and their representative) read it
    CASE_TEAM = "case_team"  # the municipality's case manager and team lead read it
    FINANCE = "finance"  # the municipality's finance officers
    OPS = "ops"  # the municipality's operators (and the ops alert address)
    PROVIDER = "provider"  # the provider named on an invoice (recipient_ref: its provider id or KvK)
    PARTNER = "partner"  # a partner application's owner (recipient_ref: the token subject)


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"


@dataclass
class Message:
    id: str
    municipality: str
    recipient_kind: RecipientKind
    client_id: str | None
    template: str
    params: dict[str, Any]
    cause_event_id: str
    created_at: datetime
    status: MessageStatus = MessageStatus.PENDING
    sent_at: datetime | None = None
    # The item a reminder is about (`follow_up:<id>`, `invoice:<id>`, ...): its waiting deliveries
    # are cancelled when the item is done.
    item: str | None = None
    recipient_ref: str | None = None

    @classmethod
    def about(
        cls,
        *,
        message_id: str,
        municipality: str,
        template: str,
        client_id: str | None,
        recipient_kind: RecipientKind,
        params: dict[str, Any],
        cause_event_id: str,
        at: datetime,
        item: str | None = None,
        recipient_ref: str | None = None,
    ) -> Message:
        """A new message caused by an event; the template must exist (a typo fails the handler, loudly)."""
        if template not in TEMPLATES:
            raise KeyError(f"no message template {template!r}")
        return cls(
            id=message_id,
            municipality=municipality,
            recipient_kind=recipient_kind,
            client_id=client_id,
            template=template,
            params=params,
            cause_event_id=cause_event_id,
            created_at=at,
            item=item,
            recipient_ref=recipient_ref,
        )

    def rendered(self, language: str) -> RenderedMessage:
        return render(self.template, self.params, language)
