"""Tables of the notifications service for webhooks (schema "notifications"), and their API shapes.

A subscription (a partner's callback URL, event types and filters, a sealed signing secret), one
delivery per subscription and event (the CloudEvent body fixed once, so every attempt sends and
signs the same bytes) and every attempt. Times come from the unit of work's clock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from services.notifications.domain.webhooks import SubscriptionStatus, WebhookDeliveryStatus

SCHEMA = "notifications"


class WebhookSubscription(SQLModel, table=True):
    __tablename__ = "webhook_subscription"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    owner_subject: str = Field(max_length=80)
    owner_role: str = Field(max_length=20)
    provider_id: str | None = Field(default=None, max_length=80)
    callback_url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scheme: str | None = Field(default=None, max_length=40)
    own_organisation_only: bool = False
    secret_sealed: str = Field(sa_column=Column(Text, nullable=False))
    status: SubscriptionStatus = Field(default=SubscriptionStatus.ACTIVE, sa_type=AutoString(length=20))
    consecutive_failures: int = 0  # failed deliveries in a row; at the limit the subscription pauses
    created_at: datetime
    paused_at: datetime | None = None


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_subscription_event"),
        Index("ix_notifications_webhook_delivery_due", "status", "next_attempt_at"),
        {"schema": SCHEMA},
    )

    id: str = Field(primary_key=True, max_length=36)  # also the `webhook-id` header: the same on every attempt
    subscription_id: str = Field(index=True, max_length=36)
    municipality: str = Field(max_length=4)
    event_id: str = Field(max_length=36)
    event_type: str = Field(max_length=80)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: WebhookDeliveryStatus = Field(default=WebhookDeliveryStatus.PENDING, sa_type=AutoString(length=20))
    attempts: int = 0  # in this round (a replay starts a new round)
    next_attempt_at: datetime | None = None
    round_started_at: datetime
    created_at: datetime
    delivered_at: datetime | None = None
    failed_at: datetime | None = None


class WebhookAttempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(primary_key=True, max_length=36)
    delivery_id: str = Field(index=True, max_length=36)
    number: int  # 1, 2, ... over every round of the delivery
    at: datetime
    status_code: int | None = None
    latency_ms: int
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, max_length=500)


# --- API shapes ---------------------------------------------------------------------------------


class WebhookSubscriptionCreate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    callback_url: str = Field(max_length=2000, description="https outside dev and test; a public address.")
    event_types: list[str] = Field(
        min_length=1, max_length=20, description="Short names (`InvoicePaid`) from the allow-list of your role."
    )
    scheme: str | None = Field(default=None, max_length=40, description="Only events that name this scheme.")


class WebhookSubscriptionPublic(SQLModel):
    id: str
    callback_url: str
    event_types: list[str]
    scheme: str | None
    provider_id: str | None
    own_organisation_only: bool
    status: SubscriptionStatus
    consecutive_failures: int
    created_at: datetime
    paused_at: datetime | None


class WebhookSubscriptionCreated(WebhookSubscriptionPublic):
    secret: str = Field(description="The signing secret (Standard Webhooks, `whsec_...`). Shown once, now.")


class WebhookAttemptPublic(SQLModel):
    number: int
    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_excerpt: str | None


class WebhookDeliveryPublic(SQLModel):
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    failed_at: datetime | None
    attempt_log: list[WebhookAttemptPublic]
