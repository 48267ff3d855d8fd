"""No event is lost, whatever the broker or a worker does: real `prb relay` and `prb worker`
processes, real PostgreSQL, a private Redis the test can take down.

Every scenario counts effects in the consumers' own tables, not messages: monitoring adds each
InvoicePaid to `trajectory.spent_cents` (1 cent per event, so a double effect shows), and
notifications records one `invoice_paid` message per event. Nothing is repaired by hand: the
relay's sweeper publishes again what an inbox lacks after PRB_REDELIVER_AFTER_SECONDS (2 s here).
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from eigenregie.bootstrap import build_runtime, load_service
from services.monitoring.models import Trajectory
from services.notifications.models import Message
from shared.bus.consumer import consume
from shared.bus.dead_letters import list_dead_letters
from shared.bus.relay import pending_count
from shared.bus.tables import bus_tables
from shared.config import Settings
from shared.runtime import Runtime
from tests.support.events import emit_of, event_of
from tests.support.journey import eventually
from tests.support.processes import Processes

TENANT = "0014"
TEST_APP = "prb-test"  # the test's own connections; pg_terminate_backend spares them
RECOVERY_TIMEOUT = 90.0


@dataclass
class BusWorld:
    procs: Processes
    runtime: Runtime
    broker: object  # tests.conftest.RedisServer
    plan_id: str
    emitted: list[str] = field(default_factory=list)

    def emit_paid(self, count: int, rate: float = 0.0) -> None:
        """`count` InvoicePaid events from budget (to monitoring and notifications), 1 cent each."""
        started = time.monotonic()
        for i in range(count):
            if rate:
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            invoice_id = str(uuid.uuid4())
            with self.runtime.uow("budget") as uow:
                env = emit_of(uow, "InvoicePaid", tenant=TENANT, subject=self.plan_id, payload={
                    "invoice_id": invoice_id, "budget_id": "b-1", "plan_id": self.plan_id, "client_id": "client-1",
                    "amount_cents": 1, "paid_on": date.today().isoformat()})
                uow.commit()
            self.emitted.append(str(env.event_id))

    def spent(self) -> int:
        with self.runtime.engine.connect() as conn:
            return conn.execute(sa.select(Trajectory.spent_cents).where(Trajectory.plan_id == self.plan_id)).scalar()

    def messages(self) -> int:
        with self.runtime.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(Message)
                                .where(Message.template == "invoice_paid")).scalar_one()

    def handled(self, service: str) -> int:
        inbox = bus_tables(service).inbox
        with self.runtime.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(inbox)
                                .where(inbox.c.event_type == "InvoicePaid")).scalar_one()

    def all_handled_once(self) -> bool:
        n = len(self.emitted)
        return self.spent() == n and self.messages() == n

    def wait_all_handled_once(self, what: str) -> float:
        started = time.monotonic()
        try:
            eventually(self.all_handled_once, timeout=RECOVERY_TIMEOUT, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: spent={self.spent()} messages={self.messages()} of "
                                 f"{len(self.emitted)}\n{self.procs.logs()}") from exc
        took = time.monotonic() - started
        # Exactly once: a double effect would show as spent or messages above the count.
        assert self.spent() == len(self.emitted) and self.messages() == len(self.emitted)
        assert list_dead_letters(self.runtime.engine) == []
        return took

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.broker.url)


@pytest.fixture
def world(fresh_pg_url, private_redis, tmp_path: Path):
    env = {"DATABASE_URL": fresh_pg_url, "BROKER_URL": private_redis.url, "PRB_ENVIRONMENT": "test",
           "PRB_DATA_DIR": str(tmp_path / "data"), "PRB_RELAY_POLL_SECONDS": "0.5",
           "PRB_EVENT_RETRY_BASE_SECONDS": "0.2", "PRB_REDELIVER_AFTER_SECONDS": "2",
           "PRB_REDELIVER_MAX_SECONDS": "8", "PRB_RELAY_SWEEP_SECONDS": "1", "PRB_HEARTBEAT_MAX_AGE_SECONDS": "15"}
    procs = Processes(env, tmp_path)
    procs.run("migrate")
    url = sa.engine.make_url(fresh_pg_url).update_query_dict({"application_name": TEST_APP})
    engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5)
    runtime = build_runtime(Settings(database_url=fresh_pg_url, broker_url=private_redis.url, environment="test"),
                      engine_override=engine)
    plan_id = str(uuid.uuid4())
    approved = event_of("PlanApproved", tenant=TENANT, subject=plan_id, producer="intake", correlation_id="c-bus",
                         payload={"plan_id": plan_id, "client_id": "client-1", "plan_version": 2, "scheme": "prb",
                                  "granted_cents": 1_000_000, "execution_deadline": "2027-06-30",
                                  "lines": [{"plan_line_id": "l1", "category": "coaching",
                                             "granted_cents": 1_000_000}]})
    consume(engine, "monitoring", approved.model_dump_json(), load_service("monitoring").event_handlers)
    yield BusWorld(procs, runtime, private_redis, plan_id)
    procs.stop()
    engine.dispose()


def _alive(proc) -> bool:
    return proc.poll() is None


def test_a_worker_killed_with_sigkill_mid_batch_loses_no_event(world: BusWorld):
    procs = world.procs
    relay = procs.start("relay", "relay")
    procs.start("monitoring-worker", "worker", "monitoring", "--concurrency", "2")
    worker = procs.start("notifications-worker", "worker", "notifications", "--concurrency", "4")
    producer = threading.Thread(target=world.emit_paid, args=(600, 150.0))
    producer.start()
    eventually(lambda: world.handled("notifications") >= 100, timeout=60, what="the worker to be under load")
    unacked_at_kill = world.redis().hlen("unacked")
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    killed_at = time.monotonic()
    handled_at_kill = world.handled("notifications")
    time.sleep(1.0)  # the worker stays dead a moment while events keep coming
    procs.start("notifications-worker-2", "worker", "notifications", "--concurrency", "4")
    producer.join()
    took = world.wait_all_handled_once("every event handled once after the SIGKILL")
    assert _alive(relay)
    # What the dead worker held stays unacked in Redis for the visibility timeout; the sweeper sent it again.
    assert "sweeper.redelivered" in procs.tail("relay", 400)
    print(f"\n[sigkill] events={len(world.emitted)} handled_at_kill={handled_at_kill} "
          f"unacked_at_kill={unacked_at_kill} recovered {time.monotonic() - killed_at:.1f} s after the kill "
          f"({took:.1f} s after the producer finished)")


def test_a_redis_restart_without_persistence_loses_no_queued_event(world: BusWorld):
    procs = world.procs
    relay = procs.start("relay", "relay")
    monitoring = procs.start("monitoring-worker", "worker", "monitoring", "--concurrency", "2")
    world.emit_paid(50)
    # Notifications' worker is not running: its 50 events sit in its Redis queue, published and unconsumed.
    eventually(lambda: world.spent() == 50 and pending_count(world.runtime.engine, "budget") == 0,
               timeout=60, what="monitoring to handle its copies and the relay to publish all")
    queued = world.redis().llen("notifications")
    assert queued > 0 and world.messages() == 0

    world.broker.stop()  # SIGTERM; started with --save "" --appendonly no: the queue is gone
    world.broker.start()
    restarted_at = time.monotonic()
    assert world.redis().llen("notifications") == 0

    procs.start("notifications-worker", "worker", "notifications", "--concurrency", "4")
    world.emit_paid(20)  # after the restart: the relay and the running monitoring worker reconnected
    took = world.wait_all_handled_once("every event handled once after the Redis restart")
    assert _alive(relay) and _alive(monitoring)
    assert "sweeper.redelivered" in procs.tail("relay", 400)
    print(f"\n[redis-restart] events={len(world.emitted)} queued_and_lost={queued} messages "
          f"(batches), recovered {time.monotonic() - restarted_at:.1f} s after the restart ({took:.1f} s wait)")


def test_terminated_database_connections_of_relay_and_workers_lose_no_event(world: BusWorld):
    procs = world.procs
    relay = procs.start("relay", "relay")
    workers = [procs.start("monitoring-worker", "worker", "monitoring", "--concurrency", "2"),
               procs.start("notifications-worker", "worker", "notifications", "--concurrency", "4")]
    producer = threading.Thread(target=world.emit_paid, args=(500, 100.0))
    producer.start()
    eventually(lambda: world.handled("notifications") >= 20, timeout=60, what="events to flow")
    admin = world.runtime.engine
    terminated = 0
    for _ in range(5):
        with admin.connect() as conn:
            terminated += len(conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name <> :app AND pid <> pg_backend_pid() AND backend_type = 'client backend'"),
                {"app": TEST_APP}).all())
        time.sleep(0.7)
    last_kill = time.monotonic()
    producer.join()
    took = world.wait_all_handled_once("every event handled once after the terminated connections")
    assert terminated >= 5
    assert _alive(relay) and all(_alive(w) for w in workers), procs.logs()
    assert "relay.error" in procs.tail("relay", 400)  # the LISTEN connection died: logged, then made again
    health = procs.run("health", "relay")
    assert health.startswith("relay: ok"), health
    print(f"\n[pg-terminate] events={len(world.emitted)} connections_terminated={terminated} in 5 rounds, "
          f"recovered {time.monotonic() - last_kill:.1f} s after the last round ({took:.1f} s after the producer)")


def test_a_thousand_events_survive_a_broker_restart_and_a_sigkilled_worker_in_one_run(world: BusWorld):
    """Issue 14: 1,000 events while Redis restarts without persistence and a worker is SIGKILLed
    mid-task: none lost, none applied twice, counted as effects (cents and messages), not messages."""
    procs = world.procs
    relay = procs.start("relay", "relay")
    monitoring = procs.start("monitoring-worker", "worker", "monitoring", "--concurrency", "2")
    worker = procs.start("notifications-worker", "worker", "notifications", "--concurrency", "4")
    producer = threading.Thread(target=world.emit_paid, args=(1000, 120.0))
    producer.start()
    eventually(lambda: world.handled("notifications") >= 150, timeout=90, what="the worker to be under load")
    worker.send_signal(signal.SIGKILL)  # mid-task: it holds unacked deliveries
    worker.wait(10)
    killed, written_at_kill = time.monotonic(), len(world.emitted)
    later = min(1000, written_at_kill + 150)  # the broker goes down while events keep coming
    eventually(lambda: len(world.emitted) >= later, timeout=90, what="more events to be written after the kill")
    world.broker.stop()  # --save "" --appendonly no: whatever was queued is gone
    world.broker.start()
    restarted = time.monotonic()
    procs.start("notifications-worker-2", "worker", "notifications", "--concurrency", "4")
    producer.join()
    took = world.wait_all_handled_once("1,000 events handled once after a SIGKILL and a Redis restart")
    assert len(world.emitted) == 1000
    assert _alive(relay) and _alive(monitoring)
    print(f"\n[sigkill+redis-restart] events=1000, worker killed after {written_at_kill} were written, Redis "
          f"restarted {restarted - killed:.1f} s later; all handled once {took:.1f} s after the producer finished")
