"""Rows <-> domain objects for intake, and the reads every command and query shares.

Reading a record checks only that the caller may see it: the same municipality and, client
side, the same client (a 404, so ids leak nothing), and for a representative a registration
with that client that is still active (a 403). Which role may do what is permissions.py's;
what happens next is the domain's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.intake.domain.client import OrientationPhase
from services.intake.domain.eligibility import ClientFacts, EligibilityReport, check_eligibility
from services.intake.domain.errors import Conflict, Forbidden, RuleBroken
from services.intake.domain.findings import Finding, Severity
from services.intake.domain.plan import UNDER_REVIEW, PlanAggregate, PlanStatus, ReviewWatch
from services.intake.domain.plan_checks import check_plan
from services.intake.domain.plan_content import assign_line_ids, content_sha256, to_domain_plan
from services.intake.domain.policy import MunicipalPolicy, default_policy
from services.intake.domain.policy_parsing import policy_from_dict
from services.intake.domain.policy_presets import PRESETS
from services.intake.domain.reintegration_plan import Attachment as AttachmentFacts
from services.intake.domain.reintegration_plan import ReintegrationPlan
from services.intake.domain.review import (
    Approve,
    ConfirmApproval,
    Decision,
    Reject,
    ReturnForChanges,
    Reviewer,
    ReviewState,
)
from services.intake.models import (
    Attachment,
    Client,
    DecisionRecord,
    Orientation,
    Plan,
    PlanVersion,
    PolicyRecord,
    Representative,
    Review,
    bsn_hash_of,
)
from services.intake.schemas import PlanContent
from shared.access import ensure_visible
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.money import Money

_PLAN_FIELDS = (
    "municipality",
    "client_id",
    "scheme",
    "status",
    "version",
    "latest_version_number",
    "submitted_version_number",
    "requested_cents",
    "granted",
    "granted_cents",
    "execution_deadline",
    "closed_on",
    "closure_reason",
    "closure_note",
)


def insert_unique(session: Session, row: object, conflict: Conflict) -> None:
    """Insert now, so a unique constraint answers 409 instead of failing at commit."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict from exc


# --- the municipal policy -------------------------------------------------------------------


def policy_for(session: Session, municipality: str) -> MunicipalPolicy:
    """The stored policy; else the municipality's preset; else the neutral default."""
    record = session.get(PolicyRecord, municipality)
    if record is not None:
        return policy_from_dict(record.document)
    return PRESETS.get(municipality) or default_policy(municipality, f"Gemeente {municipality}")


# --- records the caller may see --------------------------------------------------------------


def ensure_representative(session: Session, who: Principal) -> None:
    """A representative acts only for the client who registered them, while active."""
    if who.role != Role.REPRESENTATIVE:
        return
    found = session.exec(
        select(Representative).where(
            Representative.client_id == who.client_id,
            Representative.subject == who.subject,
            Representative.municipality == who.municipality,
            col(Representative.active).is_(True),
        )
    ).first()
    if found is None:
        raise Forbidden(
            "representative.not_registered",
            "You are not registered as this client's representative.",
            message_nl="U staat niet geregistreerd als vertegenwoordiger van deze klant.",
        )


def client_for(session: Session, who: Principal, client_id: str) -> Client:
    ensure_representative(session, who)
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("client", "klant")
    ensure_visible(who, municipality=client.municipality, client_id=client.id, what="client")
    return client


def client_by_bsn(session: Session, municipality: str, bsn: str) -> Client | None:
    """The municipality's client with this BSN, found by its keyed hash (the column holds a token)."""
    return session.exec(
        select(Client).where(Client.municipality == municipality, Client.bsn_hash == bsn_hash_of(bsn))
    ).first()


def plan_for(session: Session, who: Principal, plan_id: str, *, lock: bool = False) -> Plan:
    ensure_representative(session, who)
    query = select(Plan).where(Plan.id == plan_id)
    if lock:
        query = query.with_for_update()
    plan = session.exec(query).first()
    if plan is None:
        raise NotFound("plan")
    ensure_visible(who, municipality=plan.municipality, client_id=plan.client_id, what="plan")
    return plan


def client_of(session: Session, plan: Plan) -> Client:
    client = session.get(Client, plan.client_id)
    assert client is not None
    return client


# --- the plan aggregate on its row ------------------------------------------------------------


