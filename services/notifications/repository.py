"""Rows <-> domain objects for messages. Nothing here decides who may read them (permissions.py)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.notifications.domain.messages import Message, MessageStatus, RecipientKind
from services.notifications.models import Message as MessageRow
from shared.db import insert_ignoring_duplicates


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
        item=row.item,
        recipient_ref=row.recipient_ref,
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
            item=message.item,
            recipient_ref=message.recipient_ref,
        )
    )


def _row_values(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "municipality": message.municipality,
        "recipient_kind": message.recipient_kind.value,
        "client_id": message.client_id,
        "template": message.template,
        "params": message.params,
        "cause_event_id": message.cause_event_id,
        "status": message.status.value,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
        "item": message.item,
        "recipient_ref": message.recipient_ref,
    }


def add_once(session: Session, message: Message) -> bool:
    """Add the message unless one with the same cause and template is there; the UNIQUE constraint
    decides, so two workers racing make one. True when this one was added."""
    session.flush()
    return insert_ignoring_duplicates(session, MessageRow, [_row_values(message)]) == 1
