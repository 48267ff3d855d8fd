"""Build a migrated runtime and deliver pending events deterministically."""

from __future__ import annotations

from eigenregie.bootstrap import build_runtime
from shared.bus.embedded import InProcessPublisher
from shared.bus.relay import OutboxRelay
from shared.config import Settings
from shared.migrations import upgrade
from shared.runtime import Runtime


def migrate(runtime: Runtime) -> Runtime:
    for spec in runtime.specs:
        upgrade(runtime.engine, spec.name, spec.migrations)
    return runtime


def migrated_runtime(settings: Settings, **kwargs: object) -> Runtime:
    return migrate(build_runtime(settings, **kwargs))  # type: ignore[arg-type]


def drain(runtime: Runtime) -> int:
    """Handle every event waiting in any outbox, in-process; returns how many moved."""
    publisher = InProcessPublisher(runtime.engine, runtime.handlers_by_service(),
                                   max_attempts=runtime.settings.event_max_attempts, retry_base_seconds=0.01,
                                   clock=runtime.clock)
    relay = OutboxRelay(runtime.engine, runtime.service_names, publisher)
    total = 0
    while moved := relay.run_once():
        total += moved
    return total
