"""Commands that lose a race for a lock are run again, a few times, then answered 503.

PostgreSQL ends one side of a deadlock (40P01) or a serialisation conflict (40001); a lock
wait may time out (55P03); SQLite's writer lock may stay busy past its timeout. None of
these is the caller's fault and none has changed anything: the transaction is rolled back
whole. `@retry_on_contention` runs the command again with fresh rows after a short, jittered
pause; after the last try it raises `TemporarilyUnavailable` (503 with Retry-After).

Only the outermost command retries: a command called by another (an order placed for a
periodic payment) runs inside the caller's transaction and lets the caller retry.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import structlog
from sqlalchemy.exc import DBAPIError

from shared.errors import TemporarilyUnavailable

log = structlog.get_logger("contention")

MAX_ATTEMPTS = 4
RETRY_AFTER_SECONDS = 1
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})

P = ParamSpec("P")
R = TypeVar("R")


def is_transient(exc: BaseException) -> bool:
    """A lost race for a lock: safe to run the whole transaction again."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    return "database is locked" in str(orig)  # SQLite, after its busy timeout


def retry_on_contention(command: Callable[P, R]) -> Callable[P, R]:
    """For commands whose first argument is a UnitOfWork that they commit themselves."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        uow: Any = args[0]
        if getattr(uow, "in_command", False):
            return command(*args, **kwargs)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            uow.in_command = True
            try:
                return command(*args, **kwargs)
            except DBAPIError as exc:
                if not is_transient(exc):
                    raise
                uow.rollback()
                sqlstate = getattr(exc.orig, "sqlstate", None) or "locked"
                if attempt == MAX_ATTEMPTS:
                    log.warning("command.gave_up", command=command.__name__, attempts=attempt, sqlstate=sqlstate)
                    raise TemporarilyUnavailable(
                        "service.busy",
                        "Too many requests changed the same records at once; try again shortly.",
                        retry_after=RETRY_AFTER_SECONDS,
                        message_nl="Er kwamen te veel wijzigingen tegelijk binnen; probeer het zo opnieuw.",
                    ) from exc
                log.info("command.retried", command=command.__name__, attempt=attempt, sqlstate=sqlstate)
                time.sleep(random.uniform(0.005, 0.03) * attempt)
            finally:
                uow.in_command = False
        raise AssertionError("unreachable")

    return run
