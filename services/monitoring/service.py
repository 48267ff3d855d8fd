"""How the composition root sees the monitoring service."""

from pathlib import Path

from services.monitoring.api import router
from services.monitoring.handlers import EVENT_HANDLERS
from services.monitoring.jobs import (
    flag_overdue_follow_ups,
    remind_follow_ups_due_soon,
    remind_trajectories_ending_soon,
)
from services.monitoring.queries import clients_of
from shared.audit import AuditPolicy
from shared.bus.maintenance import prune_job
from shared.runtime import Daily, PeriodicJob, ServiceSpec

SERVICE = ServiceSpec(
    name="monitoring",
    title="Monitoring",
    description="Progress, outcomes, benchmark and evidence.",
    router=router,
    # Reads of a client's trajectory, progress reports and outcomes are recorded (docs/architecture.md, "Audit trail").
    audit=AuditPolicy(resolve=clients_of),
    event_handlers=EVENT_HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    periodic_jobs=(
        PeriodicJob("monitoring.flag_overdue_follow_ups", Daily(), flag_overdue_follow_ups),
        PeriodicJob("monitoring.remind_follow_ups_due_soon", Daily(), remind_follow_ups_due_soon),
        PeriodicJob("monitoring.remind_trajectories_ending_soon", Daily(), remind_trajectories_ending_soon),
        PeriodicJob("monitoring.prune_bus_tables", Daily(), prune_job),
    ),
)
