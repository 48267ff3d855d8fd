"""Budget jobs: a payment run and a bulk upload of invoices queued (202), run by the worker job
with its progress, readable by whom it belongs to (others: 404)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.budget import queued_jobs
from services.budget.queued_jobs import CHUNK, run_queued_jobs
from tests.integration.budget.support import TODAY, budget_app, invoice_body, open_budget
from tests.support.auth import auth

FIN = auth("finance", "0344", subject="fin-a")


def _run(runtime: Any) -> int:
    with runtime.uow("budget") as uow:
        return run_queued_jobs(uow)


def test_a_payment_run_job_runs_in_the_worker_and_names_its_run(request: Any, tmp_path: Any) -> None:
    runtime, http = budget_app(request, tmp_path)
    budget = open_budget(runtime)
    ids = []
    for n in range(3):
        r = http.post(f"/budget/v1/budgets/{budget['budget_id']}/invoices", headers=FIN,
                      json=invoice_body(budget["line_ids"][0], f"J-{n}", "10.00"))
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = http.post("/budget/v1/invoices/approve", headers=FIN, json={"invoice_ids": ids})
    assert all(item["status"] == "accepted" for item in r.json()), r.text

    r = http.post("/budget/v1/payment-runs/jobs", headers=FIN, json={"execution_date": TODAY.isoformat()})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and job["kind"] == "payment_run"
    assert http.get(f"/budget/v1/jobs/{job['id']}", headers=FIN).json()["status"] == "queued"

    assert _run(runtime) == 1
    done = http.get(f"/budget/v1/jobs/{job['id']}", headers=FIN).json()
    assert done["status"] == "done" and done["done"] == done["total"] == 3, done
    run = http.get(f"/budget/v1/payment-runs/{done['payment_run_id']}", headers=FIN).json()
    assert run["item_count"] == 3 and run["total"] == "30.00"
    assert [j["id"] for j in http.get("/budget/v1/jobs", headers=FIN, params={"kind": "payment_run"}).json()] == [
        job["id"]]

    # Nothing payable any more: the next job fails with the rule's code; a past date is a 422 at once.
    http.post("/budget/v1/payment-runs/jobs", headers=FIN, json={"execution_date": TODAY.isoformat()})
    _run(runtime)
    latest = http.get("/budget/v1/jobs", headers=FIN).json()[0]
    assert latest["status"] == "failed" and latest["error_code"] == "payment_run.empty"
    past = (TODAY - timedelta(days=1)).isoformat()
    assert http.post("/budget/v1/payment-runs/jobs", headers=FIN, json={"execution_date": past}).status_code == 422

    # Another municipality, a provider, the client side: not theirs.
    assert http.get(f"/budget/v1/jobs/{job['id']}", headers=auth("finance", "0014")).status_code == 404
    provider = auth("provider", "0344", provider_id="coach-bv")
    assert http.get(f"/budget/v1/jobs/{job['id']}", headers=provider).status_code == 404
    assert http.get(f"/budget/v1/jobs/{job['id']}", headers=budget["client"]).status_code == 403
    assert http.post("/budget/v1/payment-runs/jobs", headers=provider,
                     json={"execution_date": TODAY.isoformat()}).status_code == 403


def test_an_upload_job_takes_invoices_in_chunks_with_a_result_per_row(request: Any, tmp_path: Any) -> None:
    runtime, http = budget_app(request, tmp_path)
    budget = open_budget(runtime)
    rows = [invoice_body(budget["line_ids"][0], f"U-{n}", "1.00") for n in range(CHUNK + 5)]
    rows.append(invoice_body(budget["line_ids"][0], "U-0", "1.00"))  # a duplicate
    r = http.post("/budget/v1/invoices/upload-jobs", headers=FIN, json=rows)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.json()["total"] == CHUNK + 6 and r.json()["done"] == 0
    _run(runtime)
    job = http.get(f"/budget/v1/jobs/{job_id}", headers=FIN).json()
    assert job["status"] == "done" and job["done"] == CHUNK + 6
    assert job["accepted"] == CHUNK + 5 and job["rejected"] == 1
    assert job["results"][-1]["status"] == "rejected"
    queue = http.get("/budget/v1/invoices", headers=FIN, params={"budget_id": budget["budget_id"]})
    assert int(queue.headers["X-Total-Count"]) == CHUNK + 5
    csv = http.get(f"/budget/v1/jobs/{job_id}/results.csv", headers=FIN)
    assert csv.status_code == 200 and "U-0" in csv.text
    assert http.post("/budget/v1/invoices/upload-jobs", headers=FIN, json=[]).status_code == 422
    assert http.get(f"/budget/v1/jobs/{job_id}", headers=auth("finance", "0014")).status_code == 404


def test_invoice_lists_narrow_by_provider_and_amount(request: Any, tmp_path: Any) -> None:
    runtime, http = budget_app(request, tmp_path)
    budget = open_budget(runtime)
    for n, amount in enumerate(("5.00", "50.00")):
        r = http.post(f"/budget/v1/budgets/{budget['budget_id']}/invoices", headers=FIN,
                      json=invoice_body(budget["line_ids"][0], f"F-{n}", amount))
        assert r.status_code == 201, r.text
    for path in ("/budget/v1/invoices", "/budget/v1/approval-queue"):
        numbers = [i["invoice_number"] for i in http.get(path, headers=FIN, params={"min_amount": "10"}).json()]
        assert numbers == ["F-1"], path
        assert len(http.get(path, headers=FIN, params={"provider": "coach", "max_amount": "60.00"}).json()) == 2
        assert http.get(path, headers=FIN, params={"provider": "nobody"}).json() == []
        assert http.get(path, headers=FIN, params={"min_amount": "-1"}).status_code == 422


def test_an_upload_whose_worker_died_is_taken_up_again_after_its_last_committed_chunk(
    request: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    runtime, http = budget_app(request, tmp_path)
    budget = open_budget(runtime)
    rows = [invoice_body(budget["line_ids"][0], f"K-{n}", "1.00") for n in range(CHUNK + 5)]
    job_id = http.post("/budget/v1/invoices/upload-jobs", headers=FIN, json=rows).json()["id"]

    # The worker dies (as by SIGKILL: nothing of it runs on) in the second chunk's third invoice.
    accept, calls = queued_jobs.invoices_in.accept_invoice, []

    def dying(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == CHUNK + 3:
            raise SystemExit("killed")
        return accept(*args, **kwargs)

    monkeypatch.setattr(queued_jobs.invoices_in, "accept_invoice", dying)
    with pytest.raises(SystemExit):
        _run(runtime)
    monkeypatch.setattr(queued_jobs.invoices_in, "accept_invoice", accept)
    job = http.get(f"/budget/v1/jobs/{job_id}", headers=FIN).json()
    assert job["status"] == "running" and job["done"] == CHUNK and len(job["results"]) == CHUNK

    assert _run(runtime) == 0  # its heartbeat is fresh: perhaps it still runs somewhere
    runtime.clock.advance(queued_jobs.STALE_AFTER + timedelta(seconds=1))  # type: ignore[attr-defined]
    assert _run(runtime) == 1
    job = http.get(f"/budget/v1/jobs/{job_id}", headers=FIN).json()
    assert job["status"] == "done" and job["done"] == CHUNK + 5 and job["accepted"] == CHUNK + 5
    assert [r["index"] for r in job["results"]] == list(range(CHUNK + 5))
    queue = http.get("/budget/v1/invoices", headers=FIN, params={"budget_id": budget["budget_id"], "page_size": 100})
    assert sorted(i["invoice_number"] for i in queue.json()) == sorted(f"K-{n}" for n in range(CHUNK + 5))
