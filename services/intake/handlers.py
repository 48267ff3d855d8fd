"""Intake commands and queries: one function per thing a person does. Routes only call these.

Rules live in `domain/`; these functions load rows, ask the domain, store the answer and
emit events in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.intake.domain.eligibility import ClientFacts, EligibilityReport, check_eligibility
from services.intake.domain.errors import DomainError
from services.intake.domain.letters import (
    letter_data_from_review,
    render_decision_letter_html,
    render_decision_letter_pdf,
)
from services.intake.domain.plan_checks import (
    Attachment as AttachmentFacts,
)
from services.intake.domain.plan_checks import (
    Finding,
    Severity,
    check_attachment,
    check_plan,
    has_blocks,
    maximum_for_plan,
)
from services.intake.domain.plan_content import (
    assign_line_ids,
    content_sha256,
    granted_lines,
    line_ids,
    to_domain_plan,
)
from services.intake.domain.policy import (
    PRESETS,
    MunicipalPolicy,
    ReviewModel,
    add_months,
    default_policy,
    merge_patch,
    policy_from_dict,
    policy_to_dict,
)
from services.intake.domain.review import (
    Approve,
    ConfirmApproval,
    Decision,
    Reject,
    ReturnForChanges,
    Reviewer,
    ReviewState,
    ReviewStatus,
    decision_deadline,
)
from services.intake.models import (
    Attachment,
    AttachmentPublic,
    CandidatePublic,
    ChangeDecisionIn,
    ChangeRequest,
    ChangeRequestCreate,
    ChangeRequestPublic,
    Client,
    ClientCreate,
    ClientPublic,
    ClientUpdate,
    CloseTrajectory,
    ContactCreate,
    ContactPublic,
    ContactRecord,
    CriterionPublic,
    DecisionIn,
    DecisionPublic,
    DecisionRecord,
    EligibilityPublic,
    FindingPublic,
    GrantedLinePublic,
    Objection,
    ObjectionCreate,
    ObjectionPublic,
    Orientation,
    OrientationPublic,
    OrientationStart,
    Plan,
    PlanChecksPublic,
    PlanContent,
    PlanCreate,
    PlanPublic,
    PlanSave,
    PlanVersion,
    PlanVersionPublic,
    PlanVersionRef,
    PolicyRecord,
    Representative,
    RepresentativeCreate,
    RepresentativePublic,
    Review,
    ReviewPublic,
)
from shared.access import ensure_visible
from shared.auth import Principal, Role, require_role
from shared.bus.consumer import EventHandlers
from shared.errors import ConflictError
from contracts.events import (
    ClientRegisteredV1,
    DecisionDueSoonV1,
    GrantedLine,
    OrientationStartedV1,
    PlanApprovedV1,
    PlanChangedV1,
    PlanChangeRefusedV1,
    PlanRejectedV1,
    PlanReturnedV1,
    PlanSubmittedV1,
    TrajectoryClosedV1,
)
from shared.events import Envelope
from shared.identifiers import IdentifierError, validate_kvk
from shared.money import Money
from shared.errors import NotFound
from shared.problems import Problem
from shared.uow import UnitOfWork

# Who works in intake: case managers decide; team leads give the second approval.
INTAKE_STAFF = (Role.CASE_MANAGER, Role.TEAM_LEAD)
CLIENT_SIDE = (Role.CLIENT, Role.REPRESENTATIVE)
EDITABLE = ("draft", "returned")
UNDER_REVIEW = ("awaiting_decision", "pending_second_approval")
OPEN_PLAN_STATUSES = ("draft", "returned", "submitted", "awaiting_second_approval", "approved")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _today() -> date:
    return _now().date()


def _insert_unique(session: Session, row: object, conflict: ConflictError) -> None:
    """Insert now, so a unique constraint answers 409 instead of failing at commit."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict from exc


# --- who may do what ------------------------------------------------------------------------


def _ensure_representative(session: Session, who: Principal) -> None:
    """A representative acts only for the client who registered them, while active."""
    if who.role != Role.REPRESENTATIVE:
        return
    found = session.exec(select(Representative).where(
        Representative.client_id == who.client_id, Representative.subject == who.subject,
        Representative.municipality == who.municipality, Representative.active == True)).first()  # noqa: E712
    if found is None:
        raise Problem(403, "Not allowed", "You are not registered as this client's representative.")


def _require_reader(session: Session, who: Principal) -> None:
    require_role(who, *INTAKE_STAFF, *CLIENT_SIDE)
    _ensure_representative(session, who)


# --- municipal policy -----------------------------------------------------------------------


def policy_for(session: Session, municipality: str) -> MunicipalPolicy:
    """The stored policy; else the municipality's preset; else the neutral default."""
    record = session.get(PolicyRecord, municipality)
    if record is not None:
        return policy_from_dict(record.document)
    return PRESETS.get(municipality) or default_policy(municipality, f"Gemeente {municipality}")


def get_policy(session: Session, who: Principal) -> dict[str, Any]:
    require_role(who, *INTAKE_STAFF, Role.POLICY, *CLIENT_SIDE)
    return policy_to_dict(policy_for(session, who.municipality))


def list_presets(who: Principal) -> dict[str, dict[str, Any]]:
    require_role(who, Role.POLICY, *INTAKE_STAFF)
    return {code: policy_to_dict(policy) for code, policy in PRESETS.items()}


def put_policy(uow: UnitOfWork, who: Principal, document: dict[str, Any]) -> dict[str, Any]:
    """Replace the policy: what the document leaves out takes the neutral default (as a new
    municipality starts), except the municipality's code and name, which stay as they are."""
    require_role(who, Role.POLICY)
    current = policy_for(uow.session, who.municipality)
    return _store_policy(uow, who, {"municipality_name": current.municipality_name, **document})


def patch_policy(uow: UnitOfWork, who: Principal, patch: dict[str, Any]) -> dict[str, Any]:
    """Change part of the policy: an RFC 7396 merge patch on the current document (stored,
    preset or default); `null` removes a setting, so it takes the default."""
    require_role(who, Role.POLICY)
    current = policy_to_dict(policy_for(uow.session, who.municipality))
    return _store_policy(uow, who, merge_patch(current, patch))


