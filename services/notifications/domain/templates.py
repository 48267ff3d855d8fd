"""Message texts in plain Dutch (B1) and English. Params hold ids and amounts only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, StrictUndefined

from shared.money import Money

_env = Environment(autoescape=False, undefined=StrictUndefined, trim_blocks=True)
_env.filters["euro_nl"] = lambda cents: Money(int(cents)).format_nl()
_env.filters["euro_en"] = lambda cents: Money(int(cents)).format_en()
# What is overdue on a trajectory (monitoring's FollowUpOverdue `kind`), with its article.
FOLLOW_UP_NL = {
    "progress_report": "een voortgangsrapportage",
    "conversation": "een gesprek",
    "milestone": "een mijlpaal",
    "durability_check": "een controle of de klant nog werkt",
    "aftercare": "een nazorgcontact",
}
FOLLOW_UP_EN = {
    "progress_report": "a progress report",
    "conversation": "a conversation",
    "milestone": "a milestone",
    "durability_check": "a check whether the client still works",
    "aftercare": "an aftercare check-in",
}
_env.filters["follow_up_nl"] = lambda kind: FOLLOW_UP_NL.get(kind, kind)
_env.filters["follow_up_en"] = lambda kind: FOLLOW_UP_EN.get(kind, kind)

LANGUAGES = ("nl", "en")

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "plan_approved": {
        "nl": (
            "Uw plan is goedgekeurd",
            "Goed nieuws: uw re-integratieplan is goedgekeurd. U krijgt een budget van {{ granted_cents | euro_nl }}."
            " U kunt het plan uitvoeren tot {{ execution_deadline }}. De gemeente betaalt de rekeningen van"
            " uw aanbieders uit dit budget.",
        ),
        "en": (
            "Your plan has been approved",
            "Good news: your reintegration plan has been approved. Your budget is {{ granted_cents | euro_en }}."
            " You can carry out the plan until {{ execution_deadline }}. The municipality pays your providers'"
            " invoices from this budget.",
        ),
    },
    "plan_rejected": {
        "nl": (
            "Uw plan is niet goedgekeurd",
            "Uw re-integratieplan is niet goedgekeurd. In de brief (beschikking) leest u waarom en hoe u"
            " bezwaar kunt maken. Dat kan binnen 6 weken.",
        ),
        "en": (
            "Your plan has not been approved",
            "Your reintegration plan has not been approved. The decision letter explains why and how to"
            " object. You can object within six weeks.",
        ),
    },
    "plan_returned": {
        "nl": (
            "Uw plan is teruggestuurd",
            "Uw plan is teruggestuurd om aan te passen. Bij het plan staat wat er anders moet."
            " Pas het aan en dien het opnieuw in.",
        ),
        "en": (
            "Your plan has been sent back",
            "Your plan has been sent back for changes. The comments on the plan say what to change."
            " Change it and submit it again.",
        ),
    },
    "invoice_rejected": {
        "nl": (
            "Rekening niet betaald",
            "Een rekening voor uw budget is niet goedgekeurd (reden: {{ reason_code }})."
            " Uw klantmanager kan u meer vertellen.",
        ),
        "en": (
            "Invoice not paid",
            "An invoice for your budget was not approved (reason: {{ reason_code }})."
            " Your case manager can tell you more.",
        ),
    },
    "budget_threshold": {
        "nl": (
            "U heeft {{ percent }}% van uw budget gebruikt",
            "U heeft {{ used_cents | euro_nl }} van {{ granted_cents | euro_nl }} gebruikt ({{ percent }}%).",
        ),
        "en": (
            "You have used {{ percent }}% of your budget",
            "You have used {{ used_cents | euro_en }} of {{ granted_cents | euro_en }} ({{ percent }}%).",
        ),
    },
    "invoice_paid": {
        "nl": (
            "Rekening betaald uit uw budget",
            "De gemeente heeft een rekening van {{ amount_cents | euro_nl }} betaald uit uw budget (op {{ paid_on }}).",
        ),
        "en": (
            "Invoice paid from your budget",
            "The municipality paid an invoice of {{ amount_cents | euro_en }} from your budget (on {{ paid_on }}).",
        ),
    },
    "decision_due_soon": {
        "nl": (
            "Besluit over een plan moet bijna genomen zijn",
            "Over een ingediend plan moet uiterlijk {{ due_on }} een besluit genomen zijn. Neem het besluit op tijd.",
        ),
        "en": (
            "Decision on a plan due soon",
            "A decision on a submitted plan is due by {{ due_on }}. Please decide in time.",
        ),
    },
    "progress_reported": {
        "nl": (
            "Nieuwe voortgangsrapportage",
            "Er is een voortgangsrapportage binnengekomen.{% if not on_track %} Let op: het traject loopt"
            " niet volgens plan.{% endif %}",
        ),
        "en": (
            "New progress report",
            "A progress report has come in.{% if not on_track %} Note: the trajectory is not on track.{% endif %}",
        ),
    },
    "follow_up_overdue": {
        "nl": (
            "Te laat bij een traject",
            "{{ kind | follow_up_nl | capitalize }} bij een traject stond gepland op {{ due_on }}, maar is nog"
            " niet gedaan. Bekijk het traject en spreek af wat er nu moet gebeuren.",
        ),
        "en": (
            "Overdue on a trajectory",
            "{{ kind | follow_up_en | capitalize }} on a trajectory was due on {{ due_on }} and has not been done"
            " yet. Look at the trajectory and agree on what happens next.",
        ),
    },
    "webhook_delivery_failed": {
        "nl": (
            "Webhook van een partner mislukt",
            "Een bericht ({{ event_type }}) aan de koppeling {{ subscription_id }} van {{ owner }} kwam na"
            " {{ attempts }} pogingen niet aan.{% if paused %} De koppeling is gepauzeerd: er gaat niets meer"
            " heen tot iemand haar hervat.{% endif %} Vraag de partner de koppeling te controleren. Daarna kan"
            " het bericht opnieuw (bezorging {{ delivery_id }}).",
        ),
        "en": (
            "A partner's webhook failed",
            "A message ({{ event_type }}) to subscription {{ subscription_id }} of {{ owner }} did not arrive"
            " after {{ attempts }} attempts.{% if paused %} The subscription is paused: nothing more is sent"
            " until someone resumes it.{% endif %} Ask the partner to check their endpoint. Then the message"
            " can be replayed (delivery {{ delivery_id }}).",
        ),
    },
}


@dataclass(frozen=True)
class RenderedMessage:
    language: str
    subject: str
    body: str


def render(template: str, params: dict[str, Any], language: str) -> RenderedMessage:
    lang = language if language in LANGUAGES else "nl"
    subject, body = TEMPLATES[template][lang]
    return RenderedMessage(lang, _env.from_string(subject).render(**params), _env.from_string(body).render(**params))
