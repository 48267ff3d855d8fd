"""Review decisions, four eyes, the three review models and the decision term."""

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain.decision_term import decision_deadline, is_overdue
from services.intake.domain.errors import DomainError, FourEyesError, ReviewConflict, ReviewForbidden
from services.intake.domain.policy import ContractedProvider, ReviewModel, Scheme, default_policy
from services.intake.domain.reintegration_plan import (
    Activity,
    BudgetLine,
    PlanSection,
    ReintegrationPlan,
    SpendingCategory,
)
from services.intake.domain.review import (
    Approve,
    ConfirmApproval,
    DecisionKind,
    LineRequest,
    Reject,
    ReturnForChanges,
    Reviewer,
    ReviewState,
    ReviewStatus,
)
from shared.money import Money

SUBMITTED = date(2025, 3, 3)
DECIDED = date(2025, 3, 10)
MARGINAL = replace(default_policy("0014", "Groningen"), review_model=ReviewModel.MARGINAL)
RECIPROCAL = replace(MARGINAL, review_model=ReviewModel.RECIPROCAL)
DEMAND = replace(
    MARGINAL,
    review_model=ReviewModel.DEMAND_ORIENTED,
    contracted_providers=(ContractedProvider("Werkt BV", "12345678"),),
)

ANNA = Reviewer("anna", "case_manager")
BEN = Reviewer("ben", "case_manager")
TESSA = Reviewer("tessa", "team_lead")
THEO = Reviewer("theo", "team_lead")

ALL_ASSESSED = {
    section: f"{section.value}: helder en haalbaar"
    for section in (
        PlanSection.FOREWORD,
        PlanSection.INTRODUCTION,
        PlanSection.LABOUR_MARKET,
        PlanSection.PRECONDITIONS,
        PlanSection.STRUCTURE,
        PlanSection.BUDGET,
    )
}


def euros(text):
    return Money.euros(text)


def review(policy=MARGINAL, *amounts, providers=None):
    amounts = amounts or ("1500", "1000")  # 2,500: below the four-eyes threshold of 2,900
    providers = providers or ["Werkt BV"] * len(amounts)
    lines = [
        LineRequest(f"l{i}", euros(a), provider_name=p, provider_kvk=None, description=f"Activiteit {i}")
        for i, (a, p) in enumerate(zip(amounts, providers, strict=True))
    ]
    return ReviewState.start(policy, lines, SUBMITTED)


# --- approve -----------------------------------------------------------------------------------


def test_approving_as_asked_below_the_threshold_approves_at_once():
    state = review().decide(Approve(ANNA, DECIDED))
    assert state.outcome is ReviewStatus.APPROVED
    assert state.granted_total == euros("2500") and state.decision_kind is DecisionKind.APPROVE
    assert state.execution_deadline == date(2026, 3, 10)


def test_a_line_may_be_granted_less_than_asked_with_a_reason():
    state = review().decide(
        Approve(
            ANNA,
            DECIDED,
            granted={"l0": euros("1200"), "l1": euros("1000")},
            reasons=("Een goedkopere cursus is even goed.",),
        )
    )
    assert [g.granted for g in state.grants] == [euros("1200"), euros("1000")]


def test_granting_less_than_asked_without_a_reason_is_refused():
    with pytest.raises(DomainError) as err:
        review().decide(Approve(ANNA, DECIDED, granted={"l0": euros("1200"), "l1": euros("1000")}))
    assert err.value.code == "review.reasons_required"


def test_a_line_left_out_of_the_grant_gets_nothing():
    state = review().decide(Approve(ANNA, DECIDED, granted={"l0": euros("1500")}, reasons=("Niet nodig.",)))
    assert [g.granted for g in state.grants] == [euros("1500"), Money.zero()]


@pytest.mark.parametrize(
    ("granted", "code"),
    [
        ({"l0": euros("1500.01"), "l1": euros("1000")}, "review.grant_above_asked"),
        ({"l0": euros("-1"), "l1": euros("1000")}, "review.negative_grant"),
        ({"l9": euros("100")}, "review.unknown_line"),
        ({"l0": Money.zero(), "l1": Money.zero()}, "review.nothing_granted"),
    ],
)
def test_an_impossible_grant_is_refused_with_a_stable_code(granted, code):
    with pytest.raises(DomainError) as err:
        review().decide(Approve(ANNA, DECIDED, granted=granted, reasons=("reden",)))
    assert err.value.code == code


