"""A delivered batch is handled in one transaction: one commit for the
batch, each event once; a failing event or a batch that cannot commit leaves nothing of the batch, and
each event is tried again in its own transaction, the failing one handed back for its retries."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from contracts.events import ClientRegisteredV1, PlanRejectedV1
from shared.bus import consumer
from shared.bus.consumer import consume, consume_batch
from shared.bus.tables import bus_tables
from shared.config import Settings
from shared.uow import UnitOfWork
from tests.support.events import event_of
from tests.support.runtime import migrated_runtime

SERVICE = "intake"  # any service's inbox and outbox will do; the handlers are the test's own


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request, tmp_path):
    if request.param == "sqlite":
        yield migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
        return
    runtime = migrated_runtime(Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test"))
    yield runtime
    runtime.engine.dispose()


def _rejected(plan_id: str, correlation_id: str = "corr") -> str:
    return event_of("PlanRejected", tenant="0014", subject=plan_id, producer="intake", correlation_id=correlation_id,
                    payload={"plan_id": plan_id, "client_id": "c", "plan_version": 2}).model_dump_json()


def _answer_each_rejection(uow: UnitOfWork, payload: PlanRejectedV1, _envelope) -> None:
    """Emits one event per event handled; fails (after emitting) for a plan called "bad"."""
    uow.emit(ClientRegisteredV1(client_id=payload.plan_id), tenant="0014", subject=payload.plan_id)
    if payload.plan_id == "bad":
        raise ValueError("this plan cannot be handled")


HANDLERS = {PlanRejectedV1: _answer_each_rejection}


def _outbox(runtime) -> list[dict]:
    table = bus_tables(SERVICE).outbox
    with runtime.engine.connect() as conn:
        return [json.loads(e) for e in conn.execute(sa.select(table.c.envelope).order_by(table.c.id)).scalars()]


def _inbox(runtime) -> list[str]:
    table = bus_tables(SERVICE).inbox
    with runtime.engine.connect() as conn:
        return sorted(conn.execute(sa.select(table.c.event_id)).scalars())


def _count_commits(engine) -> list[int]:
    commits = [0]
    sa.event.listen(engine, "commit", lambda _conn: commits.__setitem__(0, commits[0] + 1))
    return commits


def test_a_batch_commits_once_and_handles_each_event_once_even_when_delivered_twice(runtime):
    events = [_rejected(f"plan-{i}") for i in range(10)]
    consume(runtime.engine, SERVICE, events[0], HANDLERS)  # handled earlier, alone
    commits = _count_commits(runtime.engine)
    failures = consume_batch(runtime.engine, SERVICE, [*events, events[3]], HANDLERS)
    assert failures == [] and commits[0] == 1
    answered = [e["payload"]["client_id"] for e in _outbox(runtime)]
    assert sorted(answered) == sorted(f"plan-{i}" for i in range(10))
    assert _inbox(runtime) == sorted(json.loads(e)["event_id"] for e in events)


def test_a_failing_event_is_undone_and_handed_back_and_the_others_are_handled_one_by_one(runtime):
    events = [_rejected("plan-1"), _rejected("bad"), _rejected("plan-2")]
    commits = _count_commits(runtime.engine)
    failures = consume_batch(runtime.engine, SERVICE, events, HANDLERS)
    assert failures == [1]
    assert commits[0] == 2  # the batch rolled back; then plan-1 and plan-2 each in its own transaction
    assert sorted(e["payload"]["client_id"] for e in _outbox(runtime)) == ["plan-1", "plan-2"]  # not "bad"'s
    assert json.loads(events[1])["event_id"] not in _inbox(runtime)


def test_events_emitted_in_a_batch_name_the_event_that_caused_them_and_keep_its_correlation(runtime):
    events = [_rejected("plan-1", correlation_id="first"), _rejected("plan-2", correlation_id="second")]
    assert consume_batch(runtime.engine, SERVICE, events, HANDLERS) == []
    emitted = {e["payload"]["client_id"]: e for e in _outbox(runtime)}
    for plan_id, raw in zip(("plan-1", "plan-2"), events, strict=True):
        cause = json.loads(raw)
        assert emitted[plan_id]["causation_id"] == cause["event_id"]
        assert emitted[plan_id]["correlation_id"] == cause["correlation_id"]


def test_a_batch_that_cannot_commit_leaves_nothing_and_each_event_gets_its_own_try(runtime, monkeypatch):
    events = [_rejected(f"plan-{i}") for i in range(4)]
    real_commit, refused = UnitOfWork.commit, []

    def commit_refused_once(uow: UnitOfWork) -> None:
        if not refused:
            refused.append(len(uow.events))
            raise sa.exc.OperationalError("COMMIT", None, Exception("connection lost at commit"))
        real_commit(uow)

    monkeypatch.setattr(UnitOfWork, "commit", commit_refused_once)
    commits = _count_commits(runtime.engine)
    assert consume_batch(runtime.engine, SERVICE, events, HANDLERS) == []
    assert refused == [4]  # the batch's four events, none of which stood
    assert commits[0] == 4  # then one transaction per event
    assert sorted(e["payload"]["client_id"] for e in _outbox(runtime)) == [f"plan-{i}" for i in range(4)]
    assert _inbox(runtime) == sorted(json.loads(e)["event_id"] for e in events)


def test_a_unit_of_work_joined_to_a_batch_cannot_commit_it_on_its_own(runtime):
    with runtime.uow(SERVICE) as batch:
        part = batch.joined(correlation_id="c", causation_id=None)
        with pytest.raises(RuntimeError, match="committed by that one"):
            part.commit()
        with pytest.raises(RuntimeError, match="rolled back by that one"):
            part.rollback()


def test_what_a_worker_handled_is_summed_up_in_one_line_per_interval(capsys):
    from shared.logging import configure_logging

    configure_logging("INFO", json=True)
    tally = consumer.ConsumedTally(seconds=3600)
    for outcome in ("handled", "handled", "duplicate"):
        tally.add("notifications", outcome)
    assert "events.consumed" not in capsys.readouterr().err  # not before the interval has passed
    tally.since -= 3600
    tally.add("notifications", "handled")
    (line,) = [json.loads(x) for x in capsys.readouterr().err.splitlines() if "events.consumed" in x]
    assert (line["handled"], line["duplicate"], line["service"]) == (3, 1, "notifications")
