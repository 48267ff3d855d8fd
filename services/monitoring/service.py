"""How the composition root sees the monitoring service."""

from pathlib import Path

from services.monitoring.api import router
from services.monitoring.handlers import EVENT_HANDLERS, flag_overdue_reports
from shared.bus.maintenance import prune_job
from shared.runtime import Daily, PeriodicJob, ServiceSpec
from shared.uow import UnitOfWork


def _flag_overdue_reports(uow: UnitOfWork) -> int:
    return flag_overdue_reports(uow, uow.clock.now())


SERVICE = ServiceSpec(
    name="monitoring",
    title="Monitoring",
    description="Progress, outcomes, benchmark and evidence.",
    router=router,
    event_handlers=EVENT_HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    periodic_jobs=(
        PeriodicJob("monitoring.flag_overdue_reports", Daily(), _flag_overdue_reports),
        PeriodicJob("monitoring.prune_bus_tables", Daily(), prune_job),
    ),
)
