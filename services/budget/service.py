"""How the runtime sees the budget service."""

from services.budget.api import router
from services.budget.handlers import EVENT_HANDLERS
from shared.runtime import ServiceSpec

SERVICE = ServiceSpec(
    name="budget",
    title="Budget",
    description="The virtual budget ledger, invoices and payments.",
    router=router,
    event_handlers=EVENT_HANDLERS,
)
