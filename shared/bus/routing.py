"""The one routing table: which services receive which event type.

Every consumer has its own Celery queue named after the service; the task for an event is
`<service>.on_<event_in_snake_case>`, e.g. `budget.on_plan_approved`. Change routing here and
nowhere else; tests/unit/test_routing.py checks that every route has a handler.
"""

from __future__ import annotations

import re

SERVICES: tuple[str, ...] = ("intake", "budget", "monitoring", "notifications")

ROUTES: dict[str, tuple[str, ...]] = {
    "ClientRegistered": (),
    "PlanSubmitted": (),
    "PlanApproved": ("budget", "monitoring", "notifications"),
    "PlanRejected": ("notifications",),
    "PlanReturned": ("notifications",),
    "PlanChanged": ("budget",),
    "PlanChangeRefused": ("intake",),
    "OrientationStarted": ("budget", "monitoring"),
    "TrajectoryClosed": ("budget", "monitoring"),
    "DecisionDueSoon": ("notifications",),
    "BudgetOpened": ("monitoring",),
    "InvoiceReceived": (),
    "InvoiceRejected": ("notifications",),
    "InvoiceApproved": (),
    "PaymentScheduled": (),
    "BudgetThresholdReached": ("notifications",),
    "BudgetClosed": (),
    "InvoicePaid": ("monitoring", "notifications"),
    "ProgressReported": ("notifications",),
    "OutcomeRegistered": ("budget",),
}


def subscribers(event_type: str) -> tuple[str, ...]:
    return ROUTES.get(event_type, ())


def snake(event_type: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event_type).lower()


def task_name(service: str, event_type: str) -> str:
    return f"{service}.on_{snake(event_type)}"


def batch_task_name(service: str) -> str:
    """The task that takes a batch of events of any consumed type from the relay."""
    return f"{service}.on_events"


def subscriptions(service: str) -> tuple[str, ...]:
    """The event types a service consumes, in declaration order."""
    return tuple(t for t, targets in ROUTES.items() if service in targets)
