"""Tables owned by the notifications service (schema "notifications")."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

SCHEMA = "notifications"


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Message(SQLModel, table=True):
    """A message to a person. Stores a template and ids; the text is rendered in their language."""

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("cause_event_id", "template", name="uq_message_cause_template"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    recipient_kind: str = Field(max_length=20)  # client | case_team
    client_id: str | None = Field(default=None, index=True, max_length=36)
    template: str = Field(max_length=60)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cause_event_id: str = Field(max_length=36)
    status: str = Field(default="pending", max_length=20)
    created_at: datetime = Field(default_factory=_now)
    sent_at: datetime | None = None


class MessagePublic(SQLModel):
    id: str
    recipient_kind: str
    client_id: str | None
    template: str
    language: str
    subject: str
    body: str
    status: str
    created_at: datetime
