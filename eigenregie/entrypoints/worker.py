"""Distributed mode: the Celery app a worker or beat process runs, built from the services."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from functools import lru_cache

from celery import Celery

from eigenregie.bootstrap import SERVICES, build_runtime, load_service
from shared.bus.celery_app import beat_schedule, make_celery
from shared.config import get_settings
from shared.runtime import Runtime


@lru_cache
def worker_runtime() -> Runtime:
    # Built lazily in the worker process (after any fork), never at import time.
    return build_runtime(get_settings())


def build_celery(services: Iterable[str] = SERVICES) -> Celery:
    build_runtime(get_settings())  # configures the routing before any task runs
    app = make_celery(get_settings())
    specs = [load_service(name) for name in services]
    for spec in specs:
        importlib.import_module(f"services.{spec.name}.tasks").register(app, worker_runtime)
    app.conf.beat_schedule = beat_schedule(specs, get_settings())
    return app
