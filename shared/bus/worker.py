"""Distributed mode: the Celery app a worker or beat process runs, built from the services."""

from __future__ import annotations

import importlib
from functools import lru_cache

from celery import Celery
from sqlalchemy.engine import Engine

from shared.bus.celery_app import make_celery, register_event_tasks
from shared.bus.routing import SERVICES
from shared.config import get_settings
from shared.runtime import PeriodicJob, Runtime, ServiceSpec, load_service


@lru_cache
def worker_runtime() -> Runtime:
    # Built lazily in the worker process (after any fork), never at import time.
    return Runtime(get_settings())


def _engine() -> Engine:
    return worker_runtime().engine


def register_service_tasks(app: Celery, spec: ServiceSpec) -> None:
    register_event_tasks(app, spec.name, spec.event_handlers, _engine, get_settings())
    for job in spec.periodic_jobs:
        _register_job(app, job)


def _register_job(app: Celery, job: PeriodicJob) -> None:
    @app.task(name=job.name, shared=False, acks_late=True, reject_on_worker_lost=True)
    def run_job() -> None:
        job.run(worker_runtime())


def build_celery(services: tuple[str, ...] = SERVICES) -> Celery:
    app = make_celery(get_settings())
    schedule = {}
    for name in services:
        spec = load_service(name)
        importlib.import_module(f"services.{name}.tasks").register(app)
        for job in spec.periodic_jobs:
            schedule[job.name] = {"task": job.name, "schedule": job.every_seconds, "options": {"queue": name}}
    app.conf.beat_schedule = schedule
    return app
