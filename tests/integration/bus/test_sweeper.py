"""The delivery sweeper: published is not delivered; what an inbox lacks is published again, to that
subscriber only, until every subscriber has it (or dead-lettered it)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from shared.bus.maintenance import prune_bus_tables
from shared.bus.relay import BrokerUnavailable, OutboxRelay, undelivered_count
from shared.bus.sweeper import next_check_delay
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.support.events import emit_of
from tests.support.runtime import drain, migrated_runtime

TENANT = "0014"


class Recorder:
    """A batching publisher that records (target, event ids) and can be told to fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.broken = False

    def publish(self, service, event_type, envelope_json):  # pragma: no cover - batches are preferred
        raise AssertionError("a batching publisher gets batches")

    def publish_batch(self, service, items):
        if self.broken:
            raise ConnectionError("broker gone")
        import json

        self.sent.extend((service, json.loads(envelope)["event_id"]) for _, envelope in items)


@pytest.fixture(params=["postgres", "sqlite"])
def runtime(request, tmp_path):
    if request.param == "postgres":
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    else:
        settings = Settings(data_dir=tmp_path, environment="test")
    rt = migrated_runtime(settings)
    yield rt
    rt.engine.dispose()


def _approve(runtime) -> str:
    plan_id = str(uuid.uuid4())
    with runtime.uow("intake") as uow:
        env = emit_of(uow, "PlanApproved", tenant=TENANT, subject=plan_id, payload={
            "plan_id": plan_id, "client_id": "c-1", "plan_version": 2, "scheme": "prb", "granted_cents": 100,
            "execution_deadline": "2027-06-30",
            "lines": [{"plan_line_id": "l1", "category": "coaching", "granted_cents": 100}]})
        uow.commit()
    return str(env.event_id)


def _record_inbox(runtime, service: str, event_id: str) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(sa.insert(bus_tables(service).inbox).values(
            event_id=event_id, event_type="PlanApproved", handled_at=datetime.now(timezone.utc)))


def _record_dead_letter(runtime, service: str, event_id: str) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(sa.insert(bus_tables(service).dead_letter).values(
            id=str(uuid.uuid4()), event_id=event_id, event_type="PlanApproved", envelope="{}", reason="test",
            attempts=5, created_at=datetime.now(timezone.utc)))


def _row(runtime, event_id: str):
    outbox = bus_tables("intake").outbox
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(outbox).where(outbox.c.event_id == event_id)).one()


def test_the_sweeper_publishes_again_only_to_the_subscriber_that_lacks_the_event(runtime):
    recorder = Recorder()
    relay = OutboxRelay(runtime.engine, ["intake"], recorder, redeliver_after_seconds=60, redeliver_max_seconds=600)
    event_id = _approve(runtime)
    assert relay.run_once() == 1
    assert sorted(recorder.sent) == [("budget", event_id), ("monitoring", event_id), ("notifications", event_id)]
    recorder.sent.clear()

    # Budget handled it; monitoring gave up on it (a dead letter is settled); notifications never got it.
    _record_inbox(runtime, "budget", event_id)
    _record_dead_letter(runtime, "monitoring", event_id)
    now = datetime.now(timezone.utc)
    assert relay.sweep_once(now) .republished == 0  # not due yet: checked `redeliver_after` after publishing
    assert recorder.sent == []

    first = now + timedelta(seconds=61)
    result = relay.sweep_once(first)
    assert (result.delivered, result.republished) == (0, 1)
    assert recorder.sent == [("notifications", event_id)]
    row = _row(runtime, event_id)
    assert row.redeliveries == 1 and row.delivered_at is None

    # The next check waits twice as long.
    recorder.sent.clear()
    assert relay.sweep_once(first + timedelta(seconds=100)).republished == 0
    assert relay.sweep_once(first + timedelta(seconds=121)).republished == 1
    assert recorder.sent == [("notifications", event_id)]
    assert _row(runtime, event_id).redeliveries == 2

    _record_inbox(runtime, "notifications", event_id)
    recorder.sent.clear()
    result = relay.sweep_once(first + timedelta(days=1))
    assert (result.delivered, result.republished) == (1, 0) and recorder.sent == []
    assert _row(runtime, event_id).delivered_at is not None
    assert undelivered_count(runtime.engine, "intake") == 0
    assert relay.sweep_once(first + timedelta(days=2)).delivered == 0  # delivered rows are never looked at again


