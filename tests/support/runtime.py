"""Build a migrated runtime and deliver pending events deterministically."""

from __future__ import annotations

from shared.bus.embedded import InProcessPublisher
from shared.bus.relay import OutboxRelay
from shared.bus.routing import SERVICES
from shared.config import Settings
from shared.migrations import upgrade
from shared.runtime import Runtime, load_all_services


def migrated_runtime(settings: Settings) -> Runtime:
    runtime = Runtime(settings)
    for service in SERVICES:
        upgrade(runtime.engine, service)
    return runtime


def drain(runtime: Runtime) -> int:
    """Handle every event waiting in any outbox, in-process; returns how many moved."""
    specs = load_all_services()
    publisher = InProcessPublisher(runtime.engine, {s.name: s.event_handlers for s in specs},
                                   max_attempts=runtime.settings.event_max_attempts, retry_base_seconds=0.01)
    relay = OutboxRelay(runtime.engine, [s.name for s in specs], publisher)
    total = 0
    while moved := relay.run_once():
        total += moved
    return total
