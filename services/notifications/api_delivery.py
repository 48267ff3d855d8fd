"""Notifications HTTP routes for delivery: parse, authorise, call a command or a query. No rules here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from services.notifications import delivery, preferences
from services.notifications.domain.delivery import Channel, DeliveryStatus
from services.notifications.models_delivery import (
    DeliveryPublic,
    MunicipalitySettingsChange,
    MunicipalitySettingsPublic,
    PreferencesChange,
    PreferencesPublic,
)
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("notifications"))]
MessageId = Annotated[str, Path(max_length=36)]


class ReadPublic(BaseModel):
    message_id: str
    read_at: datetime


@router.post("/messages/{message_id}/read", response_model=ReadPublic, tags=["messages"], summary="Mark as read")
def mark_read(message_id: MessageId, who: CurrentPrincipal, uow: Uow) -> ReadPublic:
    """The caller has read this message in the app (`GET /messages?unread=true` leaves it out from now
    on). Read state is per person. The client side may mark only its own messages; again is no change."""
    return ReadPublic(message_id=message_id, read_at=delivery.mark_read(uow, who, message_id))


@router.get(
    "/deliveries", response_model=list[DeliveryPublic], responses=PAGED, tags=["deliveries"], summary="Delivery log"
)
def list_deliveries(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    status: Annotated[DeliveryStatus | None, Query(description="queued, sent, deferred, bounced or failed.")] = None,
    channel: Annotated[Channel | None, Query(description="in_app, email or sms.")] = None,
) -> list[DeliveryPublic]:
    """Staff: every delivery of the municipality's messages, newest first, with its tries and last
    error (never an address). `status=failed` lists what will not go out any more."""
    return page_answer(delivery.list_deliveries(session, who, page, status=status, channel=channel), response)


@router.get("/settings", response_model=MunicipalitySettingsPublic, tags=["settings"], summary="Notification settings")
def get_settings(who: CurrentPrincipal, session: SessionDep) -> MunicipalitySettingsPublic:
    """Team lead: the municipality's notification settings (the case team's mailbox)."""
    return delivery.get_settings_of(session, who)


@router.put("/settings", response_model=MunicipalitySettingsPublic, tags=["settings"], summary="Change them")
def put_settings(who: CurrentPrincipal, uow: Uow, data: MunicipalitySettingsChange) -> MunicipalitySettingsPublic:
    """Team lead: the case team's mailbox (one e-mail address, or null for the app only). Messages made
    from now on also go there by e-mail."""
    return delivery.change_settings(uow, who, data)


@router.get("/preferences", response_model=PreferencesPublic, tags=["preferences"], summary="Message preferences")
def get_preferences(
    who: CurrentPrincipal,
    session: SessionDep,
    client_id: Annotated[str | None, Query(max_length=36, description="Staff: whose preferences.")] = None,
) -> PreferencesPublic:
    """The client side reads its own; staff name the client. Without stored preferences: e-mail on,
    SMS off, the registered language, no quiet hours."""
    return preferences.get_preferences(session, who, client_id)


@router.put("/preferences", response_model=PreferencesPublic, tags=["preferences"], summary="Set them")
def put_preferences(who: CurrentPrincipal, uow: Uow, data: PreferencesChange) -> PreferencesPublic:
    """The client side: channels on or off, language (nl or en; null: the registered one) and quiet
    hours (Dutch time; no SMS then, e-mail held until they end when `hold_mail`). An SMS never goes
    out at night (21:00-08:00)."""
    return preferences.set_preferences(uow, who, data)


class MailboxMail(BaseModel):
    name: str
    to: str
    subject: str
    language: str | None
    date: str
    text: str


@router.get("/mailbox", response_model=list[MailboxMail], responses=PAGED, tags=["deliveries"], summary="Local mailbox")
def list_mailbox(who: CurrentPrincipal, request: Request, page: PageDep, response: Response) -> list[MailboxMail]:
    """Staff, embedded mode: the mails written to the local mailbox (`PRB_DATA_DIR/mailbox`, used when
    no SMTP host is set), newest first, with their plain text. Empty when mail goes out over SMTP."""
    folder = request.app.state.runtime.settings.data_dir / "mailbox"
    return page_answer(delivery.list_mailbox(who, folder, page).map(lambda e: MailboxMail(**e.__dict__)), response)
