"""Webhooks to partners, the rules: which event types a role may subscribe to, what of an event a
partner may see (ids and codes, never personal data), the CloudEvent it receives, which
subscription an event matches, the callback URL check, the retry schedule and how a signing
secret is kept. Plain Python: no session, no clock, no HTTP (the caller resolves host names).

    (an event) ─> pending ─(2xx)─> delivered
                     │ (error, retries left) ─> pending, later
                     └ (last attempt, or past the horizon) ─> failed ─(replay)─> pending
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken

from shared.auth import Role
from shared.errors import RuleBroken


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # after too many failed deliveries in a row; resumed by its owner or ops
    DELETED = "deleted"  # kept for the attempt log; nothing more is delivered


class WebhookDeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


PING = "Ping"
TYPE_PREFIX = "nl.eigenregie."


@dataclass(frozen=True)
class Shape:
    """What a partner receives of one event type: the field that is the CloudEvent's subject and
    the payload fields it may see (ids, dates and codes; never a client id, a name or an amount
    of someone's budget)."""

    source: str  # the producing service
    subject: str
    fields: tuple[str, ...]


# The allow-list: every event type a partner application may subscribe to, and its shape.
SHAPES: dict[str, Shape] = {
    "PlanApproved": Shape("intake", "plan_id", ("plan_id", "plan_version", "scheme", "execution_deadline")),
    "PlanRejected": Shape("intake", "plan_id", ("plan_id", "plan_version")),
    "PlanReturned": Shape("intake", "plan_id", ("plan_id", "plan_version")),
    "TrajectoryClosed": Shape("intake", "plan_id", ("plan_id", "reason", "closed_on")),
    "ProgressReported": Shape("monitoring", "report_id", ("report_id", "plan_id", "reported_by_role")),
    "OutcomeRegistered": Shape("monitoring", "outcome_id", ("outcome_id", "plan_id", "outcome", "durable")),
    # Invoices (version 2) name their provider: its id and its KvK number, an organisation's public id.
    "InvoiceReceived": Shape("budget", "invoice_id", ("invoice_id", "amount_cents", "provider_id", "provider_kvk")),
    "InvoiceApproved": Shape("budget", "invoice_id", ("invoice_id", "amount_cents", "provider_id", "provider_kvk")),
    "InvoiceRejected": Shape("budget", "invoice_id", ("invoice_id", "reason_code", "provider_id", "provider_kvk")),
    "InvoicePaid": Shape(
        "budget", "invoice_id", ("invoice_id", "amount_cents", "paid_on", "provider_id", "provider_kvk")
    ),
}

# Per role: plan and trajectory status for chain partners (UWV, a school, a reintegration company),
# their own invoices for providers.
ALLOWED_EVENTS: dict[Role, tuple[str, ...]] = {
    Role.PARTNER: (
        "PlanApproved",
        "PlanRejected",
        "PlanReturned",
        "TrajectoryClosed",
        "ProgressReported",
        "OutcomeRegistered",
    ),
    Role.PROVIDER: ("InvoiceReceived", "InvoiceApproved", "InvoiceRejected", "InvoicePaid"),
}
SUBSCRIBER_ROLES = tuple(ALLOWED_EVENTS)


def allowed_event_types(role: Role) -> tuple[str, ...]:
    return ALLOWED_EVENTS.get(role, ())


def check_event_types(role: Role, event_types: Iterable[str]) -> list[str]:
    """The short names (`InvoicePaid`, or `nl.eigenregie.InvoicePaid`), each once; 422 naming
    `event_types` for one the role may not subscribe to."""
    chosen: list[str] = []
    allowed = allowed_event_types(role)
    for name in event_types:
        short = name.removeprefix(TYPE_PREFIX)
        if short not in allowed:
            raise RuleBroken(
                "webhook.event_type_not_allowed",
                f"You may not subscribe to {short!r}; you may subscribe to: {', '.join(allowed) or 'nothing'}.",
                "event_types",
                message_nl=f"U mag zich niet abonneren op {short!r}. Dit mag wel: {', '.join(allowed) or 'niets'}.",
            )
        if short not in chosen:
            chosen.append(short)
    if not chosen:
        raise RuleBroken(
            "webhook.no_event_types",
            "Name at least one event type.",
            "event_types",
            message_nl="Noem minstens één soort gebeurtenis.",
        )
    return chosen


@dataclass(frozen=True)
class Filter:
    """What a subscription receives: its event types in its municipality, of one scheme when it
    names one, and (for a provider) only events that name its own provider id."""

    municipality: str
    event_types: tuple[str, ...]
    scheme: str | None
    provider_id: str | None
    own_organisation_only: bool

    def matches(self, event_type: str, tenant: str, payload: Mapping[str, Any]) -> bool:
        if tenant != self.municipality or event_type not in self.event_types:
            return False
        if self.scheme is not None and payload.get("scheme") != self.scheme:
            return False  # an event that names no scheme never reaches a scheme-filtered subscription
        named = payload.get("provider_id")
        if self.own_organisation_only:
            return named is not None and named == self.provider_id  # fail closed
        return named is None or self.provider_id is None or named == self.provider_id


def cloud_event(
    *, event_id: str, event_type: str, tenant: str, occurred_at: datetime, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The NL GOV CloudEvents profile (specversion 1.0): ids and codes only, the details through
    the API under the partner's own authorisation."""
    shape = SHAPES[event_type]
    return {
        "specversion": "1.0",
        "id": event_id,
        "type": TYPE_PREFIX + event_type,
        "source": f"urn:eigenregie:{shape.source}",
        "subject": str(payload[shape.subject]),
        "time": occurred_at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "municipality": tenant,
        "data": {name: payload[name] for name in shape.fields if payload.get(name) is not None},
    }


def ping_event(*, event_id: str, subscription_id: str, tenant: str, at: datetime) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "type": TYPE_PREFIX + PING,
        "source": "urn:eigenregie:notifications",
        "subject": subscription_id,
        "time": at.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "municipality": tenant,
        "data": {"subscription_id": subscription_id},
    }


def body_of(event: Mapping[str, Any]) -> str:
    """The exact bytes sent (and signed), the same on every attempt."""
    return json.dumps(event, separators=(",", ":"), sort_keys=True)


# --- the callback URL ---------------------------------------------------------------------------

STRICT_ENVIRONMENTS = ("acceptance", "production")
Resolver = Callable[[str, int], list[str]]  # host, port -> addresses


def _url_refused(message: str, message_nl: str, code: str = "webhook.url_refused") -> RuleBroken:
    return RuleBroken(code, message, "url", message_nl=message_nl)


def check_url(url: str, environment: str, resolve: Resolver | None = None) -> str:
    """A callback URL: https outside dev and test; in acceptance and production it may not point
    at a private, loopback, link-local, multicast or otherwise non-public address (`resolve`
    gives the host's addresses; checked at registration and again before every send)."""
    checked_addresses(url, environment, resolve)
    return url.strip()


def checked_addresses(url: str, environment: str, resolve: Resolver | None = None) -> list[str]:
    """`check_url`, answering the public addresses it checked (none outside acceptance and production)."""
    parts = urlsplit(url.strip())
    if len(url) > 2000 or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _url_refused(
            "The callback URL must be an absolute http(s) URL of at most 2000 characters.",
            "De callback-URL moet een volledige http(s)-URL zijn van hoogstens 2000 tekens.",
        )
    if parts.username or parts.password or parts.fragment:
        raise _url_refused(
            "The callback URL may not hold a user name, password or fragment.",
            "De callback-URL mag geen gebruikersnaam, wachtwoord of fragment bevatten.",
        )
    strict = environment in STRICT_ENVIRONMENTS
    if strict and parts.scheme != "https":
        raise _url_refused(
            "The callback URL must use https.",
            "De callback-URL moet https gebruiken.",
            "webhook.url_not_https",
        )
    if strict:
        port = parts.port or 443
        try:
            addresses = (resolve or _no_resolver)(parts.hostname, port)
        except OSError:
            addresses = []
        if not addresses:
            raise _url_refused(
                "The callback URL's host name does not resolve.",
                "De hostnaam van de callback-URL bestaat niet (geen adres gevonden).",
                "webhook.url_unresolvable",
            )
        for address in addresses:
            if not is_public(address):
                raise _url_refused(
                    "The callback URL points at a private, loopback, link-local or multicast address.",
                    "De callback-URL wijst naar een privé-, loopback-, link-local- of multicastadres.",
                    "webhook.url_not_public",
                )
        return addresses
    return []


def pinned(url: str, address: str) -> tuple[str, str]:
    """The URL with its host replaced by a checked address, and the Host header to send: the
    request goes to the address that was checked, not to what DNS answers a moment later (TLS
    still verifies the certificate against the host name, given as SNI)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    ip = f"[{address}]" if ":" in address else address
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{ip}{port}").geturl(), f"{host}{port}"


def _no_resolver(host: str, port: int) -> list[str]:
    raise OSError("no resolver")


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


# --- retries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    horizon_seconds: float
    jitter: float = 0.2  # each wait is between (1 - jitter) and 1 times the doubled base

    def delay(self, attempt: int, draw: float) -> timedelta:
        """The wait after failed attempt `attempt` (1-based): base * 2^(attempt-1), less up to `jitter`
        of it (`draw` in [0, 1) from the caller's random source)."""
        full = self.base_seconds * 2 ** (attempt - 1)
        return timedelta(seconds=full * (1 - self.jitter * draw))

    def next_attempt(self, attempt: int, draw: float, round_started: datetime, now: datetime) -> datetime | None:
        """When to try again after failed attempt `attempt`, or None: that was the last one."""
        if attempt >= self.max_attempts:
            return None
        at = now + self.delay(attempt, draw)
        if at > round_started + timedelta(seconds=self.horizon_seconds):
            return None
        return at


# --- the signing secret -------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, key: bytes) -> str:
    """Encrypted and authenticated with Fernet (AES-128-CBC and HMAC-SHA256, the `cryptography`
    package): the database holds no usable secret without the key (derived from PRB_JWT_SECRET by
    the caller)."""
    return _fernet(key).encrypt(secret.encode()).decode()


def unseal(sealed: str, key: bytes) -> str:
    try:
        return _fernet(key).decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("the sealed webhook secret does not match the key (was PRB_JWT_SECRET changed?)") from exc


def sealing_key(master: str) -> bytes:
    """32 bytes for Fernet, derived from the master secret (HMAC-SHA256 as a key-derivation step)."""
    return hmac.new(master.encode(), b"eigenregie webhook secrets v1", hashlib.sha256).digest()
