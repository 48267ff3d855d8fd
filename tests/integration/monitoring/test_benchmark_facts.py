"""The facts the benchmark reads without a join are kept by the handlers as events arrive: a
plan trajectory knows whether it is the client's first, and its lines carry the trajectory's
start, scheme and benefit and whether each is the plan's first of its category."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, col, select

from eigenregie.bootstrap import load_service
from services.monitoring.models import Trajectory, TrajectoryLine
from shared.bus.consumer import Outcome, consume
from shared.config import Settings
from tests.support.events import event_of
from tests.support.runtime import migrated_runtime


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request, tmp_path):
    if request.param == "sqlite":
        yield migrated_runtime(Settings(data_dir=tmp_path, environment="test"))
        return
    runtime = migrated_runtime(Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test"))
    yield runtime
    runtime.engine.dispose()


def _deliver(runtime, event_type: str, subject: str, payload: dict) -> None:
    event = event_of(
        event_type, tenant="0014", subject=subject, producer="intake", correlation_id="c", payload=payload
    )
    handlers = load_service("monitoring").event_handlers
    assert consume(runtime.engine, "monitoring", event.model_dump_json(), handlers, max_attempts=1) == Outcome.HANDLED


def _approve(runtime, client_id: str, lines: list[tuple[str, str, int]]) -> str:
    plan_id = str(uuid.uuid4())
    _deliver(
        runtime,
        "PlanApproved",
        plan_id,
        {
            "plan_id": plan_id,
            "client_id": client_id,
            "plan_version": 2,
            "scheme": "prb",
            "granted_cents": sum(cents for _id, _c, cents in lines),
            "execution_deadline": "2027-06-01",
            "lines": [{"plan_line_id": i, "category": c, "granted_cents": cents} for i, c, cents in lines],
        },
    )
    return plan_id


def _profile(runtime, plan_id: str, client_id: str, benefit: str) -> None:
    _deliver(
        runtime,
        "TrajectoryProfiled",
        plan_id,
        {
            "plan_id": plan_id,
            "client_id": client_id,
            "benefit": benefit,
            "gender": "unknown",
            "age_band": "unknown",
            "benefit_duration": "unknown",
            "education": "unknown",
        },
    )


def test_only_the_clients_first_plan_is_their_first(runtime):
    first = _approve(runtime, "client-1", [("l-1", "coaching", 100_00)])
    second = _approve(runtime, "client-1", [("l-2", "coaching", 100_00)])
    other = _approve(runtime, "client-2", [("l-3", "coaching", 100_00)])
    with Session(runtime.engine) as session:
        rows = {row.plan_id: row.first_plan for row in session.exec(select(Trajectory))}
    assert rows == {first: True, second: False, other: True}


def test_lines_carry_the_start_scheme_benefit_and_the_first_of_each_category(runtime):
    plan_id = _approve(
        runtime,
        "client-3",
        [("b-coach", "coaching", 300_00), ("a-coach", "coaching", 200_00), ("c-course", "training_skills", 900_00)],
    )
    with Session(runtime.engine) as session:
        started = session.get(Trajectory, plan_id).started_on
        lines = session.exec(select(TrajectoryLine).order_by(col(TrajectoryLine.plan_line_id))).all()
    assert [(line.plan_line_id, line.first_of_category) for line in lines] == [
        ("a-coach", True),
        ("b-coach", False),
        ("c-course", True),
    ]
    assert {(line.started_on, line.scheme, line.benefit) for line in lines} == {(started, "prb", "unknown")}
    _profile(runtime, plan_id, "client-3", "nug")
    with Session(runtime.engine) as session:
        assert {line.benefit for line in session.exec(select(TrajectoryLine))} == {"nug"}


def test_a_plan_change_keeps_the_facts_on_the_new_lines(runtime):
    plan_id = _approve(runtime, "client-4", [("x", "coaching", 500_00)])
    _profile(runtime, plan_id, "client-4", "wwb")
    _deliver(
        runtime,
        "PlanChanged",
        plan_id,
        {
            "plan_id": plan_id,
            "client_id": "client-4",
            "plan_version": 3,
            "change_id": "ch-1",
            "granted_cents": 500_00,
            "execution_deadline": "2027-06-01",
            "lines": [
                {"plan_line_id": "x", "category": "coaching", "granted_cents": 250_00},
                {"plan_line_id": "y", "category": "coaching", "granted_cents": 250_00},
            ],
        },
    )
    with Session(runtime.engine) as session:
        lines = session.exec(select(TrajectoryLine).order_by(col(TrajectoryLine.plan_line_id))).all()
    assert [(line.plan_line_id, line.benefit, line.first_of_category) for line in lines] == [
        ("x", "wwb", True),
        ("y", "wwb", False),
    ]
