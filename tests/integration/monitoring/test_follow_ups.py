"""Follow-ups through the API and the daily scan on SQLite and PostgreSQL: the scan reads only what
is due, flags each item once and says FollowUpOverdue once even when run twice; notifications turns
it into a reminder for the case team; conversations, milestones and time entries are follow-ups
(or minutes) of their own; staff see what needs attention."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from services.monitoring.follow_ups import ScanResult, flag_overdue
from services.monitoring.jobs import flag_overdue_follow_ups
from shared.bus.tables import bus_tables
from tests.integration.monitoring.progress_support import KM, START, close_plan, fixed_world, on_day, start_plan
from tests.support.auth import auth
from tests.support.runtime import drain

REPORT = {"on_track": True, "summary": "Gaat goed"}


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path):
    """A world of its own: the scan sees every trajectory in it."""
    with fixed_world(request, tmp_path, request.param) as world:
        yield world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with fixed_world(request, tmp_path_factory.mktemp("follow_ups"), request.param) as world:
        yield world


@pytest.fixture(autouse=True)
def _on_the_start(request):
    for name in ("env", "fresh"):
        if name in request.fixturenames:
            on_day(request.getfixturevalue(name)[2], START)


def _scan(runtime) -> ScanResult:
    with runtime.uow("monitoring") as uow:
        return flag_overdue(uow)


def _overdue_events(runtime, plan_id: str | None = None) -> int:
    outbox = bus_tables("monitoring").outbox
    query = sa.select(sa.func.count()).where(outbox.c.event_type == "FollowUpOverdue")
    if plan_id:
        query = query.where(outbox.c.envelope.contains(plan_id))
    with runtime.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_the_scan_reads_only_what_is_due_flags_it_once_and_says_so_once(fresh):
    runtime, http, clock = fresh
    early = [start_plan(runtime, clock) for _ in range(3)]  # first report due 2 May
    on_day(clock, date(2026, 4, 15))
    later = [start_plan(runtime, clock) for _ in range(2)]  # first report due 15 June
    on_day(clock, date(2026, 5, 2))
    assert _scan(runtime) == ScanResult(0, 0, 0)  # due today is not overdue yet
    on_day(clock, date(2026, 5, 10))
    # Three items are due (one per early plan), of the dozens planned: read twice (found, then under
    # lock), their three trajectories locked, each flagged.
    assert _scan(runtime) == ScanResult(follow_ups_read=6, trajectories_locked=3, flagged=3)
    assert _overdue_events(runtime) == 3
    with runtime.uow("monitoring") as uow:
        assert flag_overdue_follow_ups(uow) == 0  # the second run of the day: nothing new
    assert _scan(runtime) == ScanResult(0, 0, 0) and _overdue_events(runtime) == 3
    overdue = http.get("/monitoring/v1/trajectories", headers=KM, params={"overdue": True}).json()
    assert {t["plan_id"] for t in overdue} == {p.plan_id for p in early}
    assert not {p.plan_id for p in later} & {t["plan_id"] for t in overdue}


def test_a_report_clears_the_overdue_flag_unless_another_report_is_still_overdue(fresh):
    runtime, http, clock = fresh
    plan = start_plan(runtime, clock)
    on_day(clock, date(2026, 7, 10))  # the reports of 2 May and 2 July are both overdue
    assert _scan(runtime).flagged == 2
    assert http.get(plan.url(), headers=KM).json()["report_overdue"] is True
    assert http.post(plan.url("/progress-reports"), headers=KM, json=REPORT).status_code == 201
    assert http.get(plan.url(), headers=KM).json()["report_overdue"] is True  # 2 July still open
    assert http.post(plan.url("/progress-reports"), headers=KM, json=REPORT).status_code == 201
    assert http.get(plan.url(), headers=KM).json()["report_overdue"] is False
    assert _scan(runtime).flagged == 0


def test_notifications_reminds_the_case_team_of_what_is_overdue(fresh):
    runtime, http, clock = fresh
    plan = start_plan(runtime, clock)
    on_day(clock, date(2026, 5, 3))
    assert _scan(runtime).flagged == 1
    drain(runtime)
    drain(runtime)  # a second delivery makes no second message
    params = {"recipient_kind": "case_team", "client_id": plan.client_id, "lang": "nl"}
    messages = http.get("/notifications/v1/messages", headers=KM, params=params).json()
    [reminder] = [m for m in messages if m["template"] == "follow_up_overdue"]
    assert reminder["subject"] == "Te laat bij een traject"
    assert reminder["body"].startswith("Een voortgangsrapportage") and "2 mei 2026" in reminder["body"]
    english = http.get("/notifications/v1/messages", headers=KM, params={**params, "lang": "en"}).json()
    assert any(m["body"].startswith("A progress report") for m in english if m["template"] == "follow_up_overdue")
    # The client reads its own reminder to send the report, never the case team's.
    assert [m["template"] for m in http.get("/notifications/v1/messages", headers=plan.client()).json()] == [
        "report_overdue"
    ]


def test_a_closed_trajectory_has_nothing_overdue(fresh):
    runtime, _http, clock = fresh
    plan = start_plan(runtime, clock)
    close_plan(runtime, clock, plan)
    on_day(clock, date(2026, 12, 1))
    assert _scan(runtime) == ScanResult(0, 0, 0) and _overdue_events(runtime, plan.plan_id) == 0


def test_a_long_trajectory_starts_with_the_six_month_presentation_a_short_one_without(env):
    runtime, http, clock = env
    long = start_plan(runtime, clock, deadline=date(2027, 3, 2))
    short = start_plan(runtime, clock, deadline=date(2026, 9, 2))
    [presentation] = http.get(long.url("/conversations"), headers=KM).json()
    assert presentation["kind"] == "six_month_presentation" and presentation["planned_on"] == "2026-09-02"
    assert presentation["title"] == "Presentatie 'Mijn weg naar werk'" and presentation["status"] == "planned"
    assert http.get(short.url("/conversations"), headers=KM).json() == []
    follow_ups = http.get(
        "/monitoring/v1/follow-ups", headers=KM, params={"plan_id": long.plan_id, "kind": "conversation"}
    )
    assert [(f["ref_id"], f["due_on"]) for f in follow_ups.json()] == [(presentation["id"], "2026-09-02")]


def test_a_conversation_held_completes_its_follow_up_and_adds_its_minutes(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, deadline=date(2026, 8, 1))
    r = http.post(plan.url("/conversations"), headers=KM, json={"planned_on": "2026-04-01", "title": "Voortgang"})
    assert r.status_code == 201, r.text
    conversation = r.json()
    on_day(clock, date(2026, 4, 2))
    held = {"held_on": "2026-04-01", "note": "Loopt goed, examen in juni.", "minutes": 45}
    r = http.post(plan.url(f"/conversations/{conversation['id']}/held"), headers=KM, json=held)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "held" and r.json()["minutes"] == 45
    again = http.post(plan.url(f"/conversations/{conversation['id']}/held"), headers=KM, json=held)
    assert again.status_code == 409 and again.json()["code"] == "conversation.not_planned"
    done = http.get("/monitoring/v1/follow-ups", headers=KM, params={"plan_id": plan.plan_id, "status": "done"})
    assert [(f["ref_id"], f["done_on"]) for f in done.json()] == [(conversation["id"], "2026-04-01")]
    entry = http.post(
        plan.url("/time-entries"), headers=KM, json={"activity": "review", "minutes": 30, "on": "2026-02-20"}
    )
    assert entry.status_code == 201, entry.text
    assert entry.json()["case_minutes"] == 75  # the review came before the start: it counts too
    # The note is the case manager's: the client sees the conversation, not the note.
    [seen] = http.get(plan.url("/conversations"), headers=plan.client()).json()
    assert seen["note"] is None and http.get(plan.url("/conversations"), headers=KM).json()[0]["note"]


@pytest.mark.parametrize(
    "held,field",
    [
        ({"held_on": "2026-04-03", "minutes": 30}, "held_on"),  # tomorrow
        ({"held_on": "2026-04-01", "minutes": 0}, "minutes"),
        ({"held_on": "2026-04-01", "minutes": 601}, "minutes"),
        ({"held_on": "2026-04-01", "minutes": 30, "note": "x" * 2001}, "note"),
    ],
)
def test_holding_a_conversation_refuses_what_did_not_happen_naming_the_field(env, held, field):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    conversation = http.post(plan.url("/conversations"), headers=KM, json={"planned_on": "2026-04-01"}).json()
    on_day(clock, date(2026, 4, 2))
    r = http.post(plan.url(f"/conversations/{conversation['id']}/held"), headers=KM, json=held)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == field
    assert http.get(plan.url(), headers=KM).status_code == 200


def test_a_cancelled_conversation_is_no_longer_due(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, deadline=date(2026, 8, 1))
    conversation = http.post(plan.url("/conversations"), headers=KM, json={"planned_on": "2026-04-01", "kind": "other"})
    r = http.post(plan.url(f"/conversations/{conversation.json()['id']}/cancel"), headers=KM)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    open_ = http.get("/monitoring/v1/follow-ups", headers=KM, params={"plan_id": plan.plan_id, "kind": "conversation"})
    assert open_.json() == []


def test_milestones_are_follow_ups_until_reached(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    r = http.post(plan.url("/milestones"), headers=KM, json={"title": "Theorie-examen gehaald", "due_on": "2026-05-15"})
    assert r.status_code == 201, r.text
    milestone = r.json()
    on_day(clock, date(2026, 5, 20))
    overdue = http.get(
        "/monitoring/v1/follow-ups", headers=KM, params={"plan_id": plan.plan_id, "overdue": True}
    ).json()
    assert "milestone" in {f["kind"] for f in overdue} and all(f["overdue"] for f in overdue)
    r = http.post(plan.url(f"/milestones/{milestone['id']}/reached"), headers=KM, json={})
    assert r.status_code == 200 and r.json()["reached_on"] == "2026-05-20" and r.json()["status"] == "reached"
    again = http.post(plan.url(f"/milestones/{milestone['id']}/reached"), headers=KM, json={})
    assert again.status_code == 409
    assert [m["status"] for m in http.get(plan.url("/milestones"), headers=plan.client()).json()] == ["reached"]
    before = http.post(plan.url("/milestones"), headers=KM, json={"title": "Te vroeg", "due_on": "2026-03-01"})
    assert before.status_code == 422 and before.json()["errors"][0]["field"] == "due_on"


def test_the_plans_activities_become_milestones_on_the_day_each_should_be_done(env):
    runtime, http, clock = env
    on_day(clock, START)
    # Two activities end on 1 September, one on 1 December; one ends after the deadline (no milestone).
    ends = (date(2026, 9, 1), date(2026, 9, 1), date(2026, 12, 1), date(2027, 6, 1))
    plan = start_plan(runtime, clock, ends_on=ends)
    milestones = http.get(plan.url("/milestones"), headers=KM).json()
    assert [(m["due_on"], m["status"]) for m in milestones] == [("2026-09-01", "open"), ("2026-12-01", "open")]
    assert all("coaching" in m["title"] for m in milestones)
    due = http.get("/monitoring/v1/follow-ups", headers=KM, params={"plan_id": plan.plan_id, "kind": "milestone"})
    assert [f["due_on"] for f in due.json()] == ["2026-09-01", "2026-12-01"]


def test_nothing_new_is_planned_on_a_closed_trajectory_but_time_still_counts(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    close_plan(runtime, clock, plan)
    assert http.post(plan.url("/conversations"), headers=KM, json={"planned_on": "2026-04-01"}).status_code == 409
    assert (
        http.post(plan.url("/milestones"), headers=KM, json={"title": "X", "due_on": "2026-04-01"}).status_code == 409
    )
    r = http.post(
        plan.url("/time-entries"), headers=KM, json={"activity": "administration", "minutes": 20, "on": "2026-03-02"}
    )
    assert r.status_code == 201 and r.json()["case_minutes"] == 20


def test_a_time_entry_in_the_future_is_refused(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    r = http.post(
        plan.url("/time-entries"), headers=KM, json={"activity": "coaching", "minutes": 20, "on": "2026-03-03"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "on"
    bad = http.post(
        plan.url("/time-entries"), headers=KM, json={"activity": "lunch", "minutes": 20, "on": "2026-03-02"}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "activity"


def test_what_needs_attention_is_for_staff_of_the_municipality_paged_by_due_day(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, deadline=date(2026, 11, 2))
    on_day(clock, date(2026, 7, 10))
    params = {"plan_id": plan.plan_id, "page_size": 1}
    r = http.get("/monitoring/v1/follow-ups", headers=KM, params={**params, "overdue": True})
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "2" and 'rel="next"' in r.headers["Link"]
    assert r.json()[0]["due_on"] == "2026-05-02" and r.json()[0]["overdue"] is True
    upcoming = http.get("/monitoring/v1/follow-ups", headers=KM, params={"plan_id": plan.plan_id, "overdue": False})
    assert [f["due_on"] for f in upcoming.json()] == ["2026-09-02", "2026-09-02", "2026-11-02"]
    assert sorted((f["due_on"], f["kind"]) for f in upcoming.json())[:2] == [
        ("2026-09-02", "conversation"),  # the six-month presentation
        ("2026-09-02", "progress_report"),
    ]
    assert http.get("/monitoring/v1/follow-ups", headers=auth("case_manager", "0344"), params=params).json() == []
    for headers in (plan.client(), auth("policy", "0014"), auth("provider", "0014", provider_id="12345678")):
        assert http.get("/monitoring/v1/follow-ups", headers=headers).status_code == 403
    assert http.get("/monitoring/v1/follow-ups", headers=KM, params={"kind": "bogus"}).status_code == 422


def test_another_municipality_gets_a_404_for_conversations_milestones_and_time(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    other = auth("case_manager", "0344")
    assert http.post(plan.url("/conversations"), headers=other, json={"planned_on": "2026-04-01"}).status_code == 404
    assert http.get(plan.url("/milestones"), headers=other).status_code == 404
    body = {"activity": "review", "minutes": 5, "on": "2026-03-02"}
    assert http.post(plan.url("/time-entries"), headers=other, json=body).status_code == 404
    assert http.get(plan.url(), headers=KM).json()["plan_id"] == plan.plan_id