def test_approving_above_the_maximum_is_refused_even_as_asked():
    state = review(MARGINAL, "3000", "2500")  # 5,500 asked, maximum 5,000
    with pytest.raises(DomainError) as err:
        state.decide(Approve(TESSA, DECIDED))
    assert err.value.code == "review.over_maximum"
    lowered = state.decide(
        Approve(
            TESSA, DECIDED, granted={"l0": euros("2500"), "l1": euros("2500")}, reasons=("Het maximum is € 5.000.",)
        )
    )
    assert lowered.granted_total == euros("5000")


def test_approving_with_conditions_is_its_own_kind_of_decision():
    state = review().decide(Approve(ANNA, DECIDED, conditions=("Elke 3 maanden een voortgangsgesprek.",)))
    assert state.outcome is ReviewStatus.APPROVED
    assert state.decision_kind is DecisionKind.APPROVE_WITH_CONDITIONS


def test_an_empty_condition_is_refused():
    with pytest.raises(DomainError) as err:
        review().decide(Approve(ANNA, DECIDED, conditions=(" ",)))
    assert err.value.code == "review.empty_condition"


# --- four eyes ---------------------------------------------------------------------------------


def above_threshold():
    return review(MARGINAL, "2000", "1500")  # 3,500 > 2,900


def test_approving_above_the_four_eyes_threshold_waits_for_a_second_approval():
    state = above_threshold().decide(Approve(ANNA, DECIDED))
    assert state.outcome is ReviewStatus.PENDING_SECOND_APPROVAL
    assert state.execution_deadline is None


def test_a_grant_exactly_on_the_threshold_needs_no_second_approval():
    state = review(MARGINAL, "1900", "1000").decide(Approve(ANNA, DECIDED))
    assert state.outcome is ReviewStatus.APPROVED


def test_the_first_reviewer_cannot_give_the_second_approval():
    pending = above_threshold().decide(Approve(TESSA, DECIDED))
    with pytest.raises(FourEyesError) as err:
        pending.decide(ConfirmApproval(TESSA, DECIDED))
    assert err.value.code == "review.same_reviewer"
    assert isinstance(err.value, DomainError) and err.value.status == 403


def test_a_different_team_lead_gives_the_second_approval():
    pending = above_threshold().decide(Approve(ANNA, DECIDED))
    state = pending.decide(ConfirmApproval(TESSA, date(2025, 3, 12)))
    assert state.outcome is ReviewStatus.APPROVED
    assert state.granted_total == euros("3500")
    assert state.decided_on == date(2025, 3, 12)
    assert state.execution_deadline == date(2026, 3, 12)  # counted from the final approval


def test_a_case_manager_cannot_give_the_second_approval():
    pending = above_threshold().decide(Approve(ANNA, DECIDED))
    with pytest.raises(ReviewForbidden) as err:
        pending.decide(ConfirmApproval(BEN, DECIDED))
    assert err.value.code == "review.second_reviewer_role"


def test_a_team_lead_approving_first_needs_another_team_lead():
    pending = above_threshold().decide(Approve(TESSA, DECIDED))
    assert pending.decide(ConfirmApproval(THEO, DECIDED)).outcome is ReviewStatus.APPROVED


def test_the_second_reviewer_may_reject_instead_of_confirming():
    pending = above_threshold().decide(Approve(ANNA, DECIDED))
    state = pending.decide(
        Reject(
            TESSA, DECIDED, reasons=("Te duur voor dit doel.",), contra_indications=("Geen arbeidsmarktperspectief.",)
        )
    )
    assert state.outcome is ReviewStatus.REJECTED and state.grants == ()


def test_the_second_reviewer_cannot_change_the_amounts_by_approving_again():
    pending = above_threshold().decide(Approve(ANNA, DECIDED))
    with pytest.raises(ReviewConflict) as err:
        pending.decide(Approve(TESSA, DECIDED))
    assert err.value.code == "review.awaiting_second_approval"


def test_there_is_nothing_to_confirm_before_a_first_approval():
    with pytest.raises(ReviewConflict) as err:
        review().decide(ConfirmApproval(TESSA, DECIDED))
    assert err.value.code == "review.nothing_to_confirm"


# --- who may decide ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["client", "finance", "provider", "policy", "ops"])
def test_only_case_managers_and_team_leads_may_decide(role):
    with pytest.raises(ReviewForbidden) as err:
        review().decide(Approve(Reviewer("x", role), DECIDED))
    assert err.value.code == "review.role_not_allowed"


def test_a_decided_review_takes_no_further_decisions():
    approved = review().decide(Approve(ANNA, DECIDED))
    with pytest.raises(ReviewConflict) as err:
        approved.decide(Reject(BEN, DECIDED, reasons=("toch niet",), contra_indications=("x",)))
    assert err.value.code == "review.already_decided" and err.value.status == 409


# --- reject and return ------------------------------------------------------------------------


