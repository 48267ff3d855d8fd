"""A command that loses a race for a lock runs again with a fresh transaction, then answers 503."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from shared.contention import MAX_ATTEMPTS, is_transient, retry_on_contention
from shared.errors import TemporarilyUnavailable


class _Orig(Exception):
    def __init__(self, sqlstate: str | None, text: str = "") -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


class _FakeUow:
    def __init__(self) -> None:
        self.in_command = False
        self.rollbacks = 0

    def rollback(self) -> None:
        self.rollbacks += 1


def _lost_race(sqlstate: str = "40P01") -> OperationalError:
    return OperationalError("UPDATE ...", {}, _Orig(sqlstate, "deadlock detected"))


def test_deadlocks_serialisation_failures_lock_timeouts_and_a_busy_sqlite_are_transient():
    assert all(is_transient(_lost_race(code)) for code in ("40P01", "40001", "55P03"))
    assert is_transient(OperationalError("BEGIN", {}, _Orig(None, "database is locked")))
    assert not is_transient(IntegrityError("INSERT", {}, _Orig("23505")))
    assert not is_transient(ValueError("no"))


def test_a_command_that_loses_a_race_once_is_run_again_and_succeeds():
    calls = []

    @retry_on_contention
    def command(uow: _FakeUow) -> str:
        calls.append(uow.in_command)
        if len(calls) == 1:
            raise _lost_race()
        return "done"

    uow = _FakeUow()
    assert command(uow) == "done"
    assert calls == [True, True] and uow.rollbacks == 1 and uow.in_command is False


def test_a_command_that_keeps_losing_answers_temporarily_unavailable_after_the_last_try():
    @retry_on_contention
    def command(uow: _FakeUow) -> None:
        raise _lost_race("40001")

    uow = _FakeUow()
    with pytest.raises(TemporarilyUnavailable) as busy:
        command(uow)
    assert busy.value.status == 503 and busy.value.retry_after >= 1
    assert uow.rollbacks == MAX_ATTEMPTS


def test_other_database_errors_are_not_retried():
    @retry_on_contention
    def command(uow: _FakeUow) -> None:
        raise IntegrityError("INSERT", {}, _Orig("23505"))

    uow = _FakeUow()
    with pytest.raises(IntegrityError):
        command(uow)
    assert uow.rollbacks == 0


def test_a_command_called_inside_another_leaves_the_retry_to_the_outer_one():
    inner_calls = []

    @retry_on_contention
    def inner(uow: _FakeUow) -> None:
        inner_calls.append(1)
        raise _lost_race()

    @retry_on_contention
    def outer(uow: _FakeUow) -> None:
        inner(uow)

    uow = _FakeUow()
    with pytest.raises(TemporarilyUnavailable):
        outer(uow)
    assert len(inner_calls) == MAX_ATTEMPTS  # one per outer try, none of its own
