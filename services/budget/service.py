"""How the runtime sees the budget service."""

from datetime import date

from services.budget.api import router
from services.budget.handlers import EVENT_HANDLERS, create_due_periodic_invoices
from shared.bus.maintenance import prune_job
from shared.runtime import PeriodicJob, Runtime, ServiceSpec


def _create_due_periodic_invoices(runtime: Runtime) -> int:
    with runtime.uow("budget") as uow:
        return create_due_periodic_invoices(uow, date.today())


SERVICE = ServiceSpec(
    name="budget",
    title="Budget",
    description="The virtual budget ledger, invoices and payments.",
    router=router,
    event_handlers=EVENT_HANDLERS,
    periodic_jobs=(PeriodicJob("budget.prune_bus_tables", 86400.0, prune_job("budget")), PeriodicJob("budget.create_due_periodic_invoices", 3600.0, _create_due_periodic_invoices),),
)
