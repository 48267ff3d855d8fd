"""Notifications' reads: messages, rendered in the reader's language, paged in SQL."""

from __future__ import annotations

from sqlmodel import Session, col, select

from services.notifications import delivery, repository
from services.notifications.domain.messages import RecipientKind
from services.notifications.models import Language, Message, MessagePublic
from services.notifications.permissions import Action, authorize, visible_messages
from shared.auth import Principal
from shared.pagination import Page, PageRequest, page_of


def _public(row: Message, language: Language) -> MessagePublic:
    message = repository.to_domain(row)
    text = message.rendered(language)
    return MessagePublic(
        id=message.id,
        recipient_kind=message.recipient_kind,
        client_id=message.client_id,
        template=message.template,
        item=message.item,
        language="en" if text.language == "en" else "nl",
        subject=text.subject,
        body=text.body,
        status=message.status,
        created_at=message.created_at,
    )


def list_messages(
    session: Session,
    who: Principal,
    language: Language,
    page: PageRequest,
    *,
    client_id: str | None = None,
    recipient_kind: RecipientKind | None = None,
    unread: bool | None = None,
) -> Page[MessagePublic]:
    authorize(who, Action.READ_MESSAGES)
    query = select(Message).where(visible_messages(who))
    if client_id:
        query = query.where(Message.client_id == client_id)
    if recipient_kind is not None:
        query = query.where(Message.recipient_kind == recipient_kind)
    if unread is not None:
        query = query.where(delivery.unread_filter(who.subject) if unread else ~delivery.unread_filter(who.subject))
    query = query.order_by(col(Message.created_at), col(Message.id))
    rows = page_of(session, query, page)
    ids = [row.id for row in rows.items]
    read, sent = delivery.read_by(session, who.subject, ids), delivery.deliveries_of(session, ids)
    return rows.map(
        lambda row: _public(row, language).model_copy(update={"read": row.id in read, "deliveries": sent[row.id]})
    )
