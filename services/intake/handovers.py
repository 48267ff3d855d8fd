"""Warm hand-overs between UWV and the municipality (iro, issue 13): commands and queries. The rules
are in domain/handovers.py, the routes in api_handovers.py.

Who: a partner application with scope `handovers:write` (UWV) sends hand-overs to the municipality
it is registered with and reads its own (sent by its organisation, or addressed to it while the
client's consent lasts); the municipality's case managers and team leads list them, accept or
decline the incoming ones, and hand a client to a partner. Another partner's or another
municipality's hand-over is a 404.

Audit: each change is recorded in the command's unit of work for the client it is about (once the
hand-over is linked to one: matched by BSN on arrival, or at acceptance); reads are recorded by the
audit middleware for the `client_id` in the answer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import structlog
from sqlmodel import Session, and_, col, or_, select

from contracts.events import HandoverAcceptedV1, HandoverDeclinedV1, HandoverSentV1
from services.intake import commands, repository
from services.intake.consents import audited_consent
from services.intake.domain.errors import Conflict
from services.intake.domain.handovers import (
    HandoverDirection,
    HandoverStatus,
    ensure_activity_dates,
    ensure_consent_date,
    ensure_handover_consent,
    ensure_one_way_to_the_client,
    ensure_pending,
    ensure_same_person,
)
from services.intake.domain.partners import ConsentPurpose
from services.intake.models import Client, bsn_hash_of
from services.intake.models_handovers import (
    Handover,
    HandoverAccept,
    HandoverCreate,
    HandoverDecline,
    HandoverPublic,
    HandoverToPartner,
    PartnerHandoverClient,
    PartnerHandoverPublic,
    TrajectorySoFar,
)
from services.intake.models_partners import Consent
from services.intake.partners import active_partner_app
from services.intake.permissions import Action, authorize
from services.intake.schemas import ClientCreate
from shared import audit
from shared.access import Scope, require_scope
from shared.auth import Principal
from shared.errors import Forbidden, NotFound
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)


def _audited(handover: Handover) -> dict[str, Any]:
    """A hand-over as the audit trail compares it: codes and ids, nothing personal."""
    fields = ("direction", "status", "partner_kvk", "reason_code", "decline_reason", "consent_id")
    return {"handover_id": handover.id, **{f"handover.{name}": getattr(handover, name) for name in fields}}


def _checked_trajectory(trajectory: TrajectorySoFar, today: date) -> dict[str, Any]:
    for i, activity in enumerate(trajectory.activities):
        ensure_activity_dates(activity.started_on, activity.ended_on, today, i)
    stored: dict[str, Any] = trajectory.model_dump(mode="json")
    return stored


def _active_consent(session: Session, municipality: str, client_id: str, kvk: str, today: date) -> Consent | None:
    return session.exec(
        select(Consent)
        .where(
            Consent.municipality == municipality,
            Consent.client_id == client_id,
            Consent.partner_kvk == kvk,
            Consent.purpose == ConsentPurpose.WARM_HANDOVER.value,
            col(Consent.withdrawn_at).is_(None),
            or_(col(Consent.until).is_(None), col(Consent.until) >= today),
        )
        .order_by(col(Consent.granted_at).desc())
    ).first()


def staff_public(handover: Handover, *, with_bsn: bool = True) -> HandoverPublic:
    return HandoverPublic(
        id=handover.id,
        direction=handover.direction,
        status=handover.status,
        partner_kvk=handover.partner_kvk,
        partner_app_id=handover.partner_app_id,
        client_id=handover.client_id,
        bsn=handover.bsn if with_bsn else None,
        reason_code=handover.reason_code,
        trajectory=handover.trajectory,
        chosen_company=handover.chosen_company,
        consent_given_on=handover.consent_given_on,
        consent_reference=handover.consent_reference,
        consent_id=handover.consent_id,
        created_by=handover.created_by,
        created_at=handover.created_at,
        decided_by=handover.decided_by,
        decided_at=handover.decided_at,
        decline_reason=handover.decline_reason,
        decline_note=handover.decline_note,
    )


def _partner_public(session: Session, handover: Handover) -> PartnerHandoverPublic:
    incoming = handover.direction == HandoverDirection.TO_MUNICIPALITY
    client = None
    if not incoming and handover.client_id is not None:
        found = session.get(Client, handover.client_id)
        if found is not None:
            client = PartnerHandoverClient(
                bsn=found.bsn,
                client_number=found.client_number,
                name=found.name,
                email=found.email,
                phone=found.phone,
                language=found.language,
                date_of_birth=found.date_of_birth,
            )
    linked = not incoming or handover.status == HandoverStatus.ACCEPTED
    return PartnerHandoverPublic(
        id=handover.id,
        direction=handover.direction,
        status=handover.status,
        reason_code=handover.reason_code,
        created_at=handover.created_at,
        decided_at=handover.decided_at,
        decline_reason=handover.decline_reason,
        client_id=handover.client_id if linked else None,
        client=client,
        trajectory=None if incoming else handover.trajectory,
    )


def _as_partner(session: Session, who: Principal) -> str:
    """The partner's organisation (KvK), once its application and scope are checked."""
    authorize(who, Action.PARTNER_HANDOVERS)
    active_partner_app(session, who)
    require_scope(who, Scope.HANDOVERS_WRITE)
    if not who.organisation_kvk:
        raise Forbidden(
            "auth.partner_without_organisation",
            "This partner token names no organisation (KvK number); get one from the token endpoint.",
            message_nl="Dit partnertoken noemt geen organisatie (KvK-nummer); vraag een token aan bij het "
            "tokenendpoint.",
        )
    return who.organisation_kvk


