"""Which services receive which event type, as the composition root declared it.

The composition root declares the services and the table (`configure(...)`) at start-up; the relay,
the sweeper, the workers and the dead-letter tools ask here. Every consumer has its own
Celery queue named after the service; the task for an event is
`<service>.on_<event_in_snake_case>`, e.g. `<service>.on_plan_approved`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Routing:
    services: tuple[str, ...]
    routes: Mapping[str, tuple[str, ...]]  # event type -> the services that handle it

    def subscribers(self, event_type: str) -> tuple[str, ...]:
        return self.routes.get(event_type, ())

    def subscriptions(self, service: str) -> tuple[str, ...]:
        """The event types a service consumes."""
        return tuple(t for t, targets in self.routes.items() if service in targets)

    def routed_types(self) -> tuple[str, ...]:
        return tuple(t for t, targets in self.routes.items() if targets)


_current: Routing | None = None


def configure(routing: Routing) -> None:
    global _current
    _current = routing


def routing() -> Routing:
    if _current is None:
        raise RuntimeError("no services are configured: start through the composition root (eigenregie.bootstrap)")
    return _current


def services() -> tuple[str, ...]:
    return routing().services


def subscribers(event_type: str) -> tuple[str, ...]:
    return routing().subscribers(event_type)


def snake(event_type: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event_type).lower()


def task_name(service: str, event_type: str) -> str:
    return f"{service}.on_{snake(event_type)}"


def batch_task_name(service: str) -> str:
    """The task that takes a batch of events of any consumed type from the relay."""
    return f"{service}.on_events"
