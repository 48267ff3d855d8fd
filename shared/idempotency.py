"""Idempotency-Key for partner POSTs: a retry with the same key gets the first answer.

The key is claimed in its own short transaction before the work starts, so two concurrent
retries cannot both do the work; the answer (success or problem) is stored afterwards. The
same key with a different body is refused. A crash mid-way frees the key for a retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from shared.auth import Principal
from shared.errors import DomainError
from shared.problems import Problem, problem_of_domain_error

MAX_KEY_LENGTH = 200


def request_fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def run_idempotent(
    engine: Engine,
    record_model: type[SQLModel],
    who: Principal,
    key: str | None,
    body: bytes,
    work: Callable[[], tuple[int, Any]],
    release: Callable[[], None] | None = None,
) -> tuple[int, Any]:
    """Run `work` once per (municipality, subject, key); returns (status, JSON-able body).

    `release` ends the work's own transaction after a failure, before the answer is stored
    (SQLite has one writer at a time).
    """
    if key is None:
        return work()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Problem(
            400,
            "Bad Idempotency-Key",
            f"The key must be 1 to {MAX_KEY_LENGTH} characters.",
            errors=[{"field": "Idempotency-Key", "message": "invalid length"}],
        )
    fingerprint = request_fingerprint(body)
    ident = {"municipality": who.municipality, "subject": who.subject, "key": key}
    with Session(engine) as session:
        existing = session.get(record_model, (who.municipality, who.subject, key))
        if existing is None:
            session.add(record_model(**ident, request_hash=fingerprint))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                existing = session.get(record_model, (who.municipality, who.subject, key))
        if existing is not None:
            return _replay(existing, fingerprint)

    try:
        status, payload = work()
    except (Problem, DomainError) as exc:
        if release:
            release()
        if _status_of(exc) >= 500:  # nothing was done and a retry may succeed: free the key
            _forget(engine, record_model, ident)
        else:
            _store(engine, record_model, ident, _status_of(exc), {"problem": _document_of(exc)})
        raise
    except BaseException:
        if release:
            release()
        _forget(engine, record_model, ident)
        raise
    _store(engine, record_model, ident, status, jsonable_encoder(payload))
    return status, payload


def _status_of(exc: Problem | DomainError) -> int:
    return exc.status


def _document_of(exc: Problem | DomainError) -> dict[str, Any]:
    # The same mapper as the exception handlers, so a replay answers exactly as the first time.
    return (exc if isinstance(exc, Problem) else problem_of_domain_error(exc)).document()


def _replay(record: Any, fingerprint: str) -> tuple[int, Any]:
    if record.request_hash != fingerprint:
        raise Problem(
            422,
            "Idempotency-Key reused",
            "This Idempotency-Key was used with a different request body.",
            code="idempotency.key_reused",
            errors=[{"field": "Idempotency-Key", "message": "reused"}],
        )
    if record.status_code is None:
        raise Problem(
            409,
            "Request in progress",
            "A request with this Idempotency-Key is still being processed.",
            code="idempotency.in_progress",
        )
    response = record.response
    if isinstance(response, dict) and "problem" in response:
        doc = response["problem"]
        raise Problem(
            record.status_code,
            doc.get("title", "Error"),
            doc.get("detail", ""),
            code=doc.get("code"),
            errors=doc.get("errors"),
        )
    return record.status_code, response


def _store(engine: Engine, model: type[SQLModel], ident: dict[str, str], status: int, response: Any) -> None:
    with Session(engine) as session:
        record = session.get(model, (ident["municipality"], ident["subject"], ident["key"]))
        if record is not None:
            record.status_code, record.response = status, json.loads(json.dumps(response, default=str))
            session.add(record)
            session.commit()


def _forget(engine: Engine, model: type[SQLModel], ident: dict[str, str]) -> None:
    with Session(engine) as session:
        record = session.get(model, (ident["municipality"], ident["subject"], ident["key"]))
        if record is not None:
            session.delete(record)
            session.commit()
