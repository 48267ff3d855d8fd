"""Rate limits (the `limits` library): per log-in on the APIs, per address on log-in and anonymous calls.

Who is counted: a request with a valid bearer token counts for its municipality and subject (a
person's log-in, a partner application); one without (or with a token that does not verify)
counts for the client address. A log-in (POST to one of `rate_limit_login_paths`) always counts
for the address, against its own, tighter limit. The web pages are not counted themselves: each
page calls the APIs with the token of the person logged in, and those calls are.

Where the counters live: in memory in embedded mode (one process), in Redis in distributed mode
(the broker's, or `rate_limit_storage_url`), so every API process of a deployment shares them. If
Redis does not answer, requests go through (logged): the limit protects the service, it must not
take it down (and for 5 s after a failure no request waits for Redis).

An answer over the limit is 429 problem+json with Retry-After; every counted answer says its limit
(RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset: seconds until the window frees a request).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import anyio.to_thread
import jwt
import structlog
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import decode_token
from shared.config import Settings
from shared.problems import Problem, problem_response

log = structlog.get_logger("http")

# After Redis fails, requests go through uncounted this long before it is tried again.
RETRY_STORAGE_AFTER_SECONDS = 5.0

_STRATEGIES: dict[str, type[RateLimiter]] = {
    "fixed-window": FixedWindowRateLimiter,
    "moving-window": MovingWindowRateLimiter,
    "sliding-window-counter": SlidingWindowCounterRateLimiter,
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_seconds).encode()),
        ]


def storage_for(settings: Settings) -> Storage:
    """Memory in embedded mode; Redis (the broker's, unless `rate_limit_storage_url`) when distributed."""
    url = settings.rate_limit_storage_url or (None if settings.embedded else settings.broker_url)
    if url is None or url.startswith("memory://"):
        return MemoryStorage()
    storage = storage_from_string(
        url,
        key_prefix=settings.rate_limit_key_prefix,
        wrap_exceptions=True,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
    )
    if not isinstance(storage, Storage):  # an async+ URL: the middleware calls the storage in a thread
        raise ValueError("PRB_RATE_LIMIT_STORAGE_URL must name a synchronous storage (redis://...)")
    return storage


class RateLimits:
    """The limits of one app, over one storage: `check` counts a request and says whether it may go on."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.storage = storage or storage_for(settings)
        self.limiter = _STRATEGIES[settings.rate_limit_strategy](self.storage)
        self.default = parse_many(settings.rate_limit)
        self.login = parse_many(settings.rate_limit_login)
        self.in_memory = isinstance(self.storage, MemoryStorage)
        self.unavailable_until = 0.0

    def _check(self, items: Sequence[RateLimitItem], key: str) -> Verdict:
        tightest: Verdict | None = None
        for item in items:
            allowed = self.limiter.hit(item, key)
            reset_time, remaining = self.limiter.get_window_stats(item, key)
            verdict = Verdict(allowed, item.amount, max(remaining, 0), max(math.ceil(reset_time - time.time()), 0))
            if not allowed:
                return verdict
            if tightest is None or verdict.remaining < tightest.remaining:
                tightest = verdict
        assert tightest is not None  # parse_many gives at least one item
        return tightest

    async def check(self, kind: str, key: str) -> Verdict | None:
        """Counts one request of `kind` ("login" or "default") for `key`; None when the storage fails."""
        items = self.login if kind == "login" else self.default
        if self.in_memory:
            return self._check(items, f"{kind}:{key}")
        if time.monotonic() < self.unavailable_until:
            return None  # Redis failed a moment ago: no request waits for its timeout again
        try:  # Redis: a blocking round trip, off the event loop
            return await anyio.to_thread.run_sync(self._check, items, f"{kind}:{key}")
        except StorageError as exc:
            self.unavailable_until = time.monotonic() + RETRY_STORAGE_AFTER_SECONDS
            log.warning(
                "http.rate_limit_unavailable",
                error=type(exc.storage_error).__name__,
                retry_in_seconds=RETRY_STORAGE_AFTER_SECONDS,
            )
            return None


class RateLimitMiddleware:
    """Counts each request to the APIs (`prefixes`) and each log-in; answers 429 over the limit."""

    def __init__(self, app: ASGIApp, settings: Settings, prefixes: Sequence[str]) -> None:
        self.app = app
        self.settings = settings
        self.prefixes = tuple(prefixes)
        self.login_paths = tuple(p.strip() for p in settings.rate_limit_login_paths.split(",") if p.strip())
        self.limits = RateLimits(settings)
        self.token_keys = TokenKeys(settings)

    def _kind(self, scope: Scope) -> str | None:
        path: str = scope.get("path", "")
        if scope["method"] == "POST" and path.endswith(self.login_paths):
            return "login"
        if path.startswith(self.prefixes):
            return "default"
        return None

    def _key(self, scope: Scope, kind: str) -> str:
        if kind == "default":
            principal = self.token_keys(scope)
            if principal is not None:
                return principal
        client = scope.get("client")
        return f"address:{client[0] if client else 'unknown'}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.settings.rate_limit_enabled:
            await self.app(scope, receive, send)
            return
        kind = self._kind(scope)
        verdict = await self.limits.check(kind, self._key(scope, kind)) if kind else None
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            await self._too_many(scope, receive, send, verdict, kind or "default")
            return

        async def send_with_limit(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].extend(verdict.headers())
            await send(message)

        await self.app(scope, receive, send_with_limit)

    @staticmethod
    async def _too_many(scope: Scope, receive: Receive, send: Send, verdict: Verdict, kind: str) -> None:
        path = scope.get("path", "")
        retry_after = max(verdict.reset_seconds, 1)
        log.info("http.rate_limited", path=path, kind=kind, limit=verdict.limit)  # never the token or the address
        problem = Problem(
            429,
            "Too many requests",
            f"Over the limit of {verdict.limit} requests; try again in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
            code="request.rate_limited",
        )
        answer: Response = problem_response(problem, path=path)
        if kind == "login" and _wants_html(scope):
            # A person at the log-in form: a page in words, not JSON.
            answer = HTMLResponse(TOO_MANY_LOG_INS.format(seconds=retry_after), status_code=429,
                                  headers={"Retry-After": str(retry_after)})  # fmt: skip
        answer.raw_headers.extend(verdict.headers())
        await answer(scope, receive, send)


TOO_MANY_LOG_INS = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Te veel pogingen · Eigen Regie</title></head>
<body><main>
<h1>Te veel pogingen om in te loggen</h1>
<p>Wacht {seconds} seconden en probeer het dan opnieuw. <a href="/login">Naar inloggen</a></p>
<p lang="en">Too many log-in attempts. Wait {seconds} seconds and try again.</p>
</main></body></html>
"""


def _wants_html(scope: Scope) -> bool:
    accept = next((v for k, v in scope.get("headers") or [] if k == b"accept"), b"")
    return b"text/html" in accept


class TokenKeys:
    """The counting key of a bearer token, verified once and then remembered until the token expires
    (a signature check costs more than the count itself). Only the count relies on it: the route
    checks the token again, revoked or not."""

    def __init__(self, settings: Settings, size: int = 10_000) -> None:
        self.settings = settings
        self.size = size
        self.known: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def __call__(self, scope: Scope) -> str | None:
        """The municipality and subject of a bearer token that verifies, else None (counted by address)."""
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        known = self.known.get(token)
        if known is not None and known[1] > time.time():
            self.known.move_to_end(token)
            return known[0]
        try:
            principal = decode_token(token, self.settings)
            expires = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        except (Problem, jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None
        key = f"principal:{principal.municipality}:{principal.subject}"
        self.known[token] = (key, expires)
        if len(self.known) > self.size:
            self.known.popitem(last=False)
        return key