def _store_policy(uow: UnitOfWork, who: Principal, document: dict[str, Any]) -> dict[str, Any]:
    code = document.get("municipality_code", who.municipality)
    if code != who.municipality:
        raise DomainError("policy.other_municipality",
                          f"You may only set the policy of municipality {who.municipality}.", "municipality_code")
    stored = policy_to_dict(policy_from_dict({**document, "municipality_code": who.municipality}))
    record = uow.session.get(PolicyRecord, who.municipality)
    if record is None:
        record = PolicyRecord(municipality=who.municipality, document=stored, updated_by=who.subject)
    else:
        record.document, record.updated_by, record.updated_at = stored, who.subject, _now()
    uow.session.add(record)
    uow.commit()
    return stored


# --- clients --------------------------------------------------------------------------------


def _client_public(client: Client) -> ClientPublic:
    return ClientPublic.model_validate(client, from_attributes=True)


def _facts_dict(facts: Any, municipality: str) -> dict[str, Any]:
    stored = facts.model_dump(mode="json", exclude_none=True)
    # Social assistance is paid by the municipality one lives in, so that is the default.
    stored.setdefault("resident_municipality_code", municipality)
    return stored


def _ensure_scheme_offered(policy: MunicipalPolicy, scheme: str) -> None:
    if not policy.offers(scheme):
        offered = ", ".join(s.scheme.value for s in policy.schemes)
        raise DomainError("client.scheme_not_offered",
                          f"{policy.municipality_name} does not offer the scheme {scheme}; it offers: {offered}.",
                          "scheme")


def register_client(uow: UnitOfWork, who: Principal, data: ClientCreate) -> ClientPublic:
    require_role(who, *INTAKE_STAFF)
    _ensure_scheme_offered(policy_for(uow.session, who.municipality), data.scheme)
    client = Client(
        municipality=who.municipality, bsn=data.bsn, client_number=data.client_number, name=data.name,
        email=str(data.email) if data.email else None, phone=data.phone, address=data.address,
        language=data.language, scheme=data.scheme, benefit_type=data.benefit_type, date_of_birth=data.date_of_birth,
        facts=_facts_dict(data.facts, who.municipality), case_manager=data.case_manager or who.subject,
    )
    _insert_unique(uow.session, client, ConflictError(
        "client.exists", "This municipality already has a client with this BSN or client number.", "bsn"))
    uow.emit(tenant=client.municipality, subject=client.id,
             payload=ClientRegisteredV1(client_id=client.id))
    uow.commit()
    return _client_public(client)


def _client_for(session: Session, who: Principal, client_id: str) -> Client:
    _require_reader(session, who)
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound("client")
    ensure_visible(who, municipality=client.municipality, client_id=client.id, what="client")
    return client


def get_client(session: Session, who: Principal, client_id: str) -> ClientPublic:
    return _client_public(_client_for(session, who, client_id))


def list_clients(session: Session, who: Principal) -> list[ClientPublic]:
    _require_reader(session, who)
    query = select(Client).where(Client.municipality == who.municipality).order_by(col(Client.created_at))
    if who.is_client_side():
        query = query.where(Client.id == who.client_id)
    return [_client_public(c) for c in session.exec(query)]


def update_client(uow: UnitOfWork, who: Principal, client_id: str, data: ClientUpdate) -> ClientPublic:
    require_role(who, *INTAKE_STAFF)
    client = _client_for(uow.session, who, client_id)
    changes = data.model_dump(exclude_unset=True)
    if "scheme" in changes and changes["scheme"] is not None:
        _ensure_scheme_offered(policy_for(uow.session, who.municipality), changes["scheme"])
    for name, value in changes.items():
        if value is None and name in ("language", "scheme", "benefit_type", "case_manager", "facts"):
            continue
        if name == "facts":
            value = _facts_dict(data.facts, client.municipality)
        elif name == "email" and value is not None:
            value = str(value)
        setattr(client, name, value)
    client.updated_at = _now()
    uow.session.add(client)
    uow.commit()
    return _client_public(client)


# --- representatives -----------------------------------------------------------------------


def add_representative(uow: UnitOfWork, who: Principal, client_id: str,
                       data: RepresentativeCreate) -> RepresentativePublic:
    require_role(who, *INTAKE_STAFF)
    client = _client_for(uow.session, who, client_id)
    email = str(data.email) if data.email else None
    ended = uow.session.exec(select(Representative).where(
        Representative.client_id == client.id, Representative.subject == data.subject,
        Representative.active == False)).first()  # noqa: E712
    if ended is not None:
        # Representation that ended may start again for the same login: same row, active again.
        ended.name, ended.relation, ended.email, ended.active = data.name, data.relation, email, True
        ended.created_by, ended.created_at = who.subject, _now()
        uow.session.add(ended)
        uow.commit()
        return RepresentativePublic.model_validate(ended, from_attributes=True)
    rep = Representative(municipality=client.municipality, client_id=client.id, subject=data.subject, name=data.name,
                         relation=data.relation, email=email, created_by=who.subject)
    _insert_unique(uow.session, rep, ConflictError("representative.exists", "This login already represents this client.",
                                                   "subject"))
    uow.commit()
    return RepresentativePublic.model_validate(rep, from_attributes=True)


def list_representatives(session: Session, who: Principal, client_id: str) -> list[RepresentativePublic]:
    client = _client_for(session, who, client_id)
    rows = session.exec(select(Representative).where(Representative.client_id == client.id)
                        .order_by(col(Representative.created_at)))
    return [RepresentativePublic.model_validate(r, from_attributes=True) for r in rows]


def end_representation(uow: UnitOfWork, who: Principal, client_id: str, representative_id: str) -> RepresentativePublic:
    require_role(who, *INTAKE_STAFF)
    client = _client_for(uow.session, who, client_id)
    rep = uow.session.get(Representative, representative_id)
    if rep is None or rep.client_id != client.id:
        raise NotFound("representative")
    rep.active = False
    uow.session.add(rep)
    uow.commit()
    return RepresentativePublic.model_validate(rep, from_attributes=True)


# --- recruitment and information ------------------------------------------------------------


def record_contact(uow: UnitOfWork, who: Principal, client_id: str, data: ContactCreate) -> ContactPublic:
    require_role(who, *INTAKE_STAFF)
    client = _client_for(uow.session, who, client_id)
    if data.contacted_on > _today():
        raise DomainError("contact.in_future", "A contact cannot be recorded before it happened.", "contacted_on")
    record = ContactRecord(municipality=client.municipality, client_id=client.id, recorded_by=who.subject,
                           **data.model_dump())
    uow.session.add(record)
    uow.commit()
    return ContactPublic.model_validate(record, from_attributes=True)


