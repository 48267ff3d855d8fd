"""Findings of a review of the budget service, each pinned by a test that failed before its fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.budget.models import (
    CreditNote,
    Invoice,
    Order,
    PaymentRun,
    PeriodicPayment,
)
from shared.config import Settings
from tests.integration.budget.support import IBAN, TODAY, budget_app, budget_runtime, invoice_body, open_budget
from tests.support.auth import auth
from tests.support.world import api_client

UTRECHT = "0344"
FIN = auth("finance", UTRECHT, subject="fin-1")
FIN2 = auth("finance", UTRECHT, subject="fin-2")
KVK_LINE, KVK_OTHER = "69639087", "12345678"
NUL = "Coach\x00BV"
NO_KVK = [{"category": "coaching", "granted_cents": 1000_00, "provider_name": "Coach BV", "provider_kvk": None}]


@pytest.fixture
def env(tmp_path):
    runtime = budget_runtime(Settings(data_dir=tmp_path, environment="test"))
    return runtime, api_client(runtime)


@pytest.fixture(params=["sqlite", "postgresql"])
def env_on_both(request, tmp_path):
    """PostgreSQL refuses a NUL in text outright: there a NUL that got through was a 500."""
    return budget_app(request, tmp_path, request.param)


def _count(runtime, table) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _field(r, status: int = 422) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()["errors"][0]["field"]


def _declaration(http, b, **fields):
    data = {
        "budget_line_id": b["line_ids"][0],
        "description": "Messenset",
        "provider_name": "Horeca Groothandel",
        "amount": "89.95",
        "client_iban": "NL39RABO0300065264",
        "account_holder": "J. Jansen",
        "paid_on": TODAY.isoformat(),
        **fields,
    }
    return http.post(
        f"/budget/v1/budgets/{b['budget_id']}/declarations",
        headers=b["client"],
        files={"receipt": ("bon.png", b"\x89PNG receipt " + repr(sorted(fields.items())).encode(), "image/png")},
        data=data,
    )


def _approved_invoice(http, b, number: str = "F-1") -> str:
    r = http.post("/budget/v1/invoices", headers=FIN, json=invoice_body(b["line_ids"][0], number))
    assert r.status_code == 201, r.text
    assert http.post(f"/budget/v1/invoices/{r.json()['id']}/approve", headers=FIN).status_code == 200
    return r.json()["id"]


# --- 1a: a declaration paid in the future -------------------------------------------------------


def test_a_declaration_paid_in_the_future_is_refused_naming_paid_on(env):
    runtime, http = env
    b = open_budget(runtime)
    assert _field(_declaration(http, b, paid_on=(TODAY + timedelta(days=2)).isoformat())) == "paid_on"
    assert _count(runtime, Invoice) == 0
    assert _declaration(http, b, paid_on=(TODAY - timedelta(days=1)).isoformat()).status_code == 201


# --- 1b: a payment run executed in the past ----------------------------------------------------


def test_a_payment_run_with_an_execution_date_in_the_past_is_refused(env):
    runtime, http = env
    b = open_budget(runtime)
    _approved_invoice(http, b)
    r = http.post(
        "/budget/v1/payment-runs", headers=FIN, json={"execution_date": (TODAY - timedelta(days=2)).isoformat()}
    )
    assert _field(r) == "execution_date" and r.json()["code"] == "payment_run.execution_date_past"
    assert _count(runtime, PaymentRun) == 0
    assert (
        http.post("/budget/v1/payment-runs", headers=FIN, json={"execution_date": TODAY.isoformat()}).status_code == 201
    )


# --- 1c: an invoice issued long before its budget existed ----------------------------------------


def test_an_invoice_issued_years_before_its_budget_is_refused_naming_issue_date(env):
    runtime, http = env
    b = open_budget(runtime)  # the line starts 30 days ago, the budget opened today
    line = b["line_ids"][0]
    r = http.post("/budget/v1/invoices", headers=FIN, json=invoice_body(line, "OLD-1", issue_date="2019-03-01"))
    assert _field(r) == "issue_date" and r.json()["code"] == "invoice.issued_before_budget"
    assert _count(runtime, Invoice) == 0
    # Within the margin (a month before the line's start): an advance or intake invoice is fine.
    early = (TODAY - timedelta(days=30 + 20)).isoformat()
    assert (
        http.post("/budget/v1/invoices", headers=FIN, json=invoice_body(line, "EARLY-1", issue_date=early)).status_code
        == 201
    )


# --- 1d: control characters in names, references and free text --------------------------------


def test_nul_and_control_characters_in_budget_inputs_are_refused_naming_the_field(env_on_both):
    runtime, http = env_on_both
    b = open_budget(
        runtime,
        scheme="pgb_bw",
        lines=[
            {"category": "coaching", "granted_cents": 1000_00, "provider_name": "Coach BV"},
            {"category": "wage_cost_subsidy", "granted_cents": 1000_00, "provider_name": "Werkgever BV"},
        ],
    )
    line, wage_line, budget_id = b["line_ids"][0], b["line_ids"][1], b["budget_id"]
    invoice_id = _approved_invoice(http, b)
    json_cases = [
        ("/budget/v1/invoices", invoice_body(line, "F\x00-2"), "invoice_number"),
        ("/budget/v1/invoices", invoice_body(line, "F-3", provider_name=NUL), "provider_name"),
        ("/budget/v1/invoices", invoice_body(line, "F-4", provider_id="coach\x07bv"), "provider_id"),
        ("/budget/v1/invoices", invoice_body(line + "\x00", "F-5"), "budget_line_id"),
        ("/budget/v1/invoices", invoice_body(line, "F-6\nX"), "invoice_number"),
        (
            f"/budget/v1/budgets/{budget_id}/orders",
            {"budget_line_id": line, "order_reference": "ORD\x00-1", "provider_name": "Coach BV", "amount": "10.00"},
            "order_reference",
        ),
        (
            f"/budget/v1/budgets/{budget_id}/orders",
            {"budget_line_id": line, "order_reference": "ORD-1", "provider_name": NUL, "amount": "10.00"},
            "provider_name",
        ),
        (
            f"/budget/v1/budgets/{budget_id}/periodic-payments",
            {
                "budget_line_id": wage_line,
                "payee_kind": "employer",
                "payee_name": NUL,
                "payee_iban": IBAN,
                "monthly_amount": "10.00",
                "first_due": TODAY.isoformat(),
                "months": 2,
            },
            "payee_name",
        ),
        (f"/budget/v1/invoices/{invoice_id}/credit-notes", {"amount": "1.00", "reason": "te\x00veel"}, "reason"),
        (f"/budget/v1/invoices/{invoice_id}/reject", {"reason": "nee\x1b"}, "reason"),
        ("/budget/v1/invoices/approve", {"invoice_ids": [invoice_id + "\x00"]}, "invoice_ids.0"),
    ]
    for path, body, field in json_cases:
        assert _field(http.post(path, headers=FIN, json=body)) == field, (path, field)
    # Free text keeps its line breaks; one-line names do not.
    r = http.post("/budget/v1/invoices", headers=FIN, json=invoice_body(line, "F-7"))
    assert (
        http.post(
            f"/budget/v1/invoices/{r.json()['id']}/reject", headers=FIN, json={"reason": "Dubbel.\nZie F-1."}
        ).status_code
        == 200
    )
    bulk = http.post("/budget/v1/invoices/bulk", headers=FIN, json=[invoice_body(line, "B\x00-1")])
    assert bulk.status_code == 200 and bulk.json()["results"][0]["field"] == "invoice_number", bulk.text
    forwarded = {
        "budget_line_id": line,
        "provider_name": "Coach BV",
        "provider_iban": IBAN,
        "invoice_number": "C-1",
        "amount_excl_vat": "10.00",
    }
    for field in ("provider_name", "invoice_number", "provider_kvk", "budget_line_id"):
        r = http.post(
            f"/budget/v1/budgets/{budget_id}/forwarded-invoices",
            headers=b["client"],
            files={"file": ("f.pdf", b"%PDF-1.4 x", "application/pdf")},
            data={**forwarded, field: forwarded.get(field, "6963") + "\x00"},
        )
        assert _field(r) == field, field
    for field in ("description", "provider_name", "account_holder"):
        assert _field(_declaration(http, b, **{field: "J.\x00Jansen"})) == field, field
    # The file's name as a browser sends it (httpx would percent-encode it).
    parts = [
        f'--XX\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in forwarded.items()
    ]
    parts.append(
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="f\x01.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 x\r\n--XX--\r\n"
    )
    r = http.post(
        f"/budget/v1/budgets/{budget_id}/forwarded-invoices",
        content=b"".join(parts),
        headers={**b["client"], "content-type": "multipart/form-data; boundary=XX"},
    )
    assert _field(r) == "file", r.text
    assert _count(runtime, Invoice) == 2 and _count(runtime, Order) == 0
    assert _count(runtime, PeriodicPayment) == 0 and _count(runtime, CreditNote) == 0


# --- 2: provider identity is the KvK in the token ------------------------------------------------


def _provider(kvk: str) -> dict[str, str]:
    return auth("provider", UTRECHT, provider_id=f"kvk:{kvk}")


def test_a_provider_token_with_another_kvk_cannot_invoice_a_line_by_its_providers_name(env):
    runtime, http = env
    b = open_budget(
        runtime,
        lines=[
            {"category": "coaching", "granted_cents": 1000_00, "provider_name": "Coach BV", "provider_kvk": KVK_LINE}
        ],
    )
    line = b["line_ids"][0]
    body = invoice_body(line, "K-1")
    body.pop("provider_id")
    r = http.post("/budget/v1/invoices", headers=_provider(KVK_OTHER), json=body)
    assert r.status_code == 422 and r.json()["code"] == "invoice.provider_mismatch", r.text
    # Claiming the line's KvK in the body does not help: the token says who sends it.
    r = http.post("/budget/v1/invoices", headers=_provider(KVK_OTHER), json={**body, "provider_kvk": KVK_LINE})
    assert r.status_code == 422 and r.json()["code"] == "invoice.provider_mismatch", r.text
    assert _count(runtime, Invoice) == 0
    r = http.post("/budget/v1/invoices", headers=_provider(KVK_LINE), json=body)
    assert r.status_code == 201 and r.json()["status"] == "received", r.text


def test_an_order_with_a_kvk_takes_invoices_only_from_that_kvk(env):
    runtime, http = env
    b = open_budget(runtime, lines=NO_KVK)  # the line has no KvK; the order has one
    order = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/orders",
        headers=FIN,
        json={
            "budget_line_id": b["line_ids"][0],
            "order_reference": "ORD-9",
            "provider_name": "Coach BV",
            "provider_kvk": KVK_LINE,
            "amount": "300.00",
        },
    )
    assert order.status_code == 201, order.text
    body = {**invoice_body("ORD-9", "K-2"), "provider_id": None}
    r = http.post("/budget/v1/invoices", headers=_provider(KVK_OTHER), json=body)
    assert r.status_code == 422 and r.json()["code"] == "invoice.provider_mismatch", r.text
    assert http.post("/budget/v1/invoices", headers=_provider(KVK_LINE), json=body).status_code == 201


def test_a_providers_invoice_on_a_line_without_kvk_waits_for_the_clients_confirmation(env):
    runtime, http = env
    b = open_budget(runtime, lines=NO_KVK)  # the policy does not ask the client to confirm
    r = http.post("/budget/v1/invoices", headers=_provider(KVK_OTHER), json=invoice_body(b["line_ids"][0], "K-3"))
    assert r.status_code == 201 and r.json()["status"] == "awaiting_client", r.text
    invoice_id = r.json()["id"]
    assert http.post(f"/budget/v1/invoices/{invoice_id}/approve", headers=FIN).status_code == 409
    assert http.post(f"/budget/v1/invoices/{invoice_id}/confirm", headers=b["client"]).json()["status"] == "received"
    assert http.post(f"/budget/v1/invoices/{invoice_id}/approve", headers=FIN).json()["status"] == "approved"
    # Without a KvK on the line the name must still be the plan's.
    r = http.post(
        "/budget/v1/invoices",
        headers=_provider(KVK_OTHER),
        json=invoice_body(b["line_ids"][0], "K-5", provider_name="Een Andere BV"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "provider_name", r.text
    # Finance entering an invoice is not a provider claiming an identity: no confirmation needed.
    r = http.post("/budget/v1/invoices", headers=FIN, json=invoice_body(b["line_ids"][0], "K-4"))
    assert r.json()["status"] == "received", r.text


# --- 3: errors name the field the caller sent ---------------------------------------------------


def test_declaration_errors_name_the_fields_of_the_declaration_form(env):
    runtime, http = env
    b = open_budget(runtime)  # the line starts 30 days ago
    assert _field(_declaration(http, b, client_iban="NL00BANK0000000000")) == "client_iban"
    assert _field(_declaration(http, b, paid_on=(TODAY - timedelta(days=90)).isoformat())) == "paid_on"
    assert _field(_declaration(http, b, amount="lots")) == "amount"
    assert _field(_declaration(http, b, amount="5000.00")) == "amount"
    assert _count(runtime, Invoice) == 0


# --- 4: the bulk body in OpenAPI ------------------------------------------------------------------


def test_the_bulk_invoice_body_is_documented_as_an_array_of_invoices(env):
    _, http = env
    spec = http.get("/budget/v1/openapi.json").json()
    body = spec["paths"]["/v1/invoices/bulk"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert body["required"] is True
    assert schema["type"] == "array" and schema["maxItems"] == 1000 and schema["minItems"] == 1
    name = schema["items"]["$ref"].rsplit("/", 1)[1]
    assert name.startswith("InvoiceIn") and "invoice_number" in spec["components"]["schemas"][name]["properties"]
    assert http.get("/budget/v1/docs").status_code == 200


# --- 5: the 403s of the budget routes and the roles they name --------------------------------------


def test_bulk_routes_refuse_other_roles_naming_finance_and_provider(env):
    runtime, http = env
    b = open_budget(runtime)
    for who in (b["client"], auth("case_manager", UTRECHT), auth("policy", UTRECHT)):
        r = http.post("/budget/v1/invoices/bulk", headers=who, json=[invoice_body(b["line_ids"][0], "B-1")])
        assert r.status_code == 403 and r.json()["detail"] == "This needs one of the roles: finance, provider.", r.text
        r = http.post(
            "/budget/v1/invoices/ubl/bulk", headers=who, files=[("files", ("a.xml", b"<Invoice/>", "application/xml"))]
        )
        assert r.status_code == 403 and r.json()["detail"] == "This needs one of the roles: finance, provider.", r.text
    assert _count(runtime, Invoice) == 0


def test_budget_403s_name_every_role_that_may(env):
    runtime, http = env
    b = open_budget(runtime)
    partner = auth("partner", UTRECHT)
    r = http.get("/budget/v1/invoices", headers=partner)
    assert r.status_code == 403 and "provider" in r.json()["detail"], r.text
    invoice_id = _approved_invoice(http, b, "R-1")
    r = http.get(f"/budget/v1/invoices/{invoice_id}", headers=partner)
    assert r.status_code == 403 and "provider" in r.json()["detail"], r.text
    r = http.post(
        f"/budget/v1/budgets/{b['budget_id']}/forwarded-invoices",
        headers=partner,
        files={"file": ("f.pdf", b"%PDF-1.4 x", "application/pdf")},
        data={"budget_line_id": b["line_ids"][0]},
    )
    assert r.status_code == 403 and r.json()["detail"] == (
        "This needs one of the roles: client, representative, case_manager, finance."
    ), r.text
    batch = http.post("/budget/v1/invoices/bulk", headers=FIN, json=[invoice_body(b["line_ids"][0], "B-2")]).json()
    r = http.get(f"/budget/v1/invoice-batches/{batch['batch_id']}/results.csv", headers=auth("case_manager", UTRECHT))
    assert r.status_code == 403 and r.json()["detail"] == "This needs one of the roles: finance, provider.", r.text


def test_the_api_doc_names_the_roles_the_budget_routes_check():
    doc = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text(encoding="utf-8")
    assert "check no role" not in doc
    rows = {
        line.split("|")[1].strip(): line.split("|")[2].strip()
        for line in doc.splitlines()
        if line.startswith("| `") and "/budget/v1/" in line
    }
    assert rows["`POST /budget/v1/invoices/bulk`"] == "`finance`, `provider`"
    assert rows["`POST /budget/v1/invoices/ubl/bulk`"] == "`finance`, `provider`"
    assert "any role" not in rows["`GET /budget/v1/invoices/{invoice_id}`"]


def test_a_bulk_body_that_is_not_json_is_a_400_and_one_that_is_no_array_a_422(env):
    _, http = env
    headers = {**FIN, "content-type": "application/json"}
    r = http.post("/budget/v1/invoices/bulk", headers=headers, content=b'[{"invoice_number": ')
    assert r.status_code == 400 and r.json()["title"] == "Malformed JSON", r.text
    r = http.post("/budget/v1/invoices/bulk", headers=headers, content=b'{"invoice_number": "X"}')
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body", r.text
