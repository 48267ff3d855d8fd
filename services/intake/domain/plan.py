"""The plan aggregate: a client's plan from draft to a closed trajectory, and the events it causes.

    draft ─(save)─> draft ─(submit)─> submitted ─┬─> approved ─(change)─> approved ─(close)─> closed
    returned ─(save)─> draft                      ├─> awaiting_second_approval ─> approved | returned | rejected
                                                  ├─> returned
                                                  └─> rejected

The review itself (who may decide, four eyes, the review model, the grants) is decided by
`ReviewState` (domain/review.py); this aggregate applies its outcome to the plan and records
the event it causes. A `Review` here watches the decision term and warns once before it ends.

Plain Python: no session and no clock (the caller passes today and now). Amounts in cents and
granted lines as dicts, as the rows keep them; the repository copies rows in and out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from contracts.events import (
    DecisionDueSoonV1,
    GrantedLineV2,
    Payload,
    PlanApprovedV2,
    PlanChangedV2,
    PlanRejectedV1,
    PlanReturnedV1,
    PlanSubmittedV1,
    TrajectoryClosedV1,
)
from services.intake.domain.errors import Conflict, Forbidden, RuleBroken
from services.intake.domain.findings import Finding, Severity
from services.intake.domain.policy import MunicipalPolicy, ReviewModel
from services.intake.domain.review import ReviewState, ReviewStatus
from shared.identifiers import IdentifierError, validate_kvk
from shared.money import Money


class PlanStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"
    RETURNED = "returned"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"


EDITABLE = (PlanStatus.DRAFT, PlanStatus.RETURNED)
# A client has at most one plan in one of these at a time.
OPEN_STATUSES = (
    PlanStatus.DRAFT,
    PlanStatus.RETURNED,
    PlanStatus.SUBMITTED,
    PlanStatus.AWAITING_SECOND_APPROVAL,
    PlanStatus.APPROVED,
)
UNDER_REVIEW = (ReviewStatus.AWAITING_DECISION, ReviewStatus.PENDING_SECOND_APPROVAL)


class ClosureReason(StrEnum):
    COMPLETED = "completed"
    STOPPED_EARLY = "stopped_early"
    EXPIRED = "expired"


class ChangeStatus(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    REFUSED_BY_BUDGET = "refused_by_budget"


class PlanChecksFailed(RuleBroken):
    """Submission refused: every blocking finding is in `findings` (the answer lists them all)."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__(
            "plan.checks_failed",
            f"{len(findings)} point(s) must be fixed first; see errors (GET .../checks shows all findings).",
            message_nl=f"Eerst moet u {len(findings)} punt(en) verbeteren; zie errors (GET .../checks toont alles).",
        )
        self.findings = tuple(findings)


class AttachmentRefused(RuleBroken):
    """An upload refused: 413 too large, 415 a type we do not take, else 422; every problem listed."""

    def __init__(self, problems: Sequence[Finding]) -> None:
        first = problems[0]
        super().__init__(first.code, first.message_en, first.field, message_nl=first.message_nl)
        self.status = (
            413
            if first.code == "attachment.too_large"
            else 415
            if first.code in ("attachment.type_not_allowed", "attachment.extension_mismatch")
            else 422
        )
        self.findings = tuple(problems)


# What a granted line keeps of the price catalogue (plan_content.granted_lines), for PlanChanged too.
CATALOGUE_KEYS = frozenset({"product_code", "product_unit", "max_unit_price_cents"})


def granted_payload(lines: Iterable[Mapping[str, Any]]) -> tuple[GrantedLineV2, ...]:
    """The granted lines as events carry them (version 2: with the catalogue product, if any): only
    lines that got money."""
    return tuple(
        GrantedLineV2(
            product_code=g.get("product_code"),
            unit=g.get("product_unit"),
            max_unit_price_cents=g.get("max_unit_price_cents"),
            plan_line_id=g["line_id"],
            category=g["category"],
            granted_cents=g["granted_cents"],
            provider_name=g["provider_name"] or None,
            provider_kvk=g["provider_kvk"],
            starts_on=g["starts_on"],
            ends_on=g["ends_on"],
            holdback_percent=g["holdback_percent"],
        )
        for g in lines
        if g["granted_cents"]
    )


