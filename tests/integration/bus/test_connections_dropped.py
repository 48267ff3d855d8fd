"""Dropped database connections: the relay logs, reconnects (LISTEN included) and goes on; a
consumer loses one try, and the retry succeeds."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from contracts.events import InvoicePaidV2
from eigenregie.bootstrap import load_service
from services.monitoring.models import Trajectory
from shared.bus.consumer import HandlerFailed, Outcome, consume
from shared.bus.relay import OutboxRelay, pending_count
from shared.config import Settings
from shared.db import create_db_engine
from shared.health import Heartbeat, check_heartbeat
from tests.support.events import emit_of, event_of
from tests.support.journey import eventually
from tests.support.runtime import migrated_runtime

TENANT = "0014"
RELAY_APP = "prb-relay-under-test"


def _terminate(admin: sa.Engine, application_name: str) -> int:
    with admin.connect() as conn:
        return len(conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = :app AND pid <> pg_backend_pid()"),
            {"app": application_name}).all())


def _reject(runtime) -> None:
    plan_id = str(uuid.uuid4())
    with runtime.uow("intake") as uow:
        emit_of(uow, "PlanRejected", tenant=TENANT, subject=plan_id,
                 payload={"plan_id": plan_id, "client_id": "c", "plan_version": 2})
        uow.commit()


class CountingPublisher:
    def __init__(self) -> None:
        self.sent: set[str] = set()
        self.lock = threading.Lock()

    def publish(self, service, event_type, envelope_json):
        with self.lock:
            self.sent.add(envelope_json)


def test_the_relay_survives_terminated_connections_and_keeps_publishing(fresh_pg_url, tmp_path):
    runtime = migrated_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    relay_url = sa.engine.make_url(fresh_pg_url).update_query_dict({"application_name": RELAY_APP})
    relay_engine = create_db_engine(relay_url.render_as_string(hide_password=False))
    publisher = CountingPublisher()
    heartbeat = Heartbeat(tmp_path / "relay.heartbeat", min_interval=0.0)
    relay = OutboxRelay(relay_engine, ["intake"], publisher, poll_seconds=0.5, max_backoff_seconds=0.5,
                        heartbeat=heartbeat)
    thread = threading.Thread(target=relay.run_forever, daemon=True)
    thread.start()
    try:
        for round_ in range(3):
            eventually(lambda: _terminate(runtime.engine, RELAY_APP) >= 1,
                       what="the relay's connections (LISTEN and pool) to terminate")
            for _ in range(20):
                _reject(runtime)
            eventually(lambda: len(publisher.sent) == 20 * (round_ + 1), timeout=20,
                       what=f"the relay to publish after termination {round_ + 1}")
            assert thread.is_alive()
        # A pass cut off between publishing and marking publishes those rows again (the inbox drops the
        # duplicates), so the rows are marked a little after the last one went out.
        eventually(lambda: pending_count(runtime.engine, "intake") == 0, timeout=20,
                   what="every published row to be marked published")
        assert check_heartbeat(tmp_path / "relay.heartbeat", "relay", 30)[0]
    finally:
        relay.stop()
        thread.join(10)
        relay_engine.dispose()
    assert not thread.is_alive()


def test_the_relay_reports_an_unreachable_database_in_its_heartbeat(tmp_path):
    engine = create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    heartbeat = Heartbeat(tmp_path / "relay.heartbeat", min_interval=0.0)
    relay = OutboxRelay(engine, ["intake"], CountingPublisher(), max_backoff_seconds=0.2, heartbeat=heartbeat)
    thread = threading.Thread(target=relay.run_forever, daemon=True)
    thread.start()
    try:
        eventually(lambda: heartbeat.error, what="the relay to record the failing pass")
        assert thread.is_alive()
    finally:
        relay.stop()
        thread.join(10)
    healthy, reason = check_heartbeat(tmp_path / "relay.heartbeat", "relay", 30)
    assert not healthy and "OperationalError" in reason


def test_a_terminated_connection_fails_one_try_and_the_retry_succeeds(fresh_pg_url, pg_admin_url):
    runtime = migrated_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    monitoring = load_service("monitoring").event_handlers
    plan_id = str(uuid.uuid4())
    approved = event_of("PlanApproved", tenant=TENANT, subject=plan_id, producer="intake", correlation_id="c",
                         payload={"plan_id": plan_id, "client_id": "c-1", "plan_version": 2, "scheme": "prb",
                                  "granted_cents": 100, "execution_deadline": "2027-06-30",
                                  "lines": [{"plan_line_id": "l1", "category": "coaching", "granted_cents": 100}]})
    consume(runtime.engine, "monitoring", approved.model_dump_json(), monitoring)
    paid = event_of("InvoicePaid", tenant=TENANT, subject=plan_id, producer="budget", correlation_id="c",
                     payload={"invoice_id": "i-1", "budget_id": "b-1", "plan_id": plan_id, "client_id": "c-1",
                              "amount_cents": 40, "paid_on": "2026-11-01"}).model_dump_json()
    admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    tries = []

    def killed_mid_transaction(uow, payload, envelope):
        tries.append(1)
        if len(tries) == 1:
            pid = uow.session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            with admin.connect() as conn:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        monitoring[InvoicePaidV2](uow, payload, envelope)

    handlers = {**monitoring, InvoicePaidV2: killed_mid_transaction}
    # The first try loses its connection mid-transaction; the second checks out a fresh one (the pool
    # drops the connections older than the failure).
    try:
        with pytest.raises(HandlerFailed, match="OperationalError"):
            consume(runtime.engine, "monitoring", paid, handlers, attempt=1)
        assert consume(runtime.engine, "monitoring", paid, handlers, attempt=2) == Outcome.HANDLED
    finally:
        admin.dispose()
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(Trajectory.spent_cents).where(Trajectory.plan_id == plan_id)).scalar() == 40
    assert len(tries) == 2


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def _kill(admin: sa.Engine, pid: int) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_pooled_connection_that_died_while_idle_is_replaced_before_anyone_uses_it(fresh_pg_url, monkeypatch):
    import shared.db

    monkeypatch.setattr(shared.db, "IDLE_CHECK_SECONDS", 0.0)  # every checkout counts as after idle
    engine, admin = create_db_engine(fresh_pg_url, pool_size=1), create_db_engine(fresh_pg_url, pool_size=1)
    try:
        first = _backend_pid(engine)
        _kill(admin, first)
        assert _backend_pid(engine) != first  # no error: checked, discarded, replaced
    finally:
        engine.dispose()
        admin.dispose()


def test_a_connection_in_steady_use_is_not_checked_and_one_that_died_fails_once(fresh_pg_url, monkeypatch):
    import shared.db

    monkeypatch.setattr(shared.db, "IDLE_CHECK_SECONDS", 3600.0)  # never idle long enough to be checked
    engine, admin = create_db_engine(fresh_pg_url, pool_size=2), create_db_engine(fresh_pg_url, pool_size=1)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))
    try:
        first = _backend_pid(engine)
        assert statements == ["SELECT pg_backend_pid()"]  # no SELECT 1 before it
        _kill(admin, first)
        with pytest.raises(sa.exc.OperationalError):
            _backend_pid(engine)
        assert _backend_pid(engine) != first  # the pool dropped the dead connection
    finally:
        engine.dispose()
        admin.dispose()
