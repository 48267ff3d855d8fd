"""Celery tasks of the notifications service: its event handlers and jobs, each a task named `notifications.<...>`."""

from collections.abc import Callable

from celery import Celery

from services.notifications.service import SERVICE
from shared.bus.celery_app import register_service_tasks
from shared.runtime import Runtime


def register(app: Celery, get_runtime: Callable[[], Runtime]) -> None:
    register_service_tasks(app, SERVICE, get_runtime)
