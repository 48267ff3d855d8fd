"""How the runtime sees the notifications service."""

from services.notifications.api import router
from services.notifications.handlers import EVENT_HANDLERS
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="notifications",
    title="Notifications",
    description="Messages and reminders to people, webhooks to partners.",
    router=router,
    event_handlers=EVENT_HANDLERS,
)