def test_a_rejection_needs_reasons():
    with pytest.raises(DomainError) as err:
        review().decide(Reject(ANNA, DECIDED, contra_indications=("Ernstige schulden.",)))
    assert err.value.code == "review.reasons_required"


def test_returning_a_plan_needs_a_comment_per_section_and_gives_returned():
    with pytest.raises(DomainError) as err:
        review().decide(ReturnForChanges(ANNA, DECIDED, comments={}))
    assert err.value.code == "review.comments_required"
    state = review().decide(ReturnForChanges(ANNA, DECIDED, comments={"budget": "Voeg een tweede offerte toe."}))
    assert state.outcome is ReviewStatus.RETURNED
    assert state.decision_kind is DecisionKind.RETURN_FOR_CHANGES


def test_a_comment_on_a_section_that_does_not_exist_is_refused():
    with pytest.raises(DomainError) as err:
        ReturnForChanges(ANNA, DECIDED, comments={"horoscope": "?"})
    assert err.value.code == "review.unknown_section"


# --- the three review models (Doe-boek table B1) --------------------------------------------------


def test_marginal_review_refuses_a_rejection_without_a_contra_indication():
    with pytest.raises(DomainError) as err:
        review(MARGINAL).decide(Reject(ANNA, DECIDED, reasons=("Ik geloof er niet in.",)))
    assert err.value.code == "review.contra_indication_required"


def test_marginal_review_rejects_when_a_contra_indication_is_recorded():
    state = review(MARGINAL).decide(
        Reject(
            ANNA,
            DECIDED,
            reasons=("Het plan leidt niet tot werk.",),
            contra_indications=("Het beroep bestaat niet meer in de regio.",),
        )
    )
    assert state.outcome is ReviewStatus.REJECTED


def test_marginal_review_approves_without_a_content_assessment():
    assert review(MARGINAL).decide(Approve(ANNA, DECIDED)).outcome is ReviewStatus.APPROVED


def test_reciprocal_review_needs_a_content_assessment_of_every_section():
    partial = dict(ALL_ASSESSED)
    del partial[PlanSection.LABOUR_MARKET]
    with pytest.raises(DomainError) as err:
        review(RECIPROCAL).decide(Approve(ANNA, DECIDED, assessments=partial))
    assert err.value.code == "review.assessment_missing"
    assert err.value.field == "assessments.labour_market"


def test_reciprocal_review_approves_with_every_section_assessed():
    state = review(RECIPROCAL).decide(Approve(ANNA, DECIDED, assessments=ALL_ASSESSED))
    assert state.outcome is ReviewStatus.APPROVED


def test_reciprocal_review_rejects_without_a_contra_indication_but_with_an_assessment():
    state = review(RECIPROCAL).decide(Reject(ANNA, DECIDED, reasons=("Niet haalbaar.",), assessments=ALL_ASSESSED))
    assert state.outcome is ReviewStatus.REJECTED
    with pytest.raises(DomainError):
        review(RECIPROCAL).decide(Reject(ANNA, DECIDED, reasons=("Niet haalbaar.",)))


def test_demand_oriented_review_refuses_money_for_a_provider_without_contract():
    state = review(DEMAND, "1500", "1000", providers=["Werkt BV", "Eigen Coach"])
    with pytest.raises(DomainError) as err:
        state.decide(Approve(ANNA, DECIDED, assessments=ALL_ASSESSED))
    assert err.value.code == "review.provider_not_contracted" and err.value.field == "granted.l1"


def test_demand_oriented_review_approves_the_contracted_provider_and_nothing_for_the_other():
    state = review(DEMAND, "1500", "1000", providers=["Werkt BV", "Eigen Coach"])
    approved = state.decide(
        Approve(
            ANNA,
            DECIDED,
            granted={"l0": euros("1500")},
            assessments=ALL_ASSESSED,
            reasons=("Eigen Coach heeft geen contract met de gemeente.",),
        )
    )
    assert approved.outcome is ReviewStatus.APPROVED and approved.granted_total == euros("1500")


def test_demand_oriented_review_without_a_provider_list_cannot_approve():
    policy = replace(DEMAND, contracted_providers=())
    with pytest.raises(DomainError) as err:
        review(policy).decide(Approve(ANNA, DECIDED, assessments=ALL_ASSESSED))
    assert err.value.code == "review.no_contracted_providers"


# --- the decision term ---------------------------------------------------------------------------


def test_the_decision_is_due_eight_weeks_after_submission_with_a_warning_two_weeks_before():
    deadline = decision_deadline(MARGINAL, date(2025, 3, 3))
    assert deadline.due_on == date(2025, 4, 28)
    assert deadline.warn_on == date(2025, 4, 14)
    assert not deadline.should_warn(date(2025, 4, 13))
    assert deadline.should_warn(date(2025, 4, 14)) and deadline.should_warn(date(2025, 4, 28))