def plan_aggregate(row: Plan) -> PlanAggregate:
    return PlanAggregate(id=row.id, **{name: getattr(row, name) for name in _PLAN_FIELDS})


def store_plan(session: Session, row: Plan, plan: PlanAggregate, now: datetime) -> None:
    for name in _PLAN_FIELDS:
        setattr(row, name, getattr(plan, name))
    row.updated_at = now
    session.add(row)


def store_version(session: Session, plan: Plan, kind: str, who: Principal, now: datetime) -> PlanVersion:
    version = PlanVersion(
        plan_id=plan.id,
        number=plan.latest_version_number,
        kind=kind,
        content=plan.content,
        sha256=content_sha256(plan.content),
        created_by=who.subject,
        created_at=now,
    )
    session.add(version)
    return version


def open_plan_of(session: Session, client_id: str) -> str | None:
    open_statuses = (
        PlanStatus.DRAFT,
        PlanStatus.RETURNED,
        PlanStatus.SUBMITTED,
        PlanStatus.AWAITING_SECOND_APPROVAL,
        PlanStatus.APPROVED,
    )
    return session.exec(select(Plan.id).where(Plan.client_id == client_id, col(Plan.status).in_(open_statuses))).first()


def content_from(data: PlanContent, client: Client, known_ids: Iterable[str]) -> tuple[str, dict[str, Any]]:
    content = data.model_dump(mode="json", include=set(PlanContent.model_fields))
    scheme = content.pop("scheme") or client.scheme
    return scheme, assign_line_ids(content, known_ids)


def requested_cents(policy: MunicipalPolicy, scheme: str, content: dict[str, Any]) -> int:
    return to_domain_plan(content, scheme).total(policy.amounts_excl_vat).cents


def attachments_of(session: Session, plan_id: str) -> list[AttachmentFacts]:
    rows = session.exec(select(Attachment).where(Attachment.plan_id == plan_id).order_by(col(Attachment.created_at)))
    return [AttachmentFacts(a.id, a.filename, a.content_type, a.size, a.sha256) for a in rows]


# --- eligibility and the plan checks --------------------------------------------------------


def _has_own_running_trajectory(session: Session, client_id: str, *, except_plan: str | None = None) -> bool:
    query = select(Plan.id).where(Plan.client_id == client_id, Plan.status == PlanStatus.APPROVED)
    if except_plan:
        query = query.where(Plan.id != except_plan)
    return session.exec(query).first() is not None


def client_facts(session: Session, client: Client, *, except_plan: str | None = None) -> ClientFacts:
    facts = client.facts
    elsewhere = facts.get("other_running_trajectory")
    running = True if _has_own_running_trajectory(session, client.id, except_plan=except_plan) else elsewhere
    birth = facts.get("youngest_child_birth_date")
    return ClientFacts(
        benefit_type=client.benefit_type,  # type: ignore[arg-type]  # a BenefitType value, as validated on input
        months_unemployed=facts.get("months_unemployed"),
        months_on_benefit=facts.get("months_on_benefit"),
        date_of_birth=client.date_of_birth,
        single_parent=facts.get("single_parent"),
        youngest_child_birth_date=date.fromisoformat(birth) if birth else None,
        long_term_partially_disabled=facts.get("long_term_partially_disabled"),
        resident_municipality_code=facts.get("resident_municipality_code"),
        has_running_trajectory=running,
        no_suitable_regular_offer=facts.get("no_suitable_regular_offer"),
        fair_chance_of_outflow=facts.get("fair_chance_of_outflow"),
        distance_to_labour_market_months=facts.get("distance_to_labour_market_months"),
        available_for_work=facts.get("available_for_work"),
        pib_request_granted=facts.get("pib_request_granted"),
    )


def eligibility(
    session: Session, client: Client, scheme: str, on: date, except_plan: str | None = None
) -> EligibilityReport:
    policy = policy_for(session, client.municipality)
    return check_eligibility(policy, client_facts(session, client, except_plan=except_plan), on, scheme)


