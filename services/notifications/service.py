"""How the runtime sees the notifications service."""

from services.notifications.api import router
from services.notifications.handlers import EVENT_HANDLERS
from shared.bus.maintenance import prune_job
from shared.runtime import PeriodicJob, ServiceSpec

SERVICE = ServiceSpec(
    name="notifications",
    title="Notifications",
    description="Messages and reminders to people, webhooks to partners.",
    router=router,
    event_handlers=EVENT_HANDLERS,
    periodic_jobs=(PeriodicJob("notifications.prune_bus_tables", 86400.0, prune_job("notifications")),),
)
