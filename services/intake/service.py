"""How the runtime sees the intake service."""

from services.intake.api import router
from services.intake.handlers import EVENT_HANDLERS, close_expired_trajectories, warn_decision_deadlines
from shared.bus.maintenance import prune_job
from shared.runtime import PeriodicJob, ServiceSpec

SERVICE = ServiceSpec(
    name="intake",
    title="Intake",
    description="Clients, the orientation phase, plans and their review.",
    router=router,
    event_handlers=EVENT_HANDLERS,
    periodic_jobs=(
        PeriodicJob("intake.close_expired_trajectories", 3600.0, close_expired_trajectories),
        PeriodicJob("intake.warn_decision_deadlines", 3600.0, warn_decision_deadlines),
        PeriodicJob("intake.prune_bus_tables", 86400.0, prune_job("intake")),
    ),
)
