"""Typed FastAPI dependencies shared by every service's api.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from shared.clock import Clock
from shared.uow import UnitOfWork


def _session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.runtime.engine, expire_on_commit=False) as session:
        request.state.db_session = session  # the audit middleware records a read in its transaction
        yield session


SessionDep = Annotated[Session, Depends(_session)]


def uow_dependency(service: str) -> Callable[[Request], Iterator[UnitOfWork]]:
    def _uow(request: Request) -> Iterator[UnitOfWork]:
        with request.app.state.runtime.uow(service) as uow:
            if not hasattr(request.state, "db_session"):
                request.state.db_session = uow.session  # as above: one transaction, one SQLite write lock
            yield uow

    return _uow


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.runtime.clock
    return clock


# The runtime's clock, for reads that need today (writes use `uow.clock`).
ClockDep = Annotated[Clock, Depends(_clock)]
