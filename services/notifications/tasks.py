"""Celery tasks of the notifications service: thin wrappers, named explicitly."""

from celery import Celery

from services.notifications.service import SERVICE
from shared.bus.worker import register_service_tasks


def register(app: Celery) -> None:
    register_service_tasks(app, SERVICE)
