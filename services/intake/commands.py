"""Intake commands: one function per thing a person does (the review's in decisions.py).

Each loads what it needs, asks the domain, stores the answer, emits the events the domain
recorded and commits, all in one unit of work. Time comes from `uow.clock`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import col, select

from contracts.events import Payload
from services.intake import repository
from services.intake.audited import audited_plan
from services.intake.domain.attachment_checks import check_attachment
from services.intake.domain.client import (
    ClientRegistration,
    OrientationPhase,
    OrientationStatus,
    ensure_contact_happened,
    ensure_plausible_birth,
    ensure_scheme_offered,
)
from services.intake.domain.decision_term import decision_deadline
from services.intake.domain.errors import Conflict, RuleBroken
from services.intake.domain.plan import AttachmentRefused, PlanAggregate
from services.intake.domain.plan_content import line_ids
from services.intake.domain.policy import policy_to_dict
from services.intake.domain.policy_parsing import merge_patch, policy_from_dict
from services.intake.domain.policy_presets import with_pib
from services.intake.domain.profile import trajectory_profile
from services.intake.models import (
    Attachment,
    Client,
    ContactRecord,
    Orientation,
    Plan,
    PolicyChange,
    PolicyRecord,
    Representative,
    Review,
    bsn_hash_of,
    new_id,
)
from services.intake.permissions import Action, authorize
from services.intake.queries import orientation_public, plan_public
from services.intake.schemas import (
    AttachmentPublic,
    ClientCreate,
    ClientPublic,
    ClientUpdate,
    ContactCreate,
    ContactPublic,
    OrientationPublic,
    OrientationStart,
    PlanCreate,
    PlanPublic,
    PlanSave,
    PlanVersionRef,
    RepresentativeCreate,
    RepresentativePublic,
)
from shared import audit
from shared.auth import Principal
from shared.errors import NotFound
from shared.money import Money
from shared.uow import UnitOfWork


def emit_all(uow: UnitOfWork, events: list[Payload], *, tenant: str, subject: str) -> None:
    """Emit what an aggregate recorded, in order, and forget it."""
    for payload in events:
        uow.emit(payload=payload, tenant=tenant, subject=subject)
    events.clear()


def emit_trajectory_profile(uow: UnitOfWork, client: Client, trajectory_id: str) -> None:
    """A trajectory starts (a plan approved, an orientation phase begun): tell monitoring the
    client's statistical profile, as categories (domain/profile.py)."""
    profile = trajectory_profile(
        plan_id=trajectory_id,
        client_id=client.id,
        benefit_type=client.benefit_type,
        date_of_birth=client.date_of_birth,
        facts=client.facts,
        on=uow.clock.today(),
    )
    uow.emit(payload=profile, tenant=client.municipality, subject=trajectory_id)


# --- the municipal policy -------------------------------------------------------------------


def put_policy(uow: UnitOfWork, who: Principal, document: dict[str, Any]) -> dict[str, Any]:
    """Replace the policy: what the document leaves out takes the neutral default (as a new
    municipality starts), except the municipality's code and name, which stay as they are."""
    authorize(who, Action.CHANGE_POLICY)
    current = repository.policy_for(uow.session, who.municipality)
    return _store_policy(uow, who, {"municipality_name": current.municipality_name, **document})


def patch_policy(uow: UnitOfWork, who: Principal, patch: dict[str, Any]) -> dict[str, Any]:
    """Change part of the policy: an RFC 7396 merge patch on the current document (stored,
    preset or default); `null` removes a setting, so it takes the default."""
    authorize(who, Action.CHANGE_POLICY)
    current = policy_to_dict(repository.policy_for(uow.session, who.municipality))
    return _store_policy(uow, who, merge_patch(current, patch))


def apply_pib_preset(uow: UnitOfWork, who: Principal, maximum: Money) -> dict[str, Any]:
    """Add the pib scheme preset (policy_presets.with_pib) to the policy, or put it in place of the
    pib offer it has, with the maximum the municipality sets; the other settings stay. In the change log."""
    authorize(who, Action.CHANGE_POLICY)
    current = repository.policy_for(uow.session, who.municipality)
    return _store_policy(uow, who, policy_to_dict(with_pib(current, maximum)))


