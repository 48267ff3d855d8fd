"""monitoring_0008 on a database that already has outcomes: each gets its day and its registration
day, trajectories get their outcome state, and the way back works (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from shared.db import create_db_engine
from shared.migrations import downgrade, upgrade

BEFORE, OURS = "monitoring_0007", "monitoring_0008"


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["monitoring"])
    yield engine
    engine.dispose()


def _trajectory(conn, plan_id: str, status: str) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO monitoring.trajectory (plan_id, kind, municipality, client_id, scheme, granted_cents, "
            "spent_cents, started_on, execution_deadline, report_overdue, status) VALUES (:p, 'plan', '0014', "
            "'c', 'prb', 0, 0, :start, :deadline, false, :status)"
        ),
        {"p": plan_id, "start": date(2026, 1, 5), "deadline": date(2027, 1, 5), "status": status},
    )


def _outcome(conn, id: str, plan_id: str, outcome: str, since: date | None, at: str, durable: bool = False) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO monitoring.outcome (id, municipality, plan_id, client_id, outcome, kind_of_work, "
            "working_since, hours_per_week, durable, registered_by, registered_at) VALUES (:id, '0014', :p, 'c', "
            ":o, :k, :since, NULL, :durable, 'km', :at)"
        ),
        {
            "id": id,
            "p": plan_id,
            "o": outcome,
            "k": "permanent_job" if since else None,
            "since": since,
            "durable": durable,
            "at": at,
        },
    )


def test_existing_outcomes_get_their_days_and_trajectories_their_outcome_state(engine):
    migrations = load_service("monitoring").migrations
    upgrade(engine, "monitoring", migrations, BEFORE)
    with engine.begin() as conn:
        _trajectory(conn, "p-work", "running")
        _outcome(conn, "o1", "p-work", "work_during", date(2026, 2, 1), "2026-09-01 10:00:00+00:00", durable=True)
        _trajectory(conn, "p-lost", "closed")
        _outcome(conn, "o2", "p-lost", "work_during", date(2026, 2, 1), "2026-03-01 10:00:00+00:00")
        _outcome(conn, "o3", "p-lost", "no_work_running", None, "2026-05-01 10:00:00+00:00")
        _trajectory(conn, "p-none", "closed")
        _outcome(conn, "o4", "p-none", "no_work_running", None, "2026-04-01 23:30:00+00:00")
        _trajectory(conn, "p-empty", "running")
    upgrade(engine, "monitoring", migrations, OURS)
    with engine.connect() as conn:
        days = {
            r.id: (r.found_on, r.registered_on)
            for r in conn.execute(sa.text("SELECT id, found_on, registered_on FROM monitoring.outcome"))
        }
        states = {
            r.plan_id: (r.outcome_category, r.kind_of_work, r.outflow_on, bool(r.durable))
            for r in conn.execute(
                sa.text(
                    "SELECT plan_id, outcome_category, kind_of_work, outflow_on, durable FROM monitoring.trajectory"
                )
            )
        }
    as_dates = {
        k: tuple(v if isinstance(v, date) else date.fromisoformat(str(v)) for v in pair) for k, pair in days.items()
    }
    assert as_dates["o1"] == (date(2026, 2, 1), date(2026, 9, 1))
    assert as_dates["o3"] == (date(2026, 5, 1), date(2026, 5, 1))
    # 23:30 UTC on 1 April is 2 April in the Netherlands (PostgreSQL); SQLite takes the UTC day.
    assert as_dates["o4"][0] in (date(2026, 4, 1), date(2026, 4, 2))

    def norm(state):
        category, kind, outflow, durable = state
        return (
            category,
            kind,
            outflow if outflow is None or isinstance(outflow, date) else date.fromisoformat(outflow),
            durable,
        )

    assert norm(states["p-work"]) == ("work_during", "permanent_job", date(2026, 2, 1), True)
    assert norm(states["p-lost"]) == ("work_ended", "permanent_job", date(2026, 2, 1), False)
    assert norm(states["p-none"]) == ("no_work_ended", None, None, False)
    assert norm(states["p-empty"]) == (None, None, None, False)
    downgrade(engine, "monitoring", migrations, BEFORE)
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("outcome", schema="monitoring")}
        assert "found_on" not in columns and "registered_on" not in columns
        assert not sa.inspect(conn).has_table("client_voice", schema="monitoring")
