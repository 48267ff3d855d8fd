"""Celery, configured once: late acks, requeue on a lost worker, JSON only, queue per service."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_shutdown
from sqlalchemy.engine import Engine

from shared.bus.consumer import EventHandlers, HandlerFailed, consume, consume_batch
from shared.bus.routing import batch_task_name, task_name
from shared.config import MAX_RETRY_DELAY_SECONDS, Settings
from shared.events import event_type_of
from shared.runtime import Daily, PeriodicJob, Runtime, ServiceSpec
from shared.tracing import force_flush
from shared.tracing import job as job_span


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
        # Every task name starts with its service, and each service has its own queue.
        task_routes=(_queue_of_task,),
        timezone="Europe/Amsterdam",
    )
    return app


def _flush_spans(**_kwargs: Any) -> None:
    force_flush()


# A prefork child ends with os._exit (no atexit): export its last spans first. The threads pool's one
# process flushes at exit by itself.
worker_process_shutdown.connect(_flush_spans, weak=False, dispatch_uid="prb.flush_spans")


def _queue_of_task(name: str, *_args: Any, **_kwargs: Any) -> dict[str, str]:
    return {"queue": name.split(".", 1)[0]}


def retry_delay(attempt: int, base_seconds: float) -> float:
    """Exponential backoff: base, 2*base, 4*base, ... capped at ten minutes."""
    return min(base_seconds * (2 ** (attempt - 1)), MAX_RETRY_DELAY_SECONDS)


def register_event_tasks(
    app: Celery,
    service: str,
    handlers: EventHandlers,
    get_engine: Callable[[], Engine],
    settings: Settings,
) -> None:
    """One named task per consumed event type (`<service>.on_plan_approved`, ...), and
    `<service>.on_events` for a batch of them from the relay."""
    # One task per event type, whatever its versions: the task hands the envelope to every handler,
    # and `consume` picks the one of its version.
    for event_type in sorted({event_type_of(payload_type) for payload_type in handlers}):
        _register_one(app, service, event_type, handlers, get_engine, settings)
    _register_batch(app, service, handlers, get_engine, settings)


def _register_one(
    app: Celery,
    service: str,
    event_type: str,
    handlers: EventHandlers,
    get_engine: Callable[[], Engine],
    settings: Settings,
) -> None:
    @app.task(
        name=task_name(service, event_type),
        shared=False,  # each app keeps its own tasks (tests build several apps)
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        max_retries=settings.event_max_attempts - 1,
    )
    def handle_event(self, envelope_json: str) -> str:
        attempt = self.request.retries + 1
        try:
            return consume(
                get_engine(),
                service,
                envelope_json,
                handlers,
                attempt=attempt,
                max_attempts=settings.event_max_attempts,
            ).value
        except HandlerFailed as exc:
            raise self.retry(exc=exc, countdown=retry_delay(attempt, settings.event_retry_base_seconds)) from exc


def _register_batch(
    app: Celery, service: str, handlers: EventHandlers, get_engine: Callable[[], Engine], settings: Settings
) -> None:
    @app.task(name=batch_task_name(service), shared=False, acks_late=True, reject_on_worker_lost=True)
    def handle_events(items: list[list[str]]) -> int:
        """First try of the batch in one transaction (consume_batch). An event that fails goes on as a
        single-event task, so retries and dead letters work as for any other. A redelivered batch
        (lost worker) finds the handled events in the inbox."""
        failures = consume_batch(
            get_engine(),
            service,
            [envelope_json for _event_type, envelope_json in items],
            handlers,
            max_attempts=settings.event_max_attempts,
        )
        for position in failures:
            event_type, envelope_json = items[position]
            app.send_task(
                task_name(service, event_type),
                args=[envelope_json],
                queue=service,
                retries=1,
                countdown=retry_delay(1, settings.event_retry_base_seconds),
            )
        return len(items)


class CeleryPublisher:
    def __init__(self, app: Celery) -> None:
        self.app = app

    def publish(self, service: str, event_type: str, envelope_json: str) -> None:
        # retry=False: if Redis is down, fail now and leave the row in the outbox.
        self.app.send_task(task_name(service, event_type), args=[envelope_json], queue=service, retry=False)

    def publish_batch(self, service: str, items: list[tuple[str, str]]) -> None:
        """Many events for one consumer in one message: the broker and worker overhead is per message."""
        self.app.send_task(batch_task_name(service), args=[[list(item) for item in items]], queue=service, retry=False)


def register_service_tasks(app: Celery, spec: ServiceSpec, get_runtime: Callable[[], Runtime]) -> None:
    """A service's event tasks and its scheduled jobs, each a named task on the service's queue."""
    register_event_tasks(app, spec.name, spec.event_handlers, lambda: get_runtime().engine, get_runtime().settings)
    for job in spec.periodic_jobs:
        _register_job(app, spec.name, job, get_runtime)


def _register_job(app: Celery, service: str, job: PeriodicJob, get_runtime: Callable[[], Runtime]) -> None:
    @app.task(name=job.name, shared=False, acks_late=True, reject_on_worker_lost=True)
    def run_job() -> int:
        # The root span of the trace the job's events start (a no-op while tracing is off).
        with job_span(service, job.name):
            return get_runtime().run_job(service, job)


def beat_schedule(specs: Iterable[ServiceSpec], settings: Settings) -> dict[str, dict[str, Any]]:
    """Celery beat's table: daily jobs on a crontab at the configured hour (Dutch time, the app's
    timezone), the rest every so many seconds."""
    schedule = {}
    for spec in specs:
        for job in spec.periodic_jobs:
            if isinstance(job.schedule, Daily):
                when: Any = crontab(minute=0, hour=job.schedule.at(settings.daily_jobs_hour))
            else:
                when = job.schedule.seconds
            schedule[job.name] = {"task": job.name, "schedule": when, "options": {"queue": spec.name}}
    return schedule
