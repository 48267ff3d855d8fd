"""Embedded mode's bus on SQLite: the same outbox, inbox and dead letters, in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import sqlalchemy as sa
import structlog

from eigenregie.bootstrap import load_service
from services.monitoring.models import Trajectory
from shared.bus.consumer import Outcome, consume
from shared.bus.dead_letters import list_dead_letters
from shared.bus.embedded import InProcessPublisher
from shared.bus.relay import pending_count
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.support.auth import auth
from tests.support.environment import REPO
from tests.support.events import emit_of, event_of
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client


def _plan_approved(plan_id: str):
    return event_of("PlanApproved", tenant="0014", subject=plan_id, producer="intake", correlation_id="c",
                     payload={"plan_id": plan_id, "client_id": "c-1", "plan_version": 2, "scheme": "prb",
                              "granted_cents": 500, "execution_deadline": "2027-01-01",
                              "lines": [{"plan_line_id": "l", "category": "coaching", "granted_cents": 500}]})


def test_redelivered_event_has_one_effect_on_sqlite(tmp_path):
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
    handlers = load_service("monitoring").event_handlers
    plan_id = str(uuid.uuid4())
    consume(runtime.engine, "monitoring", _plan_approved(plan_id).model_dump_json(), handlers)
    paid = event_of("InvoicePaid", tenant="0014", subject=plan_id, producer="budget", correlation_id="c",
                     payload={"invoice_id": "i", "budget_id": "b", "plan_id": plan_id, "client_id": "c-1",
                              "amount_cents": 120, "paid_on": "2026-01-01"}).model_dump_json()
    outcomes = [consume(runtime.engine, "monitoring", paid, handlers) for _ in range(3)]
    assert outcomes == [Outcome.HANDLED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(Trajectory.spent_cents).where(Trajectory.plan_id == plan_id)).scalar() == 120


def test_failing_handler_is_dead_lettered_then_replayed_with_the_cli_in_embedded_mode(tmp_path):
    settings = Settings(data_dir=tmp_path, environment="test", event_max_attempts=2)
    runtime = migrated_runtime(settings)
    plan_id = str(uuid.uuid4())
    opened = event_of("BudgetOpened", tenant="0014", subject=plan_id, producer="budget", correlation_id="c",
                       payload={"budget_id": "b-1", "plan_id": plan_id, "client_id": "c-1", "granted_cents": 5})
    publisher = InProcessPublisher(runtime.engine, {"monitoring": load_service("monitoring").event_handlers},
                                   max_attempts=2, retry_base_seconds=0.01)
    publisher.publish("monitoring", "BudgetOpened", opened.model_dump_json())
    [letter] = list_dead_letters(runtime.engine)
    assert letter.attempts == 2 and "not known yet" in letter.reason

    consume(runtime.engine, "monitoring", _plan_approved(plan_id).model_dump_json(),
            load_service("monitoring").event_handlers)
    env = {**os.environ, "PRB_DATA_DIR": str(tmp_path), "PRB_ENVIRONMENT": "test"}
    env.pop("DATABASE_URL", None), env.pop("BROKER_URL", None)
    listed = subprocess.run([sys.executable, "-m", "eigenregie.entrypoints.cli", "events", "dead-letters"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert letter.id in listed.stdout, listed.stderr
    replay = subprocess.run([sys.executable, "-m", "eigenregie.entrypoints.cli", "events", "replay", letter.id], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    assert list_dead_letters(runtime.engine) == []
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(Trajectory.budget_id).where(Trajectory.plan_id == plan_id)).scalar() == "b-1"
    again = subprocess.run([sys.executable, "-m", "eigenregie.entrypoints.cli", "events", "replay", letter.id], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode != 0 and "already replayed" in again.stderr


def test_state_change_and_its_event_commit_together_or_not_at_all(tmp_path):
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
    with runtime.uow("intake") as uow:
        emit_of(uow, "PlanRejected", tenant="0014", subject="p", payload={"plan_id": "p", "client_id": "c",
                                                                      "plan_version": 2})
        # leaving without commit: the event must not exist
    assert pending_count(runtime.engine, "intake") == 0


def test_correlation_id_travels_from_the_request_through_events_to_handler_logs(tmp_path, capsys):
    from shared.logging import configure_logging

    configure_logging("DEBUG", json=True)  # each event's own line is at DEBUG
    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
    http = api_client(runtime)
    km = auth("case_manager", "0014")
    cid = "req-" + uuid.uuid4().hex
    from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan, test_bsn

    r = http.post("/intake/v1/clients", headers={**km, "X-Correlation-ID": cid},
                  json={"bsn": test_bsn(5), "client_number": "K", "name": "N", "facts": ELIGIBLE_FACTS})
    assert r.headers["x-correlation-id"] == cid
    client_id = r.json()["id"]
    plan = http.post("/intake/v1/plans", headers={**km, "X-Correlation-ID": cid}, json={
        "client_id": client_id, **example_plan("Kok", [("Coaching", "coaching", "Coach BV", "5.00")])}).json()
    v = http.post(f"/intake/v1/plans/{plan['id']}/submit", headers={**km, "X-Correlation-ID": cid},
                  json={"plan_version": 1}).json()["version"]
    http.post(f"/intake/v1/plans/{plan['id']}/decisions", headers={**km, "X-Correlation-ID": cid},
              json={"plan_version": v, "kind": "approve"})
    with runtime.engine.connect() as conn:
        outbox = bus_tables("intake").outbox
        envelopes = [json.loads(e) for e in conn.execute(sa.select(outbox.c.envelope)).scalars()]
    assert envelopes and all(e["correlation_id"] == cid for e in envelopes)
    capsys.readouterr()
    drain(runtime)
    handled = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"event.handled"' in line]
    assert handled and all(h["correlation_id"] == cid for h in handled)
    # BudgetOpened, caused by PlanApproved, carries the same correlation id and names its cause.
    with runtime.engine.connect() as conn:
        budget_events = [json.loads(e) for e in conn.execute(sa.select(bus_tables("budget").outbox.c.envelope)).scalars()]
    assert budget_events[0]["correlation_id"] == cid and budget_events[0]["causation_id"]
    structlog.reset_defaults()


def test_old_published_events_and_inbox_ids_are_pruned_but_pending_ones_are_kept(tmp_path):
    from datetime import datetime, timedelta, timezone

    from shared.bus.maintenance import prune_bus_tables

    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
    for _ in range(2):
        with runtime.uow("intake") as uow:
            emit_of(uow, "PlanRejected", tenant="0014", subject="p", payload={"plan_id": "p", "client_id": "c",
                                                                          "plan_version": 2})
            uow.commit()
    drain(runtime)
    with runtime.uow("intake") as uow:
        emit_of(uow, "PlanRejected", tenant="0014", subject="q", payload={"plan_id": "q", "client_id": "c",
                                                                      "plan_version": 2})
        uow.commit()
    later = datetime.now(timezone.utc) + timedelta(days=31)
    assert prune_bus_tables(runtime.engine, "intake", now=later) == (2, 0)
    assert prune_bus_tables(runtime.engine, "notifications", now=later) == (0, 2)
    assert pending_count(runtime.engine, "intake") == 1


def test_a_handler_gets_the_typed_payload_validated_once_and_an_unhandled_version_is_dead_lettered(tmp_path):
    from contracts.events import PlanApprovedV1, PlanApprovedV2

    runtime = migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
    seen = []
    handlers = {version: lambda uow, payload, envelope: seen.append((payload, envelope.type))
                for version in (PlanApprovedV1, PlanApprovedV2)}
    plan_id = str(uuid.uuid4())
    assert consume(runtime.engine, "monitoring", _plan_approved(plan_id).model_dump_json(), handlers) == Outcome.HANDLED
    [(payload, event_type)] = seen
    assert isinstance(payload, PlanApprovedV1) and payload.plan_id == plan_id and event_type == "PlanApproved"
    # A known type that this service has no handler for is a dead letter that says which type and version.
    other = json.loads(_plan_approved(str(uuid.uuid4())).model_dump_json())
    assert consume(runtime.engine, "monitoring", other, {}) == Outcome.DEAD_LETTERED
    [letter] = list_dead_letters(runtime.engine)
    assert "has no handler for PlanApproved version 2" in letter.reason