def list_contacts(session: Session, who: Principal, client_id: str) -> list[ContactPublic]:
    client = _client_for(session, who, client_id)
    rows = session.exec(select(ContactRecord).where(ContactRecord.client_id == client.id)
                        .order_by(col(ContactRecord.contacted_on), col(ContactRecord.created_at)))
    return [ContactPublic.model_validate(r, from_attributes=True) for r in rows]


# --- eligibility ----------------------------------------------------------------------------


def _has_own_running_trajectory(session: Session, client_id: str, *, except_plan: str | None = None) -> bool:
    query = select(Plan.id).where(Plan.client_id == client_id, Plan.status == "approved")
    if except_plan:
        query = query.where(Plan.id != except_plan)
    return session.exec(query).first() is not None


def client_facts(session: Session, client: Client, *, except_plan: str | None = None) -> ClientFacts:
    facts = client.facts
    elsewhere = facts.get("other_running_trajectory")
    running = True if _has_own_running_trajectory(session, client.id, except_plan=except_plan) else elsewhere
    birth = facts.get("youngest_child_birth_date")
    return ClientFacts(
        benefit_type=client.benefit_type, months_unemployed=facts.get("months_unemployed"),
        months_on_benefit=facts.get("months_on_benefit"), date_of_birth=client.date_of_birth,
        single_parent=facts.get("single_parent"),
        youngest_child_birth_date=date.fromisoformat(birth) if birth else None,
        long_term_partially_disabled=facts.get("long_term_partially_disabled"),
        resident_municipality_code=facts.get("resident_municipality_code"), has_running_trajectory=running,
        no_suitable_regular_offer=facts.get("no_suitable_regular_offer"),
        fair_chance_of_outflow=facts.get("fair_chance_of_outflow"),
        distance_to_labour_market_months=facts.get("distance_to_labour_market_months"),
        available_for_work=facts.get("available_for_work"))


def _eligibility(session: Session, client: Client, scheme: str, on: date,
                 except_plan: str | None = None) -> EligibilityReport:
    policy = policy_for(session, client.municipality)
    return check_eligibility(policy, client_facts(session, client, except_plan=except_plan), on, scheme)


def check_client_eligibility(session: Session, who: Principal, client_id: str, scheme: str | None,
                             on: date | None) -> EligibilityPublic:
    client = _client_for(session, who, client_id)
    scheme, on = scheme or client.scheme, on or _today()
    report = _eligibility(session, client, scheme, on)
    return EligibilityPublic(client_id=client.id, scheme=scheme, on=on, eligible=report.eligible, criteria=[
        CriterionPublic(kind=r.kind, passed=r.passed, reason_nl=r.reason_nl, reason_en=r.reason_en, unknown=r.unknown)
        for r in report.results])


def list_candidates(session: Session, who: Principal, eligible_only: bool = True) -> list[CandidatePublic]:
    """The caseload's clients checked against the hard criteria: who could get a budget."""
    require_role(who, *INTAKE_STAFF)
    query = select(Client).where(Client.municipality == who.municipality).order_by(col(Client.client_number))
    if who.role == Role.CASE_MANAGER:
        query = query.where(Client.case_manager == who.subject)
    today, out = _today(), []
    for client in session.exec(query).all():
        report = _eligibility(session, client, client.scheme, today)
        if eligible_only and not report.eligible:
            continue
        last = session.exec(select(ContactRecord).where(ContactRecord.client_id == client.id)
                            .order_by(col(ContactRecord.contacted_on).desc())).first()
        out.append(CandidatePublic(
            client_id=client.id, client_number=client.client_number, scheme=client.scheme, eligible=report.eligible,
            failed=[r.kind for r in report.failed if not r.unknown], unknown=[r.kind for r in report.unknown],
            last_contact=ContactPublic.model_validate(last, from_attributes=True) if last else None))
    return out


# --- orientation phase ----------------------------------------------------------------------


def _orientation_public(o: Orientation) -> OrientationPublic:
    return OrientationPublic(id=o.id, client_id=o.client_id, scheme=o.scheme, starts_on=o.starts_on, ends_on=o.ends_on,
                             budget=Money(o.budget_cents).decimal, status=o.status)


def start_orientation(uow: UnitOfWork, who: Principal, client_id: str, data: OrientationStart) -> OrientationPublic:
    require_role(who, *INTAKE_STAFF)
    client = _client_for(uow.session, who, client_id)
    policy = policy_for(uow.session, client.municipality)
    if not policy.orientation.enabled or policy.orientation.months == 0:
        raise ConflictError("orientation.not_offered", f"{policy.municipality_name} has no orientation phase.",
                            "orientation")
    scheme = data.scheme or client.scheme
    _ensure_scheme_offered(policy, scheme)
    running = uow.session.exec(select(Orientation).where(Orientation.client_id == client.id,
                                                         Orientation.status == "running")).first()
    if running is not None:
        raise ConflictError("orientation.already_running", "This client's orientation phase is already running.",
                            "client_id")
    starts = data.starts_on or _today()
    orientation = Orientation(municipality=client.municipality, client_id=client.id, scheme=scheme, starts_on=starts,
                              ends_on=add_months(starts, policy.orientation.months),
                              budget_cents=policy.orientation.budget.cents, started_by=who.subject)
    uow.session.add(orientation)
    uow.session.flush()
    uow.emit(tenant=client.municipality, subject=orientation.id, payload=OrientationStartedV1(
        orientation_id=orientation.id, client_id=client.id, scheme=scheme, ends_on=orientation.ends_on,
        budget_cents=orientation.budget_cents))
    uow.commit()
    return _orientation_public(orientation)


def list_orientations(session: Session, who: Principal, client_id: str) -> list[OrientationPublic]:
    client = _client_for(session, who, client_id)
    rows = session.exec(select(Orientation).where(Orientation.client_id == client.id)
                        .order_by(col(Orientation.starts_on)))
    return [_orientation_public(o) for o in rows]


# --- plans: drafts and versions -------------------------------------------------------------


def _require_author(session: Session, who: Principal) -> None:
    """The client writes the plan (or their representative); a case manager may help."""
    require_role(who, *CLIENT_SIDE, *INTAKE_STAFF)
    _ensure_representative(session, who)


