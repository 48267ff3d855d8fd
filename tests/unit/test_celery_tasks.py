"""The Celery tasks of a service: one named task per consumed event type, also when the service
handles two versions of it (InvoicePaid v1 and v2), and no duplicate-name warning."""

from __future__ import annotations

import warnings

from celery import Celery

from eigenregie.bootstrap import load_service
from shared.bus.celery_app import register_event_tasks
from shared.bus.routing import task_name
from shared.config import Settings
from shared.events import event_type_of


def test_two_versions_of_an_event_make_one_task_and_no_duplicate_name_warning():
    app = Celery("test", set_as_current=False)
    handlers = load_service("monitoring").event_handlers
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        register_event_tasks(app, "monitoring", handlers, lambda: None, Settings(environment="test"))  # type: ignore[arg-type,return-value]
        names = {name for name in app.tasks if name.startswith("monitoring.on_")} - {"monitoring.on_events"}
    assert [str(w.message) for w in seen if "already registered" in str(w.message)] == []
    assert names == {task_name("monitoring", event_type_of(payload)) for payload in handlers}
    assert "monitoring.on_invoice_paid" in names
