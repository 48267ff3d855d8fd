"""Issue 14: 10,000 invoices from many clients' providers on small budgets, over HTTP to two budget
API processes on one PostgreSQL, from 16 threads: single invoices and batches racing for the same
lines, with approvals among them. Far more is asked than the budgets hold. Afterwards no budget
line is below zero, the ledger balances to the cent, every line's accepted invoices fit in it, and
no answer was a 5xx other than a 503 (which a caller retries).

PRB_FAULT_INVOICES sets the number (docs/reliability.md records the runs)."""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa

from services.budget.models import BudgetLine, Invoice
from tests.e2e.test_money_races_over_http import TENANT, two_budget_apis  # noqa: F401 - the fixture
from tests.integration.budget.support import COACH_PROVIDER_ID, invoice_body, ledger_consistent, open_budget
from tests.support.auth import auth

INVOICES = int(os.environ.get("PRB_FAULT_INVOICES", "10000"))
CLIENTS = 40
LINE_CENTS = 300_00
BATCH = 50  # invoices per bulk request; half of all invoices come in batches
THREADS = 16


def test_ten_thousand_conflicting_invoices_never_overdraw_a_budget_and_the_ledger_balances(two_budget_apis):  # noqa: F811
    runtime, urls, procs = two_budget_apis
    lines = [open_budget(runtime, TENANT, lines=[{"category": "coaching", "granted_cents": LINE_CENTS,
                                                  "provider_name": "Coach BV"}])["line_ids"][0]
             for _ in range(CLIENTS)]
    provider = auth("provider", TENANT, provider_id=COACH_PROVIDER_ID)
    finance = auth("finance", TENANT)
    rng = random.Random(14)
    numbers = itertools.count()

    def invoice() -> dict:
        amount = f"{rng.randint(5, 60)}.{rng.randint(0, 99):02d}"
        return invoice_body(rng.choice(lines), f"F-{next(numbers)}", amount)

    singles = [invoice() for _ in range(INVOICES // 2)]
    batches = [[invoice() for _ in range(BATCH)] for _ in range((INVOICES - len(singles)) // BATCH)]
    jobs = [("single", body) for body in singles] + [("batch", body) for body in batches]
    rng.shuffle(jobs)
    answers: Counter[tuple[str, int]] = Counter()
    refusals: Counter[str] = Counter()
    accepted_ids: list[str] = []
    started = time.monotonic()

    with httpx.Client(timeout=60) as client:

        def call(i_job: tuple[int, tuple[str, object]]) -> None:
            i, (kind, body) = i_job
            url = urls[i % 2]
            if kind == "single":
                r = client.post(f"{url}/budget/v1/invoices", headers=provider, json=body)
            else:
                r = client.post(f"{url}/budget/v1/invoices/bulk", headers=provider, json=body)
            answers[(kind, r.status_code)] += 1
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), r.text[:300]
                refusals[r.json().get("code", "?")] += 1
            elif kind == "single":
                accepted_ids.append(r.json()["id"])
                if i % 7 == 0:  # finance approves some while invoices keep coming
                    approve = client.post(f"{urls[(i + 1) % 2]}/budget/v1/invoices/{r.json()['id']}/approve",
                                          headers=finance)
                    answers[("approve", approve.status_code)] += 1
            else:
                for item in r.json()["results"]:
                    refusals[item.get("code") or "accepted"] += 1

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(call, enumerate(jobs)))
    took = time.monotonic() - started

    server_errors = {k: n for k, n in answers.items() if k[1] >= 500 and k[1] != 503}
    assert not server_errors, f"{answers}\n{procs.logs()}"
    ledger_consistent(runtime)  # every transaction sums to zero, no account below zero, caches equal the ledger
    with runtime.engine.connect() as conn:
        for line in conn.execute(sa.select(BudgetLine).where(BudgetLine.id.in_(lines))).all():
            assert line.available_cents >= 0
            assert line.held_cents + line.payable_cents + line.paid_cents + line.committed_cents <= LINE_CENTS
        accepted = conn.execute(sa.select(sa.func.count()).select_from(Invoice)
                                .where(Invoice.budget_line_id.in_(lines))).scalar_one()
    assert 0 < accepted < INVOICES  # they conflicted: some fitted, most did not
    print(f"\n[10k-invoices] {INVOICES} invoices ({len(singles)} single, {len(batches)} batches of {BATCH}) on "
          f"{CLIENTS} lines of {LINE_CENTS / 100:.2f} in {took:.1f} s ({INVOICES / took:.0f}/s): {accepted} accepted; "
          f"answers {dict(answers)}; codes {dict(refusals.most_common(6))}")
