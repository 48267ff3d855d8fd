"""The whole journey over HTTP, against embedded or distributed services.

A case manager registers a client; the plan is submitted and approved; the budget opens on
the event; an invoice is received, approved and paid; a progress report is filed; the
client gets messages for the approval and the payment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan, test_bsn
from tests.support.auth import auth

MUNICIPALITY = "0014"


def eventually(check: Callable[[], Any], *, timeout: float = 20.0, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; last seen: {last!r}")


def run_journey(urls: dict[str, str], bsn: str = test_bsn(1)) -> dict[str, Any]:
    km = auth("case_manager", MUNICIPALITY, subject="km-1")
    fin = auth("finance", MUNICIPALITY, subject="fin-1")
    with httpx.Client(timeout=10) as http:
        client = http.post(f"{urls['intake']}/intake/v1/clients", headers=km, json={
            "bsn": bsn, "client_number": "K-1", "name": "Test Client", "email": "t@example.org", "language": "nl",
            "facts": ELIGIBLE_FACTS,
        })
        assert client.status_code == 201, client.text
        client_id = client.json()["id"]
        me = auth("client", MUNICIPALITY, subject="client-1", client_id=client_id)

        plan = http.post(f"{urls['intake']}/intake/v1/plans", headers=me, json={"client_id": client_id, **example_plan(
            "Kok", [("Koksopleiding niveau 2", "training_skills", "ROC Noord", "2000.00"),
                    ("Messenset voor de opleiding", "study_material", "Horeca Groothandel", "150.00")])})
        assert plan.status_code == 201, plan.text
        plan_id, version = plan.json()["id"], plan.json()["version"]

        submitted = http.post(f"{urls['intake']}/intake/v1/plans/{plan_id}/submit", headers=me,
                              json={"plan_version": version})
        assert submitted.status_code == 200, submitted.text
        approved = http.post(f"{urls['intake']}/intake/v1/plans/{plan_id}/decisions", headers=km,
                             json={"plan_version": submitted.json()["version"], "kind": "approve",
                                   "note": "Goed plan"})
        assert approved.status_code == 200, approved.text
        assert approved.json()["granted"] == "2150.00"

        budget = eventually(lambda: http.get(f"{urls['budget']}/budget/v1/budgets", headers=fin,
                                             params={"plan_id": plan_id}).json(), what="budget opened")[0]
        assert budget["granted"] == "2150.00" and budget["remaining"] == "2150.00"
        line = next(li for li in budget["lines"] if li["granted"] == "2000.00")

        invoice = http.post(f"{urls['budget']}/budget/v1/budgets/{budget['id']}/invoices", headers=fin, json={
            "budget_line_id": line["id"], "invoice_number": "ROC-2026-1", "provider_id": "roc-noord",
            "provider_name": "ROC Noord", "provider_iban": "NL91ABNA0417164300", "amount": "800.00",
        })
        assert invoice.status_code == 201, invoice.text
        invoice_id = invoice.json()["id"]
        # Groningen's policy: the client contracts the provider and confirms the invoice first.
        assert invoice.json()["status"] == "awaiting_client"
        confirmed = http.post(f"{urls['budget']}/budget/v1/invoices/{invoice_id}/confirm", headers=me)
        assert confirmed.status_code == 200, confirmed.text
        approved_invoice = http.post(f"{urls['budget']}/budget/v1/invoices/{invoice_id}/approve", headers=fin)
        assert approved_invoice.status_code == 200, approved_invoice.text
        paid = http.post(f"{urls['budget']}/budget/v1/invoices/{invoice_id}/mark-paid", headers=fin,
                         json={"paid_on": "2026-11-20"})
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid"

        after = http.get(f"{urls['budget']}/budget/v1/budgets/{budget['id']}", headers=me).json()
        assert after["remaining"] == "1350.00" and after["paid"] == "800.00"

        trajectory = eventually(
            lambda: (r := http.get(f"{urls['monitoring']}/monitoring/v1/trajectories/{plan_id}", headers=km)).status_code
            == 200 and r.json()["spent"] == "800.00" and r.json()["budget_id"] and r.json(),
            what="monitoring to record the payment")
        report = http.post(f"{urls['monitoring']}/monitoring/v1/trajectories/{plan_id}/progress-reports", headers=me,
                           json={"on_track": True, "summary": "Eerste module gehaald"})
        assert report.status_code == 201, report.text

        def client_messages() -> list[dict[str, Any]]:
            msgs = http.get(f"{urls['notifications']}/notifications/v1/messages", headers=me).json()
            return msgs if {m["template"] for m in msgs} >= {"plan_approved", "invoice_paid"} else []

        messages = eventually(client_messages, what="messages for approval and payment")
        team = eventually(lambda: [m for m in http.get(f"{urls['notifications']}/notifications/v1/messages",
                                                       headers=km).json() if m["template"] == "progress_reported"],
                          what="progress message to the case team")
    return {"plan_id": plan_id, "budget": after, "trajectory": trajectory, "messages": messages, "team": team}
