"""How the pages show what the APIs send: amounts, days and numbers the Dutch or the English way,
and what people type back (an amount with a decimal comma). One place for every area."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}  # fmt: skip


def money(value: Any, lang: str, empty: str = "") -> str:
    """An API amount ("1234.50") as € 1.234,50 (nl) or € 1,234.50 (en); a negative one as − € 3,00."""
    if value is None or value == "":
        return empty
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    words = f"{abs(amount):,.2f}"
    if lang == "nl":
        words = words.replace(",", " ").replace(".", ",").replace(" ", ".")
    return ("− " if amount < 0 else "") + "€ " + words


def day(value: Any, lang: str, empty: str = "", with_time: bool = True) -> str:
    """An API date ("2026-12-02") as "2 december 2026"; a moment also with its hour in Dutch time
    ("2 december 2026, 14:05"), unless `with_time` is off."""
    if not value:
        return empty
    text = str(value)
    months = MONTHS[lang if lang in MONTHS else "nl"]
    try:
        if "T" in text:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(DUTCH_TIME)
            shown = f"{moment.day} {months[moment.month - 1]} {moment.year}"
            return f"{shown}, {moment:%H:%M}" if with_time else shown
        on = date.fromisoformat(text[:10])
    except ValueError:
        return text
    return f"{on.day} {months[on.month - 1]} {on.year}"


def number(value: Any, lang: str) -> str:
    """A decimal from the API ("19.5") with a decimal comma in Dutch ("19,5")."""
    if value in (None, ""):
        return ""
    text = str(value)
    return text.replace(".", ",") if lang == "nl" else text


def parse_amount(value: str) -> str:
    """What a person types ("€ 1.450,50", "1450,50", "1450.50") as the API's "1450.50"."""
    value = value.strip().replace("€", "").replace(" ", "")
    if "," in value:
        value = value.replace(".", "").replace(",", ".")
    return value