def _store_policy(uow: UnitOfWork, who: Principal, document: dict[str, Any]) -> dict[str, Any]:
    code = document.get("municipality_code", who.municipality)
    if code != who.municipality:
        raise RuleBroken(
            "policy.other_municipality",
            f"You may only set the policy of municipality {who.municipality}.",
            "municipality_code",
            message_nl=f"U mag alleen het beleid van gemeente {who.municipality} instellen.",
        )
    stored = policy_to_dict(policy_from_dict({**document, "municipality_code": who.municipality}))
    before = policy_to_dict(repository.policy_for(uow.session, who.municipality))
    changes = policy_differences(before, stored)
    if changes:
        uow.session.add(
            PolicyChange(
                municipality=who.municipality,
                changed_by=who.subject,
                role=who.role.value,
                changed_at=uow.clock.now(),
                changes=changes,
            )
        )
    record = uow.session.get(PolicyRecord, who.municipality)
    if record is None:
        record = PolicyRecord(
            municipality=who.municipality, document=stored, updated_by=who.subject, updated_at=uow.clock.now()
        )
    else:
        record.document, record.updated_by, record.updated_at = stored, who.subject, uow.clock.now()
    uow.session.add(record)
    uow.commit()
    return stored


def policy_differences(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Each setting whose value differs, by dotted name (objects compared key by key; lists whole)."""
    found: list[dict[str, Any]] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        name = f"{prefix}{key}"
        if isinstance(old, dict) and isinstance(new, dict):
            found.extend(policy_differences(old, new, f"{name}."))
        elif old != new:
            found.append({"setting": name, "old": old, "new": new})
    return found


# --- clients, representatives, contacts -------------------------------------------------------


def _facts_dict(facts: Any, municipality: str) -> dict[str, Any]:
    stored: dict[str, Any] = facts.model_dump(mode="json", exclude_none=True)
    # Social assistance is paid by the municipality one lives in, so that is the default.
    stored.setdefault("resident_municipality_code", municipality)
    return stored


def _client_public(client: Client) -> ClientPublic:
    return ClientPublic.model_validate(client, from_attributes=True)


def register_client(uow: UnitOfWork, who: Principal, data: ClientCreate) -> ClientPublic:
    client = add_client(uow, who, data)
    uow.commit()
    return _client_public(client)


def add_client(uow: UnitOfWork, who: Principal, data: ClientCreate) -> Client:
    """Register a client inside the caller's unit of work, without committing it (a hand-over's
    acceptance registers one in the same transaction as the rest of its work)."""
    authorize(who, Action.REGISTER_CLIENT)
    ensure_plausible_birth(data.date_of_birth, uow.clock.today())
    registration = ClientRegistration.register(
        new_id(), who.municipality, data.scheme, repository.policy_for(uow.session, who.municipality)
    )
    if repository.client_by_bsn(uow.session, who.municipality, data.bsn) is not None:
        raise Conflict(
            "client.exists",
            "This municipality already has a client with this BSN.",
            "bsn",
            message_nl="Deze gemeente heeft al een klant met dit BSN.",
        )
    now = uow.clock.now()
    client = Client(
        id=registration.id,
        municipality=who.municipality,
        bsn=data.bsn,
        bsn_hash=bsn_hash_of(data.bsn),
        client_number=data.client_number,
        name=data.name,
        email=str(data.email) if data.email else None,
        phone=data.phone,
        address=data.address,
        language=data.language,
        scheme=data.scheme,
        benefit_type=data.benefit_type,
        date_of_birth=data.date_of_birth,
        facts=_facts_dict(data.facts, who.municipality),
        case_manager=data.case_manager or who.subject,
        created_at=now,
        updated_at=now,
    )
    repository.insert_unique(
        uow.session,
        client,
        Conflict(
            "client.exists",
            "This municipality already has a client with this BSN or client number.",
            "bsn",
            message_nl="Deze gemeente heeft al een klant met dit BSN of klantnummer.",
        ),
    )
    emit_all(uow, registration.events, tenant=client.municipality, subject=client.id)
    audit.record_change(uow, who, client.id, audit.AuditAction.CREATE, new=_audited(client))
    return client


def update_client(uow: UnitOfWork, who: Principal, client_id: str, data: ClientUpdate) -> ClientPublic:
    authorize(who, Action.UPDATE_CLIENT)
    client = repository.client_for(uow.session, who, client_id)
    before = _audited(client)
    changes = data.model_dump(exclude_unset=True)
    ensure_plausible_birth(changes.get("date_of_birth"), uow.clock.today())
    if changes.get("scheme") is not None:
        ensure_scheme_offered(repository.policy_for(uow.session, who.municipality), changes["scheme"])
    for name, value in changes.items():
        if value is None and name in ("language", "scheme", "benefit_type", "case_manager", "facts"):
            continue
        if name == "facts":
            value = _facts_dict(data.facts, client.municipality)
        elif name == "email" and value is not None:
            value = str(value)
        setattr(client, name, value)
    client.updated_at = uow.clock.now()
    uow.session.add(client)
    audit.record_change(uow, who, client.id, audit.AuditAction.UPDATE, old=before, new=_audited(client))
    uow.commit()
    return _client_public(client)


# The client's fields an audit record compares: personal ones are masked there (shared.audit.SECRET_FIELDS).
_AUDITED_FIELDS = (
    "bsn",
    "name",
    "client_number",
    "email",
    "phone",
    "address",
    "language",
    "scheme",
    "benefit_type",
    "date_of_birth",
    "facts",
    "case_manager",
)


def _audited(client: Client) -> dict[str, Any]:
    return {name: getattr(client, name) for name in _AUDITED_FIELDS}


def add_representative(
    uow: UnitOfWork, who: Principal, client_id: str, data: RepresentativeCreate
) -> RepresentativePublic:
    authorize(who, Action.MANAGE_REPRESENTATIVES)
    client = repository.client_for(uow.session, who, client_id)
    email = str(data.email) if data.email else None
    ended = uow.session.exec(
        select(Representative).where(
            Representative.client_id == client.id,
            Representative.subject == data.subject,
            col(Representative.active).is_(False),
        )
    ).first()
    if ended is not None:
        # Representation that ended may start again for the same login: same row, active again.
        before = _audited_representative(ended)
        ended.name, ended.relation, ended.email, ended.active = data.name, data.relation, email, True
        ended.created_by, ended.created_at = who.subject, uow.clock.now()
        uow.session.add(ended)
        audit.record_change(
            uow, who, client.id, audit.AuditAction.UPDATE, old=before, new=_audited_representative(ended)
        )
        uow.commit()
        return RepresentativePublic.model_validate(ended, from_attributes=True)
    rep = Representative(
        municipality=client.municipality,
        client_id=client.id,
        subject=data.subject,
        name=data.name,
        relation=data.relation,
        email=email,
        created_by=who.subject,
        created_at=uow.clock.now(),
    )
    repository.insert_unique(
        uow.session,
        rep,
        Conflict(
            "representative.exists",
            "This login already represents this client.",
            "subject",
            message_nl="Deze login vertegenwoordigt deze klant al.",
        ),
    )
    audit.record_change(uow, who, client.id, audit.AuditAction.CREATE, new=_audited_representative(rep))
    uow.commit()
    return RepresentativePublic.model_validate(rep, from_attributes=True)


def _audited_representative(rep: Representative) -> dict[str, Any]:
    """A representation as its audit record compares it (name and e-mail masked there)."""
    fields = ("subject", "name", "relation", "email", "active")
    return {"representative_id": rep.id, **{f"representative.{name}": getattr(rep, name) for name in fields}}


def end_representation(uow: UnitOfWork, who: Principal, client_id: str, representative_id: str) -> RepresentativePublic:
    authorize(who, Action.MANAGE_REPRESENTATIVES)
    client = repository.client_for(uow.session, who, client_id)
    rep = uow.session.get(Representative, representative_id)
    if rep is None or rep.client_id != client.id:
        raise NotFound("representative", "vertegenwoordiger")
    before = _audited_representative(rep)
    rep.active = False
    uow.session.add(rep)
    audit.record_change(uow, who, client.id, audit.AuditAction.DELETE, old=before, new=_audited_representative(rep))
    uow.commit()
    return RepresentativePublic.model_validate(rep, from_attributes=True)


def record_contact(uow: UnitOfWork, who: Principal, client_id: str, data: ContactCreate) -> ContactPublic:
    authorize(who, Action.RECORD_CONTACT)
    client = repository.client_for(uow.session, who, client_id)
    ensure_contact_happened(data.contacted_on, uow.clock.today())
    record = ContactRecord(
        municipality=client.municipality,
        client_id=client.id,
        recorded_by=who.subject,
        created_at=uow.clock.now(),
        **data.model_dump(),
    )
    uow.session.add(record)
    uow.session.flush()
    audited = {"contact_id": record.id, **{f"contact.{k}": v for k, v in data.model_dump(mode="json").items()}}
    audit.record_change(uow, who, client.id, audit.AuditAction.CREATE, new=audited)
    uow.commit()
    return ContactPublic.model_validate(record, from_attributes=True)


# --- the orientation phase --------------------------------------------------------------------


def start_orientation(uow: UnitOfWork, who: Principal, client_id: str, data: OrientationStart) -> OrientationPublic:
    authorize(who, Action.START_ORIENTATION)
    client = repository.client_for(uow.session, who, client_id)
    running = uow.session.exec(
        select(Orientation.id).where(
            Orientation.client_id == client.id, Orientation.status == OrientationStatus.RUNNING
        )
    ).first()
    phase = OrientationPhase.start(
        new_id(),
        client.id,
        data.scheme or client.scheme,
        repository.policy_for(uow.session, client.municipality),
        data.starts_on or uow.clock.today(),
        already_running=running is not None,
    )
    orientation = Orientation(
        id=phase.id,
        municipality=client.municipality,
        client_id=client.id,
        scheme=phase.scheme,
        starts_on=phase.starts_on,
        ends_on=phase.ends_on,
        budget_cents=phase.budget_cents,
        status=phase.status,
        started_by=who.subject,
        created_at=uow.clock.now(),
    )
    uow.session.add(orientation)
    emit_all(uow, phase.events, tenant=client.municipality, subject=orientation.id)
    emit_trajectory_profile(uow, client, orientation.id)
    fields = ("scheme", "starts_on", "ends_on", "budget_cents", "status")
    audited = {"orientation_id": orientation.id, **{f"orientation.{f}": getattr(orientation, f) for f in fields}}
    audit.record_change(uow, who, client.id, audit.AuditAction.CREATE, new=audited)
    uow.commit()
    return orientation_public(orientation)


# --- plans: drafts, attachments, submission ---------------------------------------------------


def create_plan(uow: UnitOfWork, who: Principal, data: PlanCreate) -> PlanPublic:
    authorize(who, Action.WRITE_PLAN)
    client = repository.client_for(uow.session, who, data.client_id)
    policy = repository.policy_for(uow.session, client.municipality)
    scheme, content = repository.content_from(data, client, ())
    ensure_scheme_offered(policy, scheme)
    if repository.open_plan_of(uow.session, client.id) is not None:
        raise Conflict(
            "plan.already_open",
            "This client already has a plan that is not finished; change that one instead.",
            "client_id",
            message_nl="Deze klant heeft al een plan dat nog niet af is; wijzig dat plan.",
        )
    now = uow.clock.now()
    plan = Plan(
        municipality=client.municipality,
        client_id=client.id,
        scheme=scheme,
        title=data.title,
        content=content,
        requested_cents=repository.requested_cents(policy, scheme, content),
        created_by=who.subject,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(plan)
    uow.session.flush()
    repository.store_version(uow.session, plan, "draft", who, now)
    audit.record_change(uow, who, plan.client_id, audit.AuditAction.CREATE, new=audited_plan(plan))
    uow.commit()
    return plan_public(plan)


def save_draft(uow: UnitOfWork, who: Principal, plan_id: str, data: PlanSave) -> PlanPublic:
    authorize(who, Action.WRITE_PLAN)
    row = repository.plan_for(uow.session, who, plan_id, lock=True)
    plan = repository.plan_aggregate(row)
    plan.ensure_version(data.plan_version)
    plan.ensure_status(("draft", "returned"), "changed (only a draft or a returned plan can)")
    policy = repository.policy_for(uow.session, row.municipality)
    scheme, content = repository.content_from(data, repository.client_of(uow.session, row), line_ids(row.content))
    ensure_scheme_offered(policy, scheme)
    before = audited_plan(row)
    plan.save_draft(scheme, repository.requested_cents(policy, scheme, content))
    row.title, row.content = data.title, content
    now = uow.clock.now()
    repository.store_plan(uow.session, row, plan, now)
    repository.store_version(uow.session, row, "draft", who, now)
    audit.record_change(uow, who, row.client_id, audit.AuditAction.UPDATE, old=before, new=audited_plan(row))
    uow.commit()
    return plan_public(row)


def add_attachment(
    uow: UnitOfWork, who: Principal, plan_id: str, filename: str, content_type: str, data: bytes
) -> AttachmentPublic:
    authorize(who, Action.WRITE_PLAN)
    row = repository.plan_for(uow.session, who, plan_id, lock=True)
    repository.plan_aggregate(row).ensure_attachable()
    problems = check_attachment(filename, content_type, len(data), field="file")
    if problems:
        raise AttachmentRefused(problems)
    attachment = Attachment(
        municipality=row.municipality,
        plan_id=row.id,
        client_id=row.client_id,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        uploaded_by=who.subject,
        created_at=uow.clock.now(),
    )
    repository.insert_unique(
        uow.session,
        attachment,
        Conflict(
            "attachment.duplicate",
            "This file is already attached to the plan.",
            "file",
            message_nl="Dit bestand hoort al bij het plan.",
        ),
    )
    audit.record_change(
        uow,
        who,
        row.client_id,
        audit.AuditAction.CREATE,
        new={
            "plan_id": row.id,
            "attachment_id": attachment.id,
            "attachment.filename": filename,
            "attachment.content_type": content_type,
            "attachment.size": len(data),
        },
    )
    uow.commit()
    return AttachmentPublic.model_validate(attachment, from_attributes=True)


def submit_plan(uow: UnitOfWork, who: Principal, plan_id: str, ref: PlanVersionRef) -> PlanPublic:
    authorize(who, Action.WRITE_PLAN)
    row = repository.plan_for(uow.session, who, plan_id, lock=True)
    plan: PlanAggregate = repository.plan_aggregate(row)
    plan.ensure_version(ref.plan_version)
    plan.ensure_status(("draft", "returned"), "submitted")
    today, now = uow.clock.today(), uow.clock.now()
    policy, _domain_plan, findings = repository.findings(uow.session, row, today)
    before = audited_plan(row)
    plan.submit(findings)
    client = repository.client_of(uow.session, row)
    row.submitted_at = now
    repository.store_plan(uow.session, row, plan, now)
    repository.store_version(uow.session, row, "submitted", who, now)
    deadline = decision_deadline(policy, today)
    uow.session.add(
        Review(
            municipality=row.municipality,
            plan_id=row.id,
            case_manager=client.case_manager,
            plan_version_number=row.latest_version_number,
            policy=policy_to_dict(policy),
            submitted_on=today,
            due_on=deadline.due_on,
            warn_on=deadline.warn_on,
            created_at=now,
        )
    )
    emit_all(uow, plan.events, tenant=row.municipality, subject=row.id)
    after = {**audited_plan(row), "review.findings": sorted({f.code for f in findings})}
    audit.record_change(uow, who, row.client_id, audit.AuditAction.UPDATE, old=before, new=after)
    uow.commit()
    return plan_public(row)