def findings(session: Session, plan: Plan, on: date) -> tuple[MunicipalPolicy, ReintegrationPlan, list[Finding]]:
    """The admission criteria (as blocks) and the plan checks, on the day given."""
    policy = policy_for(session, plan.municipality)
    client = client_of(session, plan)
    domain_plan = to_domain_plan(plan.content, plan.scheme, attachments_of(session, plan.id))
    report = eligibility(session, client, plan.scheme, on, except_plan=plan.id)
    found = [
        Finding(f"eligibility.{r.kind}", Severity.BLOCK, f"client.{r.kind}", r.reason_nl, r.reason_en)
        for r in report.failed
    ]
    found += check_plan(policy, domain_plan, on, plan.content.get("drafted_by_reintegration_company", False))
    return policy, domain_plan, found


# --- reviews ------------------------------------------------------------------------------------


def domain_decision(kind: str, details: dict[str, Any], reviewer: Reviewer, on: date) -> Decision:
    """The same decision object for a new decision and for one read back from the table."""
    if kind in ("approve", "approve_with_conditions"):
        granted = details.get("granted")
        return Approve(
            reviewer,
            on,
            granted={k: Money.euros(v) for k, v in granted.items()} if granted else None,
            conditions=tuple(details.get("conditions", ())),
            reasons=tuple(details.get("reasons", ())),
            assessments=details.get("assessments", {}),
            note=details.get("note", ""),
        )
    if kind == "return":
        return ReturnForChanges(
            reviewer, on, comments=details.get("comments", {}), assessments=details.get("assessments", {})
        )
    if kind == "reject":
        return Reject(
            reviewer,
            on,
            reasons=tuple(details.get("reasons", ())),
            contra_indications=tuple(details.get("contra_indications", ())),
            assessments=details.get("assessments", {}),
        )
    if kind == "confirm":
        return ConfirmApproval(reviewer, on, note=details.get("note", ""))
    raise RuleBroken(
        "review.unknown_decision", f"{kind!r} is not a decision.", "kind", message_nl=f"{kind!r} is geen besluit."
    )


def submitted_version(session: Session, review: Review) -> PlanVersion:
    return session.exec(
        select(PlanVersion).where(
            PlanVersion.plan_id == review.plan_id, PlanVersion.number == review.plan_version_number
        )
    ).one()


def review_state(session: Session, review: Review) -> ReviewState:
    """Rebuilt from the submitted version, the policy of that day and the decisions so far."""
    plan = session.get(Plan, review.plan_id)
    assert plan is not None
    policy = policy_from_dict(review.policy)
    content = submitted_version(session, review).content
    state = ReviewState.for_plan(policy, to_domain_plan(content, plan.scheme), review.submitted_on)
    decisions = session.exec(
        select(DecisionRecord).where(DecisionRecord.review_id == review.id).order_by(col(DecisionRecord.decided_at))
    )
    for record in decisions:
        state = state.decide(
            domain_decision(
                record.kind, record.details, Reviewer(record.reviewer_id, record.reviewer_role), record.decided_on
            )
        )
    return state


def open_review(session: Session, plan: Plan) -> Review:
    review = session.exec(
        select(Review)
        .where(Review.plan_id == plan.id, col(Review.status).in_(UNDER_REVIEW))
        .order_by(col(Review.created_at).desc())
    ).first()
    if review is None:
        raise Conflict(
            "plan.not_under_review",
            f"A plan that is {plan.status} has no decision waiting.",
            "status",
            message_nl=f"Bij een plan met status {plan.status} wacht geen besluit.",
        )
    return review


def decided_review(session: Session, plan: Plan) -> Review:
    review = session.exec(
        select(Review)
        .where(Review.plan_id == plan.id, col(Review.status).not_in(UNDER_REVIEW))
        .order_by(col(Review.created_at).desc())
    ).first()
    if review is None:
        raise NotFound("decision", "besluit")
    return review


def review_watch(review: Review, client_id: str) -> ReviewWatch:
    return ReviewWatch(
        id=review.id,
        municipality=review.municipality,
        plan_id=review.plan_id,
        client_id=client_id,
        status=review.status,
        case_manager=review.case_manager,
        due_on=review.due_on,
        warn_on=review.warn_on,
        warned=review.warned_at is not None,
    )


def orientation_phase(orientation: Orientation) -> OrientationPhase:
    return OrientationPhase(
        orientation.id,
        orientation.client_id,
        orientation.scheme,
        orientation.starts_on,
        orientation.ends_on,
        orientation.budget_cents,
        orientation.status,
        reminded=orientation.reminded_at is not None,
    )
