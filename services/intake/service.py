"""How the composition root sees the intake service."""

from pathlib import Path

from services.intake.api import router
from services.intake.handlers import EVENT_HANDLERS, close_expired_trajectories, warn_decision_deadlines
from shared.bus.maintenance import prune_job
from shared.runtime import Daily, Every, PeriodicJob, ServiceSpec

SERVICE = ServiceSpec(
    name="intake",
    title="Intake",
    description="Clients, the orientation phase, plans and their review.",
    router=router,
    event_handlers=EVENT_HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    periodic_jobs=(
        PeriodicJob("intake.close_expired_trajectories", Daily(), close_expired_trajectories),
        PeriodicJob("intake.warn_decision_deadlines", Every(3600.0), warn_decision_deadlines),
        PeriodicJob("intake.prune_bus_tables", Daily(), prune_job),
    ),
)
