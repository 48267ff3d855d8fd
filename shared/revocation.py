"""Revoked partner credentials, checked at token verification in every service (issue 13).

A partner application's access token is a JWT that lives up to 15 minutes. When the municipality
revokes the application, or rotates its secret, its tokens must stop at once in every service,
not only in the one that owns the applications. So each service keeps a small table of its own,
`revoked_credential`, in its own schema: one row per application, with

- `revoked`: the application is revoked; every token it holds is refused;
- `tokens_issued_before`: tokens issued before this moment are refused (a rotated secret: the
  tokens got with the old secret stop, those got with the new one work).

The owning service writes its row in the revoking command's transaction and publishes
`PartnerCredentialsRevoked` (ids and a timestamp, nothing personal); every other service records
it from that event (its handler calls `record`). `shared.auth` calls `refused` for every partner
token, naming the service whose app answers the request.

The cost: one primary-key read per partner request (staff and client tokens pay nothing). An
in-process cache holds refusals only: a revocation never lifts and `tokens_issued_before` only
moves later, so a cached refusal stays true, and caching never delays a revocation: a "not
revoked" answer is always read again.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from shared.uow import UnitOfWork

TABLE = "revoked_credential"
_BY_SCHEMA: dict[str, sa.Table] = {}
_LOCK = threading.Lock()


def _table_for(schema: str) -> sa.Table:
    return sa.Table(
        TABLE,
        SQLModel.metadata,
        sa.Column("subject", sa.String(80), primary_key=True),  # the partner application's id (token `sub`)
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("tokens_issued_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )


def revocation_table(schema: str) -> sa.Table:
    """The revoked credentials of one service's schema (declared once, on first use)."""
    table = _BY_SCHEMA.get(schema)
    if table is None:
        with _LOCK:
            table = _BY_SCHEMA.get(schema) or _BY_SCHEMA.setdefault(schema, _table_for(schema))
    return table


def create_revocation_table_in_migration(op: Any, schema: str) -> None:
    op.create_table(
        TABLE,
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("municipality", sa.String(4), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("tokens_issued_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=schema,
    )


def drop_revocation_table_in_migration(op: Any, schema: str) -> None:
    op.drop_table(TABLE, schema=schema)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def record(uow: UnitOfWork, *, subject: str, municipality: str, tokens_issued_before: datetime, revoked: bool) -> None:
    """Refuse the application's tokens issued before `tokens_issued_before` (all of them when
    `revoked`), in the unit of work's transaction. Idempotent, and it never loosens: a later
    rotation moves the moment on, an earlier one (an event late) changes nothing."""
    table = revocation_table(uow.service)
    session = uow.session
    before = _utc(tokens_issued_before)
    row = session.execute(
        sa.select(table.c.revoked, table.c.tokens_issued_before).where(table.c.subject == subject).with_for_update()
    ).first()
    if row is None:
        session.execute(
            table.insert().values(
                subject=subject,
                municipality=municipality,
                revoked=revoked,
                tokens_issued_before=before,
                recorded_at=uow.clock.now(),
            )
        )
        return
    session.execute(
        table.update()
        .where(table.c.subject == subject)
        .values(revoked=bool(row.revoked) or revoked, tokens_issued_before=max(_utc(row.tokens_issued_before), before))
    )


class CredentialsRevoked(Protocol):
    """What the PartnerCredentialsRevoked event says (contracts.events; shared imports no contract)."""

    @property
    def partner_app_id(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def tokens_issued_before(self) -> datetime: ...


def refuse_tokens_on_partner_credentials_revoked(uow: UnitOfWork, revoked: CredentialsRevoked, event: Any) -> None:
    """The handler of PartnerCredentialsRevoked in every service but the one that owns the applications (it
    records its own row in the revoking command): the application's tokens stop in this service too, at once."""
    record(
        uow,
        subject=revoked.partner_app_id,
        municipality=event.tenant,
        tokens_issued_before=revoked.tokens_issued_before,
        revoked=revoked.reason == "app_revoked",
    )


def tokens_clock_now() -> datetime:
    """The moment on the clock tokens are stamped with: `shared.auth.issue_token` sets `iat` from
    the wall clock, not from a service's `Clock` (a test's frozen day), so a "tokens issued before
    now" is taken on that same clock."""
    return datetime.now(UTC)


# Refusals seen, per (schema, subject): (revoked, tokens_issued_before). Never a "not revoked".
_refusals: dict[tuple[str, str], tuple[bool, datetime]] = {}


def _refuses(entry: tuple[bool, datetime], issued_at: datetime | None) -> bool:
    revoked, before = entry
    return revoked or issued_at is None or issued_at < before


def refused(engine: Engine, schema: str, subject: str, issued_at: datetime | None) -> bool:
    """Whether the service `schema` refuses a partner token of application `subject` issued at
    `issued_at` (a token without its issue time is refused once anything is recorded)."""
    cached = _refusals.get((schema, subject))
    if cached is not None and _refuses(cached, issued_at):
        return True
    table = revocation_table(schema)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(table.c.revoked, table.c.tokens_issued_before).where(table.c.subject == subject)
        ).first()
    if row is None:
        return False
    entry = (bool(row.revoked), _utc(row.tokens_issued_before))
    _refusals[(schema, subject)] = entry
    return _refuses(entry, issued_at)


def forget_cache() -> None:
    """For tests that reuse application ids over fresh databases."""
    _refusals.clear()
