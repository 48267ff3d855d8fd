"""Outcomes: the six-month boundary, the state derived from outcomes and durability checks, and the
rules that refuse an outcome that cannot be (each naming its field, in English and Dutch)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.events import OutcomeRegisteredV1
from services.monitoring.domain.follow_up import FollowUpKind
from services.monitoring.domain.outcomes import (
    DurabilityCheck,
    KindOfWork,
    Outcome,
    OutcomeKind,
    OutcomeState,
    check_aftercare,
    check_answers_the_question,
    check_client_voice,
    check_durability_check,
    check_outcome,
    derive_state,
    follow_ups_for_work,
    is_durable,
    is_final,
    months_between,
    six_months_after,
)
from services.monitoring.domain.trajectory import CloseReason, Trajectory, TrajectoryKind
from shared.errors import Conflict, DomainError, RuleBroken

START = date(2026, 3, 2)
K = OutcomeKind


def _outcome(
    kind: OutcomeKind,
    on: date,
    *,
    id: str = "o-1",
    since: date | None = None,
    registered_on: date | None = None,
    kind_of_work: KindOfWork | None = None,
    at: int = 0,
) -> Outcome:
    since = since if since is not None else (on if kind in (K.WORK_DURING, K.WORK_AFTER) else None)
    registered_on = registered_on or on
    return Outcome(
        id=id,
        plan_id="p-1",
        client_id="c-1",
        municipality="0014",
        outcome=kind,
        kind_of_work=kind_of_work,
        working_since=since,
        hours_per_week=None,
        durable=is_durable(kind, since, registered_on),
        registered_by="km",
        registered_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=at),
        on=on,
        registered_on=registered_on,
    )


def _check(outcome_id: str, on: date, still: bool, id: str = "d-1") -> DurabilityCheck:
    return DurabilityCheck(
        id=id,
        plan_id="p-1",
        outcome_id=outcome_id,
        checked_on=on,
        still_working=still,
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


# --- the six-month boundary ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start,first_durable_day",
    [
        (date(2026, 8, 15), date(2027, 2, 15)),
        (date(2026, 8, 31), date(2027, 3, 1)),  # no 31 February: the first day after it
        (date(2027, 8, 31), date(2028, 3, 1)),  # a leap year: 29 February is still short of the 31st
        (date(2026, 8, 29), date(2027, 3, 1)),
        (date(2027, 8, 29), date(2028, 2, 29)),
        (date(2026, 3, 31), date(2026, 10, 1)),  # no 31 September
        (date(2026, 1, 31), date(2026, 7, 31)),
        (date(2026, 7, 1), date(2027, 1, 1)),
    ],
)
def test_six_months_after_is_the_first_day_with_six_full_months(start, first_durable_day):
    assert six_months_after(start) == first_durable_day
    assert months_between(start, first_durable_day) == 6
    assert months_between(start, first_durable_day - timedelta(days=1)) == 5


def test_six_months_after_agrees_with_months_between_for_every_start_in_two_years():
    day = date(2026, 1, 1)
    while day < date(2028, 1, 1):
        boundary = six_months_after(day)
        for probe in (boundary - timedelta(days=1), boundary, boundary + timedelta(days=1)):
            assert (months_between(day, probe) >= 6) == (probe >= boundary), (day, probe)
        day += timedelta(days=1)


@pytest.mark.parametrize("start", [date(2026, 8, 15), date(2026, 8, 31), date(2027, 8, 31)])
def test_a_check_the_day_before_six_months_is_not_durable_and_on_the_day_it_is(start):
    work = _outcome(K.WORK_DURING, start)
    boundary = six_months_after(start)
    before = derive_state([work], [_check("o-1", boundary - timedelta(days=1), True)], closed=False)
    on_the_day = derive_state([work], [_check("o-1", boundary, True)], closed=False)
    assert not before.durable and before.durable_outcomes == frozenset()
    assert on_the_day.durable and on_the_day.durable_outcomes == {"o-1"}


def test_a_registration_six_months_after_the_start_is_itself_an_observation_of_durable_work():
    late = _outcome(K.WORK_DURING, date(2026, 4, 1), registered_on=date(2026, 10, 1))
    early = _outcome(K.WORK_DURING, date(2026, 4, 1), registered_on=date(2026, 9, 30))
    assert derive_state([late], [], closed=False).durable
    assert not derive_state([early], [], closed=False).durable


# --- the derived state -------------------------------------------------------------------------------


def test_no_outcome_yet_is_no_state():
    assert derive_state([], [], closed=False) == OutcomeState()


def test_work_found_then_still_working_at_six_months_then_no_longer_is_work_ended_and_still_durable():
    work = _outcome(K.WORK_DURING, date(2026, 4, 1), kind_of_work=KindOfWork.TEMP_AGENCY)
    state = derive_state([work], [], closed=False)
    assert (state.category, state.kind_of_work, state.outflow_on, state.durable) == (
        K.WORK_DURING,
        KindOfWork.TEMP_AGENCY,
        date(2026, 4, 1),
        False,
    )
    six = [_check("o-1", date(2026, 10, 1), True)]
    assert derive_state([work], six, closed=False).durable
    ended = [*six, _check("o-1", date(2026, 12, 1), False, id="d-2")]
    state = derive_state([work], ended, closed=False)
    assert state.category == K.WORK_ENDED and state.durable
    assert state.kind_of_work == KindOfWork.TEMP_AGENCY and state.outflow_on == date(2026, 4, 1)


def test_the_latest_check_decides_whether_the_work_goes_on():
    work = _outcome(K.WORK_DURING, date(2026, 4, 1))
    checks = [_check("o-1", date(2026, 6, 1), False), _check("o-1", date(2026, 7, 1), True, id="d-2")]
    assert derive_state([work], checks, closed=False).category == K.WORK_DURING


def test_a_check_on_earlier_work_does_not_end_later_work():
    first = _outcome(K.WORK_DURING, date(2026, 4, 1), id="w1", kind_of_work=KindOfWork.TRIAL_PLACEMENT)
    second = _outcome(K.WORK_DURING, date(2026, 6, 1), id="w2", kind_of_work=KindOfWork.PERMANENT_JOB)
    state = derive_state([first, second], [_check("w1", date(2026, 7, 1), False)], closed=False)
    assert state.category == K.WORK_DURING
    assert (state.kind_of_work, state.outflow_on) == (KindOfWork.PERMANENT_JOB, date(2026, 6, 1))


def test_the_latest_outcome_by_its_day_counts_not_the_latest_registered():
    later_day = _outcome(K.WORK_DURING, date(2026, 5, 1), id="w", at=0)
    registered_later = _outcome(K.NO_WORK_RUNNING, date(2026, 4, 1), id="n", at=10)
    assert derive_state([later_day, registered_later], [], closed=False).category == K.WORK_DURING


def test_no_work_after_earlier_work_is_work_ended():
    work = _outcome(K.WORK_DURING, date(2026, 4, 1), id="w")
    for later in (K.NO_WORK_RUNNING, K.NO_WORK_ENDED):
        state = derive_state([work, _outcome(later, date(2026, 8, 1), id="n")], [], closed=True)
        assert state.category == K.WORK_ENDED and state.outflow_on == date(2026, 4, 1)


def test_no_work_while_running_reads_as_no_work_ended_once_the_trajectory_closed_and_unknown_stays():
    no_work = _outcome(K.NO_WORK_RUNNING, date(2026, 4, 1))
    assert derive_state([no_work], [], closed=True).category == K.NO_WORK_ENDED
    assert derive_state([no_work], [], closed=False).category == K.NO_WORK_RUNNING
    unknown = _outcome(K.UNKNOWN, date(2026, 4, 1))
    assert derive_state([unknown], [], closed=True).category == K.UNKNOWN
    assert derive_state([unknown], [], closed=True).outflow_on is None


# --- the trajectory keeps the state ------------------------------------------------------------------


def _trajectory() -> Trajectory:
    return Trajectory.start(
        plan_id="p-1",
        kind=TrajectoryKind.PLAN,
        municipality="0014",
        client_id="c-1",
        scheme="prb",
        granted_cents=1000_00,
        started_on=START,
        execution_deadline=date(2027, 3, 2),
    )


def _register(t: Trajectory, kind: OutcomeKind, *, today: date, earlier=(), checks=(), **fields) -> Outcome:
    return t.register_outcome(
        outcome_id=f"o-{len(earlier) + 1}",
        outcome=kind,
        kind_of_work=fields.get("kind_of_work"),
        working_since=fields.get("working_since"),
        hours_per_week=fields.get("hours_per_week"),
        on=fields.get("on"),
        by="km",
        at=datetime(2026, 10, 1, 12, tzinfo=UTC),
        today=today,
        earlier=earlier,
        checks=checks,
    )


def test_registering_work_writes_the_state_on_the_trajectory_and_records_one_event_with_the_state_then():
    t = _trajectory()
    work = _register(
        t, K.WORK_DURING, today=date(2026, 5, 1), working_since=date(2026, 4, 1), kind_of_work=KindOfWork.SECONDMENT
    )
    assert work.on == date(2026, 4, 1) and work.registered_on == date(2026, 5, 1) and not work.durable
    assert (t.outcome_category, t.kind_of_work, t.outflow_on, t.durable) == (
        "work_during",
        "secondment",
        date(2026, 4, 1),
        False,
    )
    assert t.events == [
        OutcomeRegisteredV1(outcome_id="o-1", plan_id="p-1", client_id="c-1", outcome="work_during", durable=False)
    ]
    t.follow_outcomes([work], [_check("o-1", date(2026, 10, 1), True)])
    assert t.durable and len(t.events) == 1  # a check says nothing on the bus


def test_closing_a_trajectory_with_no_work_while_it_ran_makes_it_no_work_ended():
    t = _trajectory()
    _register(t, K.NO_WORK_RUNNING, today=date(2026, 5, 1))
    t.close(CloseReason.COMPLETED, date(2026, 6, 1))
    assert t.outcome_category == "no_work_ended"
    t2 = _trajectory()
    t2.close(CloseReason.EXPIRED, date(2026, 6, 1))
    assert t2.outcome_category is None  # readers take NULL on a closed trajectory as unknown


# --- refusals ------------------------------------------------------------------------------------------


def _check_outcome(kind: OutcomeKind, *, closed_on: date | None = None, earlier=(), today=date(2026, 10, 1), **f):
    return check_outcome(
        outcome=kind,
        on=f.get("on"),
        kind_of_work=f.get("kind_of_work"),
        working_since=f.get("working_since"),
        hours_per_week=f.get("hours_per_week"),
        started_on=START,
        closed_on=closed_on,
        today=today,
        earlier=earlier,
    )


CLOSED = date(2026, 7, 1)


@pytest.mark.parametrize(
    "kind,fields,closed_on,error,code,field",
    [
        (K.WORK_AFTER, {}, CLOSED, RuleBroken, "outcome.working_since", "working_since"),
        (K.WORK_DURING, {"working_since": date(2026, 10, 2)}, None, RuleBroken, "outcome.future", "working_since"),
        (K.NO_WORK_RUNNING, {"on": date(2026, 10, 2)}, None, RuleBroken, "outcome.future", "on"),
        (
            K.WORK_DURING,
            {"working_since": date(2026, 3, 1)},
            None,
            RuleBroken,
            "outcome.before_trajectory",
            "working_since",
        ),
        (K.UNKNOWN, {"on": date(2026, 3, 1)}, None, RuleBroken, "outcome.before_trajectory", "on"),
        (
            K.NO_WORK_RUNNING,
            {"kind_of_work": KindOfWork.PERMANENT_JOB},
            None,
            RuleBroken,
            "outcome.not_work",
            "kind_of_work",
        ),
        (K.UNKNOWN, {"hours_per_week": 20}, None, RuleBroken, "outcome.not_work", "hours_per_week"),
        (
            K.WORK_DURING,
            {"working_since": date(2026, 4, 1), "on": date(2026, 5, 1)},
            None,
            RuleBroken,
            "outcome.on_is_working_since",
            "on",
        ),
        (
            K.WORK_ENDED,
            {"working_since": date(2026, 6, 1), "on": date(2026, 5, 1)},
            None,
            RuleBroken,
            "outcome.ended_before_start",
            "working_since",
        ),
        (K.WORK_AFTER, {"working_since": date(2026, 5, 1)}, None, Conflict, "outcome.trajectory_running", "outcome"),
        (K.NO_WORK_ENDED, {}, None, Conflict, "outcome.trajectory_running", "outcome"),
        (
            K.WORK_AFTER,
            {"working_since": CLOSED},
            CLOSED,
            RuleBroken,
            "outcome.work_after_before_close",
            "working_since",
        ),
        (
            K.WORK_DURING,
            {"working_since": date(2026, 7, 2)},
            CLOSED,
            RuleBroken,
            "outcome.work_during_after_close",
            "working_since",
        ),
        (K.NO_WORK_RUNNING, {"on": date(2026, 7, 2)}, CLOSED, RuleBroken, "outcome.running_after_close", "outcome"),
        (K.NO_WORK_ENDED, {"on": date(2026, 6, 30)}, CLOSED, RuleBroken, "outcome.ended_before_close", "on"),
    ],
)
def test_an_outcome_that_cannot_be_is_refused_naming_its_field_in_english_and_dutch(
    kind, fields, closed_on, error, code, field
):
    with pytest.raises(error) as refused:
        _check_outcome(kind, closed_on=closed_on, **fields)
    assert refused.value.code == code and refused.value.field == field
    assert refused.value.message_nl != refused.value.message


def test_work_during_on_the_closing_day_and_work_after_the_day_after_are_accepted():
    assert _check_outcome(K.WORK_DURING, closed_on=CLOSED, working_since=CLOSED) == CLOSED
    assert _check_outcome(K.WORK_AFTER, closed_on=CLOSED, working_since=date(2026, 7, 2)) == date(2026, 7, 2)


def test_the_day_of_an_outcome_is_today_unless_given_and_for_work_the_start():
    assert _check_outcome(K.NO_WORK_RUNNING) == date(2026, 10, 1)
    assert _check_outcome(K.NO_WORK_RUNNING, on=date(2026, 9, 1)) == date(2026, 9, 1)
    assert _check_outcome(K.WORK_DURING, working_since=date(2026, 4, 1), on=date(2026, 4, 1)) == date(2026, 4, 1)


def test_a_second_final_outcome_is_refused_but_work_found_after_the_end_may_follow_no_work_once():
    no_work = _outcome(K.NO_WORK_ENDED, date(2026, 7, 10), id="f1")
    assert is_final(no_work, CLOSED)
    for kind, fields in ((K.NO_WORK_ENDED, {}), (K.UNKNOWN, {})):
        with pytest.raises(Conflict) as refused:
            _check_outcome(kind, closed_on=CLOSED, earlier=[no_work], **fields)
        assert refused.value.code == "outcome.final_exists" and refused.value.field == "outcome"
    later_work = _outcome(K.WORK_AFTER, date(2026, 8, 1), id="f2")
    _check_outcome(K.WORK_AFTER, closed_on=CLOSED, earlier=[no_work], working_since=date(2026, 8, 1))
    with pytest.raises(RuleBroken) as refused:  # the final outcome said no work that day
        _check_outcome(K.WORK_AFTER, closed_on=CLOSED, earlier=[no_work], working_since=date(2026, 7, 10))
    assert (refused.value.code, refused.value.field) == ("outcome.work_before_final", "working_since")
    with pytest.raises(Conflict):
        _check_outcome(K.WORK_AFTER, closed_on=CLOSED, earlier=[no_work, later_work], working_since=date(2026, 9, 1))
    with pytest.raises(Conflict):
        _check_outcome(K.NO_WORK_ENDED, closed_on=CLOSED, earlier=[later_work])
    # Work that ended is never final, and an outcome about the time the trajectory ran is not either.
    _check_outcome(K.WORK_ENDED, closed_on=CLOSED, earlier=[no_work, later_work])
    _check_outcome(K.UNKNOWN, closed_on=CLOSED, earlier=[no_work], on=date(2026, 6, 1))


def test_unknown_while_the_trajectory_runs_is_not_final_and_may_be_said_again():
    unknown = _outcome(K.UNKNOWN, date(2026, 5, 1))
    assert not is_final(unknown, None) and not is_final(unknown, CLOSED)
    _check_outcome(K.UNKNOWN, earlier=[unknown])


def test_a_durability_check_is_about_work_found_on_a_day_from_its_start_until_today():
    work = _outcome(K.WORK_DURING, date(2026, 4, 1))
    check_durability_check(work, checked_on=date(2026, 4, 1), today=date(2026, 10, 1))
    cases = [
        (None, date(2026, 5, 1), "durability_check.not_work", "outcome_id"),
        (_outcome(K.NO_WORK_RUNNING, date(2026, 4, 1)), date(2026, 5, 1), "durability_check.not_work", "outcome_id"),
        (work, date(2026, 10, 2), "durability_check.future", "checked_on"),
        (work, date(2026, 3, 31), "durability_check.before_work", "checked_on"),
    ]
    for outcome, checked_on, code, field in cases:
        with pytest.raises(DomainError) as refused:
            check_durability_check(outcome, checked_on=checked_on, today=date(2026, 10, 1))
        assert (refused.value.code, refused.value.field) == (code, field)


def test_a_check_settles_the_six_month_question_when_the_work_ended_or_lasted_six_months():
    work = _outcome(K.WORK_DURING, date(2026, 8, 31))
    assert not check_answers_the_question(work, date(2027, 2, 28), True)
    assert check_answers_the_question(work, date(2027, 3, 1), True)
    assert check_answers_the_question(work, date(2026, 11, 1), False)


def test_work_found_plans_the_durability_check_at_six_months_and_aftercare_at_one_and_three():
    work = _outcome(K.WORK_DURING, date(2026, 8, 31))
    assert follow_ups_for_work(work, date(2026, 9, 1)) == [
        (FollowUpKind.DURABILITY_CHECK, date(2027, 3, 1)),
        (FollowUpKind.AFTERCARE, date(2026, 9, 30)),
        (FollowUpKind.AFTERCARE, date(2026, 11, 30)),
    ]
    # Registered late: what is already past is not planned; work shown durable needs no question.
    late = _outcome(K.WORK_DURING, date(2026, 1, 5), registered_on=date(2026, 8, 1))
    assert follow_ups_for_work(late, date(2026, 8, 1)) == []
    assert follow_ups_for_work(_outcome(K.NO_WORK_RUNNING, date(2026, 5, 1)), date(2026, 5, 1)) == []


def test_aftercare_and_the_clients_voice_refuse_what_cannot_be():
    check_aftercare(on=START, started_on=START, today=START)
    for on, code in (
        (START + timedelta(days=1), "aftercare.future"),
        (START - timedelta(days=1), "aftercare.before_trajectory"),
    ):
        with pytest.raises(RuleBroken) as refused:
            check_aftercare(on=on, started_on=START, today=START)
        assert (refused.value.code, refused.value.field) == (code, "on")
    check_client_voice(step="Cursus", plan_line_id=None, line_of_plan=False)
    check_client_voice(step=None, plan_line_id="l-1", line_of_plan=True)
    with pytest.raises(RuleBroken) as refused:
        check_client_voice(step=None, plan_line_id=None, line_of_plan=False)
    assert refused.value.field == "step"
    with pytest.raises(RuleBroken) as refused:
        check_client_voice(step=None, plan_line_id="l-9", line_of_plan=False)
    assert refused.value.field == "plan_line_id"
