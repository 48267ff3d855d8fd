"""Rows <-> domain objects for messages. Nothing here decides who may read them (permissions.py)."""

from __future__ import annotations

from sqlmodel import Session

from services.notifications.domain.messages import Message, MessageStatus, RecipientKind
from services.notifications.models import Message as MessageRow


def to_domain(row: MessageRow) -> Message:
    return Message(
        id=row.id,
        municipality=row.municipality,
        recipient_kind=RecipientKind(row.recipient_kind),
        client_id=row.client_id,
        template=row.template,
        params=dict(row.params),
        cause_event_id=row.cause_event_id,
        created_at=row.created_at,
        status=MessageStatus(row.status),
        sent_at=row.sent_at,
    )


def add(session: Session, message: Message) -> None:
    session.add(
        MessageRow(
            id=message.id,
            municipality=message.municipality,
            recipient_kind=message.recipient_kind,
            client_id=message.client_id,
            template=message.template,
            params=message.params,
            cause_event_id=message.cause_event_id,
            status=message.status,
            created_at=message.created_at,
            sent_at=message.sent_at,
        )
    )
