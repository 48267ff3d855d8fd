"""Notifications HTTP routes: parse, authorise, call a handler. No rules here."""

from __future__ import annotations

from fastapi import APIRouter, Header

from services.notifications import handlers
from services.notifications.models import MessagePublic
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep

router = APIRouter()


@router.get("/messages", response_model=list[MessagePublic], tags=["messages"])
def list_messages(who: CurrentPrincipal, session: SessionDep, client_id: str | None = None,
                  accept_language: str = Header(default="nl")) -> list[MessagePublic]:
    language = "en" if accept_language.lower().startswith("en") else "nl"
    return handlers.list_messages(session, who, language, client_id)
