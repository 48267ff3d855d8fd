"""Celery, configured once: late acks, requeue on a lost worker, JSON only, queue per service."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from celery import Celery
from sqlalchemy.engine import Engine

from shared.bus.consumer import EventHandler, HandlerFailed, consume
from shared.bus.routing import SERVICES, batch_task_name, task_name
from shared.config import MAX_RETRY_DELAY_SECONDS, Settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("eigenregie", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_default_queue="default",
        task_create_missing_queues=True,
        worker_prefetch_multiplier=4,
        worker_hijack_root_logger=False,
        # Our structlog lines go to stderr; Celery would swap stderr for a proxy into its own logger,
        # and a worker's event.handled / handler_failed lines never reached the log.
        worker_redirect_stdouts=False,
        broker_connection_retry_on_startup=True,
        # A message taken but not acked within this time is given to a worker again (Redis transport):
        # what a SIGKILLed worker held comes back after it. A retry waiting for its countdown (ETA,
        # up to MAX_RETRY_DELAY_SECONDS) is held unacked too, so the timeout must be longer than that,
        # or the waiting retry is restored and run twice. Lost messages do not depend on it: the
        # relay's sweeper publishes again what no inbox recorded (docs/operations.md).
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout_seconds},
        # Keep trying to reach Redis after it went away, for ever, instead of exiting.
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        task_routes={f"{s}.*": {"queue": s} for s in SERVICES},
        timezone="Europe/Amsterdam",
    )
    return app


def retry_delay(attempt: int, base_seconds: float) -> float:
    """Exponential backoff: base, 2*base, 4*base, ... capped at ten minutes."""
    return min(base_seconds * (2 ** (attempt - 1)), MAX_RETRY_DELAY_SECONDS)


def register_event_tasks(
    app: Celery,
    service: str,
    handlers: Mapping[str, EventHandler],
    get_engine: Callable[[], Engine],
    settings: Settings,
) -> None:
    """One named task per consumed event type (`budget.on_plan_approved`, ...), and
    `budget.on_events` for a batch of them from the relay."""
    for event_type in handlers:
        _register_one(app, service, event_type, handlers, get_engine, settings)
    _register_batch(app, service, handlers, get_engine, settings)


def _register_one(app: Celery, service: str, event_type: str, handlers: Mapping[str, EventHandler],
                  get_engine: Callable[[], Engine], settings: Settings) -> None:
    @app.task(
        name=task_name(service, event_type),
        shared=False,  # each app keeps its own tasks (tests build several apps)
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=settings.event_max_attempts - 1,
    )
    def handle_event(self, envelope_json: str) -> str:  # type: ignore[no-untyped-def]
        attempt = self.request.retries + 1
        try:
            return consume(get_engine(), service, envelope_json, handlers,
                           attempt=attempt, max_attempts=settings.event_max_attempts).value
        except HandlerFailed as exc:
            raise self.retry(exc=exc, countdown=retry_delay(attempt, settings.event_retry_base_seconds))


def _register_batch(app: Celery, service: str, handlers: Mapping[str, EventHandler],
                    get_engine: Callable[[], Engine], settings: Settings) -> None:
    @app.task(name=batch_task_name(service), shared=False, acks_late=True, reject_on_worker_lost=True)
    def handle_events(items: list[list[str]]) -> int:
        """First try of each event, one inbox transaction per event as in the single task. An event
        whose handler fails goes on as a single-event task, so retries and dead letters work as
        for any other. A redelivered batch (lost worker) finds the handled events in the inbox."""
        for event_type, envelope_json in items:
            try:
                consume(get_engine(), service, envelope_json, handlers, attempt=1,
                        max_attempts=settings.event_max_attempts)
            except Exception:  # noqa: BLE001 - HandlerFailed, or the database gone while dead-lettering
                app.send_task(task_name(service, event_type), args=[envelope_json], queue=service, retries=1,
                              countdown=retry_delay(1, settings.event_retry_base_seconds))
        return len(items)


class CeleryPublisher:
    def __init__(self, app: Celery) -> None:
        self.app = app

    def publish(self, service: str, event_type: str, envelope_json: str) -> None:
        # retry=False: if Redis is down, fail now and leave the row in the outbox.
        self.app.send_task(task_name(service, event_type), args=[envelope_json], queue=service, retry=False)

    def publish_batch(self, service: str, items: list[tuple[str, str]]) -> None:
        """Many events for one consumer in one message: the broker and worker overhead is per message."""
        self.app.send_task(batch_task_name(service), args=[[list(item) for item in items]], queue=service,
                           retry=False)