def test_a_failed_redelivery_keeps_the_event_due_and_the_delivered_marks_of_the_same_sweep(runtime):
    recorder = Recorder()
    relay = OutboxRelay(runtime.engine, ["intake"], recorder, redeliver_after_seconds=1)
    done, lacking = _approve(runtime), _approve(runtime)
    relay.run_once()
    for service in ("budget", "monitoring", "notifications"):
        _record_inbox(runtime, service, done)
    recorder.broken = True
    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    with pytest.raises(BrokerUnavailable):
        relay.sweep_once(later)
    assert _row(runtime, done).delivered_at is not None
    assert _row(runtime, lacking).redeliveries == 0  # still due: the next sweep tries again
    recorder.broken = False
    assert relay.sweep_once(later).republished == 3


def test_events_without_subscribers_and_in_process_deliveries_are_delivered_at_publish(runtime):
    with runtime.uow("intake") as uow:
        emit_of(uow, "ClientRegistered", tenant=TENANT, subject="c-1", payload={"client_id": "c-1"})
        uow.commit()
    recorder = Recorder()
    OutboxRelay(runtime.engine, ["intake"], recorder).run_once()
    assert recorder.sent == [] and undelivered_count(runtime.engine, "intake") == 0

    _approve(runtime)
    drain(runtime)  # in-process: publish returns once the consumers' inboxes have it
    assert all(undelivered_count(runtime.engine, s) == 0 for s in ("intake", "budget", "monitoring"))


def test_prune_keeps_undelivered_events_however_old(runtime):
    recorder = Recorder()
    relay = OutboxRelay(runtime.engine, ["intake"], recorder)
    delivered, undelivered = _approve(runtime), _approve(runtime)
    relay.run_once()
    for service in ("budget", "monitoring", "notifications"):
        _record_inbox(runtime, service, delivered)
    relay.sweep_once(datetime.now(timezone.utc) + timedelta(seconds=61))
    assert prune_bus_tables(runtime.engine, "intake", now=datetime.now(timezone.utc) + timedelta(days=31)) == (1, 0)
    assert _row(runtime, undelivered).delivered_at is None


def test_the_wait_between_checks_doubles_up_to_the_cap():
    assert [next_check_delay(n, 60, 600) for n in range(6)] == [60, 120, 240, 480, 600, 600]


class LosingPublisher:
    """A broker that accepts a message and loses it (restarted without persistence)."""

    def __init__(self) -> None:
        self.lost = 0

    def publish(self, service, event_type, envelope_json):
        self.lost += 1


def test_a_replayed_dead_letter_that_the_broker_loses_is_published_again(runtime):
    recorder = Recorder()
    relay = OutboxRelay(runtime.engine, ["intake"], recorder, redeliver_after_seconds=60, redeliver_max_seconds=600)
    event_id = _approve(runtime)
    relay.run_once()
    for service in ("budget", "notifications"):
        _record_inbox(runtime, service, event_id)
    _record_dead_letter(runtime, "monitoring", event_id)
    relay.sweep_once(datetime.now(timezone.utc) + timedelta(seconds=61))
    assert _row(runtime, event_id).delivered_at is not None  # settled: monitoring dead-lettered it

    from shared.bus.dead_letters import list_dead_letters, replay_dead_letter

    letter = list_dead_letters(runtime.engine, service="monitoring")[0]
    with runtime.engine.begin() as conn:  # the letter needs the real envelope to be replayed
        outbox = bus_tables("intake").outbox
        envelope = conn.execute(sa.select(outbox.c.envelope).where(outbox.c.event_id == event_id)).scalar_one()
        conn.execute(sa.update(bus_tables("monitoring").dead_letter).where(
            bus_tables("monitoring").dead_letter.c.id == letter.id).values(envelope=envelope))
    broker = LosingPublisher()
    replay_dead_letter(runtime.engine, letter.id, broker, recheck_after_seconds=60)
    assert broker.lost == 1 and _row(runtime, event_id).delivered_at is None

    recorder.sent.clear()
    result = relay.sweep_once(datetime.now(timezone.utc) + timedelta(seconds=61))
    assert result.republished == 1 and recorder.sent == [("monitoring", event_id)]
