"""HTTP apps: each service is a sub-application under /<service>/v1 with its own OpenAPI.

Embedded mode mounts every service in one process with the in-process bus; `prb serve <service>`
mounts one. /healthz and /readyz are on the root app. The API follows the NL API Design Rules:
the major version in the path, the full version in an `API-Version` header on every answer,
problem+json for errors, HEAD wherever GET is, no redirects on a trailing slash.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC
from typing import Annotated, Any

import sqlalchemy as sa
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.audit_http import AuditMiddleware, audit_router
from shared.config import Settings
from shared.logging import correlation_id_var, new_correlation_id
from shared.metrics import MetricsMiddleware, exposition, watch_outboxes
from shared.problems import Problem, document_problem_responses, install_problem_handlers, problem_response
from shared.rate_limit import RateLimitMiddleware
from shared.runtime import EmbeddedBackground, Runtime, ServiceSpec
from shared.tracing import fastapi_telemetry

log = structlog.get_logger("http")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,80}$")
CORRELATION_HEADER = "x-correlation-id"


class CorrelationIdMiddleware:
    """Takes X-Correlation-ID from the request (or makes one) and binds it for every log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(CORRELATION_HEADER.encode(), b"").decode("latin-1")
        cid = incoming if _SAFE_ID.match(incoming or "") else new_correlation_id()
        token = correlation_id_var.set(cid)
        structlog.contextvars.bind_contextvars(correlation_id=cid)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].append((CORRELATION_HEADER.encode(), cid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")
            correlation_id_var.reset(token)


# Bodies that are documents, not JSON: they get the upload limit.
_UPLOAD_TYPES = {
    b"multipart/form-data",
    b"application/xml",
    b"text/xml",
    b"application/pdf",
    b"application/octet-stream",
}


def body_limit(scope: Scope, settings: Settings) -> int:
    """The largest request body this route kind takes: JSON (and anything else) or an upload,
    each with a larger allowance on batch routes (a path ending in /bulk)."""
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    media_type = content_type.split(b";", 1)[0].strip().lower()
    upload = media_type in _UPLOAD_TYPES or media_type.startswith(b"image/")
    bulk = scope.get("path", "").rstrip("/").endswith("/bulk")
    if upload:
        return settings.max_bulk_upload_body_bytes if bulk else settings.max_upload_body_bytes
    return settings.max_bulk_json_body_bytes if bulk else settings.max_json_body_bytes


class BodySizeLimitMiddleware:
    """Answers 413 (problem+json) to a request body over its route kind's limit, without reading
    the rest: at once when Content-Length says so, else as soon as the bytes received (chunked)
    pass the limit. The app then sees the client gone, and whatever it answers is dropped."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope, self.settings)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._too_large(scope, send, limit)
            return
        received = 0
        refused = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await self._too_large(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    async def _too_large(scope: Scope, send: Send, limit: int) -> None:
        path = scope.get("path", "")
        log.warning("http.body_too_large", path=path, limit=limit)
        problem = Problem(
            413,
            "Request body too large",
            f"This route takes a request body of at most {_size(limit)}.",
            headers={"Connection": "close"},
            code="request.too_large",
        )
        await problem_response(problem, path=path)({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


API_VERSION = "1.0.0"
API_MAJOR = "v" + API_VERSION.split(".", 1)[0]


class ApiVersionMiddleware:
    """Every answer of a service API says its full version (NL API Design Rules, API-57)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].append((b"api-version", API_VERSION.encode()))
                # No browser guesses another type than the one we say (an uploaded file stays a download).
                message["headers"].append((b"x-content-type-options", b"nosniff"))
            await send(message)

        await self.app(scope, receive, send_with_version)


class HeadAsGetMiddleware:
    """HEAD wherever GET is: the GET route answers, the body is dropped (headers stay)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # "head_only": the audit trail records no read for an answer whose body is dropped.
        await self.app({**scope, "method": "GET", "head_only": True}, receive, send_headers_only)


def create_service_app(spec: ServiceSpec, runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title=f"Eigen Regie: {spec.title}",
        description=spec.description,
        version=API_VERSION,
        openapi_url=f"/{API_MAJOR}/openapi.json",
        docs_url=f"/{API_MAJOR}/docs",
        redoc_url=None,
        servers=[{"url": f"/{spec.name}", "description": "this host"}],
        root_path_in_servers=False,
        redirect_slashes=False,
        swagger_ui_parameters={"persistAuthorization": True},
        # The root app makes the request's span; a mounted app sees it and adds none.
        telemetry=fastapi_telemetry(),
    )
    app.state.runtime = runtime
    app.state.service = spec.name  # whose revoked credentials a partner token is checked against (shared.auth)
    app.include_router(spec.router, prefix=f"/{API_MAJOR}")
    if spec.audit is not None:
        app.include_router(audit_router(spec.name), prefix=f"/{API_MAJOR}")  # GET /audit, /audit/mine, /audit/verify
    # Innermost: it sees the route once matched, and a record it cannot write becomes a problem answer.
    app.add_middleware(AuditMiddleware, service=spec.name, policy=spec.audit, runtime=runtime)
    install_problem_handlers(app)
    document_problem_responses(app)
    app.add_middleware(HeadAsGetMiddleware)
    app.add_middleware(ApiVersionMiddleware)
    return app


def _readiness(runtime: Runtime, services: list[str] | None = None) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        checks["database"] = f"failing: {type(exc).__name__}"
    if services and checks["database"] == "ok":
        checks["outbox"] = _outbox_check(runtime, services)
    if not runtime.settings.embedded:
        try:
            import redis

            redis.Redis.from_url(str(runtime.settings.broker_url), socket_timeout=2, socket_connect_timeout=2).ping()
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001 - readiness reports a broker that fails, never raises
            checks["broker"] = f"failing: {type(exc).__name__}"
    return checks


def _outbox_check(runtime: Runtime, services: list[str]) -> str:
    """Events this process's services committed must reach the relay: not ready while the oldest
    waiting one is older than `ready_outbox_max_age_seconds` (no relay runs, or it cannot publish)."""
    from datetime import datetime

    from shared.bus.relay import oldest_unpublished

    limit = runtime.settings.ready_outbox_max_age_seconds
    now = datetime.now(UTC)
    try:
        late = []
        for service in services:
            oldest = oldest_unpublished(runtime.engine, service)
            if oldest is not None and (age := (now - oldest).total_seconds()) > limit:
                late.append(f"{service} {age:.0f} s")
    except Exception as exc:  # noqa: BLE001 - as above, for the outbox check
        return f"failing: {type(exc).__name__}"
    if late:
        return f"failing: oldest unpublished event older than {limit:.0f} s ({', '.join(late)})"
    return "ok"


def create_app(
    specs: Sequence[ServiceSpec], runtime: Runtime, *, embedded: bool, home_page: Callable[[], str] | None = None
) -> FastAPI:
    """The root app: health and readiness, each service mounted at /<name>, and an optional home page."""
    background: EmbeddedBackground | None = EmbeddedBackground(runtime, specs) if embedded else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background:
            background.start()
        log.info("app.started", services=[s.name for s in specs], embedded=embedded)
        yield
        if background:
            background.stop()

    app = FastAPI(
        title="Eigen Regie",
        version=API_VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
        # FastAPI's native OpenTelemetry: the request's server span, named by the route template,
        # while tracing is on (shared/tracing.py); nothing while it is off.
        telemetry=fastapi_telemetry(),
    )
    app.state.runtime = runtime
    install_problem_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        checks = _readiness(runtime, [s.name for s in specs])
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks}, status_code=200 if ready else 503
        )

    if runtime.settings.metrics_port is None:
        # Without a metrics port (embedded, development) on the app's own port; with one, only
        # there (`prb serve` starts it), so an ingress that routes "/" never exposes the metrics.
        @app.get("/metrics", include_in_schema=False)
        def metrics() -> Response:
            """Prometheus text format (shared/metrics.py): no personal data, route templates only."""
            body, content_type = exposition()
            return Response(body, media_type=content_type)

    watch_outboxes(runtime.engine, [s.name for s in specs])

    from shared.ops_api import router as ops_router

    app.include_router(ops_router, prefix="/ops/v1")  # operators: outbox backlog, dead letters

    if home_page is not None:
        app.add_api_route("/", home_page, include_in_schema=False, response_class=HTMLResponse)

    for spec in specs:
        app.mount(f"/{spec.name}", create_service_app(spec, runtime))
    app.add_middleware(BodySizeLimitMiddleware, settings=runtime.settings)
    # Counted before a body is read: the APIs per log-in (the pages' calls to them too), log-ins per address.
    prefixes = [f"/{spec.name}/" for spec in specs] + ["/ops/"]
    app.add_middleware(RateLimitMiddleware, settings=runtime.settings, prefixes=prefixes)
    app.add_middleware(MetricsMiddleware)  # counts the 413s and 429s as well
    app.add_middleware(CorrelationIdMiddleware)  # outermost: the 413 and 429 carry the correlation id too
    return app