def _plan_for(session: Session, who: Principal, plan_id: str, *, lock: bool = False) -> Plan:
    _require_reader(session, who)
    query = select(Plan).where(Plan.id == plan_id)
    if lock:
        query = query.with_for_update()
    plan = session.exec(query).first()
    if plan is None:
        raise NotFound("plan")
    ensure_visible(who, municipality=plan.municipality, client_id=plan.client_id, what="plan")
    return plan


def _ensure_version(plan: Plan, expected: int) -> None:
    if plan.version != expected:
        raise ConflictError("plan.changed_meanwhile",
                            f"The plan changed meanwhile (now version {plan.version}, you sent {expected}); reload it.",
                            "plan_version")


def _ensure_status(plan: Plan, allowed: Iterable[str], action: str) -> None:
    if plan.status not in allowed:
        raise ConflictError("plan.wrong_state", f"A plan that is {plan.status} cannot be {action}.", "status")


def _attachments_of(session: Session, plan_id: str) -> list[AttachmentFacts]:
    rows = session.exec(select(Attachment).where(Attachment.plan_id == plan_id).order_by(col(Attachment.created_at)))
    return [AttachmentFacts(a.id, a.filename, a.content_type, a.size, a.sha256) for a in rows]


def _content_from(data: PlanContent, client: Client, known_ids: Iterable[str]) -> tuple[str, dict[str, Any]]:
    content = data.model_dump(mode="json", include=set(PlanContent.model_fields))
    scheme = content.pop("scheme") or client.scheme
    return scheme, assign_line_ids(content, known_ids)


def _requested_cents(policy: MunicipalPolicy, scheme: str, content: dict[str, Any]) -> int:
    return to_domain_plan(content, scheme).total(policy.amounts_excl_vat).cents


def _store_version(session: Session, plan: Plan, kind: str, who: Principal) -> PlanVersion:
    version = PlanVersion(plan_id=plan.id, number=plan.latest_version_number, kind=kind, content=plan.content,
                          sha256=content_sha256(plan.content), created_by=who.subject)
    session.add(version)
    return version


def _plan_public(plan: Plan) -> PlanPublic:
    grants = None
    if plan.granted is not None:
        grants = [GrantedLinePublic(line_id=g["line_id"], category=g["category"], provider_name=g["provider_name"],
                                    asked=Money(g["asked_cents"]).decimal, granted=Money(g["granted_cents"]).decimal,
                                    starts_on=g["starts_on"], ends_on=g["ends_on"],
                                    holdback_percent=g["holdback_percent"]) for g in plan.granted]
    return PlanPublic(
        **plan.model_dump(exclude={"requested_cents", "granted_cents", "granted", "content"}),
        content=plan.content, requested=Money(plan.requested_cents).decimal,
        granted=Money(plan.granted_cents).decimal if plan.granted_cents is not None else None, granted_lines=grants)


def create_plan(uow: UnitOfWork, who: Principal, data: PlanCreate) -> PlanPublic:
    _require_author(uow.session, who)
    client = _client_for(uow.session, who, data.client_id)
    policy = policy_for(uow.session, client.municipality)
    scheme, content = _content_from(data, client, ())
    _ensure_scheme_offered(policy, scheme)
    open_plan = uow.session.exec(select(Plan.id).where(Plan.client_id == client.id,
                                                       col(Plan.status).in_(OPEN_PLAN_STATUSES))).first()
    if open_plan is not None:
        raise ConflictError("plan.already_open", "This client already has a plan that is not finished; change that "
                                                 "one instead.", "client_id")
    plan = Plan(municipality=client.municipality, client_id=client.id, scheme=scheme, title=data.title,
                content=content, requested_cents=_requested_cents(policy, scheme, content), created_by=who.subject)
    uow.session.add(plan)
    uow.session.flush()
    _store_version(uow.session, plan, "draft", who)
    uow.commit()
    return _plan_public(plan)


def save_draft(uow: UnitOfWork, who: Principal, plan_id: str, data: PlanSave) -> PlanPublic:
    _require_author(uow.session, who)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    _ensure_version(plan, data.plan_version)
    _ensure_status(plan, EDITABLE, "changed (only a draft or a returned plan can)")
    client = uow.session.get(Client, plan.client_id)
    assert client is not None
    policy = policy_for(uow.session, plan.municipality)
    scheme, content = _content_from(data, client, line_ids(plan.content))
    _ensure_scheme_offered(policy, scheme)
    plan.scheme, plan.title, plan.content = scheme, data.title, content
    plan.requested_cents = _requested_cents(policy, scheme, content)
    plan.status, plan.version, plan.updated_at = "draft", plan.version + 1, _now()
    plan.latest_version_number += 1
    uow.session.add(plan)
    _store_version(uow.session, plan, "draft", who)
    uow.commit()
    return _plan_public(plan)


def get_plan(session: Session, who: Principal, plan_id: str) -> PlanPublic:
    return _plan_public(_plan_for(session, who, plan_id))


def list_plans(session: Session, who: Principal, status: str | None = None,
               client_id: str | None = None) -> list[PlanPublic]:
    _require_reader(session, who)
    query = select(Plan).where(Plan.municipality == who.municipality).order_by(col(Plan.created_at))
    if who.is_client_side():
        query = query.where(Plan.client_id == who.client_id)
    if client_id:
        query = query.where(Plan.client_id == client_id)
    if status:
        query = query.where(Plan.status == status)
    return [_plan_public(p) for p in session.exec(query)]


def list_versions(session: Session, who: Principal, plan_id: str) -> list[PlanVersionPublic]:
    plan = _plan_for(session, who, plan_id)
    rows = session.exec(select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(col(PlanVersion.number)))
    return [PlanVersionPublic.model_validate(v, from_attributes=True).model_copy(update={"content": None})
            for v in rows]


def get_version(session: Session, who: Principal, plan_id: str, number: int) -> PlanVersionPublic:
    plan = _plan_for(session, who, plan_id)
    version = session.exec(select(PlanVersion).where(PlanVersion.plan_id == plan.id,
                                                     PlanVersion.number == number)).first()
    if version is None:
        raise NotFound("plan version")
    return PlanVersionPublic.model_validate(version, from_attributes=True)


# --- plan checks and submission -------------------------------------------------------------


def _eligibility_findings(report: EligibilityReport) -> list[Finding]:
    return [Finding(f"eligibility.{r.kind}", Severity.BLOCK, f"client.{r.kind}", r.reason_nl, r.reason_en)
            for r in report.failed]


