"""The audit trail of personal-data access: who read or changed which client's data, when, through
which endpoint and for which purpose (BIO, GDPR art. 15 and 30).

Each service keeps its own `audit_record` table in its own schema (created by its migration; the
table is declared here once per schema, as the bus tables are). A record names the client by id,
never by BSN or name; changed values are masked where they are personal (`SECRET_FIELDS`).

Append-only and tamper-evident: records form one chain per municipality and schema. Record n
holds `prev_hash` (record n-1's hash, or GENESIS) and `hash` = SHA-256 over the canonical JSON of
its own fields followed by `prev_hash`, so changing, removing or inserting a row breaks every
hash after it; `verify` recomputes the chain and names the first broken record. This module has
no update or delete path; on PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE as well.
Writers of one chain take a lock first (a transaction-scoped advisory lock on PostgreSQL; on
SQLite the write lock that BEGIN IMMEDIATE takes), so two writers cannot both append record n.

Changes are recorded by the command, in its unit of work (a change is never without its record);
reads by shared.audit_http's middleware, which knows the route and its client. This module names
no service: the schema is a parameter.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from shared.auth import Principal, Role
from shared.logging import correlation_id_var, new_correlation_id

TABLE = "audit_record"
GENESIS = "0" * 64
PURPOSE_PATTERN = r"^[a-z][a-z0-9_.-]{0,39}$"  # a code, never free text about a person
_PURPOSE = re.compile(PURPOSE_PATTERN)
MASK = "***"
INTERNAL_ENDPOINT = "internal"  # a command run outside a request (demo data, CLI, a job)

# Fields whose values never go into a record, only the fact that they changed.
SECRET_FIELDS = frozenset(
    {
        "bsn",
        "bsn_hash",
        "client_number",
        "name",
        "email",
        "phone",
        "address",
        "date_of_birth",
        "facts",
        "iban",
        "password",
        "secret",
        "token",
    }
)

# Free text written about a person (a plan's sections, a reviewer's reasons and comments, a
# report's summary, a note): a record says that it changed, never the text (masked like a secret).
FREE_TEXT_FIELDS = frozenset(
    {
        "title",
        "content",
        "summary",
        "note",
        "notes",
        "text",
        "reason",
        "closure_note",
        "decision_note",
        "filename",
        "reasons",
        "conditions",
        "contra_indications",
        "comments",
        "assessments",
        "grounds",
        "done",
        "next_steps",
        "problems",
        "brought",
        "step",
    }
)
MASKED_FIELDS = SECRET_FIELDS | FREE_TEXT_FIELDS

# What a record says when the caller sends no X-Purpose header.
DEFAULT_PURPOSE: dict[Role, str] = {
    Role.CLIENT: "own_data",
    Role.REPRESENTATIVE: "representation",
    Role.CASE_MANAGER: "casework",
    Role.TEAM_LEAD: "casework",
    Role.FINANCE: "payment",
    Role.PROVIDER: "invoicing",
    Role.PARTNER: "partner_service",
    Role.POLICY: "policy",
    Role.OPS: "operations",
    Role.SERVICE: "system",
}


class AuditAction(StrEnum):
    READ = "read"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


# --- the table ------------------------------------------------------------------------------


def _table_for(schema: str) -> sa.Table:
    return sa.Table(
        TABLE,
        SQLModel.metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject", sa.String(80), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("changes", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(80), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        # One record n per chain: two writers that both computed n collide here at the latest.
        sa.UniqueConstraint("municipality", "seq", name=f"uq_{schema}_audit_record_chain"),
        sa.Index(f"ix_{schema}_audit_record_client", "municipality", "client_id", "at"),
        schema=schema,
    )


_BY_SCHEMA: dict[str, sa.Table] = {}
_LOCK = threading.Lock()


def audit_table(schema: str) -> sa.Table:
    """The audit records of one service's schema (declared once, on first use)."""
    table = _BY_SCHEMA.get(schema)
    if table is None:
        with _LOCK:
            # `is None`, not `or`: a Table has no truth value (a second request waiting here raised).
            table = _BY_SCHEMA.get(schema)
            if table is None:
                table = _BY_SCHEMA.setdefault(schema, _table_for(schema))
    return table


