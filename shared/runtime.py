"""Wiring in one place: settings, the engine, the services, and how events travel.

Services are found by name (`services.<name>.service.SERVICE`), so nothing in shared/
imports a service and no service imports another.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import structlog
from fastapi import APIRouter
from sqlalchemy.engine import Engine

from shared.bus.consumer import EventHandler
from shared.bus.routing import SERVICES
from shared.config import Settings
from shared.db import create_db_engine
from shared.uow import UnitOfWork

log = structlog.get_logger("runtime")


@dataclass(frozen=True)
class PeriodicJob:
    name: str  # task name, e.g. "monitoring.flag_overdue_progress"
    every_seconds: float
    run: Callable[[Runtime], object]


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    router: APIRouter
    event_handlers: Mapping[str, EventHandler]
    periodic_jobs: tuple[PeriodicJob, ...] = ()


def load_service(name: str) -> ServiceSpec:
    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    return importlib.import_module(f"services.{name}.service").SERVICE


def load_all_services() -> list[ServiceSpec]:
    return [load_service(name) for name in SERVICES]


@dataclass
class Runtime:
    settings: Settings
    engine_override: Engine | None = None
    _background: list[threading.Thread] = field(default_factory=list)

    @cached_property
    def engine(self) -> Engine:
        return self.engine_override or create_db_engine(self.settings.effective_database_url)

    def uow(self, service: str, **kwargs: str | None) -> UnitOfWork:
        return UnitOfWork(self.engine, service, **kwargs)

    def handlers_by_service(self) -> dict[str, Mapping[str, EventHandler]]:
        return {spec.name: spec.event_handlers for spec in load_all_services()}


class EmbeddedBackground:
    """Embedded mode's stand-in for workers, relay and beat: two daemon threads."""

    def __init__(self, runtime: Runtime, specs: list[ServiceSpec]) -> None:
        from shared.bus.embedded import InProcessPublisher
        from shared.bus.relay import OutboxRelay

        self.runtime = runtime
        self.specs = specs
        publisher = InProcessPublisher(
            runtime.engine, {s.name: s.event_handlers for s in specs},
            max_attempts=runtime.settings.event_max_attempts,
        )
        self.relay = OutboxRelay(runtime.engine, [s.name for s in specs], publisher,
                                 poll_seconds=runtime.settings.relay_poll_seconds)
        self.stop_event = threading.Event()
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
        jobs = [job for spec in self.specs for job in spec.periodic_jobs]
        next_run = {job.name: time.monotonic() + job.every_seconds for job in jobs}
        while not self.stop_event.wait(1.0):
            now = time.monotonic()
            for job in jobs:
                if now >= next_run[job.name]:
                    next_run[job.name] = now + job.every_seconds
                    try:
                        job.run(self.runtime)
                    except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
                        log.error("job.failed", job=job.name, error=type(exc).__name__, detail=str(exc)[:300])
