"""Tables of the notifications service for delivery (schema "notifications"): the delivery log (one
row per recipient x cause x channel, never two), who has read a message in the app, and each
municipality's own settings (the case team's mailbox). No address is stored: it is looked up
when the message is sent (directory.py)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import AutoString, Field, SQLModel

from services.notifications.domain.delivery import Channel, DeliveryStatus

SCHEMA = "notifications"


class Delivery(SQLModel, table=True):
    """A message on one channel to one recipient, with every try counted."""

    __tablename__ = "delivery"
    __table_args__ = (
        # Never twice: two workers that race to queue or send the same thing meet here.
        UniqueConstraint("recipient", "cause", "channel", name="uq_delivery_recipient_cause_channel"),
        Index(
            "ix_notifications_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'deferred')"),
            sqlite_where=text("status IN ('queued', 'deferred')"),
        ),
        {"schema": SCHEMA},
    )

    id: str = Field(primary_key=True, max_length=36)
    message_id: str = Field(index=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    recipient: str = Field(max_length=80)  # client:<id> or team:<municipality>; never an address
    cause: str = Field(max_length=120)  # <event id>:<template>
    channel: Channel = Field(sa_type=AutoString(length=10))
    status: DeliveryStatus = Field(sa_type=AutoString(length=10))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = None
    created_at: datetime
    sent_at: datetime | None = None


class ClosedItem(SQLModel, table=True):
    """An item reminded of that is done (a follow-up, an invoice confirmed, a trajectory closed):
    a reminder about it said before this moment but handled after it (a retried event, workers out
    of order) is not made."""

    __tablename__ = "closed_item"
    __table_args__ = ({"schema": SCHEMA},)

    item: str = Field(primary_key=True, max_length=120)
    municipality: str = Field(primary_key=True, max_length=4)
    closed_at: datetime


class MessageRead(SQLModel, table=True):
    """A person (token subject) has read a message in the app."""

    __tablename__ = "message_read"
    __table_args__ = (UniqueConstraint("message_id", "reader", name="uq_message_read_reader"), {"schema": SCHEMA})

    id: str = Field(primary_key=True, max_length=36)
    message_id: str = Field(max_length=36)
    reader: str = Field(index=True, max_length=80)
    read_at: datetime


class MunicipalitySettings(SQLModel, table=True):
    """Notifications' own settings of a municipality."""

    __tablename__ = "municipality_settings"
    __table_args__ = ({"schema": SCHEMA},)

    municipality: str = Field(primary_key=True, max_length=4)
    team_mailbox: str | None = Field(default=None, max_length=254)
    finance_mailbox: str | None = Field(default=None, max_length=254)
    ops_mailbox: str | None = Field(default=None, max_length=254)
    updated_at: datetime


class Preference(SQLModel, table=True):
    """A client's wishes for messages (set by the client side, read by staff); none stored: the defaults."""

    __tablename__ = "preference"
    __table_args__ = ({"schema": SCHEMA},)

    client_id: str = Field(primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    email: bool = True
    sms: bool = False
    language: str | None = Field(default=None, max_length=2)
    quiet_from: time | None = None
    quiet_until: time | None = None
    hold_mail: bool = False
    updated_by: str = Field(max_length=80)
    updated_at: datetime


class PreferencesPublic(SQLModel):
    client_id: str
    email: bool = Field(description="Messages also by e-mail.")
    sms: bool = Field(description="Messages also by SMS (never at night, 21:00-08:00).")
    language: Literal["nl", "en"] | None = Field(description="null: the language the municipality registered.")
    quiet_from: time | None = Field(description="Quiet hours start (Dutch time): no SMS, mail held if hold_mail.")
    quiet_until: time | None
    hold_mail: bool = Field(description="Keep e-mail until the quiet hours end.")


class PreferencesChange(SQLModel):
    email: bool = True
    sms: bool = False
    language: Literal["nl", "en"] | None = None
    quiet_from: time | None = None
    quiet_until: time | None = None
    hold_mail: bool = False


class DeliveryPublic(SQLModel):
    id: str
    message_id: str
    channel: Channel
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None


class MunicipalitySettingsPublic(SQLModel):
    municipality: str
    team_mailbox: str | None = Field(description="Where the case team's messages also go by e-mail; null: app only.")
    finance_mailbox: str | None = Field(
        default=None, description="Where finance's messages (a payment run to confirm) also go; null: app only."
    )
    ops_mailbox: str | None = Field(
        default=None,
        description="Where alerts for operators (a partner's webhook failed for good) go; null: the instance's "
        "PRB_OPS_ALERT_EMAIL, or the app only.",
    )


class MunicipalitySettingsChange(SQLModel):
    team_mailbox: str | None = Field(
        default=None, max_length=254, description="An e-mail address, or null for the in-app inbox only."
    )
    finance_mailbox: str | None = Field(default=None, max_length=254, description="An e-mail address, or null.")
    ops_mailbox: str | None = Field(default=None, max_length=254, description="An e-mail address, or null.")