# --- the partner (UWV) -> the municipality ------------------------------------------------------


def send_to_municipality(uow: UnitOfWork, who: Principal, data: HandoverCreate) -> PartnerHandoverPublic:
    kvk = _as_partner(uow.session, who)
    today = uow.clock.today()
    ensure_consent_date(data.consent.given_on, today)
    trajectory = _checked_trajectory(data.trajectory, today)
    known = repository.client_by_bsn(uow.session, who.municipality, data.bsn)
    handover = Handover(
        municipality=who.municipality,
        direction=HandoverDirection.TO_MUNICIPALITY.value,
        status=HandoverStatus.PENDING.value,
        partner_kvk=kvk,
        partner_app_id=who.subject,
        bsn=data.bsn,
        bsn_hash=bsn_hash_of(data.bsn),
        client_id=known.id if known else None,
        reason_code=data.reason_code.value,
        trajectory=trajectory,
        chosen_company=data.chosen_company.model_dump(mode="json") if data.chosen_company else None,
        consent_given_on=data.consent.given_on,
        consent_reference=data.consent.reference,
        created_by=who.subject,
        created_at=uow.clock.now(),
    )
    uow.session.add(handover)
    if known is not None:
        audit.record_change(uow, who, known.id, audit.AuditAction.CREATE, new=_audited(handover))
    uow.commit()
    log.info("handover.received", handover_id=handover.id, reason=handover.reason_code)
    return _partner_public(uow.session, handover)


def _incoming_for_decision(uow: UnitOfWork, who: Principal, handover_id: str) -> Handover:
    authorize(who, Action.DECIDE_HANDOVER)
    handover = uow.session.exec(select(Handover).where(Handover.id == handover_id).with_for_update()).first()
    if handover is None or handover.municipality != who.municipality:
        raise NotFound("handover", "overdracht")
    if handover.direction != HandoverDirection.TO_MUNICIPALITY:
        raise Conflict(
            "handover.not_incoming",
            "Only a hand-over a partner sent to the municipality can be accepted or declined.",
            message_nl="Alleen een overdracht die een partner aan de gemeente stuurde kan worden geaccepteerd of "
            "afgewezen.",
        )
    ensure_pending(handover.status)
    return handover


def accept_handover(uow: UnitOfWork, who: Principal, handover_id: str, data: HandoverAccept) -> HandoverPublic:
    """Link the client (matched by BSN, named, or registered now), record the consent the client gave
    at the partner (purpose warm_handover, on paper: given there), and accept; all in one transaction."""
    handover = _incoming_for_decision(uow, who, handover_id)
    ensure_one_way_to_the_client(handover.client_id, data.client_id, data.new_client is not None)
    if handover.client_id is not None:
        client = repository.client_for(uow.session, who, handover.client_id)
    elif data.client_id is not None:
        client = repository.client_for(uow.session, who, data.client_id)
        ensure_same_person(client.bsn_hash == handover.bsn_hash)
    else:
        assert data.new_client is not None and handover.bsn is not None
        client = commands.add_client(
            uow, who, ClientCreate.model_validate({**data.new_client.model_dump(mode="json"), "bsn": handover.bsn})
        )
    now = uow.clock.now()
    consent = Consent(
        municipality=client.municipality,
        client_id=client.id,
        partner_kvk=handover.partner_kvk,
        partner_app_id=handover.partner_app_id,
        purpose=ConsentPurpose.WARM_HANDOVER.value,
        on_paper=True,  # given at the partner, on the date and under the reference the hand-over names
        granted_by=who.subject,
        granted_role=who.role.value,
        granted_at=now,
    )
    uow.session.add(consent)
    uow.session.flush()
    audit.record_change(uow, who, client.id, audit.AuditAction.CREATE, new=audited_consent(consent))
    before = _audited(handover)
    handover.client_id, handover.consent_id = client.id, consent.id
    handover.status, handover.decided_by, handover.decided_at = HandoverStatus.ACCEPTED.value, who.subject, now
    uow.session.add(handover)
    audit.record_change(uow, who, client.id, audit.AuditAction.UPDATE, old=before, new=_audited(handover))
    uow.emit(
        payload=HandoverAcceptedV1(
            handover_id=handover.id,
            client_id=client.id,
            partner_kvk=handover.partner_kvk,
            reason_code=handover.reason_code,
        ),
        tenant=handover.municipality,
        subject=handover.id,
    )
    uow.commit()
    log.info("handover.accepted", handover_id=handover.id)
    return staff_public(handover)


