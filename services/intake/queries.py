"""Intake reads, shaped for their callers. Lists come back as a `Page` (paged in SQL); a read that
needs the date takes `today` from the caller (api.py has it from the runtime's clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from services.intake import repository
from services.intake.domain.budget_checks import maximum_for_plan
from services.intake.domain.errors import DomainError
from services.intake.domain.findings import Finding, has_blocks
from services.intake.domain.letters import (
    letter_data_from_review,
    render_decision_letter_html,
    render_decision_letter_pdf,
)
from services.intake.domain.plan import UNDER_REVIEW, PlanStatus
from services.intake.domain.policy import policy_to_dict
from services.intake.domain.policy_presets import PRESETS
from services.intake.domain.review import ReviewStatus
from services.intake.models import (
    Attachment,
    ChangeRequest,
    Client,
    ContactRecord,
    DecisionRecord,
    Objection,
    Orientation,
    Plan,
    PlanVersion,
    PolicyChange,
    Representative,
    Review,
)
from services.intake.permissions import Action, authorize
from services.intake.schemas import (
    AttachmentPublic,
    CandidatePublic,
    ChangeRequestPublic,
    ClientContactPublic,
    ClientPublic,
    ContactPublic,
    CriterionPublic,
    DecisionPublic,
    EligibilityPublic,
    FindingPublic,
    GrantedLinePublic,
    ObjectionPublic,
    OrientationPublic,
    PlanChecksPublic,
    PlanPublic,
    PlanVersionPublic,
    PolicyChangePublic,
    RepresentativePublic,
    ReviewPublic,
)
from shared.auth import Principal, Role
from shared.errors import NotFound
from shared.money import Money
from shared.pagination import Page, PageRequest, page_of, page_of_list

# --- answers ---------------------------------------------------------------------------------


def plan_public(plan: Plan) -> PlanPublic:
    grants = None
    if plan.granted is not None:
        grants = [
            GrantedLinePublic(
                line_id=g["line_id"],
                category=g["category"],
                provider_name=g["provider_name"],
                asked=Money(g["asked_cents"]).decimal,
                granted=Money(g["granted_cents"]).decimal,
                starts_on=g["starts_on"],
                ends_on=g["ends_on"],
                holdback_percent=g["holdback_percent"],
            )
            for g in plan.granted
        ]
    return PlanPublic(
        **plan.model_dump(exclude={"requested_cents", "granted_cents", "granted", "content"}),
        content=plan.content,
        requested=Money(plan.requested_cents).decimal,
        granted=Money(plan.granted_cents).decimal if plan.granted_cents is not None else None,
        granted_lines=grants,
    )


def orientation_public(o: Orientation) -> OrientationPublic:
    return OrientationPublic(
        id=o.id,
        client_id=o.client_id,
        scheme=o.scheme,
        starts_on=o.starts_on,
        ends_on=o.ends_on,
        budget=Money(o.budget_cents).decimal,
        status=o.status,
    )


def change_public(change: ChangeRequest) -> ChangeRequestPublic:
    return ChangeRequestPublic.model_validate(change, from_attributes=True)


def _client_public(client: Client) -> ClientPublic:
    return ClientPublic.model_validate(client, from_attributes=True)


def _finding_public(f: Finding) -> FindingPublic:
    return FindingPublic(
        code=f.code, severity=f.severity.value, field=f.field, message_nl=f.message_nl, message_en=f.message_en
    )


# --- the policy ----------------------------------------------------------------------------------


def get_policy(session: Session, who: Principal) -> dict[str, Any]:
    authorize(who, Action.READ_POLICY)
    return policy_to_dict(repository.policy_for(session, who.municipality))


def list_policy_changes(session: Session, who: Principal, page: PageRequest) -> Page[PolicyChangePublic]:
    """The municipality's policy changes, newest first: who, when, each setting's old and new value."""
    authorize(who, Action.READ_POLICY_CHANGES)
    query = (
        select(PolicyChange)
        .where(PolicyChange.municipality == who.municipality)
        .order_by(col(PolicyChange.changed_at).desc(), col(PolicyChange.id))
    )
    return page_of(session, query, page).map(lambda r: PolicyChangePublic.model_validate(r, from_attributes=True))


def list_presets(who: Principal) -> dict[str, dict[str, Any]]:
    authorize(who, Action.READ_PRESETS)
    return {code: policy_to_dict(policy) for code, policy in PRESETS.items()}


# --- clients ---------------------------------------------------------------------------------------


def _reader_client(session: Session, who: Principal, client_id: str) -> Client:
    authorize(who, Action.READ_CLIENT)
    return repository.client_for(session, who, client_id)


def get_client(session: Session, who: Principal, client_id: str) -> ClientPublic:
    return _client_public(_reader_client(session, who, client_id))


def get_client_contact(session: Session, who: Principal, client_id: str) -> ClientContactPublic:
    """Addresses for messages: the client's and each active representative's e-mail."""
    authorize(who, Action.READ_CONTACT_DETAILS)
    client = session.get(Client, client_id)
    if client is None or client.municipality != who.municipality:
        raise NotFound("client", "klant")
    emails = session.exec(
        select(Representative.email)
        .where(Representative.client_id == client.id, col(Representative.active).is_(True))
        .order_by(col(Representative.created_at), col(Representative.id))
    ).all()
    return ClientContactPublic(
        client_id=client.id,
        email=client.email,
        phone=client.phone,
        language=client.language,
        representative_emails=[e for e in emails if e],
    )


def list_clients(
    session: Session, who: Principal, page: PageRequest, case_managers: list[str] | None = None
) -> Page[ClientPublic]:
    authorize(who, Action.READ_CLIENT)
    repository.ensure_representative(session, who)
    query = (
        select(Client).where(Client.municipality == who.municipality).order_by(col(Client.created_at), col(Client.id))
    )
    if who.is_client_side():
        query = query.where(Client.id == who.client_id)
    if case_managers:
        query = query.where(col(Client.case_manager).in_(case_managers))
    return page_of(session, query, page).map(_client_public)


def find_clients_by_bsn(session: Session, who: Principal, bsn: str) -> list[ClientPublic]:
    """The caller's municipality's client with this BSN (none or one), found by its keyed hash."""
    authorize(who, Action.SEARCH_CLIENTS)
    found = repository.client_by_bsn(session, who.municipality, bsn)
    return [] if found is None else [_client_public(found)]


def list_representatives(
    session: Session, who: Principal, client_id: str, page: PageRequest
) -> Page[RepresentativePublic]:
    client = _reader_client(session, who, client_id)
    query = (
        select(Representative)
        .where(Representative.client_id == client.id)
        .order_by(col(Representative.created_at), col(Representative.id))
    )
    return page_of(session, query, page).map(lambda r: RepresentativePublic.model_validate(r, from_attributes=True))


def list_contacts(session: Session, who: Principal, client_id: str, page: PageRequest) -> Page[ContactPublic]:
    client = _reader_client(session, who, client_id)
    query = (
        select(ContactRecord)
        .where(ContactRecord.client_id == client.id)
        .order_by(col(ContactRecord.contacted_on), col(ContactRecord.created_at), col(ContactRecord.id))
    )
    return page_of(session, query, page).map(lambda r: ContactPublic.model_validate(r, from_attributes=True))


def list_orientations(session: Session, who: Principal, client_id: str, page: PageRequest) -> Page[OrientationPublic]:
    client = _reader_client(session, who, client_id)
    query = (
        select(Orientation)
        .where(Orientation.client_id == client.id)
        .order_by(col(Orientation.starts_on), col(Orientation.id))
    )
    return page_of(session, query, page).map(orientation_public)


def check_client_eligibility(
    session: Session, who: Principal, client_id: str, scheme: str | None, on: date | None, today: date
) -> EligibilityPublic:
    client = _reader_client(session, who, client_id)
    scheme, on = scheme or client.scheme, on or today
    report = repository.eligibility(session, client, scheme, on)
    return EligibilityPublic(
        client_id=client.id,
        scheme=scheme,
        on=on,
        eligible=report.eligible,
        criteria=[
            CriterionPublic(
                kind=r.kind, passed=r.passed, reason_nl=r.reason_nl, reason_en=r.reason_en, unknown=r.unknown
            )
            for r in report.results
        ],
    )


def list_candidates(
    session: Session, who: Principal, today: date, page: PageRequest, eligible_only: bool = True
) -> Page[CandidatePublic]:
    """The caseload's clients checked against the hard criteria: who could get a budget."""
    authorize(who, Action.LIST_CANDIDATES)
    query = select(Client).where(Client.municipality == who.municipality).order_by(col(Client.client_number))
    if who.role == Role.CASE_MANAGER:
        query = query.where(Client.case_manager == who.subject)
    out = []
    # Eligibility is decided in Python, so this list pages after the check (a caseload is small).
    for client in session.exec(query).all():
        report = repository.eligibility(session, client, client.scheme, today)
        if eligible_only and not report.eligible:
            continue
        last = session.exec(
            select(ContactRecord)
            .where(ContactRecord.client_id == client.id)
            .order_by(col(ContactRecord.contacted_on).desc())
        ).first()
        out.append(
            CandidatePublic(
                client_id=client.id,
                client_number=client.client_number,
                scheme=client.scheme,
                eligible=report.eligible,
                failed=[r.kind for r in report.failed if not r.unknown],
                unknown=[r.kind for r in report.unknown],
                last_contact=ContactPublic.model_validate(last, from_attributes=True) if last else None,
            )
        )
    return page_of_list(out, page)


