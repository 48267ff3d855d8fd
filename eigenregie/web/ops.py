"""The ops pages (issue 12): one page for the municipality's operators with the health of the
services (/readyz), the outbox backlog and its oldest event per service, dead letters (replay),
failing webhook subscriptions (resume, replay a failed delivery) and sent and failed mail.
Routes call the APIs through pages.api(); no rules here."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from eigenregie.web import i18n, pages
from eigenregie.web.api_client import ApiClient, ApiError
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)
Ops = Annotated[WebSession, Depends(pages.role_in("ops"))]
Id = Annotated[str, Path(max_length=36, pattern=r"^[A-Za-z0-9_-]+$")]

pages.add_nav(["ops"], "/ops", "ops.nav.overview")

DONE = {"replayed", "resumed", "webhook_replayed"}


async def _health(client: ApiClient) -> dict[str, Any]:
    """/readyz's answer, also when it says "not ready" (a 503 with the same document)."""
    try:
        answer = await client.get("/readyz")
    except ApiError as exc:
        answer = exc.problem
    return answer if isinstance(answer, dict) else {"status": "not ready", "checks": {}}


async def _failing_webhooks(client: ApiClient) -> list[dict[str, Any]]:
    found = []
    for subscription in await client.get("/notifications/v1/webhooks/subscriptions", failing="true", page_size=50):
        failed = await client.get(
            f"/notifications/v1/webhooks/subscriptions/{subscription['id']}/deliveries", status="failed", page_size=10
        )
        found.append({**subscription, "failed_deliveries": failed})
    return found


@router.get("/ops", response_class=HTMLResponse)
async def overview(request: Request, who: Ops, done: str = "", problem: str = "") -> Response:
    client = pages.api(request, who)
    return pages.render(
        request,
        who,
        "ops/overview.html",
        title_key="ops.title.overview",
        health=await _health(client),
        outbox=await client.get("/ops/v1/outbox"),
        dead_letters=await client.get("/ops/v1/dead-letters"),
        webhooks=await _failing_webhooks(client),
        failed_mail=await client.get("/notifications/v1/deliveries", status="failed", page_size=20),
        mailbox=await client.get("/notifications/v1/mailbox", page_size=10),
        done=done if done in DONE else "",
        problem=problem[:300],
    )


async def _act(request: Request, who: WebSession, path: str, done: str) -> Response:
    """One button: post to the API, back to the page with what happened (a refusal said in words)."""
    await pages.checked_form(request, who)
    try:
        await pages.api(request, who).post(path)
    except ApiError as exc:
        if exc.status != 409:
            raise
        return pages.redirect("/ops?" + urlencode({"problem": exc.detail}))
    return pages.redirect(f"/ops?done={done}")


@router.post("/ops/dead-letters/{letter_id}/replay")
async def replay_dead_letter(request: Request, who: Ops, letter_id: Id) -> Response:
    return await _act(request, who, f"/ops/v1/dead-letters/{letter_id}/replay", "replayed")


@router.post("/ops/webhooks/{subscription_id}/resume")
async def resume_webhook(request: Request, who: Ops, subscription_id: Id) -> Response:
    return await _act(request, who, f"/notifications/v1/webhooks/subscriptions/{subscription_id}/resume", "resumed")


@router.post("/ops/webhook-deliveries/{delivery_id}/replay")
async def replay_webhook_delivery(request: Request, who: Ops, delivery_id: Id) -> Response:
    return await _act(request, who, f"/notifications/v1/webhooks/deliveries/{delivery_id}/replay", "webhook_replayed")


