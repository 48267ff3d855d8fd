"""Celery tasks of the budget service: thin wrappers, named explicitly."""

from celery import Celery

from services.budget.service import SERVICE
from shared.bus.worker import register_service_tasks


def register(app: Celery) -> None:
    register_service_tasks(app, SERVICE)