# --- plans -----------------------------------------------------------------------------------------


def _reader_plan(session: Session, who: Principal, plan_id: str) -> Plan:
    authorize(who, Action.READ_PLAN)
    return repository.plan_for(session, who, plan_id)


def get_plan(session: Session, who: Principal, plan_id: str) -> PlanPublic:
    return plan_public(_reader_plan(session, who, plan_id))


def list_plans(
    session: Session, who: Principal, page: PageRequest, status: PlanStatus | None = None, client_id: str | None = None
) -> Page[PlanPublic]:
    authorize(who, Action.READ_PLAN)
    repository.ensure_representative(session, who)
    query = select(Plan).where(Plan.municipality == who.municipality).order_by(col(Plan.created_at), col(Plan.id))
    if who.is_client_side():
        query = query.where(Plan.client_id == who.client_id)
    if client_id:
        query = query.where(Plan.client_id == client_id)
    if status:
        query = query.where(Plan.status == status)
    return page_of(session, query, page).map(plan_public)


def list_versions(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[PlanVersionPublic]:
    plan = _reader_plan(session, who, plan_id)
    query = select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(col(PlanVersion.number))
    return page_of(session, query, page).map(
        lambda v: PlanVersionPublic.model_validate(v, from_attributes=True).model_copy(update={"content": None})
    )


def get_version(session: Session, who: Principal, plan_id: str, number: int) -> PlanVersionPublic:
    plan = _reader_plan(session, who, plan_id)
    version = session.exec(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number == number)
    ).first()
    if version is None:
        raise NotFound("plan version", "planversie")
    return PlanVersionPublic.model_validate(version, from_attributes=True)


