"""`prb db backup` and `prb db restore`: PostgreSQL through pg_dump/pg_restore (custom format,
one consistent moment for every service's schema), embedded mode through SQLite's online backup
API (one file per attached service database, safe while the server runs).

Restoring goes into a fresh, empty database: a non-empty target is refused unless `force`, and
pg_restore runs in one transaction, so a failed restore leaves the target as it was.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from eigenregie.ops import OpsError
from shared.db import create_db_engine, is_sqlite

PG_ARCHIVE_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive


class OpsFailed(Exception):
    """A tool did not do its work (pg_dump failed, ...): the CLI prints it and exits 1."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise OpsFailed(
            f"{name} not found on PATH: install the PostgreSQL client tools (Debian: postgresql-client), "
            "of the server's major version or newer"
        )
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL as libpq reads it (no `+psycopg`), with the password moved into PGPASSWORD so
    that it is not on the command line (where `ps` shows it)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise OpsFailed(f"{what} failed (exit {done.returncode}): {' / '.join(detail[-5:])[:800]}")


# --- SQLite files ------------------------------------------------------------------------------


def sqlite_files(url: str, services: list[str]) -> list[Path]:
    """The main file and each service's attached file, named as shared/db.py attaches them."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise OpsError("--to-url", "a SQLite URL names a file, e.g. sqlite:///data/eigenregie.db")
    main = Path(database)
    return [main, *(main.with_name(f"{main.stem}_{s}{main.suffix or '.db'}") for s in services)]


def _sqlite_copy(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


# --- backup ------------------------------------------------------------------------------------


def backup(database_url: str, target: Path, services: list[str], *, force: bool = False) -> list[str]:
    """PostgreSQL: one pg_dump custom-format archive at `target`. SQLite: `target` is a directory
    that receives a copy of every file (SQLite's online backup API)."""
    if is_sqlite(database_url):
        return _backup_sqlite(database_url, target, services, force=force)
    if target.exists() and not force:
        raise OpsError("--to", f"{target} exists; choose a new file, or --force to overwrite it")
    if not target.parent.is_dir():
        raise OpsError("--to", f"no directory {target.parent}")
    pg_dump = _tool("pg_dump")
    url, env = _libpq(database_url)
    partial = target.with_name(f".{target.name}.partial")
    _run([pg_dump, "--format=custom", "--file", str(partial), "--dbname", url], env, "pg_dump")
    partial.replace(target)  # a failed dump never leaves a file that looks like a backup
    return [f"backed up {_safe(database_url)} to {target} ({target.stat().st_size} bytes, pg_dump custom format)"]


def _backup_sqlite(database_url: str, target: Path, services: list[str], *, force: bool) -> list[str]:
    files = sqlite_files(database_url, services)
    missing = [f for f in files if not f.exists()]
    if missing:
        raise OpsFailed(f"no database file {missing[0]} (run prb migrate first, or another PRB_DATA_DIR)")
    if target.exists() and not target.is_dir():
        raise OpsError("--to", f"{target} is a file; embedded mode backs up to a directory (one file per service)")
    if not target.parent.is_dir():
        raise OpsError("--to", f"no directory {target.parent}")
    target.mkdir(exist_ok=True)
    existing = [target / f.name for f in files if (target / f.name).exists()]
    if existing and not force:
        raise OpsError("--to", f"{existing[0]} exists; choose a new directory, or --force to overwrite")
    lines = []
    for source in files:
        (target / source.name).unlink(missing_ok=True)
        _sqlite_copy(source, target / source.name)
        lines.append(f"backed up {source} to {target / source.name}")
    return lines


# --- restore -----------------------------------------------------------------------------------


def _user_tables(url: str) -> int:
    """Tables, views and sequences outside PostgreSQL's own schemas."""
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
                    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                    "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'"
                )
            ).scalar_one()
    except sa.exc.SQLAlchemyError as exc:
        raise OpsError(
            "--to-url", f"cannot connect to {_safe(url)}: {type(getattr(exc, 'orig', None) or exc).__name__}"
        ) from None
    finally:
        engine.dispose()
    return int(count)


def restore(
    source: Path, to_url: str, services: list[str], *, force: bool = False, no_owner: bool = False
) -> list[str]:
    try:
        is_lite = is_sqlite(to_url)
    except sa.exc.ArgumentError:
        raise OpsError("--to-url", "not a database URL, e.g. postgresql://user@host:5432/prb") from None
    if is_lite:
        return _restore_sqlite(source, to_url, services, force=force)
    if not source.is_file():
        raise OpsError("--from", f"no file {source}")
    with source.open("rb") as f:
        if f.read(len(PG_ARCHIVE_MAGIC)) != PG_ARCHIVE_MAGIC:
            raise OpsError("--from", f"{source} is not a pg_dump custom-format archive (make one with prb db backup)")
    pg_restore = _tool("pg_restore")
    tables = _user_tables(to_url)
    if tables and not force:
        raise OpsError(
            "--to-url",
            f"{_safe(to_url)} is not empty ({tables} tables, views or sequences); restore into a fresh database, "
            "or --force to replace the objects the backup has",
        )
    url, env = _libpq(to_url)
    argv = [pg_restore, "--exit-on-error", "--single-transaction", "--dbname", url]
    if force:
        argv += ["--clean", "--if-exists"]
    if no_owner:
        argv += ["--no-owner", "--no-acl"]
    _run([*argv, str(source)], env, "pg_restore")
    return [
        f"restored {source} into {_safe(to_url)}",
        "next: run prb migrate against it (brings an older backup up to this version), then start the services",
    ]


def _restore_sqlite(source: Path, to_url: str, services: list[str], *, force: bool) -> list[str]:
    if not source.is_dir():
        raise OpsError("--from", f"embedded mode restores from a directory made by prb db backup, not {source}")
    targets = sqlite_files(to_url, services)
    sources = [source / t.name for t in targets]
    missing = [s for s in sources if not s.exists()]
    if missing:
        raise OpsError("--from", f"the backup lacks {missing[0].name}")
    existing = [t for t in targets if t.exists() and t.stat().st_size > 0]
    if existing and not force:
        raise OpsError(
            "--to-url", f"{existing[0]} exists; restore into an empty directory, or --force (stop prb first)"
        )
    targets[0].parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for backup_file, target in zip(sources, targets, strict=True):
        for leftover in (target, target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
            leftover.unlink(missing_ok=True)
        _sqlite_copy(backup_file, target)
        lines.append(f"restored {backup_file} to {target}")
    lines.append("next: run prb migrate, then start prb again")
    return lines
