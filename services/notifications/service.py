"""How the composition root sees the notifications service."""

from pathlib import Path

from services.notifications.api import router
from services.notifications.handlers import EVENT_HANDLERS
from shared.bus.maintenance import prune_job
from shared.runtime import Daily, PeriodicJob, ServiceSpec

SERVICE = ServiceSpec(
    name="notifications",
    title="Notifications",
    description="Messages and reminders to people.",
    router=router,
    event_handlers=EVENT_HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    periodic_jobs=(PeriodicJob("notifications.prune_bus_tables", Daily(), prune_job),),
)
