"""Outcomes through the API on SQLite and PostgreSQL with a frozen clock: every refusal is a
problem naming its field, another municipality's trajectory is a 404, the trajectory's derived
outcome state after a sequence of outcomes and durability checks, the six-month boundary (also
from a start on 31 August), the follow-ups work plans and checks complete, and OutcomeRegistered
once per outcome."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from services.monitoring.domain.outcomes import six_months_after
from services.monitoring.models import Trajectory
from services.monitoring.models_progress import FollowUp
from shared.bus.tables import bus_tables
from shared.clock import add_months
from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth
from tests.support.runtime import drain
from tests.support.world import make_case

KM = auth("case_manager", "0014")
SEEDS = itertools.count(801, 5)  # test_bsn of neighbouring seeds can meet


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("outcomes"), request.param) as (runtime, http, clock):
        yield runtime, http, clock, clock.now()


@pytest.fixture(autouse=True)
def _back_to_the_start(env):
    _runtime, _http, clock, start = env
    clock.instant = start


@pytest.fixture(scope="module")
def running(env):
    runtime, http, _clock, _start = env
    return make_case(http, runtime, "0014", next(SEEDS))


def _new_case(env):
    runtime, http, _clock, _start = env
    return make_case(http, runtime, "0014", next(SEEDS))


def _at(clock, day: date) -> None:
    """Put the frozen clock at noon (Dutch time) on `day`."""
    clock.instant = datetime(day.year, day.month, day.day, 11, tzinfo=clock.instant.tzinfo)


def _post(http, plan_id: str, path: str, body: dict, headers=KM):
    return http.post(f"/monitoring/v1/trajectories/{plan_id}/{path}", headers=headers, json=body)


def _refused(r, status: int, code: str, field: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == code and problem["errors"][0]["field"] == field, problem
    return problem


def _row(runtime, plan_id: str) -> Trajectory:
    with Session(runtime.engine) as session:
        row = session.get(Trajectory, plan_id)
        assert row is not None
        session.expunge(row)
        return row


def _follow_ups(runtime, plan_id: str) -> list[tuple[str, date, str]]:
    """The durability and aftercare follow-ups of a trajectory (progress has its own)."""
    with Session(runtime.engine) as session:
        rows = session.exec(select(FollowUp).where(FollowUp.plan_id == plan_id)).all()
        ours = ("durability_check", "aftercare")
        return sorted((str(r.kind), r.due_on, str(r.status)) for r in rows if r.kind in ours)


def _outcome_events(runtime, plan_id: str) -> int:
    outbox = bus_tables("monitoring").outbox
    with runtime.engine.connect() as conn:
        envelopes = conn.execute(
            sa.select(outbox.c.envelope).where(outbox.c.event_type == "OutcomeRegistered")
        ).scalars()
        return sum(1 for e in envelopes if json.loads(e).get("subject") == plan_id)


def _close(env, case, closed_on: date) -> None:
    runtime, http, _clock, _start = env
    plan = http.get(f"/intake/v1/plans/{case.plan_id}", headers=KM).json()
    r = http.post(
        f"/intake/v1/plans/{case.plan_id}/close",
        headers=KM,
        json={"plan_version": plan["version"], "reason": "completed", "closed_on": closed_on.isoformat()},
    )
    assert r.status_code == 200, r.text
    drain(runtime)


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,status,code,field",
    [
        ({"outcome": "work_after", "working_since": "{today}"}, 409, "outcome.trajectory_running", "outcome"),
        ({"outcome": "no_work_ended"}, 409, "outcome.trajectory_running", "outcome"),
        ({"outcome": "work_during"}, 422, "outcome.working_since", "working_since"),
        ({"outcome": "work_during", "working_since": "{tomorrow}"}, 422, "outcome.future", "working_since"),
        ({"outcome": "work_during", "working_since": "{before}"}, 422, "outcome.before_trajectory", "working_since"),
        ({"outcome": "no_work_running", "on": "{tomorrow}"}, 422, "outcome.future", "on"),
        ({"outcome": "unknown", "on": "{before}"}, 422, "outcome.before_trajectory", "on"),
        ({"outcome": "no_work_running", "kind_of_work": "permanent_job"}, 422, "outcome.not_work", "kind_of_work"),
        ({"outcome": "work_during", "working_since": "{today}", "on": "{tomorrow}"}, 422, "outcome.future", "on"),
    ],
)
def test_an_outcome_that_cannot_be_is_a_problem_naming_its_field(env, running, body, status, code, field):
    _runtime, http, clock, start = env
    days = {
        "today": clock.today(),
        "tomorrow": clock.today() + timedelta(days=1),
        "before": start.date() - timedelta(1),
    }
    body = {k: v.format(**{n: d.isoformat() for n, d in days.items()}) for k, v in body.items()}
    _refused(_post(http, running.plan_id, "outcomes", body), status, code, field)


def test_a_refusal_speaks_dutch_when_asked(env, running):
    _runtime, http, _clock, _start = env
    r = _post(http, running.plan_id, "outcomes", {"outcome": "no_work_ended"}, headers={**KM, "Accept-Language": "nl"})
    assert "Het traject loopt nog" in _refused(r, 409, "outcome.trajectory_running", "outcome")["detail"]


def test_bad_durability_checks_aftercare_and_client_voice_are_problems_naming_the_field(env, running):
    _runtime, http, clock, start = env
    tomorrow = (clock.today() + timedelta(days=1)).isoformat()
    r = _post(
        http,
        running.plan_id,
        "durability-checks",
        {"outcome_id": "nope", "checked_on": clock.today().isoformat(), "still_working": True},
    )
    _refused(r, 422, "durability_check.not_work", "outcome_id")
    _refused(
        _post(http, running.plan_id, "aftercare", {"on": tomorrow, "note": "Gebeld"}), 422, "aftercare.future", "on"
    )
    voice = {"brought": "Meer zelfvertrouwen", "score": 8}
    _refused(_post(http, running.plan_id, "client-voice", voice), 422, "client_voice.step", "step")
    r = _post(http, running.plan_id, "client-voice", {**voice, "plan_line_id": "not-a-line"})
    _refused(r, 422, "client_voice.plan_line", "plan_line_id")
    r = _post(http, running.plan_id, "client-voice", {**voice, "step": "Cursus", "score": 11})
    assert r.status_code == 422 and "score" in r.text


def test_on_a_closed_trajectory_work_after_follows_the_close_and_there_is_one_final_outcome(env):
    _runtime, http, clock, start = env
    case = _new_case(env)
    closed_on = start.date() + timedelta(days=10)
    _at(clock, start.date() + timedelta(days=12))
    _close(env, case, closed_on)
    iso = {
        n: d.isoformat()
        for n, d in {
            "close": closed_on,
            "after": closed_on + timedelta(days=1),
            "before": closed_on - timedelta(days=1),
        }.items()
    }
    _refused(
        _post(http, case.plan_id, "outcomes", {"outcome": "work_after", "working_since": iso["close"]}),
        422,
        "outcome.work_after_before_close",
        "working_since",
    )
    _refused(
        _post(http, case.plan_id, "outcomes", {"outcome": "work_during", "working_since": iso["after"]}),
        422,
        "outcome.work_during_after_close",
        "working_since",
    )
    _refused(
        _post(http, case.plan_id, "outcomes", {"outcome": "no_work_running"}),
        422,
        "outcome.running_after_close",
        "outcome",
    )
    _refused(
        _post(http, case.plan_id, "outcomes", {"outcome": "no_work_ended", "on": iso["before"]}),
        422,
        "outcome.ended_before_close",
        "on",
    )
    first = _post(http, case.plan_id, "outcomes", {"outcome": "no_work_ended", "on": iso["close"]})
    assert first.status_code == 201 and first.json()["final"] is True, first.text
    for body in ({"outcome": "no_work_ended"}, {"outcome": "unknown"}):
        _refused(_post(http, case.plan_id, "outcomes", body), 409, "outcome.final_exists", "outcome")
    # Work found after the end may follow "no work" once (Table 4.7's work after the trajectory),
    # starting after the day that said no work.
    later = _post(http, case.plan_id, "outcomes", {"outcome": "work_after", "working_since": iso["after"]})
    assert later.status_code == 201, later.text
    again = _post(http, case.plan_id, "outcomes", {"outcome": "work_after", "working_since": iso["after"]})
    _refused(again, 409, "outcome.final_exists", "outcome")
    state = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/outcome-state", headers=KM).json()
    assert state["outcome_category"] == "work_after" and state["outflow_on"] == iso["after"]


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", "outcomes", {"outcome": "unknown"}),
        ("GET", "outcomes", None),
        ("GET", "outcome-state", None),
        ("POST", "durability-checks", {"outcome_id": "x", "checked_on": "2026-01-01", "still_working": True}),
        ("GET", "durability-checks", None),
        ("POST", "aftercare", {"on": "2026-01-01", "note": "Gebeld"}),
        ("GET", "aftercare", None),
        ("POST", "client-voice", {"step": "Cursus", "brought": "Veel", "score": 7}),
        ("GET", "client-voice", None),
    ],
)
def test_another_municipalitys_trajectory_is_not_found(env, running, method, path, body):
    _runtime, http, _clock, _start = env
    r = http.request(
        method, f"/monitoring/v1/trajectories/{running.plan_id}/{path}", headers=auth("case_manager", "0344"), json=body
    )
    assert r.status_code == 404, r.text


# --- the derived state, durability and follow-ups ----------------------------------------------------


def test_work_found_then_durable_at_six_months_then_ended_is_work_ended_but_still_durable(env):
    runtime, http, clock, start = env
    case = _new_case(env)
    since = start.date() + timedelta(days=3)
    _at(clock, since + timedelta(days=2))
    r = _post(
        http,
        case.plan_id,
        "outcomes",
        {
            "outcome": "work_during",
            "working_since": since.isoformat(),
            "kind_of_work": "temp_agency",
            "hours_per_week": 24,
        },
    )
    assert r.status_code == 201 and r.json()["durable"] is False and r.json()["on"] == since.isoformat(), r.text
    outcome_id = r.json()["id"]
    row = _row(runtime, case.plan_id)
    assert (row.outcome_category, row.kind_of_work, row.outflow_on, row.durable) == (
        "work_during",
        "temp_agency",
        since,
        False,
    )
    due = six_months_after(since)
    assert _follow_ups(runtime, case.plan_id) == sorted(
        [
            ("aftercare", _months(since, 1), "open"),
            ("aftercare", _months(since, 3), "open"),
            ("durability_check", due, "open"),
        ]
    )

    _at(clock, due)
    r = _post(
        http,
        case.plan_id,
        "durability-checks",
        {"outcome_id": outcome_id, "checked_on": due.isoformat(), "still_working": True, "note": "Werkt nog"},
    )
    assert r.status_code == 201, r.text
    row = _row(runtime, case.plan_id)
    assert (row.outcome_category, row.durable) == ("work_during", True)
    assert ("durability_check", due, "done") in _follow_ups(runtime, case.plan_id)
    listed = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/outcomes", headers=KM).json()
    assert [o["durable"] for o in listed] == [True]  # re-evaluated, not frozen at registration

    _at(clock, due + timedelta(days=40))
    r = _post(
        http,
        case.plan_id,
        "durability-checks",
        {"outcome_id": outcome_id, "checked_on": clock.today().isoformat(), "still_working": False},
    )
    assert r.status_code == 201, r.text
    row = _row(runtime, case.plan_id)
    assert (row.outcome_category, row.kind_of_work, row.outflow_on, row.durable) == (
        "work_ended",
        "temp_agency",
        since,
        True,
    )
    state = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/outcome-state", headers=case.headers()).json()
    assert state == {
        "plan_id": case.plan_id,
        "outcome_category": "work_ended",
        "recorded": True,
        "kind_of_work": "temp_agency",
        "outflow_on": since.isoformat(),
        "durable": True,
    }
    checks = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/durability-checks", headers=KM).json()
    assert [c["still_working"] for c in checks] == [True, False]
    assert _outcome_events(runtime, case.plan_id) == 1  # checks say nothing on the bus
    drain(runtime)


def _months(day: date, months: int) -> date:
    return add_months(day, months)


def _next_31_august(after: date) -> date:
    year = after.year if date(after.year, 8, 31) >= after else after.year + 1
    return date(year, 8, 31)


def test_durability_around_six_months_from_a_start_on_31_august(env):
    runtime, http, clock, start = env
    case = _new_case(env)
    since = _next_31_august(start.date())
    _at(clock, since)
    r = _post(http, case.plan_id, "outcomes", {"outcome": "work_during", "working_since": since.isoformat()})
    assert r.status_code == 201, r.text
    outcome_id = r.json()["id"]
    boundary = six_months_after(since)
    assert boundary == date(since.year + 1, 3, 1)
    day_before = boundary - timedelta(days=1)  # the last day of February: 5 full months and some days
    _at(clock, day_before)
    r = _post(
        http,
        case.plan_id,
        "durability-checks",
        {"outcome_id": outcome_id, "checked_on": day_before.isoformat(), "still_working": True},
    )
    assert r.status_code == 201, r.text
    assert _row(runtime, case.plan_id).durable is False
    assert ("durability_check", boundary, "open") in _follow_ups(runtime, case.plan_id)  # still to be asked
    _at(clock, boundary)
    r = _post(
        http,
        case.plan_id,
        "durability-checks",
        {"outcome_id": outcome_id, "checked_on": boundary.isoformat(), "still_working": True},
    )
    assert r.status_code == 201, r.text
    assert _row(runtime, case.plan_id).durable is True
    assert ("durability_check", boundary, "done") in _follow_ups(runtime, case.plan_id)


def test_a_late_registration_is_durable_from_the_six_month_day_on_not_the_day_before(env):
    runtime, http, clock, start = env
    since = start.date() + timedelta(days=1)
    boundary = six_months_after(since)
    for today, durable in ((boundary - timedelta(days=1), False), (boundary, True)):
        case = _new_case(env)
        _at(clock, today)
        r = _post(http, case.plan_id, "outcomes", {"outcome": "work_during", "working_since": since.isoformat()})
        assert r.status_code == 201 and r.json()["durable"] is durable, r.text
        assert _row(runtime, case.plan_id).durable is durable
        planned = {kind for kind, _due, _status in _follow_ups(runtime, case.plan_id)}
        assert ("durability_check" in planned) is not durable  # shown durable: nothing to ask
        clock.instant = start


def test_no_work_after_work_is_work_ended_and_cancels_the_open_durability_check(env):
    runtime, http, clock, start = env
    case = _new_case(env)
    since = start.date() + timedelta(days=1)
    _at(clock, since + timedelta(days=30))
    assert (
        _post(
            http, case.plan_id, "outcomes", {"outcome": "work_during", "working_since": since.isoformat()}
        ).status_code
        == 201
    )
    r = _post(http, case.plan_id, "outcomes", {"outcome": "no_work_running"})
    assert r.status_code == 201, r.text
    assert _row(runtime, case.plan_id).outcome_category == "work_ended"
    assert ("durability_check", six_months_after(since), "cancelled") in _follow_ups(runtime, case.plan_id)
    assert _outcome_events(runtime, case.plan_id) == 2


def test_no_work_while_running_becomes_no_work_ended_when_the_trajectory_closes(env):
    runtime, http, clock, start = env
    case = _new_case(env)
    _at(clock, start.date() + timedelta(days=5))
    assert _post(http, case.plan_id, "outcomes", {"outcome": "no_work_running"}).status_code == 201
    _close(env, case, clock.today())
    assert _row(runtime, case.plan_id).outcome_category == "no_work_ended"


def test_the_six_month_question_outlives_the_trajectory(env):
    runtime, http, clock, start = env
    case = _new_case(env)
    since = start.date() + timedelta(days=2)
    _at(clock, since)
    assert (
        _post(
            http, case.plan_id, "outcomes", {"outcome": "work_during", "working_since": since.isoformat()}
        ).status_code
        == 201
    )
    _close(env, case, since)
    assert ("durability_check", six_months_after(since), "open") in _follow_ups(runtime, case.plan_id)


def test_a_trajectory_without_outcomes_reads_as_no_work_running_and_its_row_is_null(env, running):
    runtime, http, _clock, _start = env
    case = _new_case(env)
    state = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/outcome-state", headers=KM).json()
    assert (state["outcome_category"], state["recorded"], state["durable"]) == ("no_work_running", False, False)
    assert _row(runtime, case.plan_id).outcome_category is None


# --- aftercare and the client's voice --------------------------------------------------------------


def test_aftercare_check_ins_complete_the_earliest_aftercare_follow_up_and_count_their_minutes(env):
    runtime, http, clock, start = env
    case = _new_case(env)
    since = start.date() + timedelta(days=1)
    _at(clock, since)
    assert (
        _post(
            http, case.plan_id, "outcomes", {"outcome": "work_during", "working_since": since.isoformat()}
        ).status_code
        == 201
    )
    minutes_before = _row(runtime, case.plan_id).case_minutes
    _at(clock, _months(since, 1))
    r = _post(
        http,
        case.plan_id,
        "aftercare",
        {"on": clock.today().isoformat(), "note": "Gaat goed op het werk", "still_working": True, "minutes": 30},
    )
    assert r.status_code == 201 and r.json()["on"] == clock.today().isoformat(), r.text
    follow_ups = _follow_ups(runtime, case.plan_id)
    assert ("aftercare", _months(since, 1), "done") in follow_ups
    assert ("aftercare", _months(since, 3), "open") in follow_ups
    assert _row(runtime, case.plan_id).case_minutes == minutes_before + 30
    listed = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/aftercare", headers=case.headers())
    assert [a["note"] for a in listed.json()] == ["Gaat goed op het werk"] and listed.headers["X-Total-Count"] == "1"
    assert (
        http.get(f"/monitoring/v1/trajectories/{case.plan_id}/aftercare", headers=auth("policy", "0014")).status_code
        == 403
    )
    assert (
        _post(
            http, case.plan_id, "aftercare", {"on": clock.today().isoformat(), "note": "x"}, headers=case.headers()
        ).status_code
        == 403
    )


def test_the_client_gives_their_own_voice_staff_may_write_it_down_and_policy_sees_only_the_average(env):
    runtime, http, clock, _start = env
    from services.monitoring.outcomes import client_voice_average, client_voice_per_trajectory

    case, other = _new_case(env), _new_case(env)
    r = _post(
        http,
        case.plan_id,
        "client-voice",
        {"step": "Cursus boekhouden", "brought": "Ik durf weer te solliciteren", "score": 9},
        headers=case.headers(),
    )
    assert r.status_code == 201 and r.json()["recorded_by_role"] == "client", r.text
    with Session(runtime.engine) as session:
        line_id = session.exec(
            sa.text("SELECT plan_line_id FROM monitoring.trajectory_line WHERE plan_id = :p").bindparams(p=case.plan_id)
        ).first()
    assert line_id is not None
    clock.advance(timedelta(minutes=1))  # listed oldest first
    r = _post(http, case.plan_id, "client-voice", {"plan_line_id": line_id[0], "brought": "Structuur", "score": 6})
    assert r.status_code == 201 and r.json()["recorded_by_role"] == "case_manager", r.text
    # Not another client's trajectory, and not policy.
    assert (
        _post(
            http, other.plan_id, "client-voice", {"step": "x", "brought": "y", "score": 5}, headers=case.headers()
        ).status_code
        == 404
    )
    assert (
        _post(
            http,
            case.plan_id,
            "client-voice",
            {"step": "x", "brought": "y", "score": 5},
            headers=auth("policy", "0014"),
        ).status_code
        == 403
    )
    assert (
        http.get(f"/monitoring/v1/trajectories/{case.plan_id}/client-voice", headers=auth("policy", "0014")).status_code
        == 403
    )
    listed = http.get(f"/monitoring/v1/trajectories/{case.plan_id}/client-voice", headers=case.headers()).json()
    assert [(v["score"], v["step"], v["plan_line_id"]) for v in listed] == [
        (9, "Cursus boekhouden", None),
        (6, None, line_id[0]),
    ]
    with Session(runtime.engine) as session:
        assert client_voice_average(session, case.plan_id) == pytest.approx(7.5)
        assert client_voice_average(session, other.plan_id) is None
        per = client_voice_per_trajectory("0014")
        rows = session.exec(
            select(per.c.plan_id, per.c.responses, per.c.score_sum).where(per.c.plan_id == case.plan_id)
        ).all()
        assert [tuple(r) for r in rows] == [(case.plan_id, 2, 15)]
