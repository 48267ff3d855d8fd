"""How the composition root sees the budget service."""

from pathlib import Path

from services.budget.api import router
from services.budget.handlers import EVENT_HANDLERS, create_due_periodic_invoices
from shared.bus.maintenance import prune_job
from shared.runtime import Daily, PeriodicJob, ServiceSpec
from shared.uow import UnitOfWork


def _create_due_periodic_invoices(uow: UnitOfWork) -> int:
    return create_due_periodic_invoices(uow, uow.clock.today())


SERVICE = ServiceSpec(
    name="budget",
    title="Budget",
    description="The virtual budget ledger, invoices and payments.",
    router=router,
    event_handlers=EVENT_HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    periodic_jobs=(
        PeriodicJob("budget.create_due_periodic_invoices", Daily(), _create_due_periodic_invoices),
        PeriodicJob("budget.prune_bus_tables", Daily(), prune_job),
    ),
)