@dataclass(frozen=True)
class ChangeView:
    """A change request as the plan decides on it: its lines as the request stored them (JSON)."""

    id: str
    status: str
    requested_by: str
    lines: tuple[Mapping[str, Any], ...]


@dataclass
class PlanAggregate:
    id: str
    municipality: str
    client_id: str
    scheme: str
    status: str = PlanStatus.DRAFT
    version: int = 1
    latest_version_number: int = 1
    submitted_version_number: int | None = None
    requested_cents: int = 0
    granted: list[dict[str, Any]] | None = None
    granted_cents: int | None = None
    execution_deadline: date | None = None
    closed_on: date | None = None
    closure_reason: str | None = None
    closure_note: str = ""
    events: list[Payload] = field(default_factory=list, compare=False, repr=False)

    # --- guards ---------------------------------------------------------------------------------

    def ensure_version(self, expected: int) -> None:
        """Optimistic concurrency: the caller says which version it read."""
        if self.version != expected:
            raise Conflict(
                "plan.changed_meanwhile",
                f"The plan changed meanwhile (now version {self.version}, you sent {expected}); reload it.",
                "plan_version",
                message_nl=f"Het plan is intussen gewijzigd (nu versie {self.version}, u stuurde "
                f"{expected}); laad het opnieuw.",
            )

    def ensure_status(self, allowed: Iterable[str], doing: str) -> None:
        if self.status not in tuple(allowed):
            raise Conflict(
                "plan.wrong_state",
                f"A plan that is {self.status} cannot be {doing}.",
                "status",
                message_nl=f"Een plan met status {self.status} kan dit nu niet.",
            )

    def _common(self) -> dict[str, Any]:
        return {"plan_id": self.id, "client_id": self.client_id, "plan_version": self.version}

    # --- writing the plan -----------------------------------------------------------------------

    def save_draft(self, scheme: str, requested_cents: int) -> None:
        """A new draft version; a returned plan becomes a draft again."""
        self.ensure_status(EDITABLE, "changed (only a draft or a returned plan can)")
        self.scheme, self.requested_cents = scheme, requested_cents
        self.status, self.version = PlanStatus.DRAFT, self.version + 1
        self.latest_version_number += 1

    def ensure_attachable(self) -> None:
        self.ensure_status(EDITABLE, "given new attachments (only a draft or a returned plan can)")

    def submit(self, findings: Sequence[Finding]) -> None:
        """Submitted when no finding blocks; the submitted version is the next numbered version."""
        self.ensure_status(EDITABLE, "submitted")
        blocks = [f for f in findings if f.severity is Severity.BLOCK]
        if blocks:
            raise PlanChecksFailed(blocks)
        self.latest_version_number += 1
        self.status, self.version = PlanStatus.SUBMITTED, self.version + 1
        self.submitted_version_number = self.latest_version_number
        self.events.append(PlanSubmittedV1(**self._common(), requested_cents=self.requested_cents))

    # --- the review's outcome -------------------------------------------------------------------

    def apply_review(self, state: ReviewState, grants: list[dict[str, Any]] | None) -> None:
        """The review took a decision: the plan follows it (`grants` once approved)."""
        self.version += 1
        if state.status is ReviewStatus.PENDING_SECOND_APPROVAL:
            self.status = PlanStatus.AWAITING_SECOND_APPROVAL
        elif state.status is ReviewStatus.APPROVED:
            assert grants is not None and state.execution_deadline is not None
            self.status, self.granted = PlanStatus.APPROVED, grants
            self.granted_cents = state.granted_total.cents
            self.execution_deadline = state.execution_deadline
            self.events.append(
                PlanApprovedV2(
                    **self._common(),
                    scheme=self.scheme,
                    granted_cents=self.granted_cents,
                    execution_deadline=self.execution_deadline,
                    lines=granted_payload(grants),
                )
            )
        elif state.status is ReviewStatus.RETURNED:
            self.status = PlanStatus.RETURNED
            self.events.append(PlanReturnedV1(**self._common()))
        elif state.status is ReviewStatus.REJECTED:
            self.status = PlanStatus.REJECTED
            self.events.append(PlanRejectedV1(**self._common()))

    # --- changes to an approved plan ------------------------------------------------------------

    def ask_change(self, lines: Sequence[Mapping[str, Any]], policy: MunicipalPolicy, *, pending: bool) -> None:
        """A change request may move money between lines (never add to it), move dates within the
        execution deadline and choose other providers (contracted ones, under a demand-oriented policy)."""
        self.ensure_status((PlanStatus.APPROVED,), "changed by a change request (only an approved plan can)")
        assert self.granted_cents is not None and self.execution_deadline is not None
        if pending:
            raise Conflict(
                "change.pending",
                "A change request for this plan is still waiting for a decision.",
                "plan_id",
                message_nl="Er wacht al een wijzigingsverzoek op een besluit.",
            )
        ids = [line["id"] for line in lines]
        if len(set(ids)) != len(ids):
            raise RuleBroken(
                "change.duplicate_line",
                "Two lines have the same id.",
                "lines",
                message_nl="Twee regels hebben hetzelfde id.",
            )
        total = Money.total(Money.euros(line["amount"]) for line in lines)
        if total.cents > self.granted_cents:
            granted = Money(self.granted_cents)
            raise RuleBroken(
                "change.above_total",
                f"A change may move money between lines, not add to it: "
                f"{total.format_en()} is more than the granted "
                f"{granted.format_en()}.",
                "lines",
                message_nl=f"Een wijziging verschuift geld tussen regels, maar voegt niets toe: "
                f"{total.format_en()} is meer dan de toegekende {granted.format_en()}.",
            )
        for i, line in enumerate(lines):
            amount = Money.euros(line["amount"])
            if amount.cents < 0:
                raise RuleBroken(
                    "change.negative_amount",
                    "An amount cannot be negative.",
                    f"lines[{i}].amount",
                    message_nl="Een bedrag kan niet negatief zijn.",
                )
            # Demand-oriented: money goes only to contracted providers, after a change as at the approval.
            if (
                policy.review_model is ReviewModel.DEMAND_ORIENTED
                and amount.cents > 0
                and not policy.is_contracted(line["provider_name"], line.get("provider_kvk"))
            ):
                raise RuleBroken(
                    "change.provider_not_contracted",
                    f"{line['provider_name']} has no contract with the municipality; choose a provider from the list.",
                    f"lines[{i}].provider_name",
                    message_nl=f"{line['provider_name']} heeft geen contract met de gemeente; kies een "
                    "aanbieder van de lijst.",
                )
            if date.fromisoformat(str(line["ends_on"])) > self.execution_deadline:
                raise RuleBroken(
                    "change.after_execution_deadline",
                    f"The plan must be finished by {self.execution_deadline.isoformat()}.",
                    f"lines[{i}].ends_on",
                    message_nl=f"Het plan moet af zijn op {self.execution_deadline.isoformat()}.",
                )
            if line.get("provider_kvk") is not None:
                try:
                    validate_kvk(line["provider_kvk"])
                except IdentifierError as exc:
                    raise RuleBroken(
                        "change.provider_kvk",
                        str(exc),
                        f"lines[{i}].provider_kvk",
                        message_nl="Dit KvK-nummer klopt niet.",
                    ) from exc
        self.version += 1

    def decide_change(
        self, change: ChangeView, *, approve: bool, decider_id: str, decider_is_team_lead: bool, policy: MunicipalPolicy
    ) -> str:
        """Someone other than the requester decides; moving more than the four-eyes threshold
        needs a team lead. Returns the change's new status; an approval records PlanChanged."""
        if change.status != ChangeStatus.SUBMITTED:
            raise Conflict(
                "change.already_decided",
                f"This change request is already {change.status}.",
                "status",
                message_nl=f"Over dit wijzigingsverzoek is al besloten ({change.status}).",
            )
        if change.requested_by == decider_id:
            raise Forbidden(
                "review.same_reviewer",
                "Someone else than the person who asked for the change decides on it.",
                message_nl="Iemand anders dan wie de wijziging vroeg, besluit erover.",
            )
        old = {g["line_id"]: g for g in self.granted or []}
        moved = Money(
            sum(
                max(Money.euros(line["amount"]).cents - old.get(line["id"], {}).get("granted_cents", 0), 0)
                for line in change.lines
            )
        )
        if approve and moved > policy.four_eyes_threshold and not decider_is_team_lead:
            threshold = policy.four_eyes_threshold.format_en()
            raise Forbidden(
                "review.second_reviewer_role",
                f"This change moves {moved.format_en()}, more than the four-eyes threshold {threshold}; "
                "a team lead decides.",
                message_nl=f"Deze wijziging verschuift {moved.format_en()}, meer dan de "
                f"vier-ogengrens {threshold}; een teamleider besluit.",
            )
        self.version += 1
        if not approve:
            return ChangeStatus.REJECTED
        assert self.execution_deadline is not None
        self.granted = [
            {
                "line_id": line["id"],
                "category": line["category"],
                "provider_name": line["provider_name"],
                "provider_kvk": line["provider_kvk"],
                "asked_cents": old.get(line["id"], {}).get("asked_cents", Money.euros(line["amount"]).cents),
                "granted_cents": Money.euros(line["amount"]).cents,
                "starts_on": line["starts_on"],
                "ends_on": line["ends_on"],
                "holdback_percent": line["holdback_percent"],
                # The catalogue product the line had at approval stays with it.
                **{k: v for k, v in old.get(line["id"], {}).items() if k in CATALOGUE_KEYS},
            }
            for line in change.lines
        ]
        self.granted_cents = sum(g["granted_cents"] for g in self.granted)
        self.events.append(
            PlanChangedV2(
                **self._common(),
                change_id=change.id,
                granted_cents=self.granted_cents,
                lines=granted_payload(self.granted),
                execution_deadline=self.execution_deadline,
            )
        )
        return ChangeStatus.APPROVED

    def restore_grants(self, previous: list[dict[str, Any]] | None) -> None:
        """The budget could not carry out an approved change: the grants go back to what they were."""
        if previous is not None:
            self.granted = previous
            self.granted_cents = sum(g["granted_cents"] for g in previous)
        self.version += 1

    # --- closing the trajectory -----------------------------------------------------------------

    def close(self, reason: str, closed_on: date, today: date, note: str = "") -> None:
        """Closed today or on a day that has passed; as expired only after the execution deadline."""
        self.ensure_status((PlanStatus.APPROVED,), "closed (only an approved plan runs)")
        if closed_on > today:
            raise RuleBroken(
                "close.in_future",
                "A trajectory is closed today or on a day that has passed.",
                "closed_on",
                message_nl="Een traject sluit u vandaag of op een dag die voorbij is.",
            )
        if reason == ClosureReason.EXPIRED and self.execution_deadline and closed_on <= self.execution_deadline:
            raise RuleBroken(
                "close.not_expired",
                f"The plan runs until {self.execution_deadline.isoformat()}; it has not expired yet.",
                "reason",
                message_nl=f"Het plan loopt tot {self.execution_deadline.isoformat()}; het is nog niet verlopen.",
            )
        self._closed(ClosureReason(reason), closed_on, note)

    def expire(self, today: date) -> bool:
        """The daily job: an approved plan past its execution deadline closes as expired on that day."""
        if self.status != PlanStatus.APPROVED or self.execution_deadline is None or self.execution_deadline >= today:
            return False
        self._closed(ClosureReason.EXPIRED, self.execution_deadline, "")
        return True

    def _closed(self, reason: ClosureReason, closed_on: date, note: str) -> None:
        self.status, self.closed_on, self.closure_reason, self.closure_note = PlanStatus.CLOSED, closed_on, reason, note
        self.version += 1
        self.events.append(
            TrajectoryClosedV1(plan_id=self.id, client_id=self.client_id, reason=reason.value, closed_on=closed_on)
        )


@dataclass
class ReviewWatch:
    """A review's decision term (Awb): the case team is warned once, from the warning date on."""

    id: str
    municipality: str
    plan_id: str
    client_id: str
    status: str
    case_manager: str
    due_on: date
    warn_on: date
    warned: bool = False
    events: list[Payload] = field(default_factory=list, compare=False, repr=False)

    def warn_if_due(self, today: date) -> bool:
        if self.warned or self.status not in UNDER_REVIEW or today < self.warn_on:
            return False
        self.warned = True
        self.events.append(
            DecisionDueSoonV1(
                review_id=self.id,
                plan_id=self.plan_id,
                client_id=self.client_id,
                due_on=self.due_on,
                case_manager=self.case_manager,
            )
        )
        return True
