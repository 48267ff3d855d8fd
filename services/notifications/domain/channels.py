"""What a message looks like on a channel: an e-mail (plain text and simple HTML) or an SMS,
made from the rendered message in the reader's language. Plain Python: no network.

A mail or SMS never carries a BSN, an amount or health details: a message whose params hold an
amount (`*_cents`) goes out as its subject and a request to log in, and every text is checked for
something that looks like a BSN before it leaves (`looks_personal`).
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

from services.notifications.domain.templates import LANGUAGES, render

_env = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True)
_plain = Environment(autoescape=False, undefined=StrictUndefined)

MAIL_TEXT = {
    "nl": (
        "Beste lezer,\n\n{{ body }}\n\nLog in om alles te lezen en te zien wat u moet doen:\n{{ link }}\n\n"
        "Met vriendelijke groet,\nGemeente (Eigen Regie)\n\nDit bericht is automatisch verstuurd. U kunt er niet op"
        " antwoorden."
    ),
    "en": (
        "Dear reader,\n\n{{ body }}\n\nLog in to read everything and see what you need to do:\n{{ link }}\n\n"
        "Kind regards,\nThe municipality (Eigen Regie)\n\nThis message was sent automatically. Please do not reply."
    ),
}
MAIL_HTML = (
    '<!doctype html>\n<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ subject }}</title></head>\n'
    '<body style="font-family: sans-serif; max-width: 40em">\n<h1 style="font-size: 1.3em">{{ subject }}</h1>\n'
    '<p>{{ body }}</p>\n<p><a href="{{ link }}">{{ login }}</a></p>\n<p style="color: #555">{{ footer }}</p>\n'
    "</body></html>\n"
)
LOGIN = {"nl": "Inloggen", "en": "Log in"}
FOOTER = {
    "nl": "Dit bericht is automatisch verstuurd. U kunt er niet op antwoorden.",
    "en": "This message was sent automatically. Please do not reply.",
}
WITHHELD = {
    "nl": "Er is een nieuw bericht voor u. De details staan in de app.",
    "en": "There is a new message for you. The details are in the app.",
}
SMS_TEXT = {
    "nl": "{{ subject }}. Log in voor meer: {{ link }}",
    "en": "{{ subject }}. Log in for more: {{ link }}",
}

# Nine digits together (with or without dots or spaces in the usual places): treated as a BSN.
_BSN_LIKE = re.compile(r"(?<!\d)\d{4}[. ]?\d{2}[. ]?\d{3}(?!\d)|(?<!\d)\d{9}(?!\d)")
# An id (a UUID) is no BSN, though about one in seventy holds nine digits in a row: left out of the check.
_UUID = re.compile(r"(?<![0-9a-f-])[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![0-9a-f-])", re.I)
# Words that point to health details; a template never needs them in a mail or SMS.
_HEALTH_WORDS = ("diagnose", "diagnosis", "medisch", "medical", "ziekte", "illness", "psychisch", "psychiatric")


@dataclass(frozen=True)
class Email:
    language: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Sms:
    language: str
    text: str


@functools.cache
def _compiled(environment: Environment, source: str) -> Template:
    """Each layout compiled once per process, not once per mail."""
    return environment.from_string(source)


def language_of(preferred: str | None) -> str:
    """The person's language when we have it; Dutch otherwise (an unknown language too)."""
    return preferred if preferred in LANGUAGES else "nl"


def _withholds(params: dict[str, Any]) -> bool:
    return any(name.endswith("_cents") for name in params)


def email(template: str, params: dict[str, Any], language: str | None, login_url: str) -> Email:
    """The mail for a message: subject, plain text and HTML, with the link to log in. StrictUndefined:
    a template with a missing variable raises here, so a broken mail is never sent."""
    rendered = render(template, params, language_of(language))
    lang = rendered.language
    body = WITHHELD[lang] if _withholds(params) else rendered.body
    text = _compiled(_plain, MAIL_TEXT[lang]).render(body=body, link=login_url)
    page = _compiled(_env, MAIL_HTML).render(
        lang=lang, subject=rendered.subject, body=body, link=login_url, login=LOGIN[lang], footer=FOOTER[lang]
    )
    return Email(lang, rendered.subject, text, page)


def sms(template: str, params: dict[str, Any], language: str | None, login_url: str) -> Sms:
    rendered = render(template, params, language_of(language))
    text = _compiled(_plain, SMS_TEXT[rendered.language]).render(subject=rendered.subject, link=login_url)
    return Sms(rendered.language, text)


def looks_personal(*texts: str) -> bool:
    """True when a text holds something like a BSN or a health word: it is not sent."""
    for text in texts:
        plain = _UUID.sub(" ", html.unescape(text))
        if _BSN_LIKE.search(plain) or any(word in plain.lower() for word in _HEALTH_WORDS):
            return True
    return False
