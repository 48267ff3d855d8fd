"""The audit trail on the pages (issue 13): a team lead sees who read or changed a client's data in
every service, when, through which endpoint and why, and whether each service's hash chain is
whole; a client (or representative) sees who saw their own data. Routes call the APIs through
pages.api() (GET /<service>/v1/audit, /audit/mine, /audit/verify); no rules here."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from eigenregie.web import i18n, pages
from eigenregie.web.api_client import ApiClient, ApiError
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)
TeamLead = Annotated[WebSession, Depends(pages.role_in("team_lead"))]
ClientSide = Annotated[WebSession, Depends(pages.role_in("client", "representative"))]
SERVICES = ("intake", "budget", "monitoring", "notifications")
MAX_RECORDS = 500  # per service on one page


def add_menu_items() -> None:
    """Last in their roles' menus: areas.py calls this after every other area has registered its items."""
    pages.add_nav(["team_lead"], "/team/audit", "audit.nav.trail")
    pages.add_nav(["client", "representative"], "/client/data-access", "audit.nav.mine")


async def _records(client: ApiClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every service's records at `path`, newest first; a service with no record of the client says 404."""
    found: list[dict[str, Any]] = []
    for service in SERVICES:
        try:
            found += await client.get(f"/{service}/v1/{path}", page_size=MAX_RECORDS, **params)
        except ApiError as exc:
            if exc.status != 404:
                raise
    return sorted(found, key=lambda r: r["at"], reverse=True)


@router.get("/team/audit", response_class=HTMLResponse)
async def trail(
    request: Request,
    who: TeamLead,
    client_id: Annotated[str, Query(max_length=36, pattern=r"^[A-Za-z0-9_-]*$")] = "",
) -> Response:
    client = pages.api(request, who)
    chains = [await client.get(f"/{service}/v1/audit/verify") for service in SERVICES]
    records = await _records(client, "audit", client_id=client_id) if client_id else []
    return pages.render(
        request,
        who,
        "audit/trail.html",
        title_key="audit.title.trail",
        client_id=client_id,
        chains=chains,
        records=records,
    )


@router.get("/client/data-access", response_class=HTMLResponse)
async def mine(request: Request, who: ClientSide) -> Response:
    records = await _records(pages.api(request, who), "audit/mine")
    return pages.render(request, who, "audit/mine.html", title_key="audit.title.mine", records=records)


i18n.register(
    {
        "audit.nav.trail": {"nl": "Wie zag wat", "en": "Who saw what"},
        "audit.nav.mine": {"nl": "Wie zag mijn gegevens", "en": "Who saw my data"},
        "audit.title.trail": {
            "nl": "Wie zag of wijzigde gegevens van een klant",
            "en": "Who saw or changed a client's data",
        },
        "audit.title.mine": {"nl": "Wie zag of wijzigde mijn gegevens", "en": "Who saw or changed my data"},
        "audit.intro": {
            "nl": "Elke keer dat iemand gegevens van een klant bekijkt of wijzigt, wordt dat vastgelegd. Vul het"
            " klantnummer in (het id) om te zien wie, wanneer, waar en waarom.",
            "en": "Every time someone looks at or changes a client's data, it is recorded. Enter the client's id"
            " to see who, when, where and why.",
        },
        "audit.intro.mine": {
            "nl": "Hier ziet u wie uw gegevens bekeek of wijzigde, wanneer en waarom.",
            "en": "Here you see who looked at or changed your data, when and why.",
        },
        "audit.client_id": {"nl": "Id van de klant", "en": "Client id"},
        "audit.show": {"nl": "Toon", "en": "Show"},
        "audit.none": {"nl": "Er is niets vastgelegd.", "en": "Nothing has been recorded."},
        "audit.chains.title": {
            "nl": "Is het logboek compleet en onveranderd?",
            "en": "Is the log whole and unchanged?",
        },
        "audit.chains.service": {"nl": "Dienst", "en": "Service"},
        "audit.chains.checked": {"nl": "Regels nagekeken", "en": "Records checked"},
        "audit.chains.state": {"nl": "Toestand", "en": "State"},
        "audit.chains.ok": {"nl": "in orde", "en": "whole"},
        "audit.chains.broken": {"nl": "gewijzigd vanaf regel", "en": "changed from record"},
        "audit.when": {"nl": "Wanneer", "en": "When"},
        "audit.who": {"nl": "Wie", "en": "Who"},
        "audit.what": {"nl": "Wat", "en": "What"},
        "audit.where": {"nl": "Waar", "en": "Where"},
        "audit.why": {"nl": "Waarom", "en": "Why"},
        "audit.changes": {"nl": "Wijzigingen", "en": "Changes"},
        "audit.action.read": {"nl": "bekeken", "en": "read"},
        "audit.action.create": {"nl": "aangemaakt", "en": "created"},
        "audit.action.update": {"nl": "gewijzigd", "en": "changed"},
        "audit.action.delete": {"nl": "verwijderd", "en": "deleted"},
    }
)