def decline_handover(uow: UnitOfWork, who: Principal, handover_id: str, data: HandoverDecline) -> HandoverPublic:
    handover = _incoming_for_decision(uow, who, handover_id)
    before = _audited(handover)
    handover.status, handover.decided_by, handover.decided_at = (
        HandoverStatus.DECLINED.value,
        who.subject,
        uow.clock.now(),
    )
    handover.decline_reason, handover.decline_note = data.reason_code.value, data.note
    uow.session.add(handover)
    if handover.client_id is not None:
        audit.record_change(uow, who, handover.client_id, audit.AuditAction.UPDATE, old=before, new=_audited(handover))
    uow.emit(
        payload=HandoverDeclinedV1(
            handover_id=handover.id, partner_kvk=handover.partner_kvk, decline_reason=handover.decline_reason
        ),
        tenant=handover.municipality,
        subject=handover.id,
    )
    uow.commit()
    log.info("handover.declined", handover_id=handover.id, reason=handover.decline_reason)
    return staff_public(handover)


# --- the municipality -> the partner (UWV) ------------------------------------------------------


def send_to_partner(uow: UnitOfWork, who: Principal, client_id: str, data: HandoverToPartner) -> HandoverPublic:
    """Only while the client has an active consent for this partner with purpose warm_handover."""
    authorize(who, Action.SEND_HANDOVER)
    client = repository.client_for(uow.session, who, client_id)
    today = uow.clock.today()
    consent = _active_consent(uow.session, client.municipality, client.id, data.partner_kvk, today)
    ensure_handover_consent(consent is not None)
    assert consent is not None
    handover = Handover(
        municipality=client.municipality,
        direction=HandoverDirection.TO_PARTNER.value,
        status=HandoverStatus.SENT.value,
        partner_kvk=data.partner_kvk,
        partner_app_id=consent.partner_app_id,
        client_id=client.id,
        reason_code=data.reason_code.value,
        trajectory=_checked_trajectory(data.trajectory, today),
        consent_id=consent.id,
        created_by=who.subject,
        created_at=uow.clock.now(),
    )
    uow.session.add(handover)
    audit.record_change(uow, who, client.id, audit.AuditAction.CREATE, new=_audited(handover))
    uow.emit(
        payload=HandoverSentV1(
            handover_id=handover.id, client_id=client.id, partner_kvk=data.partner_kvk, reason_code=handover.reason_code
        ),
        tenant=client.municipality,
        subject=handover.id,
    )
    uow.commit()
    log.info("handover.sent", handover_id=handover.id, reason=handover.reason_code)
    return staff_public(handover)


# --- queries -----------------------------------------------------------------------------------


def list_handovers(
    session: Session, who: Principal, page: PageRequest, status: str | None = None, direction: str | None = None
) -> Page[HandoverPublic]:
    """The municipality's hand-overs, oldest first; the BSN only in the single read."""
    authorize(who, Action.READ_HANDOVERS)
    query = select(Handover).where(Handover.municipality == who.municipality)
    if status is not None:
        query = query.where(Handover.status == status)
    if direction is not None:
        query = query.where(Handover.direction == direction)
    query = query.order_by(col(Handover.created_at), col(Handover.id))
    return page_of(session, query, page).map(lambda h: staff_public(h, with_bsn=False))


def get_handover(session: Session, who: Principal, handover_id: str) -> HandoverPublic:
    authorize(who, Action.READ_HANDOVERS)
    handover = session.get(Handover, handover_id)
    if handover is None or handover.municipality != who.municipality:
        raise NotFound("handover", "overdracht")
    return staff_public(handover)


def _partner_query(session: Session, who: Principal, kvk: str, today: date) -> Any:
    """A partner's own: what its organisation sent, and what was addressed to it while the client's
    consent (warm_handover) for it is active; checked on every read, so a withdrawal counts at once."""
    consented = select(Consent.client_id).where(
        Consent.municipality == who.municipality,
        Consent.partner_kvk == kvk,
        Consent.purpose == ConsentPurpose.WARM_HANDOVER.value,
        col(Consent.withdrawn_at).is_(None),
        or_(col(Consent.until).is_(None), col(Consent.until) >= today),
    )
    return select(Handover).where(
        Handover.municipality == who.municipality,
        Handover.partner_kvk == kvk,
        or_(
            Handover.direction == HandoverDirection.TO_MUNICIPALITY.value,
            and_(Handover.direction == HandoverDirection.TO_PARTNER.value, col(Handover.client_id).in_(consented)),
        ),
    )


def list_partner_handovers(
    session: Session, who: Principal, today: date, page: PageRequest
) -> Page[PartnerHandoverPublic]:
    kvk = _as_partner(session, who)
    query = _partner_query(session, who, kvk, today).order_by(col(Handover.created_at), col(Handover.id))
    return page_of(session, query, page).map(lambda h: _partner_public(session, h))


def get_partner_handover(session: Session, who: Principal, handover_id: str, today: date) -> PartnerHandoverPublic:
    kvk = _as_partner(session, who)
    handover = session.exec(_partner_query(session, who, kvk, today).where(Handover.id == handover_id)).first()
    if handover is None:
        raise NotFound("handover", "overdracht")
    return _partner_public(session, handover)
