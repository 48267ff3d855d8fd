"""RFC 9457 problem details: every 4xx/5xx answer is application/problem+json."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.contention import is_transient
from shared.errors import DomainError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("http")


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or f"https://eigenregie.example/problems/{status}"
        self.errors = errors or []
        self.headers = headers or {}
        self.code = code

    def document(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status, "detail": self.detail}
        if self.code:
            doc["code"] = self.code
        if instance:
            doc["instance"] = instance
        if self.errors:
            doc["errors"] = self.errors
        return doc


def problem_response(problem: Problem, request: Request | None = None, *, path: str | None = None) -> JSONResponse:
    """The problem as an answer; `path` for ASGI middleware that has a scope, not a request."""
    return JSONResponse(
        problem.document(request.url.path if request else path),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


_DOMAIN_TITLES = {
    404: "Not found",
    403: "Not allowed",
    409: "Conflict",
    422: "Rule not met",
    503: "Temporarily unavailable",
}


def problem_of_domain_error(exc: DomainError, language: str = "en") -> Problem:
    """The one mapper from a domain error to its problem document (exception handlers and replays)."""
    message = exc.message_in(language)
    errors = exc.errors or ([{"field": exc.field, "message": message, "code": exc.code}] if exc.field else None)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    headers["Content-Language"] = "nl" if language == "nl" else "en"
    return Problem(
        exc.status,
        _DOMAIN_TITLES.get(exc.status, "Rule not met"),
        message,
        errors=errors,
        code=exc.code,
        headers=headers,
    )


def preferred_language(request: Request) -> str:
    """Dutch when the caller's Accept-Language puts it before English, else English (the API's language)."""
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";", 1)[0].strip().lower()
        if tag.startswith("nl"):
            return "nl"
        if tag.startswith("en"):
            return "en"
    return "en"


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_response(problem_of_domain_error(exc, preferred_language(request)), request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        malformed = False
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                # The location is ("body", <character position>): name the body, say where.
                malformed = True
                loc = tuple(err.get("loc", ()))
                position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
                reason = str((err.get("ctx") or {}).get("error") or "JSON decode error")
                where = f" at character {position}" if position is not None else ""
                errors.append({"field": "body", "message": f"not valid JSON: {reason}{where}", "type": "json_invalid"})
                continue
            message = err.get("msg", "invalid")
            if err.get("type") == "extra_forbidden":
                message = "unknown field"
            errors.append(
                {"field": _field_path(tuple(err.get("loc", ()))), "message": message, "type": err.get("type")}
            )
        if malformed:
            problem = Problem(400, "Malformed JSON", "The request body is not valid JSON.", errors=errors)
        else:
            fields = ", ".join(e["field"] for e in errors)
            problem = Problem(422, "Invalid request", f"Check these fields: {fields}.", errors=errors)
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Not signed in", 403: "Not allowed"}
        problem = Problem(
            exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail), headers=dict(exc.headers or {})
        )
        return problem_response(problem, request)

    # Not an exception handler: Starlette re-raises after those, and the server would log the
    # error a second time. The middleware answers and logs once.
    app.add_middleware(UnexpectedErrorMiddleware)


def problem_of_unexpected(exc: Exception) -> Problem:
    """A database that is down or busy is a 503 the caller may retry; anything else is our 500."""
    if (
        is_transient(exc)
        or isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
        or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)
    ):
        return Problem(
            503,
            "Temporarily unavailable",
            "The database is busy or unreachable; try again shortly.",
            headers={"Retry-After": "2"},
            code="service.unavailable",
        )
    return Problem(500, "Internal error", "Something went wrong on our side; it has been logged.")


class UnexpectedErrorMiddleware:
    """Turns an exception no handler took into one problem response and one log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            problem = problem_of_unexpected(exc)
            path = scope.get("path", "")  # the full path, also in a mounted service (Starlette keeps it)
            if problem.status == 500:
                log.exception("http.unhandled_error", path=path, error=type(exc).__name__)
            else:
                log.warning("http.dependency_unavailable", path=path, error=type(exc).__name__, detail=str(exc)[:200])
            if started:
                return  # the answer was already on its way; the log line is all we can add
            await problem_response(problem, path=path)(scope, receive, send)


_PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "description": "Stable machine-readable reason, e.g. plan.over_budget."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
_PROBLEM_DESCRIPTIONS = {
    400: "Malformed request (JSON that does not parse, a bad Idempotency-Key).",
    401: "No valid bearer token.",
    403: "The token's role may not do this.",
    404: "No such record, or one you may not see.",
    409: "The record's state does not allow this now.",
    413: "The request body is larger than this route takes.",
    415: "The uploaded file's type is not one this route takes.",
    422: "A field is invalid or a rule refuses the request; `errors` names the fields.",
    429: "Over the rate limit of this log-in (or address); retry after Retry-After seconds.",
    503: "Busy or a dependency is unreachable; retry after Retry-After seconds.",
}


def _problem_statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    statuses = [429, 503]  # every API route is rate limited (shared/rate_limit.py)
    if operation.get("security"):
        statuses += [401, 403]
    # A record named in the path, the body (client_id, plan_id, ...) or an *_id query parameter.
    names_a_record = any(
        p.get("in") == "query" and p.get("name", "").endswith("_id") for p in operation.get("parameters", [])
    )
    if "{" in path or "requestBody" in operation or names_a_record:
        statuses.append(404)
    if "requestBody" in operation:
        statuses += [400, 413]
        if any(t.startswith("multipart/") for t in operation["requestBody"].get("content", {})):
            statuses.append(415)  # an uploaded file of a type the route does not take
    if method in ("post", "put", "patch", "delete"):
        statuses.append(409)
    if operation.get("parameters") or "requestBody" in operation:
        statuses.append(422)
    return sorted(set(statuses))


def document_problem_responses(app: FastAPI) -> None:
    """Declare in OpenAPI the problem answers each operation really gives, as application/problem+json
    (FastAPI would declare only its own 422 schema, as application/json)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, servers=app.servers
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = _PROBLEM_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in _problem_statuses(method, path, operation):
                    responses[str(status)] = {
                        "description": _PROBLEM_DESCRIPTIONS[status],
                        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
