"""The audit trail over HTTP: the middleware that records reads of personal data, and the routes
that show the trail (shared.audit has the records and the chain).

Every service app runs `AuditMiddleware` (shared.web.create_service_app). For each request it
binds the request (route template, X-Purpose) for the commands that record changes. For a
service with an `AuditPolicy`, a successful read (a GET, or a route the policy names as a read)
is recorded before its answer leaves: one record per client the answer is about, found in the
path (`client_id`), in the answer (`client_id`, or `id` on routes whose answer is a client) or,
through the service's resolver, from other ids (a plan id, say). If the record cannot be
written the caller gets a problem answer (500, or 503 when the database refuses), never the data
without its record.

`audit_router(service)` gives each service GET /audit, /audit/mine and /audit/verify.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.access import require_one_of
from shared.audit import (
    PURPOSE_PATTERN,
    AuditAction,
    AuditPolicy,
    AuditRecord,
    RequestContext,
    append,
    entry_for,
    has_records,
    record_of,
    request_context,
    select_records,
    verify,
)
from shared.auth import CurrentPrincipal, Principal, Role, decode_token
from shared.deps import SessionDep
from shared.errors import NotFound, RuleBroken
from shared.pagination import PAGED, PageDep, page_answer, page_of
from shared.problems import Problem, problem_response

log = structlog.get_logger("audit")
_PURPOSE = re.compile(PURPOSE_PATTERN)


def _clients_in(policy: AuditPolicy, route: str, path_params: Mapping[str, Any], body: Any) -> tuple[set[str], dict]:
    clients: set[str] = set()
    refs: dict[str, set[str]] = {k: {v} for k, v in path_params.items() if isinstance(v, str) and k != "client_id"}
    if isinstance(path_params.get("client_id"), str):
        clients.add(path_params["client_id"])
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    key = "id" if route in policy.person_routes else "client_id"
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get(key), str):
            clients.add(item[key])
        for ref in policy.ref_keys:
            if isinstance(item.get(ref), str):
                refs.setdefault(ref, set()).add(item[ref])
    return clients, refs


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, service: str, policy: AuditPolicy | None, runtime: Any) -> None:
        self.app = app
        self.service = service
        self.policy = policy
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = dict(scope["headers"]).get(b"x-purpose")
        purpose = raw.decode("latin-1").strip() if raw is not None else None
        if purpose is not None and not _PURPOSE.match(purpose):
            problem = Problem(
                422,
                "Invalid purpose",
                "X-Purpose is a code of 1 to 40 lower-case letters, digits, '_', '.' or '-' (e.g. `casework`).",
                code="audit.purpose_invalid",
                errors=[{"field": "X-Purpose", "code": "audit.purpose_invalid", "message": "Not a purpose code."}],
            )
            await problem_response(problem, path=scope.get("path", ""))(scope, receive, send)
            return
        token = request_context.set(RequestContext(scope, purpose))
        try:
            if self.policy is None:
                await self.app(scope, receive, send)
            else:
                await self.app(scope, receive, self._recording(scope, send))
        finally:
            request_context.reset(token)

    def _is_read(self, scope: Scope) -> bool:
        assert self.policy is not None
        if scope.get("head_only"):
            return False  # a HEAD: headers only, no personal data leaves
        return scope.get("method") == "GET" or RequestContext(scope).route() in self.policy.read_routes

    def _recording(self, scope: Scope, send: Send) -> Send:
        start: Message | None = None
        body = bytearray()

        async def recording_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if not (200 <= message["status"] < 300 and self._is_read(scope)):
                    await send(message)
                    return
                content_type = dict(message.get("headers") or []).get(b"content-type", b"")
                if b"json" in content_type:
                    start = message  # held until the whole answer is here and recorded
                    return
                await self._record(scope, None)  # a file: the client is in its path
                await send(message)
                return
            if message["type"] == "http.response.body" and start is not None:
                body.extend(message.get("body", b""))
                if message.get("more_body"):
                    return
                await self._record(scope, bytes(body))
                held, start = start, None
                await send(held)
                await send({"type": "http.response.body", "body": bytes(body)})
                return
            await send(message)

        return recording_send

    async def _record(self, scope: Scope, body: bytes | None) -> None:
        assert self.policy is not None
        who = self._principal(scope)
        if who is None:
            return
        try:
            answer = json.loads(body) if body else None
        except ValueError:
            answer = None
        route = RequestContext(scope).route()
        clients, refs = _clients_in(self.policy, route, scope.get("path_params") or {}, answer)
        # The request's own session when it has one: on SQLite its transaction holds the write lock
        # until the answer is out, so a second connection would wait for it.
        session = (scope.get("state") or {}).get("db_session")
        await run_in_threadpool(self._write, who, clients, refs, session)

    def _principal(self, scope: Scope) -> Principal | None:
        header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None
        try:
            return decode_token(credentials.strip(), self.runtime.settings)
        except Problem:
            return None

    def _write(self, who: Principal, clients: set[str], refs: dict[str, set[str]], session: Session | None) -> None:
        if session is not None:
            self._append_reads(session, who, clients, refs)
            return
        with Session(self.runtime.engine) as own:
            self._append_reads(own, who, clients, refs)

    def _append_reads(self, session: Session, who: Principal, clients: set[str], refs: dict[str, set[str]]) -> None:
        assert self.policy is not None
        if not clients and refs and self.policy.resolve is not None:
            clients = self.policy.resolve(session, who.municipality, refs)
        if clients:
            now = self.runtime.clock.now()
            append(session, self.service, [entry_for(who, c, AuditAction.READ, at=now) for c in sorted(clients)])
        session.commit()


# --- the routes -------------------------------------------------------------------------------

LIST_ROLES = (Role.TEAM_LEAD,)  # who may see who saw a client's data
VERIFY_ROLES = (Role.TEAM_LEAD, Role.OPS)  # integrity checks: no personal data in the answer
OWN_ROLES = (Role.CLIENT, Role.REPRESENTATIVE)


class AuditRecordPublic(BaseModel):
    id: str
    service: str
    seq: int
    at: datetime
    actor_subject: str
    actor_role: str
    client_id: str
    action: AuditAction
    endpoint: str = Field(description="Method and route template, e.g. `GET /<service>/v1/clients/{client_id}`.")
    purpose: str
    changes: dict[str, Any] | None = Field(description="Per field `old` and `new`; personal values masked as `***`.")
    correlation_id: str
    prev_hash: str
    hash: str


class BrokenPublic(BaseModel):
    id: str
    seq: int
    reason: str = Field(description="`hash_mismatch`, `prev_hash_mismatch` or `seq_gap`.")


class VerificationPublic(BaseModel):
    service: str
    municipality: str
    ok: bool
    checked: int
    last_hash: str
    first_broken: BrokenPublic | None


def public_record(service: str, record: AuditRecord) -> AuditRecordPublic:
    return AuditRecordPublic(service=service, **record.public())


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime | None, datetime | None]:
    since, until = _utc(since), _utc(until)
    if since is not None and until is not None and until < since:
        raise RuleBroken("audit.window_reversed", "`to` is before `from`.", "to", message_nl="`to` ligt voor `from`.")
    return since, until


From = Annotated[datetime | None, Query(alias="from", description="From this instant (included).")]
To = Annotated[datetime | None, Query(alias="to", description="Up to this instant (included).")]


def audit_router(service: str) -> APIRouter:
    """The audit routes of one service (each service's api.py includes them)."""
    router = APIRouter(tags=["audit"])

    def _page(session: Session, statement: Any, page: Any, response: Response) -> list[AuditRecordPublic]:
        found = page_of(session, statement, page)
        return page_answer(found.map(lambda row: public_record(service, record_of(row))), response)

    @router.get("/audit", response_model=list[AuditRecordPublic], responses=PAGED, summary="List the audit trail")
    def list_audit(
        who: CurrentPrincipal,
        session: SessionDep,
        page: PageDep,
        response: Response,
        client_id: Annotated[str | None, Query(max_length=36)] = None,
        since: From = None,
        until: To = None,
    ) -> list[AuditRecordPublic]:
        """Who read or changed personal data in this service, when, through which endpoint and for
        which purpose, oldest first; of one client with `client_id` (404 if this municipality has no
        record of them), within `from` and `to`. Reading the trail is recorded too."""
        require_one_of(who, LIST_ROLES)
        since, until = _window(since, until)
        if client_id is not None and not has_records(session, service, who.municipality, client_id):
            raise NotFound("client")
        statement = select_records(service, who.municipality, client_id=client_id, since=since, until=until)
        return _page(session, statement, page, response)

    @router.get("/audit/mine", response_model=list[AuditRecordPublic], responses=PAGED, summary="List who saw my data")
    def list_my_audit(
        who: CurrentPrincipal,
        session: SessionDep,
        page: PageDep,
        response: Response,
        since: From = None,
        until: To = None,
    ) -> list[AuditRecordPublic]:
        """For a client (or their representative): who read or changed the client's data in this
        service, when and why, oldest first (GDPR art. 15)."""
        require_one_of(who, OWN_ROLES)
        since, until = _window(since, until)
        statement = select_records(service, who.municipality, client_id=who.client_id, since=since, until=until)
        return _page(session, statement, page, response)

    @router.get("/audit/verify", response_model=VerificationPublic, summary="Verify the audit trail")
    def verify_audit(who: CurrentPrincipal, session: SessionDep) -> VerificationPublic:
        """Recompute the municipality's hash chain in this service from its first record: `ok`, how
        many records were checked, the last hash (to compare with one noted earlier: a cut-off end
        shows there) and the first broken record with the reason."""
        require_one_of(who, VERIFY_ROLES)
        result = verify(session, service, who.municipality)
        broken = result.first_broken
        return VerificationPublic(
            service=service,
            municipality=who.municipality,
            ok=result.ok,
            checked=result.checked,
            last_hash=result.last_hash,
            first_broken=BrokenPublic(id=broken.id, seq=broken.seq, reason=broken.reason) if broken else None,
        )

    return router