def _findings(session: Session, plan: Plan, on: date) -> tuple[MunicipalPolicy, Any, list[Finding]]:
    policy = policy_for(session, plan.municipality)
    client = session.get(Client, plan.client_id)
    assert client is not None
    domain_plan = to_domain_plan(plan.content, plan.scheme, _attachments_of(session, plan.id))
    findings = _eligibility_findings(_eligibility(session, client, plan.scheme, on, except_plan=plan.id))
    findings += check_plan(policy, domain_plan, on, plan.content.get("drafted_by_reintegration_company", False))
    return policy, domain_plan, findings


def _finding_public(f: Finding) -> FindingPublic:
    return FindingPublic(code=f.code, severity=f.severity.value, field=f.field, message_nl=f.message_nl,
                         message_en=f.message_en)


def plan_checks(session: Session, who: Principal, plan_id: str) -> PlanChecksPublic:
    plan = _plan_for(session, who, plan_id)
    policy, domain_plan, findings = _findings(session, plan, _today())
    try:
        maximum = maximum_for_plan(policy, domain_plan)
    except DomainError:
        maximum = Money(0)
    return PlanChecksPublic(plan_id=plan.id, plan_version=plan.version, submittable=not has_blocks(findings),
                            maximum=maximum.decimal, total=domain_plan.total(policy.amounts_excl_vat).decimal,
                            findings=[_finding_public(f) for f in findings])


def submit_plan(uow: UnitOfWork, who: Principal, plan_id: str, ref: PlanVersionRef) -> PlanPublic:
    _require_author(uow.session, who)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    _ensure_version(plan, ref.plan_version)
    _ensure_status(plan, EDITABLE, "submitted")
    today = _today()
    policy, _domain_plan, findings = _findings(uow.session, plan, today)
    blocks = [f for f in findings if f.severity is Severity.BLOCK]
    if blocks:
        raise Problem(422, "Plan cannot be submitted yet",
                      f"{len(blocks)} point(s) must be fixed first; see errors (GET .../checks shows all findings).",
                      code="plan.checks_failed",
                      errors=[{"field": f.field, "code": f.code, "message": f.message_en, "message_nl": f.message_nl}
                              for f in blocks])
    client = uow.session.get(Client, plan.client_id)
    assert client is not None
    plan.latest_version_number += 1
    plan.status, plan.submitted_at, plan.version = "submitted", _now(), plan.version + 1
    plan.submitted_version_number = plan.latest_version_number
    uow.session.add(plan)
    _store_version(uow.session, plan, "submitted", who)
    deadline = decision_deadline(policy, today)
    uow.session.add(Review(municipality=plan.municipality, plan_id=plan.id, case_manager=client.case_manager,
                           plan_version_number=plan.latest_version_number, policy=policy_to_dict(policy),
                           submitted_on=today, due_on=deadline.due_on, warn_on=deadline.warn_on))
    uow.emit(tenant=plan.municipality, subject=plan.id, payload=PlanSubmittedV1(
        plan_id=plan.id, client_id=plan.client_id, plan_version=plan.version, requested_cents=plan.requested_cents))
    uow.commit()
    return _plan_public(plan)


# --- attachments ----------------------------------------------------------------------------


def add_attachment(uow: UnitOfWork, who: Principal, plan_id: str, filename: str, content_type: str,
                   data: bytes) -> AttachmentPublic:
    _require_author(uow.session, who)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    _ensure_status(plan, EDITABLE, "given new attachments (only a draft or a returned plan can)")
    problems = check_attachment(filename, content_type, len(data), field="file")
    if problems:
        first = problems[0]
        status = 413 if first.code == "attachment.too_large" else 415 if first.code in (
            "attachment.type_not_allowed", "attachment.extension_mismatch") else 422
        raise Problem(status, "Attachment refused", first.message_en, code=first.code,
                      errors=[{"field": f.field, "code": f.code, "message": f.message_en} for f in problems])
    digest = hashlib.sha256(data).hexdigest()
    attachment = Attachment(municipality=plan.municipality, plan_id=plan.id, client_id=plan.client_id,
                            filename=filename, content_type=content_type, size=len(data), sha256=digest, content=data,
                            uploaded_by=who.subject)
    _insert_unique(uow.session, attachment, ConflictError("attachment.duplicate",
                                                          "This file is already attached to the plan.", "file"))
    uow.commit()
    return AttachmentPublic.model_validate(attachment, from_attributes=True)


def list_attachments(session: Session, who: Principal, plan_id: str) -> list[AttachmentPublic]:
    plan = _plan_for(session, who, plan_id)
    rows = session.exec(select(Attachment).where(Attachment.plan_id == plan.id).order_by(col(Attachment.created_at)))
    return [AttachmentPublic.model_validate(a, from_attributes=True) for a in rows]


def get_attachment(session: Session, who: Principal, plan_id: str, attachment_id: str) -> Attachment:
    plan = _plan_for(session, who, plan_id)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.plan_id != plan.id:
        raise NotFound("attachment")
    return attachment


# --- review and decisions -------------------------------------------------------------------


def _reviewer(who: Principal) -> Reviewer:
    return Reviewer(id=who.subject, role=who.role.value)


def _domain_decision(kind: str, details: dict[str, Any], reviewer: Reviewer, on: date) -> Decision:
    """The same decision object for a new decision and for one read back from the table."""
    if kind in ("approve", "approve_with_conditions"):
        granted = details.get("granted")
        return Approve(reviewer, on, granted={k: Money.euros(v) for k, v in granted.items()} if granted else None,
                       conditions=tuple(details.get("conditions", ())), reasons=tuple(details.get("reasons", ())),
                       assessments=details.get("assessments", {}), note=details.get("note", ""))
    if kind == "return":
        return ReturnForChanges(reviewer, on, comments=details.get("comments", {}),
                                assessments=details.get("assessments", {}))
    if kind == "reject":
        return Reject(reviewer, on, reasons=tuple(details.get("reasons", ())),
                      contra_indications=tuple(details.get("contra_indications", ())),
                      assessments=details.get("assessments", {}))
    if kind == "confirm":
        return ConfirmApproval(reviewer, on, note=details.get("note", ""))
    raise DomainError("review.unknown_decision", f"{kind!r} is not a decision.", "kind")


