"""The supplier's e-mail address, as an invoice gives it: one address, at most 254 characters.

It is personal data (it may name a person at the supplier): kept on the invoice for the messages
about it, given out only by GET /budget/v1/invoices/{invoice_id}/supplier-contact, never put in
an event or a log line.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254


def checked_email(value: str) -> str:
    """The address in its normal form; ValueError (a 422 naming the field) unless it is one address."""
    value = value.strip()
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValueError(f"an e-mail address has at most {MAX_EMAIL_LENGTH} characters")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError("give one e-mail address, such as facturen@aanbieder.nl") from exc


def email_or_none(value: str | None) -> str | None:
    """From a document: the address if it is a usable one, else nothing (an invoice is not refused for it)."""
    if not value:
        return None
    try:
        return checked_email(value)
    except ValueError:
        return None
