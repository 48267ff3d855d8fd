"""The plan aggregate, the review watch and the client/orientation aggregates: they decide,
refuse with a stable code, and record exactly the events they cause. No I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from contracts.events import (
    ClientRegisteredV1,
    DecisionDueSoonV1,
    OrientationStartedV1,
    PlanApprovedV1,
    PlanApprovedV2,
    PlanChangedV1,
    PlanChangedV2,
    PlanRejectedV1,
    PlanReturnedV1,
    PlanSubmittedV1,
    TrajectoryClosedV1,
)
from services.intake.domain.client import ClientRegistration, OrientationPhase
from services.intake.domain.errors import Conflict, Forbidden, RuleBroken
from services.intake.domain.findings import Finding, Severity
from services.intake.domain.plan import ChangeView, PlanAggregate, PlanChecksFailed, PlanStatus, ReviewWatch
from services.intake.domain.policy import OrientationPhase as OrientationPolicy
from services.intake.domain.policy import ReviewModel, default_policy
from services.intake.domain.review import Approve, LineRequest, Reject, ReturnForChanges, Reviewer, ReviewState
from shared.money import Money

TODAY = date(2026, 3, 2)
POLICY = replace(default_policy("0014", "Groningen"), review_model=ReviewModel.MARGINAL)
ANNA = Reviewer("anna", "case_manager")
DEADLINE = date(2026, 12, 31)


def draft(**fields) -> PlanAggregate:
    return PlanAggregate(id="p1", municipality="0014", client_id="c1", scheme="prb", requested_cents=250_000, **fields)


def approved() -> PlanAggregate:
    lines = [
        {
            "line_id": "l0",
            "category": "coaching",
            "provider_name": "Coach BV",
            "provider_kvk": None,
            "asked_cents": 100_000,
            "granted_cents": 100_000,
            "starts_on": "2026-03-16",
            "ends_on": "2026-09-12",
            "holdback_percent": 0,
        }
    ]
    return draft(
        status=PlanStatus.APPROVED, version=5, granted=lines, granted_cents=100_000, execution_deadline=DEADLINE
    )


def state_after(decision) -> ReviewState:
    start = ReviewState.start(POLICY, [LineRequest("l0", Money.euros("1000"))], TODAY)
    return start.decide(decision)


def test_a_plan_without_blocking_findings_is_submitted_and_records_plan_submitted():
    plan = draft()
    plan.submit([Finding("plan.few_quotes", Severity.WARNING, "budget", "nl", "en")])
    assert plan.status == PlanStatus.SUBMITTED and plan.version == 2 and plan.submitted_version_number == 2
    assert plan.events == [PlanSubmittedV1(plan_id="p1", client_id="c1", plan_version=2, requested_cents=250_000)]


def test_a_blocking_finding_refuses_submission_listing_every_block_and_records_nothing():
    plan = draft()
    blocks = [
        Finding("budget.over_maximum", Severity.BLOCK, "budget.total", "nl", "en"),
        Finding("eligibility.resident", Severity.BLOCK, "client.resident", "nl", "en"),
    ]
    with pytest.raises(PlanChecksFailed) as refused:
        plan.submit(blocks)
    assert refused.value.code == "plan.checks_failed" and refused.value.findings == tuple(blocks)
    assert plan.status == PlanStatus.DRAFT and plan.version == 1 and plan.events == []


@pytest.mark.parametrize("status", [PlanStatus.SUBMITTED, PlanStatus.APPROVED, PlanStatus.CLOSED])
def test_only_a_draft_or_returned_plan_is_saved_or_submitted(status):
    plan = draft(status=status)
    with pytest.raises(Conflict) as refused:
        plan.submit([])
    assert refused.value.code == "plan.wrong_state"
    with pytest.raises(Conflict):
        plan.save_draft("prb", 1)


def test_a_stale_version_is_a_conflict_with_a_dutch_message():
    with pytest.raises(Conflict) as refused:
        draft(version=3).ensure_version(2)
    assert refused.value.code == "plan.changed_meanwhile" and refused.value.field == "plan_version"
    assert "intussen" in refused.value.message_nl


def test_an_approval_records_plan_approved_with_the_granted_lines_and_the_deadline():
    plan = draft(status=PlanStatus.SUBMITTED, version=2)
    state = state_after(Approve(ANNA, TODAY))
    grants = [
        {
            "line_id": "l0",
            "category": "coaching",
            "provider_name": "",
            "provider_kvk": None,
            "asked_cents": 100_000,
            "granted_cents": 100_000,
            "starts_on": None,
            "ends_on": None,
            "holdback_percent": 0,
        }
    ]
    plan.apply_review(state, grants)
    [event] = plan.events
    assert isinstance(event, PlanApprovedV1) and event.granted_cents == 100_000 and event.plan_version == 3
    assert event.execution_deadline == state.execution_deadline == plan.execution_deadline
    assert [line.plan_line_id for line in event.lines] == ["l0"] and event.lines[0].provider_name is None


@pytest.mark.parametrize(
    "decision,status,event_type",
    [
        (ReturnForChanges(ANNA, TODAY, comments={"budget": "Tweede offerte."}), PlanStatus.RETURNED, PlanReturnedV1),
        (
            Reject(ANNA, TODAY, reasons=("Regulier aanbod.",), contra_indications=("Aanbod.",)),
            PlanStatus.REJECTED,
            PlanRejectedV1,
        ),
    ],
)
def test_a_return_or_rejection_records_its_one_event(decision, status, event_type):
    plan = draft(status=PlanStatus.SUBMITTED, version=2)
    plan.apply_review(state_after(decision), None)
    assert plan.status == status and [type(e) for e in plan.events] == [event_type]


def test_waiting_for_a_second_approval_records_nothing_yet():
    plan = draft(status=PlanStatus.SUBMITTED, version=2)
    start = ReviewState.start(POLICY, [LineRequest("l0", Money.euros("4000"))], TODAY)
    plan.apply_review(start.decide(Approve(ANNA, TODAY)), None)
    assert plan.status == PlanStatus.AWAITING_SECOND_APPROVAL and plan.events == []


def _change(amount: str, requested_by: str = "client-1") -> ChangeView:
    return ChangeView(
        "ch1",
        "submitted",
        requested_by,
        (
            {
                "id": "l0",
                "category": "coaching",
                "provider_name": "Andere Coach BV",
                "provider_kvk": None,
                "starts_on": "2026-04-01",
                "ends_on": "2026-10-01",
                "amount": amount,
                "holdback_percent": 0,
            },
        ),
    )


def test_an_approved_change_records_plan_changed_with_the_new_grants():
    plan = approved()
    assert (
        plan.decide_change(_change("900.00"), approve=True, decider_id="km", decider_is_team_lead=False, policy=POLICY)
        == "approved"
    )
    [event] = plan.events
    assert isinstance(event, PlanChangedV1) and event.granted_cents == 90_000 and event.change_id == "ch1"
    assert plan.granted_cents == 90_000 and plan.granted and plan.granted[0]["asked_cents"] == 100_000


def test_a_change_is_decided_by_someone_else_and_a_rejected_one_records_nothing():
    plan = approved()
    with pytest.raises(Forbidden) as refused:
        plan.decide_change(
            _change("900.00", requested_by="km"),
            approve=True,
            decider_id="km",
            decider_is_team_lead=False,
            policy=POLICY,
        )
    assert refused.value.code == "review.same_reviewer"
    assert (
        plan.decide_change(_change("900.00"), approve=False, decider_id="km", decider_is_team_lead=False, policy=POLICY)
        == "rejected"
    )
    assert plan.events == [] and plan.granted_cents == 100_000


def test_asking_for_a_change_refuses_more_than_granted_and_a_date_past_the_deadline():
    plan = approved()
    line = dict(_change("1000.01").lines[0])
    with pytest.raises(RuleBroken) as refused:
        plan.ask_change([line], POLICY, pending=False)
    assert refused.value.code == "change.above_total"
    with pytest.raises(RuleBroken) as refused:
        plan.ask_change([{**line, "amount": "10.00", "ends_on": "2027-01-01"}], POLICY, pending=False)
    assert refused.value.code == "change.after_execution_deadline" and refused.value.field == "lines[0].ends_on"
    with pytest.raises(Conflict) as refused:
        plan.ask_change([{**line, "amount": "10.00"}], POLICY, pending=True)
    assert refused.value.code == "change.pending"


def test_closing_records_trajectory_closed_and_expired_only_after_the_deadline():
    plan = approved()
    with pytest.raises(RuleBroken) as refused:
        plan.close("expired", TODAY, TODAY)
    assert refused.value.code == "close.not_expired"
    with pytest.raises(RuleBroken) as refused:
        plan.close("completed", TODAY + timedelta(days=1), TODAY)
    assert refused.value.code == "close.in_future"
    plan.close("completed", TODAY, TODAY)
    assert plan.status == PlanStatus.CLOSED
    assert plan.events == [TrajectoryClosedV1(plan_id="p1", client_id="c1", reason="completed", closed_on=TODAY)]


def test_the_daily_job_expires_a_plan_on_its_deadline_day_once():
    plan = approved()
    assert plan.expire(DEADLINE) is False  # the last day still runs
    assert plan.expire(DEADLINE + timedelta(days=1)) is True
    assert plan.expire(DEADLINE + timedelta(days=2)) is False
    assert plan.events == [TrajectoryClosedV1(plan_id="p1", client_id="c1", reason="expired", closed_on=DEADLINE)]


def test_the_case_team_is_warned_once_from_the_warning_date_on():
    watch = ReviewWatch(
        id="r1",
        municipality="0014",
        plan_id="p1",
        client_id="c1",
        status="awaiting_decision",
        case_manager="km",
        due_on=TODAY + timedelta(weeks=2),
        warn_on=TODAY,
    )
    assert watch.warn_if_due(TODAY - timedelta(days=1)) is False
    assert watch.warn_if_due(TODAY) is True and watch.warn_if_due(TODAY) is False
    assert watch.events == [
        DecisionDueSoonV1(
            review_id="r1", plan_id="p1", client_id="c1", due_on=TODAY + timedelta(weeks=2), case_manager="km"
        )
    ]
    decided = replace(watch, status="approved", warned=False, events=[])
    assert decided.warn_if_due(TODAY) is False and decided.events == []


def test_registering_records_client_registered_and_refuses_a_scheme_not_offered():
    client = ClientRegistration.register("c1", "0014", "prb", POLICY)
    assert client.events == [ClientRegisteredV1(client_id="c1")]
    with pytest.raises(RuleBroken) as refused:
        ClientRegistration.register("c2", "0014", "rio_iro", replace(POLICY, schemes=POLICY.schemes[:1]))
    assert refused.value.code == "client.scheme_not_offered" and refused.value.field == "scheme"


def test_an_orientation_starts_once_for_the_policy_length_and_records_orientation_started():
    policy = replace(POLICY, orientation=OrientationPolicy(enabled=True, months=3, budget=Money.euros("500")))
    phase = OrientationPhase.start("o1", "c1", "prb", policy, date(2026, 1, 31), already_running=False)
    assert phase.ends_on == date(2026, 4, 30)
    assert phase.events == [
        OrientationStartedV1(
            orientation_id="o1", client_id="c1", scheme="prb", ends_on=date(2026, 4, 30), budget_cents=50_000
        )
    ]
    with pytest.raises(Conflict) as refused:
        OrientationPhase.start("o2", "c1", "prb", policy, TODAY, already_running=True)
    assert refused.value.code == "orientation.already_running"
    off = replace(POLICY, orientation=OrientationPolicy(enabled=False, months=3))
    with pytest.raises(Conflict) as refused:
        OrientationPhase.start("o3", "c1", "prb", off, TODAY, already_running=False)
    assert refused.value.code == "orientation.not_offered"
    assert phase.end_if_over(date(2026, 4, 30)) is False and phase.end_if_over(date(2026, 5, 1)) is True


def test_plan_approved_and_changed_are_version_2_and_carry_the_catalogue_product_of_a_line():
    plan = draft(status=PlanStatus.SUBMITTED, version=2)
    grant = {"line_id": "l0", "category": "coaching", "provider_name": "", "provider_kvk": None,
             "asked_cents": 100_000, "granted_cents": 100_000, "starts_on": None, "ends_on": None,
             "holdback_percent": 0, "product_code": "COACH-UUR", "product_unit": "hour", "max_unit_price_cents": 8000}
    plan.apply_review(state_after(Approve(ANNA, TODAY)), [grant])
    [event] = plan.events
    assert type(event) is PlanApprovedV2 and event.event_version == 2
    line = event.lines[0]
    assert (line.product_code, line.unit, line.max_unit_price_cents) == ("COACH-UUR", "hour", 8000)
    plan.events.clear()
    plan.status, plan.execution_deadline = PlanStatus.APPROVED, DEADLINE
    assert plan.decide_change(_change("900.00"), approve=True, decider_id="km", decider_is_team_lead=False,
                              policy=POLICY) == "approved"
    [changed] = plan.events
    assert type(changed) is PlanChangedV2 and changed.lines[0].product_code == "COACH-UUR"
    assert changed.lines[0].max_unit_price_cents == 8000
