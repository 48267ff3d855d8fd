"""The composition root: which services make up the system, how events travel between them,
and the one place a `Runtime` is built (settings, engine, clock) for every entry point.

`shared/` is machinery that knows no service; this module names them and wires them in.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from functools import cache

from sqlalchemy.engine import Engine

import contracts.events  # noqa: F401 - registers every event type before anything parses one
from shared import field_crypto
from shared.bus.routing import Routing, configure
from shared.clock import SYSTEM_CLOCK, Clock
from shared.config import Settings, get_settings
from shared.events import EVENT_SCHEMAS, event_type_of
from shared.runtime import Runtime, ServiceSpec

SERVICES: tuple[str, ...] = ("intake", "budget", "monitoring", "notifications")

# The one routing table: which services receive which event type. Every event type is declared,
# with () when nobody consumes it; `check_routes` holds it against the services' handler tables.
ROUTES: Mapping[str, tuple[str, ...]] = {
    "ClientRegistered": (),
    "PlanSubmitted": ("notifications",),
    "TrajectoryProfiled": ("monitoring",),
    "PlanApproved": ("budget", "monitoring", "notifications"),
    "PlanRejected": ("notifications",),
    "PlanReturned": ("notifications",),
    "PlanChanged": ("budget", "monitoring"),
    "PlanChangeRefused": ("intake",),
    "OrientationStarted": ("budget", "monitoring"),
    "TrajectoryClosed": ("budget", "monitoring", "notifications"),
    "DecisionDueSoon": ("notifications",),
    "BudgetOpened": ("monitoring",),
    "InvoiceReceived": ("notifications",),
    "InvoiceRejected": ("notifications",),
    "InvoiceApproved": ("notifications",),
    "PaymentScheduled": ("notifications",),
    "BudgetThresholdReached": ("notifications",),
    "BudgetClosed": (),
    "InvoicePaid": ("monitoring", "notifications"),
    "InvoicePaymentReturned": ("monitoring",),
    "ProgressReported": ("notifications",),
    "FollowUpOverdue": ("notifications",),
    "FollowUpDueSoon": ("notifications",),
    "FollowUpClosed": ("notifications",),
    "TrajectoryEndingSoon": ("notifications",),
    "OrientationEndingSoon": ("notifications",),
    "InvoiceAwaitingConfirmation": ("notifications",),
    "InvoiceConfirmedByClient": ("notifications",),
    "OutcomeRegistered": ("budget", "notifications"),
    # The warm hand-over between UWV and the municipality (intake): for webhooks and later consumers.
    "HandoverAccepted": (),
    "HandoverDeclined": (),
    "HandoverSent": (),
    # A partner application revoked or its secret rotated: its tokens stop in every service at once.
    "PartnerCredentialsRevoked": ("budget", "monitoring", "notifications"),
}


def load_service(name: str) -> ServiceSpec:
    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}; choose from {', '.join(SERVICES)}")
    spec: ServiceSpec = importlib.import_module(f"services.{name}.service").SERVICE
    return spec


def load_all_services() -> list[ServiceSpec]:
    return [load_service(name) for name in SERVICES]


def check_routes(specs: Iterable[ServiceSpec], routes: Mapping[str, tuple[str, ...]] = ROUTES) -> None:
    """Refuse to start when the table and the handlers disagree: an event routed to a service
    that cannot handle it would only ever be dead-lettered, and a handler never routed never runs."""
    known = {t for (t, _v) in EVENT_SCHEMAS}
    problems = [f"{t}: routed but no such event type" for t in routes if t not in known]
    problems += [f"{t}: an event type missing from ROUTES" for t in known - set(routes)]
    for spec in specs:
        handled = {event_type_of(payload_type) for payload_type in spec.event_handlers}
        problems += [
            f"{t} is routed to {spec.name}, which has no handler for it"
            for t, targets in routes.items()
            if spec.name in targets and t not in handled
        ]
        problems += [
            f"{spec.name} handles {t} but ROUTES never sends it" for t in handled if spec.name not in routes.get(t, ())
        ]
    if problems:
        raise RuntimeError("routing table and handlers disagree: " + "; ".join(sorted(problems)))


@cache
def routing() -> Routing:
    check_routes(load_all_services())
    return Routing(SERVICES, ROUTES)


def build_runtime(
    settings: Settings | None = None,
    *,
    services: Iterable[str] | None = None,
    engine_override: Engine | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Runtime:
    """A runtime for some (default: all) services; the routing always covers every service,
    since events go to subscribers whichever process published them."""
    configure(routing())
    specs = [load_service(name) for name in (services or SERVICES)]
    settings = settings or get_settings()
    field_crypto.configure(settings)  # the keys of the fields encrypted at rest, for this process
    return Runtime(settings, specs, engine_override=engine_override, clock=clock)
