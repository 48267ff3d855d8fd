"""Message texts in plain Dutch (B1) and English. Params hold ids and amounts only."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

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
# Which conversation (monitoring's conversation kind), for the client.
CONVERSATION_NL = {
    "progress": "een voortgangsgesprek",
    "six_month_presentation": "het gesprek na zes maanden (u vertelt dan hoe het gaat)",
    "closing": "het afsluitende gesprek",
    "other": "een gesprek",
}
CONVERSATION_EN = {
    "progress": "a progress conversation",
    "six_month_presentation": "the six-month conversation (you tell how things are going)",
    "closing": "the closing conversation",
    "other": "a conversation",
}
_env.filters["conversation_nl"] = lambda kind: CONVERSATION_NL.get(kind or "other", CONVERSATION_NL["other"])
_env.filters["conversation_en"] = lambda kind: CONVERSATION_EN.get(kind or "other", CONVERSATION_EN["other"])
# Why an invoice was not approved, in plain words (budget's reason codes; an unknown one: in general).
REASON_NL = {
    "invoice.rejected": "de gemeente heeft de rekening afgekeurd",
    "invoice.over_budget": "er is niet genoeg budget meer over op dit onderdeel van het plan",
    "invoice.line_closed": "dit onderdeel van het plan is al afgesloten",
    "invoice.before_plan": "de rekening gaat over een tijd vóór het plan",
    "invoice.after_plan": "de rekening gaat over een tijd na het einde van het plan",
    "invoice.duplicate": "deze rekening is al eerder ontvangen",
    "invoice.provider_mismatch": "de aanbieder op de rekening is een andere dan in het plan",
}
REASON_EN = {
    "invoice.rejected": "the municipality turned the invoice down",
    "invoice.over_budget": "not enough budget is left on this part of the plan",
    "invoice.line_closed": "this part of the plan has been closed",
    "invoice.before_plan": "the invoice is for a time before the plan",
    "invoice.after_plan": "the invoice is for a time after the plan ended",
    "invoice.duplicate": "this invoice was received before",
    "invoice.provider_mismatch": "the provider on the invoice is not the one in the plan",
}
_env.filters["reason_nl"] = lambda code: REASON_NL.get(code, "de rekening voldoet niet aan de regels")
_env.filters["reason_en"] = lambda code: REASON_EN.get(code, "the invoice does not meet the rules")
MONTHS_NL: tuple[str, ...] = ("januari", "februari", "maart", "april", "mei", "juni")
MONTHS_NL += ("juli", "augustus", "september", "oktober", "november", "december")
MONTHS_EN: tuple[str, ...] = ("January", "February", "March", "April", "May", "June")
MONTHS_EN += ("July", "August", "September", "October", "November", "December")


def _date_in(months: tuple[str, ...]) -> Any:
    def format_date(value: str) -> str:
        """An ISO date as people write it: 2 december 2026."""
        day = date.fromisoformat(str(value))
        return f"{day.day} {months[day.month - 1]} {day.year}"

    return format_date


_env.filters["date_nl"] = _date_in(MONTHS_NL)
_env.filters["date_en"] = _date_in(MONTHS_EN)

LANGUAGES = ("nl", "en")

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "plan_approved": {
        "nl": (
            "Uw plan is goedgekeurd",
            "Goed nieuws: uw re-integratieplan is goedgekeurd. U krijgt een budget van {{ granted_cents | euro_nl }}."
            " U kunt het plan uitvoeren tot {{ execution_deadline | date_nl }}. De gemeente betaalt de rekeningen van"
            " uw aanbieders uit dit budget.",
        ),
        "en": (
            "Your plan has been approved",
            "Good news: your reintegration plan has been approved. Your budget is {{ granted_cents | euro_en }}."
            " You can carry out the plan until {{ execution_deadline | date_en }}. The municipality pays your"
            " providers'"
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
    "plan_received": {
        "nl": (
            "Wij hebben uw plan ontvangen",
            "Wij hebben uw re-integratieplan ontvangen (versie {{ plan_version }}). Uw klantmanager bekijkt het."
            " U hoeft nu niets te doen. U krijgt bericht als er een besluit is, of als er iets moet veranderen.",
        ),
        "en": (
            "We have received your plan",
            "We have received your reintegration plan (version {{ plan_version }}). Your case manager will review"
            " it. You need not do anything now. You will hear from us when there is a decision, or when something"
            " needs to change.",
        ),
    },
    "plan_to_review": {
        "nl": (
            "Nieuw plan om te beoordelen",
            "Er is een plan ingediend (versie {{ plan_version }}). Beoordeel het en neem op tijd een besluit.",
        ),
        "en": (
            "A new plan to review",
            "A plan has been submitted (version {{ plan_version }}). Review it and decide in time.",
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
            "Een rekening voor uw budget is niet goedgekeurd: {{ reason_code | reason_nl }}. De gemeente betaalt"
            " deze rekening dus niet. Heeft u vragen? Neem contact op met uw klantmanager.",
        ),
        "en": (
            "Invoice not paid",
            "An invoice for your budget was not approved: {{ reason_code | reason_en }}. So the municipality does"
            " not pay it. Questions? Contact your case manager.",
        ),
    },
    "invoice_rejected_provider": {
        "nl": (
            "Uw rekening is niet goedgekeurd",
            "Uw rekening {{ invoice_id }} is niet goedgekeurd: {{ reason_code | reason_nl }}. Log in om te zien"
            " wat er mis is. Stuur zo nodig een nieuwe of verbeterde rekening.",
        ),
        "en": (
            "Your invoice was not approved",
            "Your invoice {{ invoice_id }} was not approved: {{ reason_code | reason_en }}. Log in to see what is"
            " wrong. Send a new or corrected invoice if needed.",
        ),
    },
    "invoice_paid_provider": {
        "nl": (
            "Uw rekening is betaald",
            "De gemeente heeft uw rekening {{ invoice_id }} betaald op {{ paid_on | date_nl }}. U hoeft niets te doen.",
        ),
        "en": (
            "Your invoice has been paid",
            "The municipality paid your invoice {{ invoice_id }} on {{ paid_on | date_en }}. You need not do anything.",
        ),
    },
    "invoice_to_confirm": {
        "nl": (
            "Bevestig een rekening",
            "Er is een rekening van {{ amount_cents | euro_nl }} voor uw budget. Klopt deze rekening? Log in en"
            " bevestig haar. Pas daarna kan de gemeente betalen.",
        ),
        "en": (
            "Please confirm an invoice",
            "There is an invoice of {{ amount_cents | euro_en }} for your budget. Is it right? Log in and confirm"
            " it. Only then can the municipality pay.",
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
            "De gemeente heeft een rekening van {{ amount_cents | euro_nl }} betaald uit uw budget (op {{ paid_on"
            " | date_nl }}).",
        ),
        "en": (
            "Invoice paid from your budget",
            "The municipality paid an invoice of {{ amount_cents | euro_en }} from your budget (on {{ paid_on |"
            " date_en }}).",
        ),
    },
    "decision_due_soon": {
        "nl": (
            "Besluit over een plan moet bijna genomen zijn",
            "Over een ingediend plan moet uiterlijk {{ due_on | date_nl }} een besluit genomen zijn. Neem het"
            " besluit op tijd.",
        ),
        "en": (
            "Decision on a plan due soon",
            "A decision on a submitted plan is due by {{ due_on | date_en }}. Please decide in time.",
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
            "{{ kind | follow_up_nl | capitalize }} bij een traject stond gepland op {{ due_on | date_nl }}, maar"
            " is nog"
            " niet gedaan. Bekijk het traject en spreek af wat er nu moet gebeuren.",
        ),
        "en": (
            "Overdue on a trajectory",
            "{{ kind | follow_up_en | capitalize }} on a trajectory was due on {{ due_on | date_en }} and has not"
            " been done"
            " yet. Look at the trajectory and agree on what happens next.",
        ),
    },
    "payment_run_scheduled": {
        "nl": (
            "Betaalrun klaar",
            "Er staat een betaalrun klaar met {{ invoice_count }} rekeningen, uit te voeren op"
            " {{ execution_date | date_nl }}. Haal het betaalbestand op, stuur het naar de bank en bevestig de"
            " betaling als de bank heeft betaald.",
        ),
        "en": (
            "Payment run ready",
            "A payment run with {{ invoice_count }} invoices is ready, to be executed on"
            " {{ execution_date | date_en }}. Download the payment file, send it to the bank and confirm the payment"
            " once the bank has paid.",
        ),
    },
    "follow_up_due_soon": {
        "nl": (
            "Herinnering: {% if kind == 'conversation' %}gesprek{% elif kind == 'progress_report' %}voortgang"
            " doorgeven{% else %}mijlpaal{% endif %} op {{ due_on | date_nl }}",
            "{% if kind == 'conversation' %}U heeft op {{ due_on | date_nl }} een afspraak met uw klantmanager:"
            " {{ conversation_kind | conversation_nl }}. Bereid u voor: wat ging goed, wat niet?{% elif kind =="
            " 'progress_report' %}Vóór"
            " {{ due_on | date_nl }} vertelt u hoe het gaat met uw plan. Log in en vul de voortgang in. Het kost een"
            " paar minuten.{% else %}Op {{ due_on | date_nl }} staat een mijlpaal in uw plan. Log in om te zien wat"
            " u dan klaar wilt hebben.{% endif %}",
        ),
        "en": (
            "Reminder: {% if kind == 'conversation' %}conversation{% elif kind == 'progress_report' %}progress"
            " report{% else %}milestone{% endif %} on {{ due_on | date_en }}",
            "{% if kind == 'conversation' %}On {{ due_on | date_en }} you meet your case manager:"
            " {{ conversation_kind | conversation_en }}. Prepare: what went well, what did not?{% elif kind =="
            " 'progress_report' %}By"
            " {{ due_on | date_en }} you tell us how your plan is going. Log in and fill in your progress. It takes a"
            " few minutes.{% else %}On {{ due_on | date_en }} there is a milestone in your plan. Log in to see what you"
            " want to have done by then.{% endif %}",
        ),
    },
    "follow_up_due_soon_team": {
        "nl": (
            "Binnenkort: {{ kind | follow_up_nl }}",
            "{{ kind | follow_up_nl | capitalize }} bij een traject staat gepland op {{ due_on | date_nl }}. Zet het"
            " in uw agenda en registreer het als het gedaan is.",
        ),
        "en": (
            "Coming up: {{ kind | follow_up_en }}",
            "{{ kind | follow_up_en | capitalize }} on a trajectory is due on {{ due_on | date_en }}. Plan it and"
            " register it once it is done.",
        ),
    },
    "report_overdue": {
        "nl": (
            "Uw voortgang is te laat",
            "U zou vóór {{ due_on | date_nl }} vertellen hoe het gaat met uw plan. Dat hebben wij nog niet"
            " ontvangen. Log in en vul de voortgang nu in. Lukt het niet? Bel of mail uw klantmanager.",
        ),
        "en": (
            "Your progress report is late",
            "You were to tell us by {{ due_on | date_en }} how your plan is going. We have not received it yet."
            " Log in and fill it in now. Can't do it? Call or e-mail your case manager.",
        ),
    },
    "trajectory_ending_soon": {
        "nl": (
            "Uw plan loopt bijna af",
            "Uw plan loopt af op {{ ends_on | date_nl }}. Rekeningen voor uw plan moeten vóór die dag binnen zijn."
            " Heeft u meer tijd nodig? Vraag dan op tijd een wijziging aan bij uw klantmanager.",
        ),
        "en": (
            "Your plan ends soon",
            "Your plan ends on {{ ends_on | date_en }}. Invoices for your plan must come in before that day. Do you"
            " need more time? Ask your case manager for a change in time.",
        ),
    },
    "trajectory_ending_soon_team": {
        "nl": (
            "Traject loopt bijna af",
            "Een traject loopt af op {{ ends_on | date_nl }}. Plan het afsluitende gesprek en registreer de uitkomst.",
        ),
        "en": (
            "A trajectory ends soon",
            "A trajectory ends on {{ ends_on | date_en }}. Plan the closing conversation and register the outcome.",
        ),
    },
    "orientation_ending_soon": {
        "nl": (
            "Uw oriëntatie loopt bijna af",
            "Uw oriëntatieperiode loopt af op {{ ends_on | date_nl }}. Dien vóór die dag uw plan in. Log in om"
            " verder te gaan met uw plan. Hulp nodig? Neem contact op met uw klantmanager.",
        ),
        "en": (
            "Your orientation period ends soon",
            "Your orientation period ends on {{ ends_on | date_en }}. Submit your plan before that day. Log in to go"
            " on with your plan. Need help? Contact your case manager.",
        ),
    },
    "webhook_delivery_failed_owner": {
        "nl": (
            "Uw webhook kreeg een bericht niet",
            "Een bericht ({{ event_type }}) aan uw koppeling {{ subscription_id }} kwam na {{ attempts }} pogingen"
            " niet aan.{% if paused %} De koppeling is gepauzeerd.{% endif %} Controleer uw adres en uw server."
            " Daarna kunt u het bericht opnieuw laten sturen (bezorging {{ delivery_id }}) en de koppeling hervatten.",
        ),
        "en": (
            "Your webhook missed a message",
            "A message ({{ event_type }}) to your subscription {{ subscription_id }} did not arrive after"
            " {{ attempts }} attempts.{% if paused %} The subscription is paused.{% endif %} Check your endpoint."
            " Then you can replay the message (delivery {{ delivery_id }}) and resume the subscription.",
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
    return RenderedMessage(lang, _compiled(subject).render(**params), _compiled(body).render(**params))


@functools.cache
def _compiled(source: str) -> Template:
    """Each template compiled once per process: the sender renders thousands of mails a minute."""
    return _env.from_string(source)
