"""On real PostgreSQL: many requests at once on one trajectory. Minutes and costs add up to what
was sent, not to what the last writer saw; of several final outcomes at once exactly one stands;
every answer is a decision (done, or refused with a domain code), never an unexpected error."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from services.monitoring import outcomes, progress_planning, registration
from services.monitoring.models import Trajectory
from services.monitoring.models_outcomes import OutcomeCreate
from services.monitoring.models_progress import TimeEntryCreate
from services.monitoring.models_registration import CostCreate
from shared.auth import Principal, Role
from shared.bus.consumer import Outcome, consume
from shared.config import Settings
from shared.errors import DomainError
from tests.support.events import event_of
from tests.support.runtime import migrated_runtime

THREADS = 16
STAFF = [Principal(subject=f"km-{i}", role=Role.CASE_MANAGER, municipality="0014") for i in range(THREADS)]


@pytest.fixture
def runtime(fresh_pg_url):
    runtime = migrated_runtime(Settings(database_url=fresh_pg_url, environment="test"))
    yield runtime
    runtime.engine.dispose()


def _deliver(runtime, event_type: str, plan_id: str, payload: dict) -> None:
    event = event_of(event_type, tenant="0014", subject=plan_id, producer="intake", correlation_id="c", payload=payload)
    handlers = load_service("monitoring").event_handlers
    assert consume(runtime.engine, "monitoring", event.model_dump_json(), handlers, max_attempts=1) == Outcome.HANDLED


def _trajectory(runtime, *, closed: bool) -> str:
    plan_id = str(uuid.uuid4())
    _deliver(runtime, "PlanApproved", plan_id, {
        "plan_id": plan_id, "client_id": "c-race", "plan_version": 2, "scheme": "prb", "granted_cents": 100_00,
        "execution_deadline": "2027-06-01",
        "lines": [{"plan_line_id": str(uuid.uuid4()), "category": "coaching", "granted_cents": 100_00}],
    })
    if closed:
        today = runtime.clock.today().isoformat()
        _deliver(runtime, "TrajectoryClosed", plan_id,
                 {"plan_id": plan_id, "client_id": "c-race", "reason": "completed", "closed_on": today})
    return plan_id


def _all_at_once(runtime, calls) -> Counter:
    def run(call):
        who, command, plan_id, data = call
        try:
            with runtime.uow("monitoring") as uow:
                command(uow, who, plan_id, data)
            return "done"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(THREADS) as pool:
        return Counter(pool.map(run, calls))


def test_minutes_and_costs_sent_at_once_all_count(runtime):
    plan_id = _trajectory(runtime, closed=False)
    today = runtime.clock.today()
    calls = [
        (STAFF[i % THREADS], progress_planning.record_time, plan_id, TimeEntryCreate(activity="coaching", minutes=5, on=today))
        if i % 2
        else (STAFF[i % THREADS], registration.add_cost, plan_id, CostCreate(kind="external_coaching", amount="12.34",
                                                                    incurred_on=today))
        for i in range(4 * THREADS)
    ]
    answers = _all_at_once(runtime, calls)
    assert answers == Counter({"done": 4 * THREADS}), answers
    with runtime.engine.connect() as conn:
        minutes, cost = conn.execute(
            sa.select(Trajectory.case_minutes, Trajectory.external_cost_cents).where(Trajectory.plan_id == plan_id)
        ).one()
    assert (minutes, cost) == (2 * THREADS * 5, 2 * THREADS * 1234)


def test_of_several_final_outcomes_at_once_exactly_one_stands(runtime):
    plan_id = _trajectory(runtime, closed=True)
    calls = [(who, outcomes.register_outcome, plan_id, OutcomeCreate(outcome="no_work_ended")) for who in STAFF]
    answers = _all_at_once(runtime, calls)
    assert answers["done"] == 1 and sum(answers.values()) == THREADS, answers
    assert set(answers) - {"done"} == {next(code for code in answers if code != "done")}  # one refusal code
    with runtime.engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM monitoring.outcome WHERE plan_id = :p"), {"p": plan_id})
        assert count.scalar_one() == 1


def test_the_first_benchmark_settings_sent_at_once_are_all_stored_not_a_500(runtime):
    from services.monitoring import benchmark
    from services.monitoring.models_benchmark import BenchmarkSettingsUpdate

    leads = [Principal(subject=f"tl-{i}", role=Role.TEAM_LEAD, municipality="0014") for i in range(THREADS)]

    def put(i: int) -> str:
        data = BenchmarkSettingsUpdate(
            hourly_rate=f"{60 + i}.00",
            min_cell_size=5,
            reference_outflow_wwb="19",
            reference_outflow_nug="61",
            reference_trajectory_cost="2900.00",
        )
        try:
            with runtime.uow("monitoring") as uow:
                benchmark.put_settings(uow, leads[i], data)
            return "done"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(THREADS) as pool:
        answers = Counter(pool.map(put, range(THREADS)))
    assert answers == Counter({"done": THREADS}), answers
    with runtime.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT hourly_rate_cents FROM monitoring.benchmark_settings")).all()
    assert len(rows) == 1 and 6000 <= rows[0][0] <= (60 + THREADS - 1) * 100
