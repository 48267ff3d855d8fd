"""Reminders at their source (issue 11), on SQLite and PostgreSQL: the due-soon scan says
FollowUpDueSoon once per item within its kind's lead time (never for what is overdue already or
closed; the six-month presentation named as such), FollowUpClosed follows only items someone was
reminded of, the ending-soon scan says TrajectoryEndingSoon once per deadline (again after a
plan change moves it), and two scans racing on PostgreSQL say each thing once."""

from __future__ import annotations

import json
import threading
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from services.monitoring.ending_soon import flag_ending_soon
from services.monitoring.follow_ups import ScanResult, flag_due_soon, flag_overdue
from services.monitoring.jobs import remind_follow_ups_due_soon, remind_trajectories_ending_soon
from shared.bus.tables import bus_tables
from tests.integration.monitoring.progress_support import (
    KM,
    START,
    change_deadline,
    close_plan,
    fixed_world,
    on_day,
    start_plan,
)

REPORT = {"on_track": True, "summary": "Gaat goed"}
FIRST_REPORT = date(2026, 5, 2)  # a plan started on START reports every two months


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    with fixed_world(request, tmp_path, request.param) as world:
        on_day(world[2], START)
        yield world


@pytest.fixture
def pg(request, tmp_path):
    with fixed_world(request, tmp_path, "postgresql") as world:
        on_day(world[2], START)
        yield world


def _events(runtime, event_type: str) -> list[dict[str, Any]]:
    outbox = bus_tables("monitoring").outbox
    query = sa.select(outbox.c.envelope).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
    with runtime.engine.connect() as conn:
        return [json.loads(row)["payload"] for row in conn.execute(query).scalars()]


def _due_soon(runtime) -> ScanResult:
    with runtime.uow("monitoring") as uow:
        return flag_due_soon(uow)


def _ending_soon(runtime) -> int:
    with runtime.uow("monitoring") as uow:
        return flag_ending_soon(uow)


def test_a_progress_report_is_said_due_soon_once_seven_days_ahead(fresh):
    runtime, _http, clock = fresh
    plan = start_plan(runtime, clock)
    on_day(clock, date(2026, 4, 24))
    assert _due_soon(runtime) == ScanResult(0, 0, 0)  # eight days ahead: not yet
    on_day(clock, date(2026, 4, 25))
    # One item found, re-read under lock, its trajectory locked, reminded of.
    assert _due_soon(runtime) == ScanResult(follow_ups_read=2, trajectories_locked=1, flagged=1)
    with runtime.uow("monitoring") as uow:
        assert remind_follow_ups_due_soon(uow) == 0  # the second run of the day
    on_day(clock, date(2026, 5, 2))
    assert _due_soon(runtime) == ScanResult(0, 0, 0)  # due today, reminded already
    [said] = _events(runtime, "FollowUpDueSoon")
    assert said["plan_id"] == plan.plan_id and said["client_id"] == plan.client_id
    assert said["kind"] == "progress_report" and said["due_on"] == FIRST_REPORT.isoformat()
    assert said["conversation_kind"] is None


def test_an_overdue_item_never_reminded_is_the_overdue_scans_not_due_soon(fresh):
    runtime, _http, clock = fresh
    start_plan(runtime, clock)
    on_day(clock, date(2026, 5, 10))  # the report of 2 May is overdue; the next is in July
    assert _due_soon(runtime).flagged == 0
    with runtime.uow("monitoring") as uow:
        assert flag_overdue(uow).flagged == 1
    assert _events(runtime, "FollowUpDueSoon") == []
    on_day(clock, date(2026, 6, 25))
    assert _due_soon(runtime).flagged == 1
    assert [e["due_on"] for e in _events(runtime, "FollowUpDueSoon")] == ["2026-07-02"]


def test_a_closed_trajectory_has_nothing_due_soon(fresh):
    runtime, _http, clock = fresh
    plan = start_plan(runtime, clock)
    close_plan(runtime, clock, plan)
    on_day(clock, date(2026, 4, 28))
    assert _due_soon(runtime) == ScanResult(0, 0, 0)
    assert _events(runtime, "FollowUpDueSoon") == []


def test_the_six_month_presentation_is_named_and_reminded_of_three_days_ahead(fresh):
    runtime, _http, clock = fresh
    plan = start_plan(runtime, clock, deadline=date(2027, 3, 2))
    on_day(clock, date(2026, 8, 29))  # the report and the presentation are both on 2 September
    assert _due_soon(runtime).flagged == 1  # the report (seven days ahead), not yet the conversation
    on_day(clock, date(2026, 8, 30))
    assert _due_soon(runtime).flagged == 1  # now the presentation (three days ahead)
    report, presentation = _events(runtime, "FollowUpDueSoon")
    assert (report["kind"], report["conversation_kind"]) == ("progress_report", None)
    assert presentation["kind"] == "conversation" and presentation["plan_id"] == plan.plan_id
    assert presentation["conversation_kind"] == "six_month_presentation"
    assert presentation["due_on"] == "2026-09-02"