def test_a_decision_on_the_due_date_is_on_time_and_the_day_after_is_overdue():
    assert not is_overdue(MARGINAL, date(2025, 3, 3), date(2025, 4, 28))
    assert is_overdue(MARGINAL, date(2025, 3, 3), date(2025, 4, 29))


def test_the_decision_term_follows_the_policy():
    policy = replace(MARGINAL, decision_term_weeks=2, decision_warning_weeks=1)
    assert review(policy).deadline.due_on == date(2025, 3, 17)


# --- building and replaying ----------------------------------------------------------------------


def test_a_review_can_start_from_a_plan_with_its_counted_amounts():
    plan = ReintegrationPlan(
        activities=(Activity("a", "Cursus", date(2025, 4, 1), date(2025, 6, 1), "Certificaat in juni 2025"),),
        budget_lines=(
            BudgetLine("a", "School", SpendingCategory.TRAINING_SKILLS, euros("1000"), "21", line_id="line-1"),
            BudgetLine("a", "Boekhandel", SpendingCategory.STUDY_MATERIAL, euros("100"), "9"),
        ),
    )
    state = ReviewState.for_plan(MARGINAL, plan, SUBMITTED)
    assert [(line.line_id, line.asked) for line in state.lines] == [("line-1", euros("1000")), ("1", euros("100"))]
    incl_vat = ReviewState.for_plan(replace(MARGINAL, amounts_excl_vat=False), plan, SUBMITTED)
    assert incl_vat.asked_total == euros("1319")
    assert state.maximum == euros("5000")


def test_the_same_decisions_give_the_same_state():
    decisions = [Approve(ANNA, DECIDED), ConfirmApproval(TESSA, DECIDED)]

    def replay():
        state = above_threshold()
        for decision in decisions:
            state = state.decide(decision)
        return state

    assert replay() == replay()
    assert replay().history == tuple(decisions)


def test_deciding_leaves_the_earlier_state_untouched():
    start = review()
    start.decide(Approve(ANNA, DECIDED))
    assert start.outcome is ReviewStatus.AWAITING_DECISION and start.history == ()


def test_a_review_of_another_scheme_uses_that_schemes_maximum():
    policy = default_policy("0599", "Rotterdam")
    with pytest.raises(DomainError) as err:
        ReviewState.start(policy, [LineRequest("l0", euros("1"))], SUBMITTED, scheme=Scheme.RIO_IRO)
    assert err.value.code == "plan.scheme_not_offered"


# --- properties -----------------------------------------------------------------------------------

amounts = st.lists(st.integers(min_value=1, max_value=300_000), min_size=1, max_size=5)


@settings(max_examples=150, deadline=None)
@given(asked=amounts, data=st.data())
def test_an_approval_never_grants_more_than_asked_nor_more_than_the_maximum(asked, data):
    lines = [LineRequest(f"l{i}", Money(cents)) for i, cents in enumerate(asked)]
    state = ReviewState.start(MARGINAL, lines, SUBMITTED)
    granted = {
        f"l{i}": Money(data.draw(st.integers(min_value=-10, max_value=cents + 10))) for i, cents in enumerate(asked)
    }
    try:
        result = state.decide(Approve(TESSA, DECIDED, granted=granted, reasons=("reden",)))
    except DomainError:
        return
    assert all(g.granted <= g.asked for g in result.grants)
    assert result.granted_total <= state.asked_total
    assert result.granted_total <= state.maximum
    assert (result.outcome is ReviewStatus.PENDING_SECOND_APPROVAL) == (
        result.granted_total > MARGINAL.four_eyes_threshold
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["approve", "confirm_same", "confirm_other", "reject", "return"]), max_size=5))
def test_any_sequence_of_decisions_ends_in_a_known_state_or_a_domain_error(steps):
    state = above_threshold()
    for step in steps:
        decision = {
            "approve": Approve(ANNA, DECIDED),
            "confirm_same": ConfirmApproval(ANNA, DECIDED),
            "confirm_other": ConfirmApproval(TESSA, DECIDED),
            "reject": Reject(TESSA, DECIDED, reasons=("r",), contra_indications=("c",)),
            "return": ReturnForChanges(TESSA, DECIDED, comments={"budget": "c"}),
        }[step]
        try:
            state = state.decide(decision)
        except DomainError:
            continue
    assert state.outcome in set(ReviewStatus)
    if state.outcome is ReviewStatus.APPROVED:
        reviewers = [d.reviewer.id for d in state.history]
        assert len(set(reviewers)) == 2  # above the threshold: always two different people
