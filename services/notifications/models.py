"""Tables owned by the notifications service (schema "notifications"), and its API shapes.

Times are set from the unit of work's clock, never by a default here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from services.notifications.domain.messages import MessageStatus, RecipientKind

SCHEMA = "notifications"

# The one name for a language across the services: `lang`.
Language = Literal["nl", "en"]


class Message(SQLModel, table=True):
    """A message to a person. Stores a template and ids; the text is rendered in their language."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("cause_event_id", "template", name="uq_message_cause_template"),
        {"schema": SCHEMA},
    )

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    recipient_kind: RecipientKind = Field(sa_type=AutoString(length=20))
    client_id: str | None = Field(default=None, index=True, max_length=36)
    template: str = Field(max_length=60)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cause_event_id: str = Field(max_length=36)
    status: MessageStatus = Field(default=MessageStatus.PENDING, sa_type=AutoString(length=20))
    created_at: datetime
    sent_at: datetime | None = None
    item: str | None = Field(default=None, index=True, max_length=120)  # the item a reminder is about
    recipient_ref: str | None = Field(default=None, index=True, max_length=80)  # a provider's or partner's id


class MessagePublic(SQLModel):
    id: str
    recipient_kind: RecipientKind
    client_id: str | None
    template: str
    item: str | None = Field(default=None, description="What a reminder is about, e.g. follow_up:<id>.")
    language: Language = Field(description="The language the subject and body are in.")
    subject: str
    body: str
    status: MessageStatus
    created_at: datetime
    read: bool = Field(default=False, description="The caller has read it in the app (POST /messages/{id}/read).")
    deliveries: list[DeliveryPublic] = Field(
        default_factory=list, description="Per channel: status, tries, last error (a permanent failure stays here)."
    )


# area models: the tables in models_<area>.py register with SQLModel's metadata on import.
from services.notifications import models_delivery, models_webhooks  # noqa: E402, F401
from services.notifications.models_delivery import DeliveryPublic  # noqa: E402

MessagePublic.model_rebuild()