def plan_checks(session: Session, who: Principal, plan_id: str, today: date) -> PlanChecksPublic:
    plan = _reader_plan(session, who, plan_id)
    policy, domain_plan, findings = repository.findings(session, plan, today)
    try:
        maximum = maximum_for_plan(policy, domain_plan)
    except DomainError:
        maximum = Money(0)
    return PlanChecksPublic(
        plan_id=plan.id,
        plan_version=plan.version,
        submittable=not has_blocks(findings),
        maximum=maximum.decimal,
        total=domain_plan.total(policy.amounts_excl_vat).decimal,
        findings=[_finding_public(f) for f in findings],
    )


def list_attachments(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[AttachmentPublic]:
    plan = _reader_plan(session, who, plan_id)
    query = (
        select(Attachment).where(Attachment.plan_id == plan.id).order_by(col(Attachment.created_at), col(Attachment.id))
    )
    return page_of(session, query, page).map(lambda a: AttachmentPublic.model_validate(a, from_attributes=True))


def get_attachment(session: Session, who: Principal, plan_id: str, attachment_id: str) -> Attachment:
    plan = _reader_plan(session, who, plan_id)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.plan_id != plan.id:
        raise NotFound("attachment", "bijlage")
    return attachment


# --- review and decisions ------------------------------------------------------------------------


def list_decisions(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[DecisionPublic]:
    plan = _reader_plan(session, who, plan_id)
    query = (
        select(DecisionRecord)
        .where(DecisionRecord.plan_id == plan.id)
        .order_by(col(DecisionRecord.decided_at), col(DecisionRecord.id))
    )

    def shown(record: DecisionRecord) -> DecisionPublic:
        decision = DecisionPublic.model_validate(record, from_attributes=True)
        if who.is_client_side():
            # Internal notes are for staff; the letter carries what the client should read.
            decision = decision.model_copy(
                update={"details": {k: v for k, v in decision.details.items() if k != "note"}}
            )
        return decision

    return page_of(session, query, page).map(shown)


def review_queue(
    session: Session, who: Principal, today: date, page: PageRequest, mine: bool = True
) -> Page[ReviewPublic]:
    """Submitted plans waiting for a decision, oldest first, with their decision deadline."""
    authorize(who, Action.REVIEW_QUEUE)
    query = (
        select(Review, Plan, Client)
        .join(Plan, col(Plan.id) == col(Review.plan_id))
        .join(Client, col(Client.id) == col(Plan.client_id))
        .where(Review.municipality == who.municipality, col(Review.status).in_(UNDER_REVIEW))
        .order_by(col(Review.submitted_on), col(Review.created_at), col(Review.id))
    )
    if who.role == Role.CASE_MANAGER and mine:
        query = query.where(Review.case_manager == who.subject)
    if who.role == Role.TEAM_LEAD and mine:
        query = query.where(Review.status == ReviewStatus.PENDING_SECOND_APPROVAL)

    def shown(found: tuple[Review, Plan, Client]) -> ReviewPublic:
        review, plan, client = found
        first = session.exec(
            select(DecisionRecord.reviewer_id)
            .where(DecisionRecord.review_id == review.id)
            .order_by(col(DecisionRecord.decided_at))
        ).first()
        return ReviewPublic(
            id=review.id,
            plan_id=plan.id,
            client_id=client.id,
            client_number=client.client_number,
            plan_version_number=review.plan_version_number,
            case_manager=review.case_manager,
            status=review.status,
            requested=Money(plan.requested_cents).decimal,
            submitted_on=review.submitted_on,
            due_on=review.due_on,
            warn_on=review.warn_on,
            age_days=(today - review.submitted_on).days,
            warning=review.warn_on <= today <= review.due_on,
            overdue=today > review.due_on,
            first_reviewer=first,
        )

    return page_of(session, query, page).map(shown)


def decision_letter(session: Session, who: Principal, plan_id: str, lang: str | None, fmt: str) -> tuple[bytes, str]:
    """The decision letter (beschikking) as HTML or PDF, in `lang` or else the client's language."""
    plan = _reader_plan(session, who, plan_id)
    review = repository.decided_review(session, plan)
    state = repository.review_state(session, review)
    client = repository.client_of(session, plan)
    assert state.decided_on is not None
    data = letter_data_from_review(
        state,
        client_display_name=client.name,
        client_number=client.client_number,
        letter_date=state.decided_on,
        reference=f"PRB-{plan.id[:8].upper()}",
        signed_by=f"{state.policy.municipality_name}",
    )
    language = lang or client.language
    if fmt == "pdf":
        return render_decision_letter_pdf(data, language), "application/pdf"
    return render_decision_letter_html(data, language).encode(), "text/html; charset=utf-8"


def list_objections(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[ObjectionPublic]:
    plan = _reader_plan(session, who, plan_id)
    query = select(Objection).where(Objection.plan_id == plan.id).order_by(col(Objection.created_at), col(Objection.id))
    return page_of(session, query, page).map(lambda o: ObjectionPublic.model_validate(o, from_attributes=True))


def list_changes(session: Session, who: Principal, plan_id: str, page: PageRequest) -> Page[ChangeRequestPublic]:
    plan = _reader_plan(session, who, plan_id)
    query = (
        select(ChangeRequest)
        .where(ChangeRequest.plan_id == plan.id)
        .order_by(col(ChangeRequest.created_at), col(ChangeRequest.id))
    )
    return page_of(session, query, page).map(change_public)


def clients_of(session: Session, municipality: str, refs: Mapping[str, set[str]]) -> set[str]:
    """The audit trail's resolver: the clients whose plans a read named (shared.audit_http)."""
    plan_ids = refs.get("plan_id")
    if not plan_ids:
        return set()
    found = session.exec(select(Plan.client_id).where(Plan.municipality == municipality, col(Plan.id).in_(plan_ids)))
    return set(found.all())