def append_only_trigger_sql(schema: str) -> list[str]:
    """PostgreSQL statements (for a migration) that make the table refuse UPDATE, DELETE and TRUNCATE."""
    function = f'"{schema}".audit_record_append_only'
    return [
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$""",
        f'CREATE TRIGGER audit_record_no_change BEFORE UPDATE OR DELETE ON "{schema}".{TABLE} '
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f'CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON "{schema}".{TABLE} '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def drop_append_only_trigger_sql(schema: str) -> list[str]:
    return [
        f'DROP TRIGGER IF EXISTS audit_record_no_truncate ON "{schema}".{TABLE}',
        f'DROP TRIGGER IF EXISTS audit_record_no_change ON "{schema}".{TABLE}',
        f'DROP FUNCTION IF EXISTS "{schema}".audit_record_append_only()',
    ]


# --- records and the chain ------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    """What happened, before it has its place in the chain."""

    municipality: str
    actor_subject: str
    actor_role: str
    client_id: str
    action: AuditAction
    endpoint: str
    purpose: str
    correlation_id: str
    at: datetime
    changes: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AuditRecord:
    id: str
    municipality: str
    seq: int
    at: datetime
    actor_subject: str
    actor_role: str
    client_id: str
    action: str
    endpoint: str
    purpose: str
    changes: str | None  # canonical JSON, as hashed
    correlation_id: str
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        """The fields the hash covers (all but `hash` and `prev_hash`), in a form that survives
        every database: the instant as UTC with microseconds, `changes` as its stored text."""
        content = _shallow(self)
        del content["hash"], content["prev_hash"]
        content["at"] = instant(self.at)
        return content

    def expected_hash(self) -> str:
        return record_hash(self.content(), self.prev_hash)

    def public(self) -> dict[str, Any]:
        public = _shallow(self)
        public["at"] = _utc(self.at)
        public["changes"] = json.loads(self.changes) if self.changes else None
        return public


def _shallow(record: Any) -> dict[str, Any]:
    """A record's fields as a dict. Every field is a plain value (text, number, instant), so no deep
    copy (`dataclasses.asdict` deep-copies, and cost a tenth of an API's CPU on audited reads)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the same value always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(content: Mapping[str, Any], prev_hash: str) -> str:
    return hashlib.sha256((canonical_json(content) + prev_hash).encode()).hexdigest()


def _utc(at: datetime) -> datetime:
    # SQLite gives the instant back without its zone; it was stored as UTC.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def instant(at: datetime) -> str:
    return _utc(at).replace(tzinfo=None).isoformat(timespec="microseconds")


def chain(entries: Sequence[AuditEntry], *, last_seq: int, last_hash: str) -> list[AuditRecord]:
    """The entries as records n+1, n+2, ... after the chain's last record (seq, hash)."""
    records: list[AuditRecord] = []
    seq, prev = last_seq, last_hash
    for entry in entries:
        seq += 1
        unhashed = AuditRecord(
            id=str(uuid.uuid4()),
            municipality=entry.municipality,
            seq=seq,
            at=_utc(entry.at),
            actor_subject=entry.actor_subject,
            actor_role=entry.actor_role,
            client_id=entry.client_id,
            action=entry.action.value,
            endpoint=entry.endpoint,
            purpose=entry.purpose,
            changes=canonical_json(entry.changes) if entry.changes is not None else None,
            correlation_id=entry.correlation_id,
            prev_hash=prev,
            hash="",
        )
        record = replace(unhashed, hash=unhashed.expected_hash())
        records.append(record)
        prev = record.hash
    return records


@dataclass(frozen=True)
class Broken:
    id: str
    seq: int
    reason: str  # hash_mismatch | prev_hash_mismatch | seq_gap


@dataclass(frozen=True)
class Verification:
    checked: int
    first_broken: Broken | None = None
    last_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify_records(records: Iterable[AuditRecord]) -> Verification:
    """Walk one chain in `seq` order; the first record whose hash, link or number is wrong."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for record in records:
        checked += 1
        if record.seq != expected_seq:
            return Verification(checked, Broken(record.id, record.seq, "seq_gap"), prev)
        if record.prev_hash != prev:
            return Verification(checked, Broken(record.id, record.seq, "prev_hash_mismatch"), prev)
        if record.hash != record.expected_hash():
            return Verification(checked, Broken(record.id, record.seq, "hash_mismatch"), prev)
        prev, expected_seq = record.hash, expected_seq + 1
    return Verification(checked, None, prev)


def masked_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, *, secret: frozenset[str] = MASKED_FIELDS
) -> dict[str, dict[str, Any]]:
    """{field: {"old": ..., "new": ...}} for every field whose value differs, and for the ids that
    say which record it was (names ending in `_id`); a secret or free-text field's values (any
    dotted part of its name counts: `representative.email`, `plan.content.foreword`) are MASK, or
    null when there was none (an empty text or list counts as none), so the record shows that it
    changed, not to what."""
    old, new = old or {}, new or {}
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after and not _is_reference(name):
            continue
        if _is_masked(name, secret):
            before, after = _masked(before), _masked(after)
            if before == after and before is None:
                continue
        changes[name] = {"old": _jsonable(before), "new": _jsonable(after)}
    return changes


def _is_masked(name: str, secret: frozenset[str]) -> bool:
    """A field is masked when any dotted part of its name is (`plan.content.foreword`: `content`)."""
    return any(part.lower() in secret for part in name.split("."))


def _masked(value: Any) -> str | None:
    return None if value is None or value in ("", [], {}) else MASK


def _is_reference(name: str) -> bool:
    return name.endswith("_id")


def _jsonable(value: Any) -> Any:
    return json.loads(canonical_json(value))


# Maps other ids of the service (path parameters and answer fields: plan_id, budget_id, ...) to
# the ids of the clients they belong to, within one municipality.
Resolver = Callable[[Session, str, Mapping[str, set[str]]], set[str]]


@dataclass(frozen=True)
class AuditPolicy:
    """How a service's reads name their client. Route templates as the router has them (`/v1/...`)."""

    person_routes: frozenset[str] = frozenset()  # the answer is a client (or clients): its `id` is theirs
    read_routes: frozenset[str] = frozenset()  # non-GET routes that only read (a search by BSN)
    ref_keys: tuple[str, ...] = ()  # answer fields handed to the resolver (e.g. "budget_id")
    resolve: Resolver | None = None


# --- the request an audit record comes from -------------------------------------------------


@dataclass
class RequestContext:
    """Set by the audit middleware for one request; the route template is read when a record is
    written (routing fills it in after the middleware has started)."""

    scope: MutableMapping[str, Any]
    purpose: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def template(self) -> str:
        """The matched route's template with the full path before it: `/<service>/v1/clients/{client_id}`.
        (An included router's route knows only its own part of the template; the part before it is
        the concrete path's first segments, which hold no parameters.)"""
        route_path = getattr(self.scope.get("route"), "path", None)
        path = str(self.scope.get("path", ""))
        if not route_path:
            return "(unrouted)"
        segments = path.split("/")
        prefix = "/".join(segments[: max(1, len(segments) - route_path.count("/"))])
        return prefix + route_path

    def route(self) -> str:
        """The template within the service app (without its mount point): `/v1/clients/{client_id}`."""
        template, root = self.template(), str(self.scope.get("root_path", ""))
        return template[len(root) :] if root and template.startswith(root) else template

    def endpoint(self) -> str:
        return f"{self.scope.get('method', 'GET')} {self.template()}"[:200]


request_context: ContextVar[RequestContext | None] = ContextVar("audit_request", default=None)


def purpose_for(who: Principal) -> str:
    context = request_context.get()
    if context is not None and context.purpose:
        return context.purpose
    return DEFAULT_PURPOSE.get(who.role, "unspecified")


def current_endpoint() -> str:
    context = request_context.get()
    return context.endpoint() if context is not None else INTERNAL_ENDPOINT


def entry_for(
    who: Principal,
    client_id: str,
    action: AuditAction,
    *,
    at: datetime,
    changes: Mapping[str, Any] | None = None,
    correlation_id: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        municipality=who.municipality,
        actor_subject=who.subject,
        actor_role=who.role.value,
        client_id=client_id,
        action=action,
        endpoint=current_endpoint(),
        purpose=purpose_for(who),
        correlation_id=correlation_id or correlation_id_var.get() or new_correlation_id(),
        at=at,
        changes=changes,
    )


# --- storing and reading --------------------------------------------------------------------


def _lock_chain(session: Session, schema: str, municipality: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"audit:{schema}:{municipality}"},
        )
    # SQLite: the transaction began with BEGIN IMMEDIATE (shared.db), the database's write lock.


