"""How the composition root sees the intake service."""

from pathlib import Path

from services.intake.api import router
from services.intake.handlers import EVENT_HANDLERS
from services.intake.jobs import close_expired_trajectories, remind_orientations_ending, warn_decision_deadlines
from services.intake.queries import clients_of
from shared.audit import AuditPolicy
from shared.bus.maintenance import prune_job
from shared.runtime import Daily, PeriodicJob, ServiceSpec

SERVICE = ServiceSpec(
    name="intake",
    title="Intake",
    description="Clients, the orientation phase, plans and their review.",
    router=router,
    # Reads of a client's file, plans, reviews and decisions are recorded (docs/architecture.md, "Audit trail").
    audit=AuditPolicy(
        person_routes=frozenset(
            {"/v1/clients", "/v1/clients/{client_id}", "/v1/clients/search", "/v1/partner/clients"}
        ),
        read_routes=frozenset({"/v1/clients/search"}),
        resolve=clients_of,
    ),
    event_handlers=EVENT_HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    periodic_jobs=(
        PeriodicJob("intake.close_expired_trajectories", Daily(), close_expired_trajectories),
        # An Awb decision term and its warning date are days: once a day is enough (see jobs.py).
        PeriodicJob("intake.warn_decision_deadlines", Daily(), warn_decision_deadlines),
        PeriodicJob("intake.remind_orientations_ending", Daily(), remind_orientations_ending),
        PeriodicJob("intake.prune_bus_tables", Daily(), prune_job),
    ),
)
