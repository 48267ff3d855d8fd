"""The event bus on real PostgreSQL and Redis: nothing lost, nothing done twice."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from datetime import date

import pytest
import redis
import sqlalchemy as sa
from celery.contrib.testing.worker import start_worker

from eigenregie.bootstrap import load_service
from services.monitoring.models import Trajectory
from services.notifications.models import Message
from shared.bus.celery_app import CeleryPublisher, make_celery, register_event_tasks
from shared.bus.consumer import consume
from shared.bus.dead_letters import list_dead_letters
from shared.bus.relay import BrokerUnavailable, OutboxRelay, pending_count
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.support.environment import REPO
from tests.support.events import emit_of, event_of
from tests.support.journey import eventually
from tests.support.runtime import migrated_runtime

TENANT = "0014"


def _settings(pg_url: str, broker_url: str, **kw) -> Settings:
    return Settings(database_url=pg_url, broker_url=broker_url, environment="test", event_max_attempts=3,
                    event_retry_base_seconds=0.05, **kw)


def _worker_app(settings: Settings, runtime, *services: str):
    app = make_celery(settings)
    for service in services:
        register_event_tasks(app, service, load_service(service).event_handlers, lambda: runtime.engine, settings)
    return app


def _plan_approved(plan_id: str, client_id: str = "client-1"):
    return event_of("PlanApproved", tenant=TENANT, subject=plan_id, producer="intake", correlation_id="c-test",
                     payload={"plan_id": plan_id, "client_id": client_id, "plan_version": 2, "scheme": "prb",
                              "granted_cents": 100_00, "execution_deadline": "2027-06-30",
                              "lines": [{"plan_line_id": "l1", "category": "coaching", "granted_cents": 100_00}]})


def _invoice_paid(plan_id: str, cents: int = 25_00):
    return event_of("InvoicePaid", tenant=TENANT, subject=plan_id, producer="budget", correlation_id="c-test",
                     payload={"invoice_id": str(uuid.uuid4()), "budget_id": "b-1", "plan_id": plan_id,
                              "client_id": "client-1", "amount_cents": cents, "paid_on": date.today().isoformat()})


def _spent(runtime, plan_id: str) -> int | None:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(Trajectory.spent_cents).where(Trajectory.plan_id == plan_id)).scalar()


def test_outbox_rows_wait_through_a_broker_outage_and_are_delivered_when_redis_is_back(fresh_pg_url, private_redis):
    settings = _settings(fresh_pg_url, private_redis.url)
    runtime = migrated_runtime(settings)
    publisher = CeleryPublisher(make_celery(settings))
    relay = OutboxRelay(runtime.engine, ["intake"], publisher)

    private_redis.stop()
    plan_id = str(uuid.uuid4())
    with runtime.uow("intake") as uow:
        emit_of(uow, "PlanRejected", tenant=TENANT, subject=plan_id,
                 payload={"plan_id": plan_id, "client_id": "client-1", "plan_version": 2})
        uow.commit()

    with pytest.raises(BrokerUnavailable):
        relay.run_once()
    assert pending_count(runtime.engine, "intake") == 1

    private_redis.start()
    assert eventually(relay.run_once, what="relay to publish once Redis is back") == 1
    assert pending_count(runtime.engine, "intake") == 0

    app = _worker_app(settings, runtime, "notifications")
    with start_worker(app, pool="threads", concurrency=1, queues=["notifications"], perform_ping_check=False,
                      loglevel="WARNING"):
        eventually(lambda: _count(runtime, Message, Message.template == "plan_rejected"),
                   what="the rejection message after the outage")
    assert _count(runtime, Message, Message.template == "plan_rejected") == 1


def _count(runtime, model, *where) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(model).where(*where)).scalar_one()


def test_the_same_event_delivered_twice_has_one_effect(fresh_pg_url, redis_url):
    settings = _settings(fresh_pg_url, redis_url)
    runtime = migrated_runtime(settings)
    plan_id = str(uuid.uuid4())
    consume(runtime.engine, "monitoring", _plan_approved(plan_id).model_dump_json(),
            load_service("monitoring").event_handlers)
    paid = _invoice_paid(plan_id, 25_00).model_dump_json()

    publisher = CeleryPublisher(make_celery(settings))
    app = _worker_app(settings, runtime, "monitoring")
    with start_worker(app, pool="threads", concurrency=4, queues=["monitoring"], perform_ping_check=False,
                      loglevel="WARNING"):
        for _ in range(5):  # at-least-once delivery, as after a lost ack or a relay crash
            publisher.publish("monitoring", "InvoicePaid", paid)
        inbox = bus_tables("monitoring").inbox
        broker = redis.Redis.from_url(redis_url)

        def every_delivery_handled() -> bool:
            # acks_late: a message leaves `unacked` only when its task has finished, so an empty
            # queue and no unacked message means all five deliveries ran, duplicates included.
            return (_count(runtime, inbox, inbox.c.event_type == "InvoicePaid") == 1
                    and broker.llen("monitoring") == 0 and broker.hlen("unacked") == 0)

        eventually(every_delivery_handled, what="all five deliveries handled and acknowledged")
        broker.close()
    assert _spent(runtime, plan_id) == 25_00


def test_a_handler_that_keeps_failing_ends_in_the_dead_letters_and_replays_after_the_cause_is_fixed(
        fresh_pg_url, redis_url):
    settings = _settings(fresh_pg_url, redis_url)
    runtime = migrated_runtime(settings)
    plan_id = str(uuid.uuid4())
    opened = event_of("BudgetOpened", tenant=TENANT, subject=plan_id, producer="budget", correlation_id="c-test",
                       payload={"budget_id": "b-9", "plan_id": plan_id, "client_id": "client-1", "granted_cents": 1})
    publisher = CeleryPublisher(make_celery(settings))
    app = _worker_app(settings, runtime, "monitoring")
    env = {"DATABASE_URL": fresh_pg_url, "BROKER_URL": redis_url, "PRB_ENVIRONMENT": "test"}
    with start_worker(app, pool="threads", concurrency=1, queues=["monitoring"], perform_ping_check=False,
                      loglevel="WARNING"):
        # Monitoring never saw PlanApproved for this plan, so linking the budget fails every try.
        publisher.publish("monitoring", "BudgetOpened", opened.model_dump_json())
        letters = eventually(lambda: list_dead_letters(runtime.engine, service="monitoring"), what="a dead letter")
        assert letters[0].attempts == settings.event_max_attempts
        assert "not known yet" in letters[0].reason and letters[0].event_type == "BudgetOpened"

        listing = _prb(env, "events", "dead-letters")
        assert letters[0].id in listing and "BudgetOpened" in listing

        consume(runtime.engine, "monitoring", _plan_approved(plan_id).model_dump_json(),
                load_service("monitoring").event_handlers)
        assert "replayed" in _prb(env, "events", "replay", letters[0].id)
        eventually(lambda: _budget_linked(runtime, plan_id), what="the replayed event to be handled")
    assert list_dead_letters(runtime.engine, service="monitoring") == []
    assert "no dead letters" in _prb(env, "events", "dead-letters")


def _budget_linked(runtime, plan_id: str) -> bool:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(Trajectory.budget_id).where(Trajectory.plan_id == plan_id)).scalar() == "b-9"


def _prb(env: dict[str, str], *args: str) -> str:
    import os

    done = subprocess.run([sys.executable, "-m", "eigenregie.entrypoints.cli", *args], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_unknown_event_version_is_dead_lettered_with_the_reason(fresh_pg_url, redis_url):
    settings = _settings(fresh_pg_url, redis_url)
    runtime = migrated_runtime(settings)
    data = _plan_approved(str(uuid.uuid4())).model_dump(mode="json")
    data["version"] = 7
    app = _worker_app(settings, runtime, "budget")
    with start_worker(app, pool="threads", concurrency=1, queues=["budget"], perform_ping_check=False,
                      loglevel="WARNING"):
        import json

        CeleryPublisher(make_celery(settings)).publish("budget", "PlanApproved", json.dumps(data))
        letters = eventually(lambda: list_dead_letters(runtime.engine, service="budget"), what="a dead letter")
    assert "PlanApproved version 7 is not supported" in letters[0].reason
    assert letters[0].attempts == 1  # no point retrying what can never be read


def test_several_relays_publish_each_event_once(fresh_pg_url, redis_url):
    """FOR UPDATE SKIP LOCKED: two relays on one outbox never send the same row twice."""
    import threading

    settings = _settings(fresh_pg_url, redis_url)
    runtime = migrated_runtime(settings)
    with runtime.uow("intake") as uow:
        for _ in range(300):
            pid = str(uuid.uuid4())
            emit_of(uow, "PlanRejected", tenant=TENANT, subject=pid,
                     payload={"plan_id": pid, "client_id": "c", "plan_version": 2})
        uow.commit()

    sent: list[str] = []
    lock = threading.Lock()

    class CountingPublisher:
        def publish(self, service, event_type, envelope_json):
            with lock:
                sent.append(envelope_json)

    relays = [OutboxRelay(runtime.engine, ["intake"], CountingPublisher(), batch_size=20) for _ in range(3)]
    threads = [threading.Thread(target=lambda r=r: [r.run_once() for _ in range(10)]) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 300 and len(set(sent)) == 300
    assert pending_count(runtime.engine, "intake") == 0


def test_the_relay_wakes_for_the_outbox_a_commit_named_and_sweeps_all_after_a_quiet_interval(fresh_pg_url):
    from shared.bus.relay import _PgNotifyWaiter

    runtime = migrated_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    waiter = _PgNotifyWaiter(runtime.engine)
    try:
        plan_id = str(uuid.uuid4())
        with runtime.uow("budget") as uow:
            emit_of(uow, "BudgetClosed", tenant=TENANT, subject=plan_id,
                     payload={"budget_id": "b", "plan_id": plan_id, "client_id": "c", "released_cents": 0})
            uow.commit()
        assert waiter.wait(5.0) == {"budget"}
        assert waiter.wait(0.2) is None
    finally:
        waiter.conn.close()


def test_a_batch_from_the_relay_handles_each_event_once_and_retries_only_the_failing_one(fresh_pg_url, redis_url):
    settings = _settings(fresh_pg_url, redis_url)
    runtime = migrated_runtime(settings)
    known, unknown = str(uuid.uuid4()), str(uuid.uuid4())
    consume(runtime.engine, "monitoring", _plan_approved(known).model_dump_json(),
            load_service("monitoring").event_handlers)
    paid = _invoice_paid(known, 25_00).model_dump_json()
    # Monitoring never saw PlanApproved for `unknown`: this one fails every try.
    failing = event_of("BudgetOpened", tenant=TENANT, subject=unknown, producer="budget", correlation_id="c-test",
                        payload={"budget_id": "b-x", "plan_id": unknown, "client_id": "c", "granted_cents": 1})
    batch = [("InvoicePaid", paid), ("BudgetOpened", failing.model_dump_json())]

    publisher = CeleryPublisher(make_celery(settings))
    app = _worker_app(settings, runtime, "monitoring")
    with start_worker(app, pool="threads", concurrency=2, queues=["monitoring"], perform_ping_check=False,
                      loglevel="WARNING"):
        publisher.publish_batch("monitoring", batch)
        publisher.publish_batch("monitoring", batch)  # the same batch again, as after a lost worker
        letters = eventually(lambda: list_dead_letters(runtime.engine, service="monitoring"), what="a dead letter")
    assert _spent(runtime, known) == 25_00
    assert [(letter.event_type, letter.attempts) for letter in letters] == [("BudgetOpened",
                                                                            settings.event_max_attempts)]


def test_the_relay_sends_one_message_per_consumer_per_batch_and_all_or_nothing(fresh_pg_url):
    runtime = migrated_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    with runtime.uow("budget") as uow:
        for _ in range(120):
            pid = str(uuid.uuid4())
            emit_of(uow, "InvoicePaid", tenant=TENANT, subject=pid,
                     payload={"invoice_id": pid, "budget_id": "b", "plan_id": pid, "client_id": "c",
                              "amount_cents": 1, "paid_on": "2026-11-01"})
        uow.commit()

    class Recorder:
        def __init__(self, fail_after: int | None = None) -> None:
            self.sent: list[tuple[str, int]] = []
            self.fail_after = fail_after

        def publish(self, service, event_type, envelope_json):  # pragma: no cover - batches are preferred
            raise AssertionError("a batching publisher gets batches")

        def publish_batch(self, service, items):
            if self.fail_after is not None and len(self.sent) >= self.fail_after:
                raise ConnectionError("broker gone")
            self.sent.append((service, len(items)))

    broken = Recorder(fail_after=3)
    with pytest.raises(BrokerUnavailable):
        OutboxRelay(runtime.engine, ["budget"], broken).run_once()
    assert pending_count(runtime.engine, "budget") == 120  # nothing counts as sent

    working = Recorder()
    assert OutboxRelay(runtime.engine, ["budget"], working).run_once() == 120
    assert sorted(working.sent) == sorted([(s, n) for s in ("monitoring", "notifications") for n in (50, 50, 20)])
    assert pending_count(runtime.engine, "budget") == 0


def test_the_relay_lingers_after_a_notify_so_commits_close_behind_go_in_one_message(fresh_pg_url):
    runtime = migrated_runtime(Settings(database_url=fresh_pg_url, environment="test"))

    class Recorder:
        def __init__(self) -> None:
            self.batches: list[int] = []

        def publish(self, service, event_type, envelope_json):  # pragma: no cover - batches are preferred
            raise AssertionError("a batching publisher gets batches")

        def publish_batch(self, service, items):
            self.batches.append(len(items))

    def commit_one() -> None:
        pid = str(uuid.uuid4())
        with runtime.uow("intake") as uow:
            emit_of(uow, "PlanRejected", tenant=TENANT, subject=pid,
                     payload={"plan_id": pid, "client_id": "c", "plan_version": 2})
            uow.commit()

    recorder = Recorder()
    relay = OutboxRelay(runtime.engine, ["intake"], recorder, poll_seconds=5.0, linger_seconds=1.0)
    thread = threading.Thread(target=relay.run_forever, daemon=True)
    thread.start()
    try:
        eventually(lambda: relay.heartbeat is not None and pending_count(runtime.engine, "intake") == 0,
                   what="the relay's first pass")
        time.sleep(0.3)  # the relay waits for a NOTIFY now
        for _ in range(10):
            commit_one()  # ten separate transactions, each with its own NOTIFY
        eventually(lambda: sum(recorder.batches) == 10, timeout=20, what="the ten events to be published")
    finally:
        relay.stop()
        thread.join(10)
    assert len(recorder.batches) <= 3  # without the linger each commit is about one pass and one message