def _review_state(session: Session, review: Review) -> ReviewState:
    """Rebuilt from the submitted version, the policy of that day and the decisions so far."""
    version = session.exec(select(PlanVersion).where(PlanVersion.plan_id == review.plan_id,
                                                     PlanVersion.number == review.plan_version_number)).one()
    plan = session.get(Plan, review.plan_id)
    assert plan is not None
    policy = policy_from_dict(review.policy)
    state = ReviewState.for_plan(policy, to_domain_plan(version.content, plan.scheme), review.submitted_on)
    decisions = session.exec(select(DecisionRecord).where(DecisionRecord.review_id == review.id)
                             .order_by(col(DecisionRecord.decided_at)))
    for record in decisions:
        state = state.decide(_domain_decision(record.kind, record.details,
                                              Reviewer(record.reviewer_id, record.reviewer_role), record.decided_on))
    return state


def _open_review(session: Session, plan: Plan) -> Review:
    review = session.exec(select(Review).where(Review.plan_id == plan.id, col(Review.status).in_(UNDER_REVIEW))
                          .order_by(col(Review.created_at).desc())).first()
    if review is None:
        raise ConflictError("plan.not_under_review", f"A plan that is {plan.status} has no decision waiting.",
                            "status")
    return review


def _decided_review(session: Session, plan: Plan) -> Review:
    review = session.exec(select(Review).where(Review.plan_id == plan.id, col(Review.status).not_in(UNDER_REVIEW))
                          .order_by(col(Review.created_at).desc())).first()
    if review is None:
        raise NotFound("decision")
    return review


def _granted_payload(lines: list[dict[str, Any]]) -> tuple[GrantedLine, ...]:
    return tuple(GrantedLine(plan_line_id=g["line_id"], category=g["category"], granted_cents=g["granted_cents"],
                             provider_name=g["provider_name"] or None, provider_kvk=g["provider_kvk"],
                             starts_on=g["starts_on"], ends_on=g["ends_on"], holdback_percent=g["holdback_percent"])
                 for g in lines if g["granted_cents"])


def decide(uow: UnitOfWork, who: Principal, plan_id: str, cmd: DecisionIn) -> PlanPublic:
    require_role(who, *INTAKE_STAFF)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    _ensure_version(plan, cmd.plan_version)
    review = _open_review(uow.session, plan)
    state = _review_state(uow.session, review)
    today = _today()
    details = cmd.model_dump(mode="json", exclude={"plan_version", "kind"}, exclude_defaults=True)
    decision = _domain_decision(cmd.kind, details, _reviewer(who), today)
    new_state = state.decide(decision)
    grants = None
    if new_state.status is ReviewStatus.APPROVED:
        version = uow.session.exec(select(PlanVersion).where(PlanVersion.plan_id == plan.id,
                                                             PlanVersion.number == review.plan_version_number)).one()
        if isinstance(decision, Approve):
            holdback = cmd.holdback_percent
        else:  # the second reviewer confirmed: the first approval's holdback stands
            first = uow.session.exec(select(DecisionRecord).where(
                DecisionRecord.review_id == review.id,
                col(DecisionRecord.kind).in_(("approve", "approve_with_conditions")))).first()
            holdback = first.details.get("holdback_percent") if first else None
        grants = granted_lines(version.content, new_state.grants, holdback)
    kind = decision.kind.value if isinstance(decision, Approve) else cmd.kind
    uow.session.add(DecisionRecord(review_id=review.id, plan_id=plan.id, kind=kind, reviewer_id=who.subject,
                                   reviewer_role=who.role.value, decided_on=today, details=details))
    review.status = new_state.status.value
    plan.version, plan.updated_at = plan.version + 1, _now()
    common = {"plan_id": plan.id, "client_id": plan.client_id, "plan_version": plan.version}
    if new_state.status is ReviewStatus.PENDING_SECOND_APPROVAL:
        plan.status = "awaiting_second_approval"
    else:
        review.decided_at = _now()
        plan.decided_at, plan.decided_by = review.decided_at, who.subject
    if new_state.status is ReviewStatus.APPROVED:
        assert grants is not None and new_state.execution_deadline is not None
        plan.status, plan.granted = "approved", grants
        plan.granted_cents = new_state.granted_total.cents
        plan.execution_deadline = new_state.execution_deadline
        uow.emit(tenant=plan.municipality, subject=plan.id, payload=PlanApprovedV1(
            **common, scheme=plan.scheme, granted_cents=plan.granted_cents,
            execution_deadline=plan.execution_deadline, lines=_granted_payload(grants)))
    elif new_state.status is ReviewStatus.RETURNED:
        plan.status = "returned"
        uow.emit(tenant=plan.municipality, subject=plan.id, payload=PlanReturnedV1(**common))
    elif new_state.status is ReviewStatus.REJECTED:
        plan.status = "rejected"
        uow.emit(tenant=plan.municipality, subject=plan.id, payload=PlanRejectedV1(**common))
    uow.session.add(review)
    uow.session.add(plan)
    uow.commit()
    return _plan_public(plan)


def list_decisions(session: Session, who: Principal, plan_id: str) -> list[DecisionPublic]:
    plan = _plan_for(session, who, plan_id)
    rows = session.exec(select(DecisionRecord).where(DecisionRecord.plan_id == plan.id)
                        .order_by(col(DecisionRecord.decided_at)))
    decisions = [DecisionPublic.model_validate(d, from_attributes=True) for d in rows]
    if who.is_client_side():
        # Internal notes are for staff; the letter carries what the client should read.
        decisions = [d.model_copy(update={"details": {k: v for k, v in d.details.items() if k != "note"}})
                     for d in decisions]
    return decisions


def review_queue(session: Session, who: Principal, mine: bool = True) -> list[ReviewPublic]:
    """Submitted plans waiting for a decision, oldest first, with their decision deadline."""
    require_role(who, *INTAKE_STAFF)
    query = select(Review, Plan, Client).join(Plan, col(Plan.id) == col(Review.plan_id)).join(
        Client, col(Client.id) == col(Plan.client_id)).where(
        Review.municipality == who.municipality, col(Review.status).in_(UNDER_REVIEW)).order_by(
        col(Review.submitted_on), col(Review.created_at))
    if who.role == Role.CASE_MANAGER and mine:
        query = query.where(Review.case_manager == who.subject)
    if who.role == Role.TEAM_LEAD and mine:
        query = query.where(Review.status == "pending_second_approval")
    today, out = _today(), []
    for review, plan, client in session.exec(query).all():
        first = session.exec(select(DecisionRecord.reviewer_id).where(DecisionRecord.review_id == review.id)
                             .order_by(col(DecisionRecord.decided_at))).first()
        out.append(ReviewPublic(
            id=review.id, plan_id=plan.id, client_id=client.id, client_number=client.client_number,
            plan_version_number=review.plan_version_number, case_manager=review.case_manager, status=review.status,
            requested=Money(plan.requested_cents).decimal, submitted_on=review.submitted_on, due_on=review.due_on,
            warn_on=review.warn_on, age_days=(today - review.submitted_on).days,
            warning=review.warn_on <= today <= review.due_on, overdue=today > review.due_on, first_reviewer=first))
    return out


