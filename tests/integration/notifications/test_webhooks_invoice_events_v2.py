"""A provider's webhook (own organisation only) hears about its own invoices now that the invoice
events name their provider (version 2), and never about another provider's; a version 1 event
still in flight names no provider and reaches no such subscription. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest

from contracts.events import (
    InvoiceApprovedV2,
    InvoicePaidV2,
    InvoiceReceivedV1,
    InvoiceReceivedV2,
    InvoiceRejectedV2,
)
from services.notifications.webhook_delivery import send_due
from tests.integration.notifications.webhook_support import Receiver, receivers, say, webhook_world
from tests.support.auth import auth

BASE = "/notifications/v1/webhooks"
INVOICE_TYPES = ["InvoiceReceived", "InvoiceApproved", "InvoiceRejected", "InvoicePaid"]
COACH = auth("provider", "0014", provider_id="kvk:30212345")
OTHER = auth("provider", "0014", provider_id="kvk:69639087")


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, tmp_path):
    with webhook_world(request, tmp_path, request.param) as made:
        yield made


def _subscribe(http, headers, url):
    r = http.post(f"{BASE}/subscriptions", headers=headers, json={"callback_url": url, "event_types": INVOICE_TYPES})
    assert r.status_code == 201, r.text
    assert r.json()["own_organisation_only"]
    return r.json()


def _send(runtime) -> int:
    with runtime.uow("notifications") as uow:
        return send_due(uow, runtime.settings)


def _invoice_events(invoice_id: str, provider_id: str | None, kvk: str):
    who = {"provider_id": provider_id, "provider_kvk": kvk}
    common = {"invoice_id": invoice_id, "budget_id": "b1", "client_id": "c1"}
    return [
        InvoiceReceivedV2(**common, budget_line_id="l1", amount_cents=100_00, **who),
        InvoiceApprovedV2(**common, budget_line_id="l1", amount_cents=100_00, remaining_cents=900_00, **who),
        InvoicePaidV2(**common, plan_id="p1", amount_cents=100_00, paid_on=date(2026, 11, 24), **who),
        InvoiceRejectedV2(**common, reason_code="invoice.rejected", **who),
    ]


def test_a_provider_subscription_gets_its_own_invoices_events_and_not_another_providers(world):
    runtime, http, _clock = world
    with receivers(Receiver(), Receiver()) as (coach, other):
        _subscribe(http, COACH, coach.url)
        _subscribe(http, OTHER, other.url)
        for payload in _invoice_events("inv-coach", "kvk:30212345", "30212345"):
            say(runtime, "budget", payload, tenant="0014", subject="p1")
        assert _send(runtime) == 4
        assert not other.requests
        bodies = [json.loads(request.body) for request in coach.requests]
        assert sorted(b["type"] for b in bodies) == sorted(f"nl.eigenregie.{t}" for t in INVOICE_TYPES)
        for body in bodies:
            assert body["subject"] == "inv-coach" and body["source"] == "urn:eigenregie:budget"
            assert body["data"]["provider_id"] == "kvk:30212345" and body["data"]["provider_kvk"] == "30212345"
            assert "client_id" not in body["data"] and "budget_id" not in body["data"]


def test_an_invoice_event_of_another_municipality_or_naming_no_provider_reaches_no_provider_subscription(world):
    runtime, http, _clock = world
    with receivers(Receiver()) as (coach,):
        _subscribe(http, COACH, coach.url)
        say(runtime, "budget", _invoice_events("inv-x", "kvk:30212345", "30212345")[0], tenant="0363")
        say(runtime, "budget", _invoice_events("inv-y", None, "30212345")[0], tenant="0014")
        v1 = InvoiceReceivedV1(invoice_id="inv-z", budget_id="b1", budget_line_id="l1", amount_cents=100)
        say(runtime, "budget", v1, tenant="0014")  # in flight from before version 2
        assert _send(runtime) == 0
        assert not coach.requests
