"""Budget tests start from the events the budget service consumes, as intake would send them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from eigenregie.bootstrap import load_service
from services.budget.models import Budget, BudgetLine, LedgerEntry
from shared.bus.consumer import Outcome, consume
from shared.bus.tables import bus_tables
from shared.clock import FrozenClock
from shared.config import Settings
from shared.runtime import Runtime
from tests.support.auth import auth
from tests.support.events import event_of
from tests.support.runtime import migrated_runtime
from tests.support.world import migrated_app

# The budget tests' today: every runtime they build runs on a clock frozen on this day, so dates
# relative to it (service periods, execution dates, due months) mean the same on any day they run.
TODAY = date(2026, 11, 23)
IBAN = "NL91ABNA0417164300"
# A provider's token proves its KvK number (provider_id "kvk:<number>"); plan lines name the
# providers' KvK numbers, so a provider's own invoice needs no client confirmation.
PROVIDER_KVK = {"Coach BV": "30212345", "SimplerInvoicing": "69639087"}
COACH_PROVIDER_ID = f"kvk:{PROVIDER_KVK['Coach BV']}"
SIMPLER_PROVIDER_ID = f"kvk:{PROVIDER_KVK['SimplerInvoicing']}"


def frozen_clock() -> FrozenClock:
    """Frozen on TODAY; each `now()` a microsecond after the last (lists are ordered by time)."""
    return FrozenClock.on(TODAY, tick=timedelta(microseconds=1))


def budget_runtime(settings: Settings, **kwargs: Any) -> Runtime:
    """A migrated runtime on the frozen clock."""
    return migrated_runtime(settings, clock=frozen_clock(), **kwargs)


def budget_app(request: Any, tmp_path: Any, database: str = "sqlite") -> tuple[Runtime, TestClient]:
    """tests.support.world.migrated_app on the frozen clock: SQLite, or a fresh PostgreSQL database."""
    return migrated_app(request, tmp_path, database, clock=frozen_clock())


def deliver(runtime: Runtime, event_type: str, tenant: str, subject: str, payload: dict[str, Any]) -> None:
    event = event_of(
        event_type, tenant=tenant, subject=subject, producer="intake", correlation_id="test", payload=payload
    )
    outcome = consume(
        runtime.engine,
        "budget",
        event.model_dump_json(),
        load_service("budget").event_handlers,
        max_attempts=1,
        clock=runtime.clock,
    )
    assert outcome == Outcome.HANDLED, outcome


def open_budget(
    runtime: Runtime,
    tenant: str = "0344",
    *,
    lines: list[dict[str, Any]] | None = None,
    scheme: str = "prb",
    client_id: str | None = None,
) -> dict[str, Any]:
    plan_id, client_id = str(uuid.uuid4()), client_id or str(uuid.uuid4())
    lines = lines or [{"category": "coaching", "granted_cents": 1000_00, "provider_name": "Coach BV"}]
    granted = [
        {
            "plan_line_id": str(uuid.uuid4()),
            "starts_on": (TODAY - timedelta(days=30)).isoformat(),
            "ends_on": (TODAY + timedelta(days=200)).isoformat(),
            "provider_kvk": PROVIDER_KVK.get(line.get("provider_name") or ""),
            **line,
        }
        for line in lines
    ]
    deliver(
        runtime,
        "PlanApproved",
        tenant,
        plan_id,
        {
            "plan_id": plan_id,
            "client_id": client_id,
            "plan_version": 2,
            "scheme": scheme,
            "granted_cents": sum(line["granted_cents"] for line in lines),
            "execution_deadline": (TODAY + timedelta(days=365)).isoformat(),
            "lines": granted,
        },
    )
    with runtime.engine.connect() as conn:
        budget = conn.execute(sa.select(Budget).where(Budget.plan_id == plan_id)).one()
        line_rows = conn.execute(sa.select(BudgetLine).where(BudgetLine.budget_id == budget.id)).all()
    by_plan_line = {row.plan_line_id: row for row in line_rows}
    return {
        "plan_id": plan_id,
        "client_id": client_id,
        "budget_id": budget.id,
        "tenant": tenant,
        "line_ids": [by_plan_line[g["plan_line_id"]].id for g in granted],
        "plan_lines": granted,
        "client": auth("client", tenant, subject=f"c-{client_id[:6]}", client_id=client_id),
    }


def invoice_body(line_id: str, number: str, amount: str = "100.00", **extra: Any) -> dict[str, Any]:
    return {
        "budget_line_id": line_id,
        "invoice_number": number,
        "provider_id": "coach-bv",
        "provider_name": "Coach BV",
        "provider_iban": IBAN,
        "amount_excl_vat": amount,
        "vat": "0.00",
        "service_from": TODAY.isoformat(),
        **extra,
    }


def outbox_types(runtime: Runtime) -> list[str]:
    outbox = bus_tables("budget").outbox
    with runtime.engine.connect() as conn:
        return list(conn.execute(sa.select(outbox.c.event_type).order_by(outbox.c.id)).scalars())


def ledger_consistent(runtime: Runtime) -> None:
    """Cached balances equal the ledger's sums, and each line's equation holds."""
    with runtime.engine.connect() as conn:
        sums: dict[tuple[str, str], int] = {}
        for line_id, account, total in conn.execute(
            sa.select(LedgerEntry.budget_line_id, LedgerEntry.account, sa.func.sum(LedgerEntry.amount_cents)).group_by(
                LedgerEntry.budget_line_id, LedgerEntry.account
            )
        ):
            sums[(line_id, account)] = total
        for tx_total in conn.execute(
            sa.select(sa.func.sum(LedgerEntry.amount_cents)).group_by(LedgerEntry.transaction_id)
        ).scalars():
            assert tx_total == 0
        for line in conn.execute(sa.select(BudgetLine)).all():
            assert -sums.get((line.id, "funding"), 0) == line.granted_cents
            assert sums.get((line.id, "available"), 0) == line.available_cents >= 0
            assert sums.get((line.id, "committed"), 0) == line.committed_cents >= 0
            assert sums.get((line.id, "held"), 0) == line.held_cents >= 0
            assert sums.get((line.id, "payable"), 0) == line.payable_cents >= 0
            assert sums.get((line.id, "paid"), 0) == line.paid_cents >= 0
            assert line.granted_cents == (
                line.available_cents + line.committed_cents + line.held_cents + line.payable_cents + line.paid_cents
            )
