"""How the runtime sees the intake service."""

from services.intake.api import router
from services.intake.handlers import EVENT_HANDLERS
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="intake",
    title="Intake",
    description="Clients, the orientation phase, plans and their review.",
    router=router,
    event_handlers=EVENT_HANDLERS,
)
