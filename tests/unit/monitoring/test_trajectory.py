"""The trajectory aggregate decides, refuses with a domain code naming the field, and records its events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.events import OutcomeRegisteredV1, ProgressReportedV1
from services.monitoring.domain.outcomes import OUTFLOW, KindOfWork, OutcomeKind
from services.monitoring.domain.trajectory import (
    Trajectory,
    TrajectoryKind,
)
from shared.errors import RuleBroken

START = date(2026, 3, 2)
NOON = datetime(2026, 10, 1, 12, tzinfo=UTC)


def _trajectory(kind: TrajectoryKind = TrajectoryKind.PLAN) -> Trajectory:
    return Trajectory.start(
        plan_id="p-1",
        kind=kind,
        municipality="0014",
        client_id="c-1",
        scheme="prb",
        granted_cents=1000_00,
        started_on=START,
        execution_deadline=date(2027, 3, 2),
    )


def _register(t: Trajectory, outcome: OutcomeKind, since: date | None, today: date = date(2026, 10, 1)):
    return t.register_outcome(
        outcome_id="o-1",
        outcome=outcome,
        kind_of_work=KindOfWork.PERMANENT_JOB if outcome in OUTFLOW else None,
        working_since=since,
        hours_per_week=32 if outcome in OUTFLOW else None,
        by="km",
        at=NOON,
        today=today,
    )


def test_a_durable_job_is_registered_and_recorded_as_outcome_registered():
    t = _trajectory()
    outcome = _register(t, OutcomeKind.WORK_DURING, date(2026, 4, 1))
    assert outcome.durable and outcome.plan_id == "p-1"
    assert t.events == [
        OutcomeRegisteredV1(outcome_id="o-1", plan_id="p-1", client_id="c-1", outcome="work_during", durable=True)
    ]


@pytest.mark.parametrize(
    "outcome,since,code",
    [
        (OutcomeKind.WORK_AFTER, None, "outcome.working_since"),
        (OutcomeKind.WORK_DURING, date(2026, 10, 2), "outcome.future"),
        (OutcomeKind.WORK_DURING, START - timedelta(days=1), "outcome.before_trajectory"),
        (OutcomeKind.WORK_ENDED, date(2020, 1, 1), "outcome.before_trajectory"),
    ],
)
def test_an_outcome_that_cannot_be_is_refused_naming_working_since_and_records_nothing(outcome, since, code):
    t = _trajectory()
    with pytest.raises(RuleBroken) as refused:
        _register(t, outcome, since)
    assert refused.value.code == code and refused.value.field == "working_since"
    assert refused.value.message_nl != refused.value.message
    assert t.events == []


def test_no_work_needs_no_start_date_and_is_not_durable():
    t = _trajectory()
    assert not _register(t, OutcomeKind.NO_WORK_RUNNING, None).durable
    assert [type(e) for e in t.events] == [OutcomeRegisteredV1]


def test_a_progress_report_clears_the_overdue_flag_and_records_progress_reported():
    t = _trajectory()
    t.flag_report_overdue()
    report = t.report_progress(
        report_id="r-1", by="km", by_role="case_manager", on_track=False, summary="Traag", at=NOON
    )
    assert not t.report_overdue and t.last_report_at == NOON and report.on_track is False
    assert t.events == [
        ProgressReportedV1(
            report_id="r-1", plan_id="p-1", client_id="c-1", reported_by_role="case_manager", on_track=False
        )
    ]


def test_payments_add_up_and_the_budget_is_linked():
    t = _trajectory()
    t.link_budget("b-1")
    t.paid_out(121_00)
    t.paid_out(10_00)
    assert t.budget_id == "b-1" and t.paid_incl_vat_cents == 131_00 and t.events == []