i18n.register(
    {
        "ops.nav.overview": {"nl": "Beheer", "en": "Operations"},
        "ops.title.overview": {"nl": "Beheer: hoe gaat het met het systeem?", "en": "Operations: how is the system?"},
        "ops.intro": {
            "nl": "Hier ziet u of alle onderdelen werken. En wat er is blijven hangen. U kunt het opnieuw laten"
            " versturen.",
            "en": "Here you see whether every part works, and what got stuck. You can send it again.",
        },
        "ops.done.replayed": {
            "nl": "Het bericht is opnieuw verstuurd.",
            "en": "The event has been sent again.",
        },
        "ops.done.resumed": {
            "nl": "Het abonnement krijgt weer berichten.",
            "en": "The subscription receives deliveries again.",
        },
        "ops.done.webhook_replayed": {
            "nl": "De levering gaat opnieuw uit.",
            "en": "The delivery goes out again.",
        },
        "ops.problem": {"nl": "Dat kon niet:", "en": "That was not possible:"},
        "ops.health.title": {"nl": "Werkt alles?", "en": "Does everything work?"},
        "ops.health.ready": {"nl": "Alles werkt.", "en": "Everything works."},
        "ops.health.not_ready": {"nl": "Er werkt iets niet.", "en": "Something does not work."},
        "ops.health.check": {"nl": "Onderdeel", "en": "Check"},
        "ops.health.state": {"nl": "Toestand", "en": "State"},
        "ops.health.ok": {"nl": "werkt", "en": "works"},
        "ops.health.failing": {"nl": "werkt niet", "en": "failing"},
        "ops.outbox.title": {"nl": "Wachtende gebeurtenissen per dienst", "en": "Waiting events per service"},
        "ops.outbox.service": {"nl": "Dienst", "en": "Service"},
        "ops.outbox.unpublished": {"nl": "Nog niet verstuurd", "en": "Not yet published"},
        "ops.outbox.undelivered": {"nl": "Nog niet ontvangen", "en": "Not yet delivered"},
        "ops.outbox.oldest": {"nl": "Oudste wachtende", "en": "Oldest waiting"},
        "ops.outbox.none": {"nl": "niets", "en": "none"},
        "ops.outbox.age": {"nl": "{s} seconden oud", "en": "{s} seconds old"},
        "ops.dead.title": {"nl": "Vastgelopen gebeurtenissen (dode brieven)", "en": "Stuck events (dead letters)"},
        "ops.dead.none": {"nl": "Er zijn geen vastgelopen gebeurtenissen.", "en": "There are no dead letters."},
        "ops.dead.service": {"nl": "Dienst", "en": "Service"},
        "ops.dead.type": {"nl": "Soort", "en": "Type"},
        "ops.dead.reason": {"nl": "Reden", "en": "Reason"},
        "ops.dead.attempts": {"nl": "Pogingen", "en": "Attempts"},
        "ops.dead.when": {"nl": "Wanneer", "en": "When"},
        "ops.dead.action": {"nl": "Actie", "en": "Action"},
        "ops.dead.replay": {"nl": "Opnieuw versturen", "en": "Replay"},
        "ops.webhooks.title": {"nl": "Webhooks die niet lukken", "en": "Failing webhooks"},
        "ops.webhooks.none": {"nl": "Alle webhooks werken.", "en": "All webhooks work."},
        "ops.webhooks.url": {"nl": "Adres", "en": "Address"},
        "ops.webhooks.status": {"nl": "Toestand", "en": "Status"},
        "ops.webhooks.status.active": {"nl": "actief", "en": "active"},
        "ops.webhooks.status.paused": {"nl": "gepauzeerd", "en": "paused"},
        "ops.webhooks.failures": {"nl": "Mislukt na elkaar", "en": "Failures in a row"},
        "ops.webhooks.resume": {"nl": "Weer aanzetten", "en": "Resume"},
        "ops.webhooks.failed": {"nl": "Mislukte leveringen", "en": "Failed deliveries"},
        "ops.webhooks.replay": {"nl": "Opnieuw versturen", "en": "Replay"},
        "ops.webhooks.last_error": {"nl": "laatste fout", "en": "last error"},
        "ops.mail.failed_title": {"nl": "Berichten die niet verstuurd zijn", "en": "Messages that were not sent"},
        "ops.mail.failed_none": {"nl": "Alle berichten zijn verstuurd.", "en": "All messages were sent."},
        "ops.mail.channel": {"nl": "Kanaal", "en": "Channel"},
        "ops.mail.status": {"nl": "Toestand", "en": "Status"},
        "ops.mail.error": {"nl": "Fout", "en": "Error"},
        "ops.mail.when": {"nl": "Wanneer", "en": "When"},
        "ops.mail.mailbox_title": {
            "nl": "Verstuurde e-mail (lokale mailbox)",
            "en": "Sent e-mail (local mailbox)",
        },
        "ops.mail.mailbox_none": {
            "nl": "De lokale mailbox is leeg. (Gaat mail via een mailserver, dan staat hij hier niet.)",
            "en": "The local mailbox is empty. (Mail sent through a mail server does not show here.)",
        },
        "ops.mail.to": {"nl": "Aan", "en": "To"},
        "ops.mail.subject": {"nl": "Onderwerp", "en": "Subject"},
        "ops.mail.date": {"nl": "Datum", "en": "Date"},
    }
)