# --- the decision letter and objections -----------------------------------------------------


def decision_letter(session: Session, who: Principal, plan_id: str, language: str | None,
                    fmt: str) -> tuple[bytes, str]:
    plan = _plan_for(session, who, plan_id)
    review = _decided_review(session, plan)
    state = _review_state(session, review)
    client = session.get(Client, plan.client_id)
    assert client is not None and state.decided_on is not None
    data = letter_data_from_review(state, client_display_name=client.name, client_number=client.client_number,
                                   letter_date=state.decided_on, reference=f"PRB-{plan.id[:8].upper()}",
                                   signed_by=f"{state.policy.municipality_name}")
    language = language or client.language
    if fmt == "pdf":
        return render_decision_letter_pdf(data, language), "application/pdf"
    return render_decision_letter_html(data, language).encode(), "text/html; charset=utf-8"


def lodge_objection(uow: UnitOfWork, who: Principal, plan_id: str, data: ObjectionCreate) -> ObjectionPublic:
    require_role(who, *INTAKE_STAFF, *CLIENT_SIDE)
    plan = _plan_for(uow.session, who, plan_id)
    review = _decided_review(uow.session, plan)
    state = _review_state(uow.session, review)
    if state.status is ReviewStatus.RETURNED:
        raise ConflictError("objection.nothing_decided", "A plan returned for changes has no decision to object to "
                                                         "yet.", "plan_id")
    assert state.decided_on is not None
    if data.lodged_on < state.decided_on or data.lodged_on > _today():
        raise DomainError("objection.lodged_on", "The objection date lies between the decision and today.",
                          "lodged_on")
    client = uow.session.get(Client, plan.client_id)
    assert client is not None
    letter = letter_data_from_review(state, client_display_name=client.name, client_number=client.client_number,
                                     letter_date=state.decided_on)
    objection = Objection(municipality=plan.municipality, plan_id=plan.id, review_id=review.id,
                          lodged_on=data.lodged_on, grounds=data.grounds,
                          late=data.lodged_on > letter.objection_deadline, recorded_by=who.subject)
    uow.session.add(objection)
    uow.commit()
    return ObjectionPublic.model_validate(objection, from_attributes=True)


def list_objections(session: Session, who: Principal, plan_id: str) -> list[ObjectionPublic]:
    plan = _plan_for(session, who, plan_id)
    rows = session.exec(select(Objection).where(Objection.plan_id == plan.id).order_by(col(Objection.created_at)))
    return [ObjectionPublic.model_validate(o, from_attributes=True) for o in rows]


# --- change requests on an approved plan ----------------------------------------------------


def _change_public(change: ChangeRequest) -> ChangeRequestPublic:
    return ChangeRequestPublic.model_validate(change, from_attributes=True)


def request_change(uow: UnitOfWork, who: Principal, plan_id: str, data: ChangeRequestCreate) -> ChangeRequestPublic:
    _require_author(uow.session, who)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    _ensure_version(plan, data.plan_version)
    _ensure_status(plan, ("approved",), "changed by a change request (only an approved plan can)")
    assert plan.granted_cents is not None and plan.execution_deadline is not None
    pending = uow.session.exec(select(ChangeRequest.id).where(ChangeRequest.plan_id == plan.id,
                                                              ChangeRequest.status == "submitted")).first()
    if pending is not None:
        raise ConflictError("change.pending", "A change request for this plan is still waiting for a decision.",
                            "plan_id")
    ids = [line.id for line in data.lines]
    if len(set(ids)) != len(ids):
        raise DomainError("change.duplicate_line", "Two lines have the same id.", "lines")
    total = Money.total(Money.euros(line.amount) for line in data.lines)
    if total.cents > plan.granted_cents:
        raise DomainError("change.above_total", f"A change may move money between lines, not add to it: "
                                                f"{total.format_en()} is more than the granted "
                                                f"{Money(plan.granted_cents).format_en()}.", "lines")
    policy = policy_for(uow.session, plan.municipality)
    for i, line in enumerate(data.lines):
        if Money.euros(line.amount).cents < 0:
            raise DomainError("change.negative_amount", "An amount cannot be negative.", f"lines[{i}].amount")
        # Demand-oriented: money goes only to contracted providers, after a change as at the approval.
        if (policy.review_model is ReviewModel.DEMAND_ORIENTED and Money.euros(line.amount).cents > 0
                and not policy.is_contracted(line.provider_name, line.provider_kvk)):
            raise DomainError("change.provider_not_contracted",
                              f"{line.provider_name} has no contract with the municipality; choose a provider from "
                              "the list.", f"lines[{i}].provider_name")
        if line.ends_on > plan.execution_deadline:
            raise DomainError("change.after_execution_deadline",
                              f"The plan must be finished by {plan.execution_deadline.isoformat()}.",
                              f"lines[{i}].ends_on")
        if line.provider_kvk is not None:
            try:
                validate_kvk(line.provider_kvk)
            except IdentifierError as exc:
                raise DomainError("change.provider_kvk", str(exc), f"lines[{i}].provider_kvk") from exc
    change = ChangeRequest(municipality=plan.municipality, plan_id=plan.id, reason=data.reason,
                           lines=[line.model_dump(mode="json") for line in data.lines], requested_by=who.subject)
    uow.session.add(change)
    plan.version += 1
    uow.session.add(plan)
    uow.commit()
    return _change_public(change)


def list_changes(session: Session, who: Principal, plan_id: str) -> list[ChangeRequestPublic]:
    plan = _plan_for(session, who, plan_id)
    rows = session.exec(select(ChangeRequest).where(ChangeRequest.plan_id == plan.id)
                        .order_by(col(ChangeRequest.created_at)))
    return [_change_public(c) for c in rows]


