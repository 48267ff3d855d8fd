"""The chain partner's werkplein view (issue 13): the clients who chose this organisation, by an
active consent or a plan line naming its KvK number, with how to reach them; nothing else. intake's
partner API decides who is listed, with the partner token's scope `clients:read-own`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from eigenregie.web import i18n, pages
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)
Partner = Annotated[WebSession, Depends(pages.role_in("partner"))]
PURPOSES = ("progress_reporting", "warm_handover", "invoicing", "plan_line")

pages.add_nav(["partner"], "/partner", "partner.nav.clients")


@router.get("/partner", response_class=HTMLResponse)
async def clients(request: Request, who: Partner) -> Response:
    """The clients who chose this partner, and for what."""
    rows = await pages.api(request, who).get("/intake/v1/partner/clients", page_size=100)
    return pages.render(
        request, who, "partner/clients.html", title_key="partner.title.clients", rows=rows, purposes=PURPOSES
    )


def _both(nl: str, en: str) -> dict[str, str]:
    return {"nl": nl, "en": en}


i18n.register(
    {
        "partner.nav.clients": _both("Mijn klanten", "My clients"),
        "partner.title.clients": _both("Klanten die voor u kozen", "Clients who chose you"),
        "partner.intro": _both(
            "U ziet hier alleen klanten die u toestemming gaven, of van wie het plan uw organisatie noemt. Trekt"
            " een klant de toestemming in, dan staat hij hier meteen niet meer.",
            "You only see clients who gave you consent, or whose plan names your organisation. When a client"
            " withdraws consent, they are gone from here at once.",
        ),
        "partner.none": _both("Er zijn (nog) geen klanten die voor u kozen.", "No clients have chosen you (yet)."),
        "partner.caption": _both("Klanten die voor u kozen", "Clients who chose you"),
        "partner.name": _both("Naam", "Name"),
        "partner.number": _both("Klantnummer", "Client number"),
        "partner.contact": _both("Contact", "Contact"),
        "partner.why": _both("Waarvoor", "What for"),
        "partner.purpose.progress_reporting": _both("laten weten hoe het gaat", "reporting how it goes"),
        "partner.purpose.warm_handover": _both("overdracht UWV en gemeente", "hand-over UWV and municipality"),
        "partner.purpose.invoicing": _both("rekeningen", "invoices"),
        "partner.purpose.plan_line": _both("u staat in het plan", "you are in the plan"),
    }
)
