"""A migrated runtime on a fixed day (2026-03-02, Amsterdam) for the progress and follow-up tests,
and plan trajectories started the way intake starts them: a PlanApproved event whose lines name
a provider by its KvK number."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient

from eigenregie.bootstrap import load_service
from shared.bus.consumer import Outcome, consume
from shared.clock import FrozenClock
from shared.config import Settings
from shared.runtime import Runtime
from tests.support.auth import auth
from tests.support.databases import scratch_database
from tests.support.events import event_of
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

START = date(2026, 3, 2)
KVK, OTHER_KVK = "12345678", "87654321"
KM, TL = auth("case_manager", "0014"), auth("team_lead", "0014")


@contextmanager
def fixed_world(request, folder: Path, database: str) -> Iterator[tuple[Runtime, TestClient, FrozenClock]]:
    clock = FrozenClock.on(START)
    if database == "sqlite":
        runtime = migrated_runtime(Settings(data_dir=folder, environment="test"), clock=clock)
        yield runtime, api_client(runtime), clock
        return
    with scratch_database(request.getfixturevalue("pg_admin_url"), "prb_progress") as url:
        runtime = migrated_runtime(Settings(database_url=url, environment="test"), clock=clock)
        try:
            yield runtime, api_client(runtime), clock
        finally:
            runtime.engine.dispose()


@dataclass
class Plan:
    plan_id: str
    client_id: str
    municipality: str

    def client(self) -> dict[str, str]:
        return auth("client", self.municipality, subject=f"client-{self.client_id[:8]}", client_id=self.client_id)

    def url(self, tail: str = "") -> str:
        return f"/monitoring/v1/trajectories/{self.plan_id}{tail}"


def _handle(runtime: Runtime, clock: FrozenClock, event_type: str, plan_id: str, municipality: str, payload) -> None:
    event = event_of(
        event_type,
        tenant=municipality,
        subject=plan_id,
        producer="intake",
        correlation_id="c",
        occurred_at=clock.now(),
        payload=payload,
    )
    handlers = load_service("monitoring").event_handlers
    outcome = consume(runtime.engine, "monitoring", event.model_dump_json(), handlers, max_attempts=1, clock=clock)
    assert outcome == Outcome.HANDLED


def start_plan(
    runtime: Runtime,
    clock: FrozenClock,
    *,
    municipality: str = "0014",
    deadline: date = date(2027, 3, 2),
    provider_kvk: str | None = KVK,
    ends_on: tuple[date, ...] = (),
) -> Plan:
    """A plan approved today (the clock's day), granted EUR 1,000 on one coaching line (or one per
    `ends_on`: coaching lines whose activity ends on those days)."""
    plan = Plan(str(uuid.uuid4()), str(uuid.uuid4()), municipality)
    _handle(
        runtime,
        clock,
        "PlanApproved",
        plan.plan_id,
        municipality,
        {
            "plan_id": plan.plan_id,
            "client_id": plan.client_id,
            "plan_version": 1,
            "scheme": "prb",
            "granted_cents": 1000_00,
            "execution_deadline": deadline.isoformat(),
            "lines": [
                {
                    "plan_line_id": str(uuid.uuid4()),
                    "category": "coaching",
                    "granted_cents": 1000_00 // max(1, len(ends_on)),
                    "provider_kvk": provider_kvk,
                    "provider_name": "Coach BV",
                    **({"ends_on": end.isoformat()} if end else {}),
                }
                for end in (ends_on or (None,))
            ],
        },
    )
    return plan


def close_plan(runtime: Runtime, clock: FrozenClock, plan: Plan) -> None:
    _handle(
        runtime,
        clock,
        "TrajectoryClosed",
        plan.plan_id,
        plan.municipality,
        {
            "plan_id": plan.plan_id,
            "client_id": plan.client_id,
            "reason": "completed",
            "closed_on": clock.today().isoformat(),
        },
    )


def change_deadline(runtime: Runtime, clock: FrozenClock, plan: Plan, deadline: date) -> None:
    """An approved change request that moves the execution deadline."""
    _handle(
        runtime,
        clock,
        "PlanChanged",
        plan.plan_id,
        plan.municipality,
        {
            "plan_id": plan.plan_id,
            "client_id": plan.client_id,
            "plan_version": 2,
            "change_id": str(uuid.uuid4()),
            "granted_cents": 1000_00,
            "lines": [
                {
                    "plan_line_id": str(uuid.uuid4()),
                    "category": "coaching",
                    "granted_cents": 1000_00,
                    "provider_kvk": KVK,
                }
            ],
            "execution_deadline": deadline.isoformat(),
        },
    )


def on_day(clock: FrozenClock, day: date, hour: int = 9) -> None:
    clock.instant = FrozenClock.on(day, hour).instant