def append(session: Session, schema: str, entries: Sequence[AuditEntry]) -> list[AuditRecord]:
    """Add the entries at the end of their municipality's chain, inside the session's transaction
    (the caller commits, with the change the records describe). The only way records are written."""
    table = audit_table(schema)
    written: list[AuditRecord] = []
    for municipality in sorted({e.municipality for e in entries}):  # a fixed order: no deadlock
        _lock_chain(session, schema, municipality)
        last = session.execute(
            sa.select(table.c.seq, table.c.hash)
            .where(table.c.municipality == municipality)
            .order_by(table.c.seq.desc())
            .limit(1)
        ).first()
        records = chain(
            [e for e in entries if e.municipality == municipality],
            last_seq=last.seq if last else 0,
            last_hash=last.hash if last else GENESIS,
        )
        session.execute(sa.insert(table), [_shallow(r) for r in records])
        written += records
    return written


def record_change(
    uow: Any,
    who: Principal,
    client_id: str,
    action: AuditAction,
    *,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    secret: frozenset[str] = MASKED_FIELDS,
    purpose: str | None = None,
) -> AuditRecord | None:
    """A command's change of a client's data, in the command's unit of work (`uow.session`,
    `uow.service`): old and new values of the fields that differ, personal ones and free text
    masked. An update that changes nothing records nothing. `purpose` (a code) instead of the
    request's or the role's; an event handler or job passes `system_principal(...)` as `who`."""
    entry = change_entry(uow, who, client_id, action, old=old, new=new, secret=secret, purpose=purpose)
    return None if entry is None else append(uow.session, uow.service, [entry])[0]


