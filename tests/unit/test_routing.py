import pytest

from eigenregie.bootstrap import ROUTES, SERVICES, check_routes, load_all_services, load_service, routing
from shared.bus.routing import task_name
from shared.events import EVENT_SCHEMAS, event_type_of


def test_every_routed_event_type_has_a_schema():
    known = {t for (t, _v) in EVENT_SCHEMAS}
    assert set(ROUTES) <= known
    assert known <= set(ROUTES), "declare every event type in ROUTES, with () if nobody consumes it"


def test_every_route_has_a_handler_in_the_receiving_service():
    for service in SERVICES:
        handled = {event_type_of(t) for t in load_service(service).event_handlers}
        for event_type in routing().subscriptions(service):
            assert event_type in handled, f"{service} is routed {event_type} but has no handler"


def test_every_handler_is_reachable_through_the_routing_table():
    for service in SERVICES:
        for payload_type in load_service(service).event_handlers:
            assert service in ROUTES[event_type_of(payload_type)], f"{service} handles {payload_type} but is never sent it"


def test_the_root_refuses_a_table_that_routes_an_event_to_a_service_without_a_handler():
    broken = {**ROUTES, "BudgetClosed": ("notifications",)}
    with pytest.raises(RuntimeError, match="BudgetClosed is routed to notifications, which has no handler"):
        check_routes(load_all_services(), broken)


def test_the_root_refuses_a_handler_that_the_table_never_sends():
    broken = {**ROUTES, "BudgetOpened": ()}
    with pytest.raises(RuntimeError, match="monitoring handles BudgetOpened but ROUTES never sends it"):
        check_routes(load_all_services(), broken)


def test_task_names_are_explicit_and_per_service():
    assert task_name("budget", "PlanApproved") == "budget.on_plan_approved"
    assert task_name("notifications", "InvoicePaid") == "notifications.on_invoice_paid"


def test_plan_approved_reaches_budget_monitoring_and_notifications():
    assert set(ROUTES["PlanApproved"]) == {"budget", "monitoring", "notifications"}