def decide_change(uow: UnitOfWork, who: Principal, plan_id: str, change_id: str,
                  cmd: ChangeDecisionIn) -> ChangeRequestPublic:
    require_role(who, *INTAKE_STAFF)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    _ensure_version(plan, cmd.plan_version)
    change = uow.session.get(ChangeRequest, change_id)
    if change is None or change.plan_id != plan.id:
        raise NotFound("change request")
    if change.status != "submitted":
        raise ConflictError("change.already_decided", f"This change request is already {change.status}.", "status")
    if change.requested_by == who.subject:
        raise Problem(403, "Not allowed", "Someone else than the person who asked for the change decides on it.",
                      code="review.same_reviewer")
    old = {g["line_id"]: g for g in plan.granted or []}
    moved = Money(sum(max(Money.euros(line["amount"]).cents - old.get(line["id"], {}).get("granted_cents", 0), 0)
                      for line in change.lines))
    policy = policy_for(uow.session, plan.municipality)
    if cmd.approve and moved > policy.four_eyes_threshold and who.role != Role.TEAM_LEAD:
        raise Problem(403, "Not allowed", f"This change moves {moved.format_en()}, more than the four-eyes threshold "
                                          f"{policy.four_eyes_threshold.format_en()}; a team lead decides.",
                      code="review.second_reviewer_role")
    change.status = "approved" if cmd.approve else "rejected"
    change.decided_by, change.decided_at, change.decision_note = who.subject, _now(), cmd.note
    plan.version += 1
    if cmd.approve:
        assert plan.execution_deadline is not None
        change.previous_granted = plan.granted
        plan.granted = [{"line_id": line["id"], "category": line["category"], "provider_name": line["provider_name"],
                         "provider_kvk": line["provider_kvk"],
                         "asked_cents": old.get(line["id"], {}).get("asked_cents", Money.euros(line["amount"]).cents),
                         "granted_cents": Money.euros(line["amount"]).cents, "starts_on": line["starts_on"],
                         "ends_on": line["ends_on"], "holdback_percent": line["holdback_percent"]}
                        for line in change.lines]
        plan.granted_cents = sum(g["granted_cents"] for g in plan.granted)
        uow.emit(tenant=plan.municipality, subject=plan.id, payload=PlanChangedV1(
            plan_id=plan.id, client_id=plan.client_id, plan_version=plan.version, change_id=change.id,
            granted_cents=plan.granted_cents, lines=_granted_payload(plan.granted),
            execution_deadline=plan.execution_deadline))
    uow.session.add(change)
    uow.session.add(plan)
    uow.commit()
    return _change_public(change)


# --- closing a trajectory -------------------------------------------------------------------


def _close(uow: UnitOfWork, plan: Plan, reason: str, closed_on: date, note: str) -> None:
    plan.status, plan.closed_on, plan.closure_reason, plan.closure_note = "closed", closed_on, reason, note
    plan.version, plan.updated_at = plan.version + 1, _now()
    uow.session.add(plan)
    uow.emit(tenant=plan.municipality, subject=plan.id, payload=TrajectoryClosedV1(
        plan_id=plan.id, client_id=plan.client_id, reason=reason, closed_on=closed_on))


def close_trajectory(uow: UnitOfWork, who: Principal, plan_id: str, cmd: CloseTrajectory) -> PlanPublic:
    require_role(who, *INTAKE_STAFF)
    plan = _plan_for(uow.session, who, plan_id, lock=True)
    _ensure_version(plan, cmd.plan_version)
    _ensure_status(plan, ("approved",), "closed (only an approved plan runs)")
    closed_on = cmd.closed_on or _today()
    if closed_on > _today():
        raise DomainError("close.in_future", "A trajectory is closed today or on a day that has passed.", "closed_on")
    if cmd.reason == "expired" and plan.execution_deadline and closed_on <= plan.execution_deadline:
        raise DomainError("close.not_expired", f"The plan runs until {plan.execution_deadline.isoformat()}; it has "
                                               "not expired yet.", "reason")
    _close(uow, plan, cmd.reason, closed_on, cmd.note)
    uow.commit()
    return _plan_public(plan)


def close_expired_trajectories(uow: UnitOfWork) -> int:
    """Daily: approved plans past their execution deadline close as expired; orientations end."""
    today, closed = uow.clock.today(), 0
    expired = uow.session.exec(select(Plan).where(Plan.status == "approved",
                                                  col(Plan.execution_deadline) < today).with_for_update()).all()
    for plan in expired:
        assert plan.execution_deadline is not None
        _close(uow, plan, "expired", plan.execution_deadline, "")
        closed += 1
    for orientation in uow.session.exec(select(Orientation).where(Orientation.status == "running",
                                                                  col(Orientation.ends_on) < today)).all():
        orientation.status = "ended"
        uow.session.add(orientation)
    uow.commit()
    return closed


def warn_decision_deadlines(uow: UnitOfWork) -> int:
    """Hourly: tell the case team once when a review reaches its warning date (Awb decision term)."""
    today, warned = uow.clock.today(), 0
    due = uow.session.exec(select(Review).where(col(Review.status).in_(UNDER_REVIEW), Review.warned_at == None,  # noqa: E711
                                                col(Review.warn_on) <= today).with_for_update()).all()
    for review in due:
        plan = uow.session.get(Plan, review.plan_id)
        assert plan is not None
        review.warned_at = uow.clock.now()
        uow.session.add(review)
        uow.emit(tenant=review.municipality, subject=review.plan_id,
                 payload=DecisionDueSoonV1(review_id=review.id, plan_id=review.plan_id, client_id=plan.client_id,
                                           due_on=review.due_on, case_manager=review.case_manager))
        warned += 1
    uow.commit()
    return warned


def restore_grants_on_plan_change_refused(uow: UnitOfWork, refused: PlanChangeRefusedV1, event: Envelope) -> None:
    """The budget could not carry out an approved change: the plan's grants go back to what they were."""
    change = uow.session.get(ChangeRequest, refused.change_id)
    plan = uow.session.exec(select(Plan).where(Plan.id == refused.plan_id).with_for_update()).first()
    if change is None or plan is None or change.status != "approved":
        return
    change.status, change.refusal_reason = "refused_by_budget", refused.reason_code
    if change.previous_granted is not None:
        plan.granted = change.previous_granted
        plan.granted_cents = sum(g["granted_cents"] for g in plan.granted)
    plan.version, plan.updated_at = plan.version + 1, _now()
    uow.session.add(change)
    uow.session.add(plan)


# Intake is where the trajectory starts; it hears back only when the budget refuses a change.
EVENT_HANDLERS: EventHandlers = {PlanChangeRefusedV1: restore_grants_on_plan_change_refused}
