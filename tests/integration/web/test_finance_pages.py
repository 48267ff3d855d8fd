"""The finance pages over the embedded app with demo data: the approval queue (bulk approve, four
eyes, reject with a reason), payment runs as jobs with a progress fragment, bulk uploads with a
result per row, budgets and their statement; roles, other municipalities, CSRF and 422s."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import load_demo_data
from services.budget.queued_jobs import run_queued_jobs
from shared.config import Settings
from shared.runtime import Runtime
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime

FIN = auth("finance", "0014", subject="fin-0014")
FIN_UTRECHT = auth("finance", "0344", subject="fin-0344")
PAGES = ["/finance/invoices", "/finance/payment-runs", "/finance/uploads", "/finance/budgets"]


@pytest.fixture
def world(tmp_path: Any) -> dict[str, Any]:
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
    load_demo_data(runtime)
    app = create_app(runtime, embedded=True)
    api = TestClient(app, raise_server_exceptions=False)
    budget = api.get("/budget/v1/budgets", headers=FIN).json()[0]
    return {"runtime": runtime, "app": app, "api": api, "budget": budget}


def browser_as(world: dict[str, Any], user: str) -> TestClient:
    http = TestClient(world["app"], raise_server_exceptions=False, follow_redirects=False)
    r = http.post("/login", data={"user": user})
    assert r.status_code == 303, r.text
    return http


def csrf_of(http: TestClient, path: str) -> str:
    page = http.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def new_invoice(world: dict[str, Any], number: str, amount: str) -> str:
    api, budget = world["api"], world["budget"]
    r = api.post(f"/budget/v1/budgets/{budget['id']}/invoices", headers=FIN, json={
        "budget_line_id": budget["lines"][0]["id"], "invoice_number": number, "provider_id": "coach-bv",
        "provider_name": budget["lines"][0]["provider_name"], "provider_iban": "NL91ABNA0417164300", "amount": amount})
    assert r.status_code == 201, r.text
    invoice = r.json()
    if invoice["status"] == "awaiting_client":
        client = auth("client", "0014", subject="client-x", client_id=budget["client_id"])
        assert api.post(f"/budget/v1/invoices/{invoice['id']}/confirm", headers=client).status_code == 200
    return str(invoice["id"])


def invoice_status(world: dict[str, Any], invoice_id: str) -> str:
    return str(world["api"].get(f"/budget/v1/invoices/{invoice_id}", headers=FIN).json()["status"])


def run_jobs(runtime: Runtime) -> int:
    with runtime.uow("budget") as uow:
        return run_queued_jobs(uow)


def test_each_page_is_for_finance_and_the_queue_also_for_team_leads(world: dict[str, Any]) -> None:
    fin = browser_as(world, "finance|0014|")
    statement = f"/finance/budgets/{world['budget']['id']}/statement"
    for path in [*PAGES, statement]:
        r = fin.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert "<h1" in r.text and 'lang="nl"' in r.text
    assert "Rekeningen goedkeuren" in fin.get("/finance/invoices").text
    assert "€ 2.650,00" in fin.get(statement).text
    assert "€ 2,650.00" in fin.get(statement + "?lang=en").text
    km = browser_as(world, "case_manager|0014|")
    for path in [*PAGES, statement]:
        assert km.get(path).status_code == 403, path
    lead = browser_as(world, "team_lead|0014|")
    assert lead.get("/finance/invoices").status_code == 200
    assert lead.get("/finance/payment-runs").status_code == 403
    anonymous = TestClient(world["app"], raise_server_exceptions=False, follow_redirects=False)
    r = anonymous.get("/finance/invoices")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_bulk_approve_with_four_eyes_above_the_threshold(world: dict[str, Any]) -> None:
    api = world["api"]
    policy = api.get("/budget/v1/finance-policy", headers=FIN).json()
    r = api.put("/budget/v1/finance-policy", headers=FIN, json={**policy, "invoice_four_eyes_threshold": "50.00"})
    assert r.status_code == 200, r.text
    small, large = new_invoice(world, "W3-1", "30.00"), new_invoice(world, "W3-2", "100.00")

    fin = browser_as(world, "finance|0014|")
    queue = fin.get("/finance/invoices")
    assert "W3-1" in queue.text and "€ 100,00" in queue.text
    token = csrf_of(fin, "/finance/invoices")
    r = fin.post("/finance/invoices/approve", data={"csrf_token": token, "invoice_ids": [small, large]})
    assert r.status_code == 303 and r.headers["location"] == "/finance/invoices?approved=2&refused=0"
    assert "2 rekening(en) goedgekeurd" in fin.get(r.headers["location"]).text
    assert invoice_status(world, small) == "approved"
    assert invoice_status(world, large) == "awaiting_second_approval"

    page = fin.get(f"/finance/invoices/{large}")
    assert "Wacht op een tweede goedkeuring" in page.text and "U gaf de eerste goedkeuring" in page.text
    r = fin.post(f"/finance/invoices/{large}/approve", data={"csrf_token": token})
    assert r.status_code in (403, 409, 422) and 'id="field-approve"' in r.text
    assert invoice_status(world, large) == "awaiting_second_approval"

    lead = browser_as(world, "team_lead|0014|")
    lead_token = csrf_of(lead, f"/finance/invoices/{large}")
    r = lead.post(f"/finance/invoices/{large}/approve", data={"csrf_token": lead_token})
    assert r.status_code == 303 and r.headers["location"] == f"/finance/invoices/{large}?done=approved"
    assert invoice_status(world, large) == "approved"
    assert "De rekening is goedgekeurd" in lead.get(r.headers["location"]).text


def test_the_queue_narrows_by_provider_and_amount_and_says_what_is_wrong_at_its_field(world: dict[str, Any]) -> None:
    small, large = new_invoice(world, "NR-1", "30.00"), new_invoice(world, "NR-2", "120.00")
    fin = browser_as(world, "finance|0014|")
    provider = world["budget"]["lines"][0]["provider_name"]
    page = fin.get("/finance/invoices", params={"provider": provider[2:8].lower(), "min_amount": "100,00"})
    assert page.status_code == 200 and "NR-2" in page.text and "NR-1" not in page.text
    assert f'value="{provider[2:8].lower()}"' in page.text  # the filter stays filled in
    page = fin.get("/finance/invoices", params={"provider": "nobody-such", "status": "received"})
    assert "NR-1" not in page.text and "NR-2" not in page.text
    bad = fin.get("/finance/invoices", params={"max_amount": "veel"})
    assert bad.status_code == 422 and 'id="error-max_amount"' in bad.text and 'aria-invalid="true"' in bad.text
    assert small and large


def test_reject_needs_a_reason_shown_at_its_field(world: dict[str, Any]) -> None:
    invoice_id = new_invoice(world, "W3-R", "20.00")
    fin = browser_as(world, "finance|0014|")
    token = csrf_of(fin, f"/finance/invoices/{invoice_id}")
    r = fin.post(f"/finance/invoices/{invoice_id}/reject", data={"csrf_token": token, "reason": ""})
    assert r.status_code == 422
    assert 'id="error-reason"' in r.text and 'aria-describedby="hint-reason error-reason"' in r.text
    assert invoice_status(world, invoice_id) == "received"
    r = fin.post(f"/finance/invoices/{invoice_id}/reject", data={"csrf_token": token, "reason": "Dubbel gestuurd"})
    assert r.status_code == 303
    assert invoice_status(world, invoice_id) == "rejected"
    assert world["api"].get(f"/budget/v1/invoices/{invoice_id}", headers=FIN).json()["rejection_reason"] == (
        "Dubbel gestuurd")


def test_forms_refuse_a_missing_csrf_token(world: dict[str, Any]) -> None:
    invoice_id = new_invoice(world, "W3-C", "20.00")
    fin = browser_as(world, "finance|0014|")
    for path, data in [
        ("/finance/invoices/approve", {"invoice_ids": invoice_id}),
        (f"/finance/invoices/{invoice_id}/approve", {}),
        (f"/finance/invoices/{invoice_id}/reject", {"reason": "x"}),
        ("/finance/payment-runs", {"execution_date": date.today().isoformat()}),
        ("/finance/payment-runs/some-run/confirm", {"paid_on": date.today().isoformat()}),
        ("/finance/uploads", {}),
    ]:
        assert fin.post(path, data=data).status_code == 403, path
    assert invoice_status(world, invoice_id) == "received"
    assert world["api"].get("/budget/v1/jobs", headers=FIN).json() == []


def test_a_payment_run_is_a_job_with_progress_then_its_totals_file_and_confirmation(world: dict[str, Any]) -> None:
    api = world["api"]
    invoice_id = new_invoice(world, "W3-P", "30.00")
    assert api.post(f"/budget/v1/invoices/{invoice_id}/approve", headers=FIN).status_code == 200
    fin = browser_as(world, "finance|0014|")
    token = csrf_of(fin, "/finance/payment-runs")

    past = (date.today() - timedelta(days=2)).isoformat()
    r = fin.post("/finance/payment-runs", data={"csrf_token": token, "execution_date": past, "pain_schema": ""})
    assert r.status_code == 422 and 'id="error-execution_date"' in r.text

    r = fin.post("/finance/payment-runs", data={"csrf_token": token, "execution_date": date.today().isoformat(),
                                                "pain_schema": ""})
    assert r.status_code == 303
    job_page = r.headers["location"]
    job_id = job_page.rsplit("/", 1)[1]
    page = fin.get(job_page)
    assert page.status_code == 200 and "Wacht op de beurt" in page.text
    assert f'hx-get="/finance/payment-runs/{job_id}/progress"' in page.text and "<progress" in page.text
    assert "Betaalrun wordt gemaakt" in fin.get("/finance/payment-runs").text or job_id in fin.get(
        "/finance/payment-runs").text

    assert run_jobs(world["runtime"]) == 1
    fragment = fin.get(f"/finance/payment-runs/{job_id}/progress")
    run_id = api.get(f"/budget/v1/jobs/{job_id}", headers=FIN).json()["payment_run_id"]
    assert fragment.status_code == 200 and fragment.headers["HX-Redirect"] == f"/finance/payment-runs/{run_id}"
    assert "1 van 1 rekeningen (100%)" in fragment.text
    r = fin.get(job_page)
    assert r.status_code == 303 and r.headers["location"] == f"/finance/payment-runs/{run_id}"

    run_page = fin.get(f"/finance/payment-runs/{run_id}")
    assert "€ 30,00" in run_page.text and "Klaar voor de bank" in run_page.text
    xml = fin.get(f"/finance/payment-runs/{run_id}/pain001")
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert b"CstmrCdtTrfInitn" in xml.content and "attachment" in xml.headers["content-disposition"]

    r = fin.post(f"/finance/payment-runs/{run_id}/confirm", data={"csrf_token": token, "paid_on": "not a date"})
    assert r.status_code == 422 and 'id="error-paid_on"' in r.text
    r = fin.post(f"/finance/payment-runs/{run_id}/confirm",
                 data={"csrf_token": token, "paid_on": date.today().isoformat()})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=confirmed")
    assert api.get(f"/budget/v1/payment-runs/{run_id}", headers=FIN).json()["status"] == "paid"
    assert invoice_status(world, invoice_id) == "paid"

    # Nothing left to pay: the next job fails and says why.
    r = fin.post("/finance/payment-runs", data={"csrf_token": token, "execution_date": date.today().isoformat()})
    run_jobs(world["runtime"])
    failed = fin.get(r.headers["location"])
    assert "Mislukt" in failed.text and "geen goedgekeurde, onbetaalde rekeningen" in failed.text


def test_a_bulk_upload_is_a_job_with_a_result_per_row(world: dict[str, Any]) -> None:
    budget = world["budget"]
    rows = [
        {"budget_line_id": budget["lines"][0]["id"], "invoice_number": "W3-U1", "provider_id": "coach-bv",
         "provider_name": budget["lines"][0]["provider_name"], "provider_iban": "NL91ABNA0417164300",
         "amount": "12.50"},
        {"budget_line_id": budget["lines"][0]["id"], "invoice_number": "W3-U2", "provider_id": "coach-bv",
         "provider_name": budget["lines"][0]["provider_name"], "provider_iban": "NL91ABNA0417164300", "amount": "-5"},
    ]
    fin = browser_as(world, "finance|0014|")
    token = csrf_of(fin, "/finance/uploads")
    r = fin.post("/finance/uploads", data={"csrf_token": token})
    assert r.status_code == 422 and 'id="error-files"' in r.text
    r = fin.post("/finance/uploads", data={"csrf_token": token},
                 files={"files": ("invoices.json", json.dumps(rows).encode(), "application/json")})
    assert r.status_code == 303, r.text
    job_page = r.headers["location"]
    job_id = job_page.rsplit("/", 1)[1]
    assert "Wacht op de beurt" in fin.get(job_page).text
    run_jobs(world["runtime"])
    fragment = fin.get(f"{job_page}/progress")
    assert fragment.headers["HX-Refresh"] == "true"
    page = fin.get(job_page).text
    assert "1 aangenomen, 1 geweigerd" in page and "W3-U1" in page and "W3-U2" in page
    queue = world["api"].get("/budget/v1/invoices", headers=FIN, params={"budget_id": budget["id"]}).json()
    assert "W3-U1" in [i["invoice_number"] for i in queue]
    csv = fin.get(f"/finance/uploads/{job_id}/results.csv")
    assert csv.status_code == 200 and "W3-U2" in csv.text
    assert job_id in fin.get("/finance/uploads").text


def test_statement_downloads_and_another_municipalitys_ids_are_404(world: dict[str, Any]) -> None:
    budget_id = world["budget"]["id"]
    fin = browser_as(world, "finance|0014|")
    csv = fin.get(f"/finance/budgets/{budget_id}/statement/download?format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    pdf = fin.get(f"/finance/budgets/{budget_id}/statement/download?format=pdf&lang=en")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    invoice_id = new_invoice(world, "W3-X", "20.00")
    api = world["api"]
    job = api.post("/budget/v1/invoices/upload-jobs", headers=FIN, json=[{"invoice_number": "x"}]).json()
    utrecht = browser_as(world, "finance|0344|")
    for path in [
        f"/finance/budgets/{budget_id}/statement",
        f"/finance/budgets/{budget_id}/statement/download?format=csv",
        f"/finance/invoices/{invoice_id}",
        f"/finance/payment-runs/{job['id']}",
        f"/finance/uploads/{job['id']}",
        f"/finance/uploads/{job['id']}/progress",
    ]:
        assert utrecht.get(path).status_code == 404, path
    token = csrf_of(utrecht, "/finance/invoices")
    assert utrecht.post(f"/finance/invoices/{invoice_id}/approve", data={"csrf_token": token}).status_code == 404
    r = utrecht.post("/finance/invoices/approve", data={"csrf_token": token, "invoice_ids": invoice_id})
    assert r.headers["location"] == "/finance/invoices?approved=0&refused=1"
    assert invoice_status(world, invoice_id) == "received"
