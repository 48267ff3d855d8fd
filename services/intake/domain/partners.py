"""Partner applications and the client's consent, the rules (issue 13).

A partner application (UWV, a reintegration company, a coach, a school, an employer, an SW
company, a bank connector) is registered by a municipality with its organisation's KvK number and
the scopes it may ask for. It signs in with OAuth2 client credentials (RFC 6749 section 4.4): the
secret is shown once and stored only as an scrypt hash (RFC 7914, hashlib), compared in constant
time. Rotating it ends the old secret at once; revoking ends the application.

A partner sees a client only while the client chose it: a consent naming its KvK for a purpose,
still active (not withdrawn, not past its end date), or a budget line of an open plan naming its KvK
as the provider. Plain Python: no session, no clock of its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from shared.access import PARTNER_SCOPES
from shared.errors import RuleBroken


class PartnerKind(StrEnum):
    UWV = "uwv"
    REINTEGRATION_COMPANY = "reintegration_company"
    COACH = "coach"
    SCHOOL = "school"
    EMPLOYER = "employer"
    SW_COMPANY = "sw_company"
    BANK = "bank"


class ConsentPurpose(StrEnum):
    PROGRESS_REPORTING = "progress_reporting"
    WARM_HANDOVER = "warm_handover"
    INVOICING = "invoicing"


# --- secrets ---------------------------------------------------------------------------------

# scrypt's cost: 16 MiB and about 80 ms a check on the 2-core test machine, once per token request.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SECRET_BYTES = 32  # 256 bits of randomness, URL-safe base64


def new_client_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def new_client_id() -> str:
    """Public and opaque: what the application sends as `client_id`."""
    return "pa_" + secrets.token_urlsafe(15)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def hash_secret(secret: str) -> str:
    """`scrypt$n$r$p$salt$hash`: the parameters travel with the hash, so they can be raised later."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(digest)}"


# A hash of nothing anybody knows: an unknown client_id costs as much time as a wrong secret.
_DUMMY_HASH = hash_secret(secrets.token_urlsafe(_SECRET_BYTES))


def verify_secret(secret: str, stored: str | None) -> bool:
    """Constant-time comparison; an unknown client (`stored` None) is checked against a dummy hash."""
    try:
        scheme, n, r, p, salt, digest = (stored or _DUMMY_HASH).split("$")
        if scheme != "scrypt":
            return False
        computed = _scrypt(secret, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, _unb64(digest)) and stored is not None


# --- scopes ----------------------------------------------------------------------------------


def checked_scopes(scopes: Iterable[str], field: str = "allowed_scopes") -> tuple[str, ...]:
    """The scopes a municipality grants an application: known ones, each once, in the known order."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(PARTNER_SCOPES))
    if unknown:
        raise RuleBroken(
            "partner.unknown_scope",
            f"Unknown scope {unknown[0]!r}; known are: {', '.join(PARTNER_SCOPES)}.",
            field,
            message_nl=f"Onbekende scope {unknown[0]!r}; bekend zijn: {', '.join(PARTNER_SCOPES)}.",
        )
    if not wanted:
        raise RuleBroken(
            "partner.no_scope", "Grant at least one scope.", field, message_nl="Ken minstens een scope toe."
        )
    return tuple(scope for scope in PARTNER_SCOPES if scope in wanted)


class InvalidScope(ValueError):
    """RFC 6749 `invalid_scope`: a requested scope the application was not granted."""


def token_scopes(requested: str | None, allowed: Iterable[str]) -> tuple[str, ...]:
    """The scopes of a token: what was asked for (space-separated, RFC 6749 section 3.3), each of
    them allowed; nothing asked means everything the application is allowed."""
    allowed_scopes = tuple(allowed)
    if requested is None or not requested.strip():
        return allowed_scopes
    asked = set(requested.split())
    if not asked <= set(allowed_scopes):
        raise InvalidScope(" ".join(sorted(asked - set(allowed_scopes))))
    return tuple(scope for scope in allowed_scopes if scope in asked)


# --- consent ---------------------------------------------------------------------------------


def consent_active(withdrawn_at: datetime | None, until: date | None, today: date) -> bool:
    """A consent counts from the moment it is given until it is withdrawn or its last day passed."""
    return withdrawn_at is None and (until is None or today <= until)


def ensure_until_not_past(until: date | None, today: date) -> None:
    if until is not None and until < today:
        raise RuleBroken(
            "consent.until_in_past",
            "A consent cannot end before today.",
            "until",
            message_nl="Een toestemming kan niet eindigen voor vandaag.",
        )


def plan_names_provider(content: Mapping[str, Any], kvk: str) -> bool:
    """Whether a plan's budget lines name this KvK number as a provider."""
    budget = content.get("budget")
    lines = budget.get("lines", []) if isinstance(budget, dict) else []
    return any(isinstance(line, dict) and line.get("provider_kvk") == kvk for line in lines)