def change_entry(
    uow: Any,
    who: Principal,
    client_id: str,
    action: AuditAction,
    *,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    secret: frozenset[str] = MASKED_FIELDS,
    purpose: str | None = None,
) -> AuditEntry | None:
    """The entry `record_change` would append, for a command that appends the entries of a batch
    at once (`append`, in the same unit of work); None for an update that changes nothing."""
    changes = masked_changes(old, new, secret=secret)
    if action == AuditAction.UPDATE and all(_is_reference(name) for name in changes):
        return None
    entry = entry_for(who, client_id, action, at=uow.clock.now(), changes=changes, correlation_id=uow.correlation_id)
    if purpose is not None:
        entry = replace(entry, purpose=_purpose_code(purpose))
    return entry


def system_principal(service: str, municipality: str) -> Principal:
    """Who acts when a service's event handler or scheduled job changes or reads a client's data."""
    return Principal(subject=service, role=Role.SERVICE, municipality=municipality)


def read_entries(
    who: Principal, client_ids: Iterable[str], *, purpose: str, at: datetime, correlation_id: str | None = None
) -> list[AuditEntry]:
    """Reads of these clients' data outside a request (a job sending mail, an export): endpoint
    `internal` unless a request is running, the purpose a code. Hand them to `append` in the
    transaction the job writes anyway, so recording costs no commit of its own."""
    code = _purpose_code(purpose)
    return [
        replace(entry_for(who, c, AuditAction.READ, at=at, correlation_id=correlation_id), purpose=code)
        for c in sorted(set(client_ids))
    ]


def _purpose_code(purpose: str) -> str:
    if not _PURPOSE.match(purpose):
        raise ValueError(f"not a purpose code: {purpose!r}")
    return purpose


def record_of(row: Any) -> AuditRecord:
    return AuditRecord(**{name: getattr(row, name) for name in AuditRecord.__dataclass_fields__})


def select_records(
    schema: str,
    municipality: str,
    *,
    client_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    table = audit_table(schema)
    statement = sa.select(table).where(table.c.municipality == municipality)
    if client_id is not None:
        statement = statement.where(table.c.client_id == client_id)
    if since is not None:
        statement = statement.where(table.c.at >= since)
    if until is not None:
        statement = statement.where(table.c.at <= until)
    return statement.order_by(table.c.seq)


def list_records(session: Session, schema: str, municipality: str, **filters: Any) -> list[AuditRecord]:
    return [record_of(row) for row in session.execute(select_records(schema, municipality, **filters))]


def has_records(session: Session, schema: str, municipality: str, client_id: str) -> bool:
    table = audit_table(schema)
    found = session.execute(
        sa.select(table.c.id).where(table.c.municipality == municipality, table.c.client_id == client_id).limit(1)
    ).first()
    return found is not None


def _walk(session: Session, schema: str, municipality: str, batch: int) -> Iterator[AuditRecord]:
    table = audit_table(schema)
    after = 0
    while True:
        rows = session.execute(
            sa.select(table)
            .where(table.c.municipality == municipality, table.c.seq > after)
            .order_by(table.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield record_of(row)
        after = rows[-1].seq


def verify(session: Session, schema: str, municipality: str, *, batch: int = 5000) -> Verification:
    """Recompute one municipality's chain from its first record, in batches (a long chain is
    never all in memory); the first broken record, if any."""
    return verify_records(_walk(session, schema, municipality, batch))


def create_audit_table_in_migration(op: Any, schema: str) -> None:
    """The table (and on PostgreSQL its append-only trigger) as each service's first audit
    migration makes it. Later changes to the table get migrations of their own, never an edit here."""
    op.create_table(
        TABLE,
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_subject", sa.String(80), nullable=False),
        sa.Column("actor_role", sa.String(20), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("purpose", sa.String(40), nullable=False),
        sa.Column("changes", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(80), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("municipality", "seq", name=f"uq_{schema}_audit_record_chain"),
        schema=schema,
    )
    op.create_index(f"ix_{schema}_audit_record_client", TABLE, ["municipality", "client_id", "at"], schema=schema)
    if op.get_bind().dialect.name == "postgresql":
        for statement in append_only_trigger_sql(schema):
            op.execute(statement)


def drop_audit_table_in_migration(op: Any, schema: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in drop_append_only_trigger_sql(schema):
            op.execute(statement)
    op.drop_index(f"ix_{schema}_audit_record_client", table_name=TABLE, schema=schema)
    op.drop_table(TABLE, schema=schema)
