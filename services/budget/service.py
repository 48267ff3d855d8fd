"""How the composition root sees the budget service."""

from pathlib import Path

from services.budget.api import router
from services.budget.handlers import EVENT_HANDLERS
from services.budget.jobs import create_due_periodic_invoices
from services.budget.queries import clients_of
from services.budget.queued_jobs import run_queued_jobs
from shared.audit import AuditPolicy
from shared.bus.maintenance import prune_job
from shared.runtime import Daily, Every, PeriodicJob, ServiceSpec

SERVICE = ServiceSpec(
    name="budget",
    title="Budget",
    description="The virtual budget ledger, invoices and payments.",
    router=router,
    # Reads of a client's budget, ledger, orders and invoices are recorded (docs/architecture.md, "Audit trail").
    audit=AuditPolicy(ref_keys=("budget_id",), resolve=clients_of),
    event_handlers=EVENT_HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    periodic_jobs=(
        PeriodicJob("budget.create_due_periodic_invoices", Daily(), create_due_periodic_invoices),
        PeriodicJob("budget.prune_bus_tables", Daily(), prune_job),
        PeriodicJob("budget.run_queued_jobs", Every(2.0), run_queued_jobs),
    ),
)
