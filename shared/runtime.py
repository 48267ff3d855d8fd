"""The machinery a composition root wires services into: their specs, the engine, the clock,
units of work, and embedded mode's background threads.

Nothing here knows which services exist: the root hands in their `ServiceSpec`s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import structlog
from fastapi import APIRouter
from sqlalchemy.engine import Engine

from shared.audit import AuditPolicy
from shared.bus.consumer import EventHandlers
from shared.clock import NETHERLANDS, SYSTEM_CLOCK, Clock
from shared.config import Settings
from shared.db import create_db_engine
from shared.uow import UnitOfWork

log = structlog.get_logger("runtime")


@dataclass(frozen=True)
class Daily:
    """Once a day at the configured hour (`daily_jobs_hour`, Dutch time) unless an hour is given."""

    hour: int | None = None

    def at(self, default_hour: int) -> int:
        return default_hour if self.hour is None else self.hour


@dataclass(frozen=True)
class Every:
    seconds: float


@dataclass(frozen=True)
class PeriodicJob:
    """Scheduled work. Every job has one signature: it gets a unit of work of its service
    (with the clock) and answers how many things it handled."""

    name: str  # task name, "<service>.<job>"
    schedule: Daily | Every
    run: Callable[[UnitOfWork], int]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    router: APIRouter
    event_handlers: EventHandlers
    migrations: Path  # the service's Alembic directory
    periodic_jobs: tuple[PeriodicJob, ...] = ()
    audit: AuditPolicy | None = None  # how its reads name their client (shared.audit_http); None: not recorded


@dataclass
class Runtime:
    settings: Settings
    specs: Sequence[ServiceSpec]
    engine_override: Engine | None = None
    clock: Clock = SYSTEM_CLOCK

    @cached_property
    def engine(self) -> Engine:
        return self.engine_override or create_db_engine(
            self.settings.effective_database_url, schemas=self.service_names
        )

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.specs)

    def spec(self, name: str) -> ServiceSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise ValueError(f"unknown service {name!r}; choose from {', '.join(self.service_names)}")

    def uow(self, service: str, **kwargs: str | None) -> UnitOfWork:
        return UnitOfWork(self.engine, service, clock=self.clock, **kwargs)

    def handlers_by_service(self) -> dict[str, EventHandlers]:
        return {spec.name: spec.event_handlers for spec in self.specs}

    def run_job(self, service: str, job: PeriodicJob) -> int:
        with self.uow(service) as uow:
            return job.run(uow)


def seconds_until_next(schedule: Daily | Every, now: datetime, default_hour: int) -> float:
    """How long embedded mode's scheduler waits before a job's next run."""
    if isinstance(schedule, Every):
        return schedule.seconds
    local = now.astimezone(NETHERLANDS)
    due = local.replace(hour=schedule.at(default_hour), minute=0, second=0, microsecond=0)
    if due <= local:
        due += timedelta(days=1)
    return (due - local).total_seconds()


@dataclass
class EmbeddedBackground:
    """Embedded mode's stand-in for workers, relay and beat: two daemon threads."""

    runtime: Runtime
    specs: Sequence[ServiceSpec]
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        from shared.bus.embedded import InProcessPublisher
        from shared.bus.relay import OutboxRelay

        publisher = InProcessPublisher(
            self.runtime.engine,
            {s.name: s.event_handlers for s in self.specs},
            max_attempts=self.runtime.settings.event_max_attempts,
            clock=self.runtime.clock,
        )
        self.relay = OutboxRelay(
            self.runtime.engine,
            [s.name for s in self.specs],
            publisher,
            poll_seconds=self.runtime.settings.relay_poll_seconds,
        )
        self.threads = [
            threading.Thread(target=self.relay.run_forever, name="relay", daemon=True),
            threading.Thread(target=self._run_schedule, name="scheduler", daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.relay.stop()
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=5)

    def _run_schedule(self) -> None:
        jobs = [(spec.name, job) for spec in self.specs for job in spec.periodic_jobs]
        hour = self.runtime.settings.daily_jobs_hour

        def next_run(job: PeriodicJob) -> float:
            return time.monotonic() + seconds_until_next(job.schedule, self.runtime.clock.now(), hour)

        due = {job.name: next_run(job) for _, job in jobs}
        while not self.stop_event.wait(1.0):
            for service, job in jobs:
                if time.monotonic() >= due[job.name]:
                    due[job.name] = next_run(job)
                    try:
                        self.runtime.run_job(service, job)
                    except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
                        log.error("job.failed", job=job.name, error=type(exc).__name__, detail=str(exc)[:300])
