from shared.bus.routing import ROUTES, SERVICES, subscriptions, task_name
from shared.events import EVENT_SCHEMAS
from shared.runtime import load_service


def test_every_routed_event_type_has_a_schema():
    known = {t for (t, _v) in EVENT_SCHEMAS}
    assert set(ROUTES) <= known
    assert known <= set(ROUTES), "declare every event type in ROUTES, with () if nobody consumes it"


def test_every_route_has_a_handler_in_the_receiving_service():
    for service in SERVICES:
        handlers = load_service(service).event_handlers
        for event_type in subscriptions(service):
            assert event_type in handlers, f"{service} is routed {event_type} but has no handler"


def test_every_handler_is_reachable_through_the_routing_table():
    for service in SERVICES:
        for event_type in load_service(service).event_handlers:
            assert service in ROUTES[event_type], f"{service} handles {event_type} but the table never sends it"


def test_task_names_are_explicit_and_per_service():
    assert task_name("budget", "PlanApproved") == "budget.on_plan_approved"
    assert task_name("notifications", "InvoicePaid") == "notifications.on_invoice_paid"


def test_plan_approved_reaches_budget_monitoring_and_notifications():
    assert set(ROUTES["PlanApproved"]) == {"budget", "monitoring", "notifications"}
