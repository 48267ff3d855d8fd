"""How a page calls the services: their public HTTP APIs, with a short-lived token of the person
logged in, so every page is authorised exactly as the API calls behind it. In embedded mode the
call stays in process (httpx over ASGI to the same app); with `web_api_base_url` set it goes over
HTTP to that gateway."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from fastapi import Request

from shared.auth import Principal, issue_token
from shared.config import Settings

TOKEN_TTL = timedelta(minutes=5)
TIMEOUT = 60.0

# One HTTP client per event loop and API address, kept: a new httpx.AsyncClient per call built an SSL
# context (loading the CA bundle, ~10 ms CPU) and a new connection for every API call a page made.
_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


def _shared_client(base: str) -> httpx.AsyncClient:
    clients = _SHARED.setdefault(asyncio.get_running_loop(), {})
    if base not in clients or clients[base].is_closed:
        clients[base] = httpx.AsyncClient(base_url=base, timeout=TIMEOUT)
    return clients[base]


@dataclass
class ApiError(Exception):
    """An API answered with a problem: its status and document (title, detail, errors per field)."""

    status: int
    problem: dict[str, Any] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail") or self.problem.get("title") or f"HTTP {self.status}")

    def field_errors(self) -> dict[str, str]:
        """Per field (the last part of its name), the message: for errors tied to their field."""
        found: dict[str, str] = {}
        for error in self.problem.get("errors") or []:
            name = str(error.get("field") or "").split(".")[-1]
            found.setdefault(name, str(error.get("message") or self.detail))
        return found


@dataclass
class Answer:
    data: Any
    total: int | None
    headers: httpx.Headers


class ApiClient:
    def __init__(self, request: Request, principal: Principal, lang: str) -> None:
        settings: Settings = request.app.state.runtime.settings
        self._lang = lang
        self._token = issue_token(principal, settings, ttl=TOKEN_TTL)
        if settings.web_api_base_url:
            self._transport: httpx.AsyncBaseTransport | None = None
            self._base = settings.web_api_base_url.rstrip("/")
        else:
            self._transport = httpx.ASGITransport(app=request.app)
            self._base = "http://in-process"

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Authorization": f"Bearer {self._token}", "Accept-Language": self._lang, **(headers or {})}
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        if self._transport is None:
            r = await _shared_client(self._base).request(
                method, path, params=clean, json=json, content=content, files=files, headers=sent
            )
        else:
            async with httpx.AsyncClient(transport=self._transport, base_url=self._base, timeout=TIMEOUT) as http:
                r = await http.request(
                    method, path, params=clean, json=json, content=content, files=files, headers=sent
                )
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"title": r.reason_phrase}
            raise ApiError(r.status_code, problem if isinstance(problem, dict) else {"detail": str(problem)})
        total = r.headers.get("X-Total-Count")
        body: Any
        if r.headers.get("content-type", "").startswith("application/json"):
            body = r.json()
        else:
            body = r.content
        return Answer(body, int(total) if total and total.isdigit() else None, r.headers)

    async def get(self, path: str, **params: Any) -> Any:
        return (await self.call("GET", path, params=params)).data

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return (await self.call("POST", path, json=json, **kwargs)).data

    async def put(self, path: str, json: Any = None) -> Any:
        return (await self.call("PUT", path, json=json)).data
