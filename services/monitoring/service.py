"""How the runtime sees the monitoring service."""

from services.monitoring.api import router
from services.monitoring.handlers import EVENT_HANDLERS, flag_overdue_reports
from shared.bus.maintenance import prune_job
from shared.runtime import PeriodicJob, Runtime, ServiceSpec


def _flag_overdue_reports(runtime: Runtime) -> int:
    with runtime.uow("monitoring") as uow:
        return flag_overdue_reports(uow)


SERVICE = ServiceSpec(
    name="monitoring",
    title="Monitoring",
    description="Progress, outcomes, benchmark and evidence.",
    router=router,
    event_handlers=EVENT_HANDLERS,
    periodic_jobs=(PeriodicJob("monitoring.prune_bus_tables", 86400.0, prune_job("monitoring")), PeriodicJob("monitoring.flag_overdue_reports", 3600.0, _flag_overdue_reports),),
)
