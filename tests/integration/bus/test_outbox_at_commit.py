"""The outbox rows a unit of work records go in at commit, in one statement, in the order they were
emitted; a failed savepoint takes its events with it; a rollback leaves none."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from contracts.events import ClientRegisteredV1
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.support.runtime import migrated_runtime


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request, tmp_path):
    if request.param == "sqlite":
        yield migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
        return
    url = request.getfixturevalue("fresh_pg_url")
    runtime = migrated_runtime(Settings(database_url=url, environment="test"))
    yield runtime
    runtime.engine.dispose()


def _outbox(runtime) -> list[str]:
    outbox = bus_tables("intake").outbox
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.envelope).order_by(outbox.c.created_at, outbox.c.event_id)).all()
    return [row[0] for row in rows]


def _client_ids(runtime) -> list[str]:
    import json

    return [json.loads(envelope)["payload"]["client_id"] for envelope in _outbox(runtime)]


def test_events_of_a_failed_savepoint_are_not_written_and_the_others_are(runtime):
    with runtime.uow("intake") as uow:
        uow.emit(payload=ClientRegisteredV1(client_id="kept-1"), tenant="0014", subject="kept-1")
        with pytest.raises(ValueError), uow.savepoint():
            uow.emit(payload=ClientRegisteredV1(client_id="undone"), tenant="0014", subject="undone")
            raise ValueError("this item fails")
        uow.emit(payload=ClientRegisteredV1(client_id="kept-2"), tenant="0014", subject="kept-2")
        assert [e.payload["client_id"] for e in uow.events] == ["kept-1", "kept-2"]
        uow.commit()
    assert sorted(_client_ids(runtime)) == ["kept-1", "kept-2"]


def test_nothing_is_written_before_commit_or_after_a_rollback(runtime):
    with runtime.uow("intake") as uow:
        for i in range(3):
            uow.emit(payload=ClientRegisteredV1(client_id=f"c{i}"), tenant="0014", subject=f"c{i}")
        assert _client_ids(runtime) == []
        uow.rollback()
        uow.commit()
    assert _client_ids(runtime) == []
    with runtime.uow("intake") as uow:
        for i in range(500):
            uow.emit(payload=ClientRegisteredV1(client_id=f"c{i:03d}"), tenant="0014", subject=f"c{i}")
        uow.commit()
    assert sorted(_client_ids(runtime)) == [f"c{i:03d}" for i in range(500)]


def test_on_postgresql_the_outbox_itself_wakes_the_relay_once_per_committed_transaction(fresh_pg_url):
    import psycopg

    from shared.uow import NOTIFY_CHANNEL

    runtime = migrated_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    listener = psycopg.connect(fresh_pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    try:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        statements: list[str] = []
        sa.event.listen(runtime.engine, "before_cursor_execute", lambda _c, _cur, st, *_: statements.append(st))
        with runtime.uow("intake") as uow:
            for i in range(3):
                uow.emit(payload=ClientRegisteredV1(client_id=f"c{i}"), tenant="0014", subject=f"c{i}")
            uow.commit()
        with runtime.uow("intake") as uow:  # rolled back: nobody is woken
            uow.emit(payload=ClientRegisteredV1(client_id="undone"), tenant="0014", subject="undone")
        with runtime.uow("budget") as uow:
            uow.emit(payload=ClientRegisteredV1(client_id="b"), tenant="0014", subject="b")
            uow.commit()
        woken = [n.payload for n in listener.notifies(timeout=1.0, stop_after=3)]
        assert woken == ["intake", "budget"]
        assert not any("NOTIFY" in st.upper() for st in statements)  # the trigger sends it, not a statement
    finally:
        listener.close()
        runtime.engine.dispose()
