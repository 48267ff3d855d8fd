"""The client's consents (issue 13): which partner (by KvK number) may see them, for which purpose
and until when; grant one, withdraw one (at once). intake's consent API decides and keeps them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from eigenregie.web import i18n, pages
from eigenregie.web.api_client import ApiError
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)
ClientSide = Annotated[WebSession, Depends(pages.role_in("client", "representative"))]
PURPOSES = ("progress_reporting", "warm_handover", "invoicing")
FIELDS = ("partner_kvk", "purpose", "until")

pages.add_nav(["client", "representative"], "/client/consents", "consent.nav")


async def _page(
    request: Request,
    who: WebSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    consents = await pages.api(request, who).get(f"/intake/v1/clients/{who.client_id}/consents", page_size=100)
    return pages.render(
        request,
        who,
        "client/consents.html",
        status=status,
        title_key="consent.title",
        consents=consents,
        purposes=PURPOSES,
        errors=errors or {},
        values=values or {},
        done=request.query_params.get("done", "") if status == 200 else "",
    )


@router.get("/client/consents", response_class=HTMLResponse)
async def consents(request: Request, who: ClientSide) -> Response:
    """The client's consents, active and ended, with a form to grant one."""
    return await _page(request, who)


@router.post("/client/consents", response_class=HTMLResponse)
async def grant(request: Request, who: ClientSide) -> Response:
    form = await pages.checked_form(request, who)
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    body = {"partner_kvk": values["partner_kvk"].replace(" ", ""), "purpose": values["purpose"]}
    if values["until"]:
        body["until"] = values["until"]
    try:
        await pages.api(request, who).post(f"/intake/v1/clients/{who.client_id}/consents", body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        return await _page(request, who, errors=exc.field_errors() or {"partner_kvk": exc.detail}, values=values,
                           status=422)  # fmt: skip
    return pages.redirect("/client/consents?done=granted")


@router.post("/client/consents/{consent_id}/withdraw", response_class=HTMLResponse)
async def withdraw(request: Request, who: ClientSide, consent_id: str) -> Response:
    """Withdraw a consent: the partner no longer finds the client through it, from its next request."""
    await pages.checked_form(request, who)
    await pages.api(request, who).post(f"/intake/v1/clients/{who.client_id}/consents/{consent_id}/withdraw")
    return pages.redirect("/client/consents?done=withdrawn")


def _both(nl: str, en: str) -> dict[str, str]:
    return {"nl": nl, "en": en}


i18n.register(
    {
        "consent.nav": _both("Toestemming", "Consent"),
        "consent.title": _both("Wie mag mijn gegevens zien?", "Who may see my data?"),
        "consent.intro": _both(
            "Een organisatie die u helpt (zoals UWV, een coach of een school) ziet uw naam en hoe u te bereiken"
            " bent alleen als u daar toestemming voor geeft. U kunt die toestemming altijd weer intrekken. Dat"
            " werkt meteen.",
            "An organisation that helps you (such as UWV, a coach or a school) sees your name and how to reach you"
            " only when you give consent. You can always withdraw it. That works at once.",
        ),
        "consent.granted": _both("Uw toestemming is opgeslagen.", "Your consent was saved."),
        "consent.withdrawn": _both("Uw toestemming is ingetrokken.", "Your consent was withdrawn."),
        "consent.none": _both("U heeft nog niemand toestemming gegeven.", "You have not given anyone consent yet."),
        "consent.caption": _both("Uw toestemmingen", "Your consents"),
        "consent.partner": _both("Organisatie (KvK-nummer)", "Organisation (KvK number)"),
        "consent.purpose": _both("Waarvoor", "What for"),
        "consent.until": _both("Tot en met", "Until"),
        "consent.state": _both("Geldt nu?", "In force?"),
        "consent.yes": _both("ja", "yes"),
        "consent.no": _both("nee", "no"),
        "consent.no_end": _both("tot u hem intrekt", "until you withdraw it"),
        "consent.withdraw": _both("Intrekken", "Withdraw"),
        "consent.withdraw_label": _both("Intrekken: {kvk}, {purpose}", "Withdraw: {kvk}, {purpose}"),
        "consent.on_paper": _both("op papier gegeven", "given on paper"),
        "consent.new": _both("Toestemming geven", "Give consent"),
        "consent.field.partner_kvk": _both("KvK-nummer van de organisatie", "The organisation's KvK number"),
        "consent.hint.partner_kvk": _both(
            "8 cijfers. Het staat op de brief of de website van de organisatie.",
            "8 digits. It is on the organisation's letter or website.",
        ),
        "consent.field.purpose": _both("Waarvoor mag de organisatie uw gegevens zien?", "What may they see it for?"),
        "consent.field.until": _both("Tot en met (leeg: tot u hem intrekt)", "Until (empty: until you withdraw it)"),
        "consent.give": _both("Toestemming geven", "Give consent"),
        "consent.choose": _both("Kies", "Choose"),
        "consent.purpose.progress_reporting": _both("Laten weten hoe het gaat", "Reporting how it goes"),
        "consent.purpose.warm_handover": _both("Overdracht tussen UWV en gemeente", "Hand-over between UWV and us"),
        "consent.purpose.invoicing": _both("Rekeningen sturen", "Sending invoices"),
    }
)
