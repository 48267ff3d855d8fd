"""Reminders: what a reminder is about, who it is for, and the key that makes it once. Plain Python.

A reminder's cause is its item and occasion (`follow_up:<id>` x `due_soon`), not the event that
said it, so the same reminder for the same item is made once however often, or however many
workers at once, the owning service says it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from services.notifications.domain.messages import RecipientKind

_NAMESPACE = uuid.UUID("6f1d3b8e-9a52-4c1e-8f0a-2d7c5e4b9a10")  # Eigen Regie reminders

# Which follow-ups the client acts on (files the report, comes to the conversation, reaches the
# milestone), and which the case team does (asks whether the client still works, checks in after).
CLIENT_FOLLOW_UPS = frozenset({"progress_report", "conversation", "milestone"})


def reminder_cause(item: str, occasion: str) -> str:
    """The cause id of a reminder: the same for the same item and occasion, everywhere."""
    return str(uuid.uuid5(_NAMESPACE, f"{item}|{occasion}"))


def follow_up_recipient(kind: str) -> RecipientKind:
    return RecipientKind.CLIENT if kind in CLIENT_FOLLOW_UPS else RecipientKind.CASE_TEAM


def follow_up_item(follow_up_id: str) -> str:
    return f"follow_up:{follow_up_id}"


def trajectory_end_item(plan_id: str) -> str:
    return f"trajectory_end:{plan_id}"


def orientation_item(client_id: str) -> str:
    """Per client: a submitted plan (which names no orientation phase) ends the reminder."""
    return f"orientation:{client_id}"


def too_late(item: str, closed_at: datetime, said_at: datetime) -> bool:
    """A reminder about a closed item is not made. A follow-up, an invoice's confirmation and a
    trajectory's end stay closed for good; a client's orientation can start again, so there only a
    reminder said before the close (a late or retried event) is too late."""
    if item.startswith("orientation:"):
        return closed_at > said_at
    return True


def invoice_item(invoice_id: str) -> str:
    return f"invoice:{invoice_id}"


def provider_ref(provider_id: str | None, provider_kvk: str | None) -> str | None:
    """The provider an invoice message is for: its application's id, else its KvK number."""
    if provider_id:
        return provider_id[:80]
    return f"kvk:{provider_kvk}" if provider_kvk else None
