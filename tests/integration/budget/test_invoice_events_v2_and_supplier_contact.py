"""Invoice events name their provider (version 2), an invoice waiting for the client says so once,
and the supplier's e-mail address is kept on the invoice, given out to staff, finance and
notifications only, and never put in an event."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from lxml import etree
from sqlmodel import col

from services.budget.models import Invoice
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.integration.budget.support import (
    COACH_PROVIDER_ID,
    PROVIDER_KVK,
    SIMPLER_PROVIDER_ID,
    budget_runtime,
    invoice_body,
    open_budget,
)
from tests.support.auth import auth
from tests.support.world import api_client
from tests.unit.budget.einvoice_examples import CAC, CBC, NS, find, load, xml

UTRECHT, GRONINGEN = "0344", "0014"
FIN = auth("finance", UTRECHT, subject="fin-1")
CASE_MANAGER = auth("case_manager", UTRECHT, subject="km-1")
NOTIFICATIONS = auth("service", UTRECHT, subject="notifications")
PROVIDER = auth("provider", UTRECHT, provider_id=COACH_PROVIDER_ID)


@pytest.fixture
def env(tmp_path):
    runtime = budget_runtime(Settings(data_dir=tmp_path, environment="test"))
    return runtime, api_client(runtime)


def _events(runtime) -> list[tuple[str, int, dict]]:
    outbox = bus_tables("budget").outbox
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.envelope).order_by(outbox.c.id)).scalars().all()
    envelopes = [json.loads(row) for row in rows]
    return [(e["type"], e["version"], e["payload"]) for e in envelopes]


def _invoice_events(runtime) -> list[tuple[str, int, dict]]:
    return [e for e in _events(runtime) if e[0].startswith("Invoice")]


def test_every_invoice_event_names_the_provider_whose_token_sent_it_and_its_kvk(env):
    runtime, http = env
    b = open_budget(runtime)
    body = invoice_body(b["line_ids"][0], "F-1", "100.00", provider_kvk=PROVIDER_KVK["Coach BV"])
    invoice_id = http.post("/budget/v1/invoices", headers=PROVIDER, json=body).json()["id"]
    assert http.post(f"/budget/v1/invoices/{invoice_id}/approve", headers=FIN).status_code == 200
    r = http.post(f"/budget/v1/invoices/{invoice_id}/mark-paid", headers=FIN, json={"paid_on": "2026-11-23"})
    assert r.status_code == 200, r.text
    events = _invoice_events(runtime)
    assert [(kind, version) for kind, version, _ in events] == [
        ("InvoiceReceived", 2),
        ("InvoiceApproved", 2),
        ("InvoicePaid", 2),
    ]
    for _, _, payload in events:
        assert (payload["invoice_id"], payload["client_id"]) == (invoice_id, b["client_id"])
        assert (payload["provider_id"], payload["provider_kvk"]) == (COACH_PROVIDER_ID, PROVIDER_KVK["Coach BV"])


def test_a_rejection_names_the_provider(env):
    runtime, http = env
    b = open_budget(runtime)
    invoice_id = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-2")).json()[
        "id"
    ]
    r = http.post(f"/budget/v1/invoices/{invoice_id}/reject", headers=FIN, json={"reason": "Dubbel gestuurd"})
    assert r.status_code == 200, r.text
    kind, version, payload = _invoice_events(runtime)[-1]
    assert (kind, version, payload["provider_id"], payload["reason_code"]) == (
        "InvoiceRejected",
        2,
        COACH_PROVIDER_ID,
        "invoice.rejected",
    )
    assert "Dubbel" not in json.dumps(payload)


def test_an_invoice_that_waits_for_the_client_says_so_once_and_not_again_when_confirmed(env):
    runtime, http = env
    # A line without a KvK number: only the client can say a provider's own invoice is theirs.
    b = open_budget(
        runtime,
        lines=[{"category": "coaching", "granted_cents": 1000_00, "provider_name": "Coach BV", "provider_kvk": None}],
    )
    r = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-3", "80.00"))
    assert r.status_code == 201 and r.json()["status"] == "awaiting_client", r.text
    assert http.post(f"/budget/v1/invoices/{r.json()['id']}/confirm", headers=b["client"]).status_code == 200
    awaiting = [payload for kind, _, payload in _events(runtime) if kind == "InvoiceAwaitingConfirmation"]
    assert awaiting == [
        {
            "invoice_id": r.json()["id"],
            "budget_id": b["budget_id"],
            "client_id": b["client_id"],
            "provider_id": COACH_PROVIDER_ID,
            "amount_cents": 80_00,
        }
    ]


def test_an_invoice_that_needs_no_confirmation_does_not_say_it_waits(env):
    runtime, http = env
    b = open_budget(runtime)
    assert http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-4")).status_code
    assert "InvoiceAwaitingConfirmation" not in [kind for kind, _, _ in _events(runtime)]


def test_a_provider_id_made_from_the_suppliers_name_is_not_put_in_the_events(env):
    runtime, http = env
    b = open_budget(runtime, lines=[{"category": "coaching", "granted_cents": 1000_00, "provider_name": None}])
    r = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/forwarded-invoices",
        headers=b["client"],
        files={"file": ("factuur.pdf", b"%PDF-1.4 forwarded", "application/pdf")},
        data={
            "budget_line_id": b["line_ids"][0],
            "provider_name": "Jan de Vries Coaching",
            "provider_iban": "NL91ABNA0417164300",
            "invoice_number": "JV-1",
            "amount_excl_vat": "50.00",
        },
    )
    assert r.status_code == 201, r.text
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(col(Invoice.provider_id))).scalar_one() == "kvk:jandevriescoaching"
    kind, _, payload = _invoice_events(runtime)[0]
    assert kind == "InvoiceReceived" and payload["provider_id"] is None
    assert "vries" not in json.dumps(_events(runtime)).lower()


# --- the supplier's e-mail address -----------------------------------------------------------------


def test_the_json_supplier_email_is_kept_and_given_to_notifications_staff_and_finance_but_never_in_an_event(env):
    runtime, http = env
    b = open_budget(runtime)
    body = invoice_body(b["line_ids"][0], "F-5", supplier_email="Facturen@Coach-BV.nl")
    r = http.post("/budget/v1/invoices", headers=PROVIDER, json=body)
    assert r.status_code == 201, r.text
    assert "supplier_email" not in r.json()
    for who in (NOTIFICATIONS, FIN, CASE_MANAGER):
        contact = http.get(f"/budget/v1/invoices/{r.json()['id']}/supplier-contact", headers=who)
        assert contact.status_code == 200, contact.text
        assert contact.json() == {"email": "Facturen@coach-bv.nl"}
    assert "coach-bv.nl" not in json.dumps(_events(runtime)).lower()


def test_an_invoice_without_an_address_answers_null(env):
    runtime, http = env
    b = open_budget(runtime)
    invoice_id = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-6")).json()[
        "id"
    ]
    r = http.get(f"/budget/v1/invoices/{invoice_id}/supplier-contact", headers=NOTIFICATIONS)
    assert r.status_code == 200 and r.json() == {"email": None}, r.text


def test_another_municipalitys_invoice_is_a_404_like_an_unknown_one(env):
    runtime, http = env
    b = open_budget(runtime)
    body = invoice_body(b["line_ids"][0], "F-7", supplier_email="facturen@coach-bv.nl")
    invoice_id = http.post("/budget/v1/invoices", headers=PROVIDER, json=body).json()["id"]
    elsewhere = http.get(
        f"/budget/v1/invoices/{invoice_id}/supplier-contact",
        headers=auth("service", GRONINGEN, subject="notifications"),
    )
    unknown = http.get("/budget/v1/invoices/no-such-invoice/supplier-contact", headers=NOTIFICATIONS)
    assert elsewhere.status_code == unknown.status_code == 404
    assert elsewhere.json()["detail"] == unknown.json()["detail"]


@pytest.mark.parametrize("role", ["provider", "client", "partner", "policy"])
def test_other_roles_are_refused_naming_the_ones_that_may(env, role):
    runtime, http = env
    b = open_budget(runtime)
    invoice_id = http.post("/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-8")).json()[
        "id"
    ]
    who = {"provider": PROVIDER, "client": b["client"]}.get(role) or auth(role, UTRECHT, subject="x")
    r = http.get(f"/budget/v1/invoices/{invoice_id}/supplier-contact", headers=who)
    assert r.status_code == 403, r.text
    assert r.json()["detail"] == "This needs one of the roles: case_manager, team_lead, finance, service."


@pytest.mark.parametrize(
    "address",
    ["a@coach-bv.nl, b@coach-bv.nl", "a@coach-bv.nl b@coach-bv.nl", "geen adres", "x" * 250 + "@c.nl"],
)
def test_a_supplier_email_that_is_not_one_address_is_a_422_naming_the_field(env, address):
    runtime, http = env
    b = open_budget(runtime)
    r = http.post(
        "/budget/v1/invoices", headers=PROVIDER, json=invoice_body(b["line_ids"][0], "F-9", supplier_email=address)
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["supplier_email"]


def _ubl_with_supplier_email(address: str) -> bytes:
    root = load()
    party = find(root, "cac:AccountingSupplierParty/cac:Party")
    contact = etree.Element(f"{{{CAC}}}Contact")
    etree.SubElement(contact, f"{{{CBC}}}ElectronicMail").text = address
    party.find("cac:PartyLegalEntity", NS).addnext(contact)  # Contact follows PartyLegalEntity in UBL 2.1
    return xml(root)


def _budget_for_the_example(runtime, http):
    b = open_budget(
        runtime,
        lines=[
            {
                "category": "coaching",
                "granted_cents": 2000_00,
                "provider_name": "SimplerInvoicing",
                "starts_on": "2014-12-01",
            }
        ],
    )
    order = {
        "budget_line_id": b["line_ids"][0],
        "order_reference": "47806",
        "provider_name": "SimplerInvoicing",
        "provider_kvk": PROVIDER_KVK["SimplerInvoicing"],
        "amount": "1000.00",
    }
    assert http.post(f"/budget/v1/budgets/{b['budget_id']}/orders", headers=FIN, json=order).status_code == 201
    return b


@pytest.mark.parametrize(
    ("written", "kept"), [("facturen@simpler.nl", "facturen@simpler.nl"), ("niet, bruikbaar", None)]
)
def test_a_ubl_suppliers_contact_email_is_kept_when_it_is_one_address(env, written, kept):
    runtime, http = env
    _budget_for_the_example(runtime, http)
    r = http.post(
        "/budget/v1/invoices/ubl",
        headers={**auth("provider", UTRECHT, provider_id=SIMPLER_PROVIDER_ID), "content-type": "application/xml"},
        content=_ubl_with_supplier_email(written),
    )
    assert r.status_code == 201, r.text
    contact = http.get(f"/budget/v1/invoices/{r.json()['id']}/supplier-contact", headers=NOTIFICATIONS)
    assert contact.json() == {"email": kept}
    kind, version, payload = _invoice_events(runtime)[0]
    assert (kind, version, payload["provider_id"]) == ("InvoiceReceived", 2, SIMPLER_PROVIDER_ID)
    assert "simpler.nl" not in json.dumps(_events(runtime))
