"""The review's race, as it was found: two budget API processes on PostgreSQL, 16 client threads.

Orders, invoices and approvals on one 500.00 line, spread over both processes. Every answer is a
decision (201/200, or a 4xx/503 problem), never a 500; afterwards the ledger is whole and
nothing was drawn beyond the line.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.budget.models import BudgetLine
from shared.config import Settings
from tests.integration.budget.support import COACH_PROVIDER_ID, invoice_body, ledger_consistent, open_budget
from tests.support.auth import auth
from tests.support.environment import free_port
from tests.support.processes import Processes
from tests.support.runtime import migrated_runtime

TENANT = "0344"
THREADS = 16


@pytest.fixture
def two_budget_apis(fresh_pg_url: str, redis_url: str, tmp_path: Path):
    procs = Processes({"DATABASE_URL": fresh_pg_url, "BROKER_URL": redis_url, "PRB_ENVIRONMENT": "test",
                       "PRB_DATA_DIR": str(tmp_path / "data"), "PRB_LOG_LEVEL": "WARNING"}, tmp_path)
    runtime = migrated_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    urls = []
    for n in range(2):
        port = free_port()
        procs.start(f"budget-{n}", "serve", "budget", "--port", str(port))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            procs.wait_healthy(url)
        yield runtime, urls, procs
    finally:
        procs.stop()
        runtime.engine.dispose()


def test_orders_invoices_and_approvals_from_16_threads_on_two_processes_never_overdraw_or_answer_500(
        two_budget_apis):
    runtime, urls, procs = two_budget_apis
    b = open_budget(runtime, TENANT, lines=[{"category": "coaching", "granted_cents": 500_00,
                                             "provider_name": "Coach BV"}])
    line_id, budget_id = b["line_ids"][0], b["budget_id"]
    finance = [auth("finance", TENANT, subject=f"fin-{i}") for i in range(2)]
    provider = auth("provider", TENANT, provider_id=COACH_PROVIDER_ID)
    base = itertools.cycle(urls)
    with httpx.Client(timeout=30) as client:
        waiting = []
        for i in range(8):  # 8 x 55.00 waiting for approval: 440.00
            response = client.post(f"{next(base)}/budget/v1/invoices", headers=provider,
                                   json=invoice_body(line_id, f"H-{i}", "55.00"))
            assert response.status_code == 201, response.text
            waiting.append(response.json()["id"])

        def call(job: tuple[str, int]) -> tuple[str, int]:
            kind, i = job
            url = urls[i % 2]
            if kind == "order":
                response = client.post(f"{url}/budget/v1/budgets/{budget_id}/orders", headers=finance[i % 2], json={
                    "budget_line_id": line_id, "order_reference": f"O-{uuid.uuid4().hex[:8]}",
                    "provider_name": "Coach BV", "amount": "55.00"})
            elif kind == "invoice":
                response = client.post(f"{url}/budget/v1/invoices", headers=provider,
                                       json=invoice_body(line_id, f"N-{i}", "55.00"))
            else:
                response = client.post(f"{url}/budget/v1/invoices/{waiting[i % len(waiting)]}/approve",
                                       headers=finance[i % 2])
            if response.status_code >= 400:
                assert response.headers["content-type"].startswith("application/problem+json"), response.text
            return kind, response.status_code

        jobs = [("order", i) for i in range(40)] + [("invoice", i) for i in range(10)] + \
               [("approval", i) for i in range(16)]
        random.Random(8).shuffle(jobs)  # the kinds arrive mixed, as from many clients
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            answers = Counter(pool.map(call, jobs))

    assert not [a for a in answers if a[1] >= 500 and a[1] != 503], f"{answers}\n{procs.logs()}"
    assert answers[("order", 201)] > 0, answers
    ledger_consistent(runtime)
    with runtime.engine.connect() as conn:
        line = conn.execute(sa.select(BudgetLine).where(BudgetLine.id == line_id)).one()
    assert line.committed_cents + line.held_cents + line.payable_cents + line.paid_cents <= 500_00
    assert line.committed_cents == 55_00 * answers[("order", 201)]
    assert line.payable_cents == 55_00 * answers[("approval", 200)]
    # Far more was asked than the line holds: it ends full, nine times 55.00, whoever won.
    assert line.committed_cents + line.payable_cents == 9 * 55_00, answers