def test_closing_a_follow_up_someone_was_reminded_of_says_so_and_only_then(fresh):
    runtime, http, clock = fresh
    reminded, cancelled = start_plan(runtime, clock), start_plan(runtime, clock)
    on_day(clock, date(2026, 4, 25))
    assert _due_soon(runtime).flagged == 2
    said = {e["plan_id"]: e["follow_up_id"] for e in _events(runtime, "FollowUpDueSoon")}
    later = start_plan(runtime, clock)  # its first report is due on 25 June: nobody was reminded
    for plan in (reminded, later):
        assert http.post(plan.url("/progress-reports"), headers=KM, json=REPORT).status_code == 201
    close_plan(runtime, clock, cancelled)
    closed = _events(runtime, "FollowUpClosed")
    assert sorted((e["plan_id"], e["follow_up_id"], e["closed"]) for e in closed) == sorted(
        [
            (reminded.plan_id, said[reminded.plan_id], "done"),
            (cancelled.plan_id, said[cancelled.plan_id], "cancelled"),
        ]
    )
    assert {e["kind"] for e in closed} == {"progress_report"}


def test_a_follow_up_flagged_overdue_says_closed_when_it_is_done(fresh):
    runtime, http, clock = fresh
    plan = start_plan(runtime, clock)
    on_day(clock, date(2026, 5, 10))
    with runtime.uow("monitoring") as uow:
        assert flag_overdue(uow).flagged == 1
    assert http.post(plan.url("/progress-reports"), headers=KM, json=REPORT).status_code == 201
    [closed] = _events(runtime, "FollowUpClosed")
    [overdue] = _events(runtime, "FollowUpOverdue")
    assert closed["follow_up_id"] == overdue["follow_up_id"] and closed["closed"] == "done"


def test_a_trajectory_ending_in_thirty_days_is_said_once_and_again_after_a_later_deadline(fresh):
    runtime, _http, clock = fresh
    plan = start_plan(runtime, clock, deadline=date(2026, 6, 1))
    ended = start_plan(runtime, clock, deadline=date(2026, 6, 1))
    close_plan(runtime, clock, ended)
    on_day(clock, date(2026, 5, 1))
    assert _ending_soon(runtime) == 0  # 31 days
    on_day(clock, date(2026, 5, 2))
    assert _ending_soon(runtime) == 1
    with runtime.uow("monitoring") as uow:
        assert remind_trajectories_ending_soon(uow) == 0  # the second run of the day
    change_deadline(runtime, clock, plan, date(2026, 7, 1))
    assert _ending_soon(runtime) == 0  # the new deadline is 60 days away
    on_day(clock, date(2026, 6, 1))
    assert _ending_soon(runtime) == 1
    assert _ending_soon(runtime) == 0
    said = _events(runtime, "TrajectoryEndingSoon")
    assert [(e["plan_id"], e["client_id"], e["ends_on"]) for e in said] == [
        (plan.plan_id, plan.client_id, "2026-06-01"),
        (plan.plan_id, plan.client_id, "2026-07-01"),
    ]


def test_two_scans_racing_on_postgresql_say_each_thing_once(pg):
    runtime, _http, clock = pg
    plans = [start_plan(runtime, clock) for _ in range(10)]
    ending = [start_plan(runtime, clock, deadline=date(2026, 5, 20)) for _ in range(6)]
    on_day(clock, date(2026, 4, 25))  # every first report is due in 7 days; six plans end in 25
    barrier = threading.Barrier(2)
    counts: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            barrier.wait(timeout=10)
            with runtime.uow("monitoring") as uow:
                due = flag_due_soon(uow, batch=3).flagged
            with runtime.uow("monitoring") as uow:
                counts.append((due, flag_ending_soon(uow, batch=2)))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(c[0] for c in counts) == len(plans) + len(ending)
    assert sum(c[1] for c in counts) == len(ending)
    due_soon = _events(runtime, "FollowUpDueSoon")
    assert len(due_soon) == len({e["follow_up_id"] for e in due_soon}) == len(plans) + len(ending)
    ending_soon = _events(runtime, "TrajectoryEndingSoon")
    assert sorted(e["plan_id"] for e in ending_soon) == sorted(p.plan_id for p in ending)
