"""Notifications HTTP routes: parse, authorise, call a command or a query. No rules here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from services.notifications import api_delivery, api_webhooks, queries
from services.notifications.domain.messages import RecipientKind
from services.notifications.models import Language, MessagePublic
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep
from shared.pagination import PAGED, PageDep, page_answer

router = APIRouter()


def _language(lang: Language | None, accept_language: str | None) -> Language:
    """`?lang=` wins; otherwise English when Accept-Language starts with en, else Dutch."""
    if lang is not None:
        return lang
    return "en" if (accept_language or "").strip().lower().startswith("en") else "nl"


@router.get(
    "/messages", response_model=list[MessagePublic], responses=PAGED, tags=["messages"], summary="List messages"
)
def list_messages(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    client_id: Annotated[str | None, Query(max_length=36, description="Staff: only this client's messages.")] = None,
    recipient_kind: Annotated[
        RecipientKind | None, Query(description="client, case_team, finance, ops, provider or partner.")
    ] = None,
    unread: Annotated[bool | None, Query(description="true: only those the caller has not read; false: read.")] = None,
    lang: Annotated[
        Language | None,
        Query(description="nl or en; without it, Accept-Language decides (en when it starts with en, else nl)."),
    ] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> list[MessagePublic]:
    """Messages to people, oldest first, rendered in Dutch or English (`lang`). Staff see the
    municipality's messages (filter by `client_id`); the client side sees only its own messages
    addressed to the client."""
    language = _language(lang, accept_language)
    return page_answer(
        queries.list_messages(
            session, who, language, page, client_id=client_id, recipient_kind=recipient_kind, unread=unread
        ),
        response,
    )


# Each area's routes live in its own module; this router is the service's one router.
for area_router in (api_delivery.router, api_webhooks.router):
    router.include_router(area_router)
