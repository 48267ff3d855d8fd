"""Reviewing a submitted plan: decisions, four eyes, the review model, the decision term.

`ReviewState` is immutable: `state.decide(decision)` returns the next state or raises a
`RuleBroken` (or a Forbidden/Conflict kind) with a stable code. The same decisions in the same
order always give the same outcome, so it can be rebuilt from the stored decisions at any time.

Who may decide (a choice, written down here because the report leaves it open):
- only case managers and team leads decide;
- a decision that grants more than the policy's four-eyes threshold needs a second approval
  by a *team lead* who is not the first reviewer. The report's actors list the team lead as
  the second reviewer; a colleague case manager would be four eyes too, but the team lead
  also carries the budget responsibility. The second reviewer may also return or reject
  the plan instead of confirming it.

Other rules: a line is never granted more than asked, the total never more than the
scheme's maximum; granting less than asked needs a reason for the letter (Awb 3:46); an
approved plan runs until the policy's execution deadline counted from the final approval
(the plan check counts from submission, so a plan that passed it always fits).

What the review model (Doe-boek Table B1) changes:
- marginal ("ja, tenzij"): approve unless there is a clear contra-indication, so a rejection
  must name at least one contra-indication;
- reciprocal and demand-oriented: the case manager reviews the content ("inhoudelijke
  toetsing"), so every decision carries an assessment of each plan section;
- demand-oriented: the client buys only from providers the municipality contracted, so an
  approval grants money only to providers on the policy's list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from services.intake.domain.budget_checks import maximum_for_plan
from services.intake.domain.decision_term import DecisionDeadline, decision_deadline
from services.intake.domain.errors import FourEyesError, ReviewConflict, ReviewForbidden, RuleBroken
from services.intake.domain.policy import MunicipalPolicy, ReviewModel, Scheme
from services.intake.domain.reintegration_plan import PlanSection, ReintegrationPlan, SpendingCategory
from shared.money import Money


class ReviewerRole(StrEnum):
    """The roles that may decide; the same strings as `shared.auth.Role`."""

    CASE_MANAGER = "case_manager"
    TEAM_LEAD = "team_lead"


class DecisionKind(StrEnum):
    APPROVE = "approve"
    APPROVE_WITH_CONDITIONS = "approve_with_conditions"
    RETURN_FOR_CHANGES = "return_for_changes"
    REJECT = "reject"


class ReviewStatus(StrEnum):
    AWAITING_DECISION = "awaiting_decision"
    PENDING_SECOND_APPROVAL = "pending_second_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"


FINAL_STATUSES = frozenset({ReviewStatus.APPROVED, ReviewStatus.REJECTED, ReviewStatus.RETURNED})
# The sections a content review assesses; attachments are evidence, not content.
ASSESSED_SECTIONS = (
    PlanSection.FOREWORD,
    PlanSection.INTRODUCTION,
    PlanSection.LABOUR_MARKET,
    PlanSection.PRECONDITIONS,
    PlanSection.STRUCTURE,
    PlanSection.BUDGET,
)


@dataclass(frozen=True)
class Reviewer:
    id: str
    role: str  # as the token says; checked against ReviewerRole when deciding


def _frozen_mapping(value: Mapping[str, object] | None) -> Mapping[str, object]:
    return MappingProxyType(dict(value or {}))


def _section_mapping(
    value: Mapping[str, str] | Mapping[PlanSection, str] | None, what: str
) -> Mapping[PlanSection, str]:
    out: dict[PlanSection, str] = {}
    for key, text in (value or {}).items():
        try:
            section = PlanSection(key)
        except ValueError as exc:
            raise RuleBroken(
                "review.unknown_section", f"{what}: {key!r} is not a plan section.", f"{what}.{key}"
            ) from exc
        out[section] = text
    return MappingProxyType(out)


@dataclass(frozen=True)
class Approve:
    """Approve, as asked or with less per line. With conditions it becomes "approve with conditions"."""

    reviewer: Reviewer
    on: date
    granted: Mapping[str, Money] | None = field(default=None, hash=False)  # None: every line as asked
    conditions: tuple[str, ...] = ()
    # For the letter: why less than asked (required then; a decision must give its reasons, Awb 3:46).
    reasons: tuple[str, ...] = ()
    assessments: Mapping[PlanSection, str] = field(default_factory=dict, hash=False)
    note: str = ""  # internal, not in the letter

    def __post_init__(self) -> None:
        if self.granted is not None:
            object.__setattr__(self, "granted", _frozen_mapping(self.granted))
        object.__setattr__(self, "conditions", tuple(self.conditions))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "assessments", _section_mapping(self.assessments, "assessments"))

    @property
    def kind(self) -> DecisionKind:
        return DecisionKind.APPROVE_WITH_CONDITIONS if self.conditions else DecisionKind.APPROVE


@dataclass(frozen=True)
class ReturnForChanges:
    """Send the plan back to the client with a comment per section."""

    reviewer: Reviewer
    on: date
    comments: Mapping[PlanSection, str] = field(default_factory=dict, hash=False)
    assessments: Mapping[PlanSection, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "comments", _section_mapping(self.comments, "comments"))
        object.__setattr__(self, "assessments", _section_mapping(self.assessments, "assessments"))

    @property
    def kind(self) -> DecisionKind:
        return DecisionKind.RETURN_FOR_CHANGES


@dataclass(frozen=True)
class Reject:
    """Reject, with reasons for the letter; under "ja, tenzij" also the contra-indications."""

    reviewer: Reviewer
    on: date
    reasons: tuple[str, ...] = ()
    contra_indications: tuple[str, ...] = ()
    assessments: Mapping[PlanSection, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "contra_indications", tuple(self.contra_indications))
        object.__setattr__(self, "assessments", _section_mapping(self.assessments, "assessments"))

    @property
    def kind(self) -> DecisionKind:
        return DecisionKind.REJECT


@dataclass(frozen=True)
class ConfirmApproval:
    """The second pair of eyes agrees with the first approval."""

    reviewer: Reviewer
    on: date
    note: str = ""


Decision = Approve | ReturnForChanges | Reject | ConfirmApproval


@dataclass(frozen=True)
class LineRequest:
    """A budget line as the reviewer sees it: what was asked, from whom."""

    line_id: str
    asked: Money
    provider_name: str = ""
    provider_kvk: str | None = None
    category: SpendingCategory | None = None
    description: str = ""


@dataclass(frozen=True)
class LineGrant:
    line_id: str
    asked: Money
    granted: Money


# --- the review ------------------------------------------------------------------------------


def _has_text(value: str) -> bool:
    return bool(value and value.strip())


@dataclass(frozen=True)
class ReviewState:
    """One submitted plan's review. Begin with `start` or `for_plan`; `decide` gives the next state."""

    policy: MunicipalPolicy
    lines: tuple[LineRequest, ...]
    maximum: Money
    submitted_on: date
    scheme: Scheme = Scheme.PRB
    status: ReviewStatus = ReviewStatus.AWAITING_DECISION
    history: tuple[Decision, ...] = ()
    grants: tuple[LineGrant, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))
        ids = [line.line_id for line in self.lines]
        if not ids:
            raise RuleBroken("review.no_lines", "A plan without budget lines cannot be reviewed.", "lines")
        if len(set(ids)) != len(ids):
            raise RuleBroken("review.duplicate_line", "Two budget lines have the same id.", "lines")

    @classmethod
    def start(
        cls,
        policy: MunicipalPolicy,
        lines: tuple[LineRequest, ...] | list[LineRequest],
        submitted_on: date,
        scheme: str = Scheme.PRB,
        indication: str | None = None,
    ) -> ReviewState:
        return cls(policy, tuple(lines), policy.maximum_for(scheme, indication), submitted_on, Scheme(scheme))

    @classmethod
    def for_plan(cls, policy: MunicipalPolicy, plan: ReintegrationPlan, submitted_on: date) -> ReviewState:
        """Line ids are the stored ids when present, else the line's position ("0", "1", ...)."""
        lines = tuple(
            LineRequest(
                line_id=line.line_id or str(i),
                asked=line.counted_amount(policy.amounts_excl_vat),
                provider_name=line.provider_name,
                provider_kvk=line.provider_kvk,
                category=line.category,
                description=line.description,
            )
            for i, line in enumerate(plan.budget_lines)
        )
        return cls(policy, lines, maximum_for_plan(policy, plan), submitted_on, plan.scheme)

    # --- what the state says ------------------------------------------------------------------

    @property
    def outcome(self) -> ReviewStatus:
        return self.status

    @property
    def asked_total(self) -> Money:
        return Money.total(line.asked for line in self.lines)

    @property
    def granted_total(self) -> Money:
        return Money.total(g.granted for g in self.grants)

    @property
    def deadline(self) -> DecisionDeadline:
        return decision_deadline(self.policy, self.submitted_on)

    @property
    def approval(self) -> Approve | None:
        return next((d for d in self.history if isinstance(d, Approve)), None)

    @property
    def final_decision(self) -> Decision | None:
        return self.history[-1] if self.status in FINAL_STATUSES else None

    @property
    def decision_kind(self) -> DecisionKind | None:
        """The kind of decision the letter reports, once there is one."""
        if self.status is ReviewStatus.APPROVED:
            assert self.approval is not None
            return self.approval.kind
        if self.status is ReviewStatus.REJECTED:
            return DecisionKind.REJECT
        if self.status is ReviewStatus.RETURNED:
            return DecisionKind.RETURN_FOR_CHANGES
        return None

    @property
    def decided_on(self) -> date | None:
        final = self.final_decision
        return final.on if final else None

    @property
    def execution_deadline(self) -> date | None:
        """An approved plan runs until this date, counted from the day it was approved."""
        if self.status is not ReviewStatus.APPROVED or self.decided_on is None:
            return None
        return self.policy.execution_deadline(self.decided_on)

    def needs_four_eyes(self, granted_total: Money) -> bool:
        return granted_total > self.policy.four_eyes_threshold

    # --- taking a decision ---------------------------------------------------------------------

    def decide(self, decision: Decision) -> ReviewState:
        _ensure_may_decide(decision.reviewer)
        if self.status in FINAL_STATUSES:
            raise ReviewConflict(
                "review.already_decided",
                f"This review is already {self.status.value}; a new submission starts a new review.",
                "status",
            )
        if self.status is ReviewStatus.PENDING_SECOND_APPROVAL:
            return self._second_look(decision)
        if isinstance(decision, ConfirmApproval):
            raise ReviewConflict(
                "review.nothing_to_confirm", "There is no approval waiting for a second reviewer.", "status"
            )
        if isinstance(decision, Approve):
            return self._approve(decision)
        if isinstance(decision, ReturnForChanges):
            return self._return(decision)
        if isinstance(decision, Reject):
            return self._reject(decision)
        raise RuleBroken("review.unknown_decision", f"Not a review decision: {type(decision).__name__}.")

    def _second_look(self, decision: Decision) -> ReviewState:
        first = self.approval
        assert first is not None
        if decision.reviewer.id == first.reviewer.id:
            raise FourEyesError(
                "review.same_reviewer",
                "The second approval must come from someone else than the first reviewer.",
                "reviewer",
            )
        if decision.reviewer.role != ReviewerRole.TEAM_LEAD:
            raise ReviewForbidden(
                "review.second_reviewer_role", "Only a team lead may give the second approval.", "reviewer"
            )
        if isinstance(decision, ConfirmApproval):
            return replace(self, status=ReviewStatus.APPROVED, history=(*self.history, decision))
        if isinstance(decision, ReturnForChanges):
            return self._return(decision)
        if isinstance(decision, Reject):
            return self._reject(decision)
        raise ReviewConflict(
            "review.awaiting_second_approval",
            "An approval is waiting for a second reviewer: confirm it, return the plan or reject it.",
            "status",
        )

    def _approve(self, decision: Approve) -> ReviewState:
        self._require_assessments(decision.assessments)
        for i, condition in enumerate(decision.conditions):
            if not _has_text(condition):
                raise RuleBroken("review.empty_condition", "A condition must say something.", f"conditions[{i}]")
        grants = self._grants(decision.granted)
        total = Money.total(g.granted for g in grants)
        if total > self.maximum:
            raise RuleBroken(
                "review.over_maximum",
                f"The granted total {total.format_en()} is above the maximum {self.maximum.format_en()};"
                " grant less on one or more lines.",
                "granted",
            )
        if total < self.asked_total and not any(_has_text(r) for r in decision.reasons):
            raise RuleBroken(
                "review.reasons_required",
                "Granting less than asked needs a reason the client can read in the letter.",
                "reasons",
            )
        if self.policy.review_model is ReviewModel.DEMAND_ORIENTED:
            self._require_contracted(grants)
        status = ReviewStatus.PENDING_SECOND_APPROVAL if self.needs_four_eyes(total) else ReviewStatus.APPROVED
        return replace(self, status=status, history=(*self.history, decision), grants=grants)

    def _return(self, decision: ReturnForChanges) -> ReviewState:
        self._require_assessments(decision.assessments)
        if not any(_has_text(text) for text in decision.comments.values()):
            raise RuleBroken(
                "review.comments_required",
                "Say per section what the client should change before returning the plan.",
                "comments",
            )
        return replace(self, status=ReviewStatus.RETURNED, history=(*self.history, decision), grants=())

    def _reject(self, decision: Reject) -> ReviewState:
        self._require_assessments(decision.assessments)
        if not any(_has_text(r) for r in decision.reasons):
            raise RuleBroken(
                "review.reasons_required", "A rejection needs at least one reason for the letter.", "reasons"
            )
        if self.policy.review_model is ReviewModel.MARGINAL and not any(
            _has_text(c) for c in decision.contra_indications
        ):
            raise RuleBroken(
                "review.contra_indication_required",
                "Under 'ja, tenzij' a plan is approved unless there is a clear contra-indication; "
                "record at least one to reject.",
                "contra_indications",
            )
        return replace(self, status=ReviewStatus.REJECTED, history=(*self.history, decision), grants=())

    # --- rules behind the decisions ----------------------------------------------------------

    def _grants(self, granted: Mapping[str, Money] | None) -> tuple[LineGrant, ...]:
        """As asked when nothing is given; otherwise the given amount per line, a left-out line gets 0."""
        if granted is None:
            return tuple(LineGrant(line.line_id, line.asked, line.asked) for line in self.lines)
        known = {line.line_id for line in self.lines}
        unknown = sorted(set(granted) - known)
        if unknown:
            raise RuleBroken(
                "review.unknown_line", f"There is no budget line {unknown[0]!r} in this plan.", f"granted.{unknown[0]}"
            )
        grants = []
        for line in self.lines:
            amount = granted.get(line.line_id, Money.zero())
            if not isinstance(amount, Money):
                raise RuleBroken("review.grant_not_money", "A granted amount must be Money.", f"granted.{line.line_id}")
            if amount.cents < 0:
                raise RuleBroken(
                    "review.negative_grant", "A granted amount cannot be negative.", f"granted.{line.line_id}"
                )
            if amount > line.asked:
                raise RuleBroken(
                    "review.grant_above_asked",
                    f"Line {line.line_id} asks {line.asked.format_en()}; it cannot be granted more.",
                    f"granted.{line.line_id}",
                )
            grants.append(LineGrant(line.line_id, line.asked, amount))
        if not any(g.granted for g in grants):
            raise RuleBroken(
                "review.nothing_granted", "An approval grants at least one line; reject the plan instead.", "granted"
            )
        return tuple(grants)

    def _require_assessments(self, assessments: Mapping[PlanSection, str]) -> None:
        if self.policy.review_model is ReviewModel.MARGINAL:
            return
        for section in ASSESSED_SECTIONS:
            if not _has_text(assessments.get(section, "")):
                raise RuleBroken(
                    "review.assessment_missing",
                    f"A content review records an assessment of every section; {section.value} has none.",
                    f"assessments.{section.value}",
                )

    def _require_contracted(self, grants: tuple[LineGrant, ...]) -> None:
        if not self.policy.contracted_providers:
            raise RuleBroken(
                "review.no_contracted_providers",
                "This policy works with contracted providers only, but lists none; add them to the policy first.",
                "policy.contracted_providers",
            )
        by_id = {line.line_id: line for line in self.lines}
        for grant in grants:
            line = by_id[grant.line_id]
            if grant.granted and not self.policy.is_contracted(line.provider_name, line.provider_kvk):
                raise RuleBroken(
                    "review.provider_not_contracted",
                    f"{line.provider_name or 'This provider'} has no contract with the municipality; "
                    "grant nothing on this line or return the plan.",
                    f"granted.{line.line_id}",
                )


def _ensure_may_decide(reviewer: Reviewer) -> None:
    if reviewer.role not in {r.value for r in ReviewerRole}:
        raise ReviewForbidden(
            "review.role_not_allowed", "Only a case manager or a team lead may decide on a plan.", "reviewer"
        )
    if not _has_text(reviewer.id):
        raise ReviewForbidden("review.reviewer_unknown", "A decision needs the reviewer's id.", "reviewer")
