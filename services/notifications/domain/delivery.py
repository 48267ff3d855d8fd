"""Delivering a message to a person: one delivery per recipient x cause x channel, its status and
when it is tried again. Plain Python: no session, no clock of its own, no network.

    queued ─(sent)─> sent
       │ └─(the server says no for good)─> bounced
       └─(the server is away)─> deferred ─(later: sent | again deferred | failed after the last try)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    SMS = "sms"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DEFERRED = "deferred"  # a temporary failure: tried again at next_attempt_at
    BOUNCED = "bounced"  # the receiving side refused the address for good
    FAILED = "failed"  # no more tries (the last one failed, or there is nowhere to send it)
    CANCELLED = "cancelled"  # the item it reminded of was done before it went out


# A delivery in one of these is waiting for the sender job.
WAITING = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)
# Permanent: staff see these (GET /deliveries?status=failed) and they stay in the message's answer.
PERMANENT_FAILURES = (DeliveryStatus.BOUNCED, DeliveryStatus.FAILED)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: try n waits base * 2^(n-1), at most `cap`, and then a random
    part of it (between half and all of it), so deliveries that failed together do not return together."""

    base_seconds: float = 60.0
    cap_seconds: float = 6 * 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int, jitter: float) -> timedelta:
        """The wait after `attempts` tries (>= 1); `jitter` in [0, 1) comes from the caller's random source."""
        if attempts < 1:
            raise ValueError("attempts starts at 1")
        if not 0.0 <= jitter < 1.0:
            raise ValueError("jitter is in [0, 1)")
        full = min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1))
        return timedelta(seconds=full * (0.5 + jitter / 2))

    def after_failure(self, attempts: int, now: datetime, jitter: float) -> tuple[DeliveryStatus, datetime | None]:
        """What a temporary failure on try `attempts` leads to: deferred until a later moment, or
        failed when that was the last try."""
        if attempts >= self.max_attempts:
            return DeliveryStatus.FAILED, None
        return DeliveryStatus.DEFERRED, now + self.delay(attempts, jitter)


def recipient_key(kind: str, ident: str) -> str:
    """Who a delivery is for, without an address: `client:<id>` or `team:<municipality>`."""
    return f"{kind}:{ident}"


def cause_key(cause_event_id: str, template: str) -> str:
    """What caused it: the event and the template (one event can cause messages of different templates)."""
    return f"{cause_event_id}:{template}"


def truncate_error(error: str, limit: int = 500) -> str:
    """An error as stored: one line, short. The caller passes no addresses in it."""
    line = " ".join(error.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
