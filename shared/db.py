"""Database engines and the per-service schemas.

Each service owns one schema: on PostgreSQL a real schema (`<service>.<table>`), on SQLite an
attached database file per service (`data/eigenregie_<service>.db` attached AS <service>), so
the same table definitions (`schema="<service>"`) and migrations run on both. No service reads
another's schema and there are no foreign keys across schemas.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from shared.bus.routing import services


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _normalise_pg_url(url: str) -> str:
    # Accept plain postgresql:// URLs and use psycopg 3 for them.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


# A pooled connection idle this long is checked (`SELECT 1`) before it is handed out.
IDLE_CHECK_SECONDS = 10.0


def create_db_engine(
    url: str, *, schemas: Iterable[str] | None = None, pool_size: int = 10, echo: bool = False
) -> Engine:
    """`schemas`: the services whose SQLite files are attached (default: the configured services)."""
    url = _normalise_pg_url(url)
    if is_sqlite(url):
        return _sqlite_engine(url, echo=echo, schemas=None if schemas is None else tuple(schemas))
    engine = sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # Replaced before a firewall or PgBouncer would cut it.
        pool_recycle=1800,
        echo=echo,
        connect_args={"connect_timeout": 5},
    )
    _check_connections_after_idle(engine)
    return engine


def _check_connections_after_idle(engine: Engine) -> None:
    """Instead of `pool_pre_ping`, whose `SELECT 1` round trip on every checkout cost 15-30 % of the
    CPU of a short transaction (docs/performance.md): only a connection that sat idle in the pool for
    IDLE_CHECK_SECONDS is checked, so after a database restart in a quiet spell no request fails.
    Under load connections are never idle that long; one that dies while in use fails its
    transaction (a retried try, or a 503 the caller may retry), and SQLAlchemy then drops every
    pooled connection older than that failure."""

    @event.listens_for(engine, "connect")
    def stamp_new(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def stamp_idle(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def check_after_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("idle_since", 0.0) < IDLE_CHECK_SECONDS:
            return
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:
            # The pool discards this connection and hands out another (a new one if need be).
            raise sa.exc.DisconnectionError(str(exc)) from exc


def _sqlite_engine(url: str, *, echo: bool, schemas: tuple[str, ...] | None) -> Engine:
    db_path = make_url(url).database
    if not db_path or db_path == ":memory:":
        raise ValueError("embedded mode needs a SQLite file (per-service files are attached beside it)")
    main = Path(db_path)
    main.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        echo=echo,
        connect_args={"check_same_thread": False, "timeout": 30},
    )

    @event.listens_for(engine, "connect")
    def attach_service_schemas(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver level; SQLAlchemy emits BEGIN itself (see below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        for schema in schemas if schemas is not None else services():
            path = main.with_name(f"{main.stem}_{schema}{main.suffix or '.db'}")
            cur.execute("ATTACH DATABASE ? AS " + schema, (str(path),))
            cur.execute(f"PRAGMA {schema}.journal_mode=WAL")
            cur.execute(f"PRAGMA {schema}.busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def begin_immediate(conn: Any) -> None:
        # Take the write lock up front: SQLite's deferred BEGIN fails with "database is
        # locked" when two readers both try to upgrade; IMMEDIATE makes the second wait.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def ensure_schemas(engine: Engine, schemas: Iterable[str]) -> None:
    if is_sqlite(engine):
        return  # attached on connect
    with engine.begin() as conn:
        for schema in schemas:
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))


def bulk_insert(session: Any, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows inside the session's transaction: COPY on PostgreSQL (a 100,000-row payment
    run in well under a second), a multi-row INSERT elsewhere. A constraint violation raises
    sqlalchemy's IntegrityError either way."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(sa.insert(table), rows)
        return
    import psycopg

    columns = list(rows[0])
    statement = f"COPY {table.fullname} ({', '.join(columns)}) FROM STDIN"
    try:
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
    except psycopg.errors.IntegrityError as exc:
        raise sa.exc.IntegrityError(statement, None, exc) from exc


def transaction_memo(session: Any, name: str) -> dict[Any, Any]:
    """A dict that lives as long as the session's current transaction: what a consumer's batch reads
    once for all its events (a municipality's settings, its webhook subscriptions) instead of once per
    event. Within one transaction that is the same as reading it at its start; the next transaction
    reads afresh."""
    root = session.get_transaction()
    held = session.info.get(name)
    if held is None or held[0] is not root:
        held = session.info[name] = (root, {})
    return held[1]


def insert_with_blob(session: Any, table: sa.Table, values: dict[str, Any], column: str, source: IO[bytes]) -> None:
    """Insert one row whose `column` (bytea) is read from `source`, inside the session's
    transaction. On PostgreSQL the value goes through COPY in pieces of BLOB_PIECE, so the client
    never holds it whole (a payment file of 100,000 transfers is 30 MB; as one bytes parameter it
    cost that twice over); elsewhere a plain INSERT."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(sa.insert(table).values(**values, **{column: source.read()}))
        return
    columns = [*values, column]
    statement = f"COPY {table.fullname} ({', '.join(columns)}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write("".join(_copy_text(v) + "\t" for v in values.values()).encode())
        copy.write(b"\\\\x")  # bytea in hex, its backslash escaped for COPY's text format
        while piece := source.read(BLOB_PIECE):
            copy.write(piece.hex().encode())
        copy.write(b"\n")


BLOB_PIECE = 1 << 20


def _copy_text(value: Any) -> str:
    """One field of COPY's text format."""
    if value is None:
        return "\\N"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def insert_ignoring_duplicates(session: Any, table: Any, rows: list[dict[str, Any]]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING (PostgreSQL and SQLite): a row that a UNIQUE constraint
    says is already there is left as it is, so two workers racing to add the same thing add one.
    How many rows were added (counted by RETURNING: a multi-row INSERT's rowcount is -1 on psycopg).
    The rows go as parameters of one statement (Core's executemany, sent as multi-row VALUES), so the
    statement is compiled once per process, not once per call. `table`: a Table or a mapped class."""
    if not rows:
        return 0
    core = table if isinstance(table, sa.Table) else table.__table__
    statements = _IGNORING_DUPLICATES.get(core)
    if statements is None:
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        key = core.primary_key.columns[0]
        statements = _IGNORING_DUPLICATES[core] = {
            "postgresql": pg_insert(core).on_conflict_do_nothing().returning(key),
            "sqlite": sqlite_insert(core).on_conflict_do_nothing().returning(key),
        }
    statement = statements[session.get_bind().dialect.name]
    return len(session.execute(statement, rows).all())


_IGNORING_DUPLICATES: dict[sa.Table, dict[str, Any]] = {}
