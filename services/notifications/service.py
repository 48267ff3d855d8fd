"""How the composition root sees the notifications service."""

from pathlib import Path

from services.notifications.api import router
from services.notifications.delivery import send_mail_job
from services.notifications.handlers import EVENT_HANDLERS
from services.notifications.webhook_delivery import SEND_EVERY_SECONDS, send_due_job
from shared.audit import AuditPolicy
from shared.bus.maintenance import prune_job
from shared.config import get_settings
from shared.runtime import Daily, Every, PeriodicJob, ServiceSpec

SERVICE = ServiceSpec(
    name="notifications",
    title="Notifications",
    description="Messages and reminders to people.",
    router=router,
    # Reads of a client's messages are recorded (their answer names the client).
    audit=AuditPolicy(),
    event_handlers=EVENT_HANDLERS,
    migrations=Path(__file__).parent / "migrations",
    periodic_jobs=(
        PeriodicJob("notifications.prune_bus_tables", Daily(), prune_job),
        PeriodicJob("notifications.send_mail", Every(get_settings().mail_send_every_seconds), send_mail_job),
        PeriodicJob("notifications.send_webhooks", Every(SEND_EVERY_SECONDS), send_due_job),
    ),
)
