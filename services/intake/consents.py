"""The client's consent per partner and purpose, and what a partner may see of the clients who
chose it (issue 13). The rules are in domain/partners.py, the routes in api_partners.py.

Who: the client (or their active representative) grants and withdraws for themself; a case manager
or team lead may record a consent the client gave on paper, and withdraw one. A withdrawal counts
from the moment it is stored: every partner read checks the consents again (nothing is cached).

A partner (a token from the OAuth2 token endpoint, with `clients:read-own`) sees a client only while
an active consent names its KvK number, or a budget line of an open plan names it as the provider;
any other client id is a 404, and there is no list of all clients.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import structlog
from sqlmodel import Session, col, or_, select

from services.intake import repository
from services.intake.domain.errors import Conflict, RuleBroken
from services.intake.domain.partners import consent_active, ensure_until_not_past, plan_names_provider
from services.intake.domain.plan import PlanStatus
from services.intake.models import Client, Plan
from services.intake.models_partners import Consent, ConsentCreate, ConsentPublic, PartnerApp, PartnerClientPublic
from services.intake.partners import active_partner_app
from services.intake.permissions import Action, authorize
from shared import audit
from shared.access import Scope, require_scope
from shared.auth import Principal
from shared.errors import NotFound
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

log = structlog.get_logger(__name__)

# Plans whose provider lines count: written, under review or running (not rejected, not closed).
_OPEN_PLANS = (
    PlanStatus.DRAFT,
    PlanStatus.RETURNED,
    PlanStatus.SUBMITTED,
    PlanStatus.AWAITING_SECOND_APPROVAL,
    PlanStatus.APPROVED,
)
PLAN_LINE = "plan_line"  # the "purpose" a partner named on a plan line is shown with


def consent_public(consent: Consent, today: date) -> ConsentPublic:
    return ConsentPublic(
        id=consent.id,
        client_id=consent.client_id,
        partner_kvk=consent.partner_kvk,
        partner_app_id=consent.partner_app_id,
        purpose=consent.purpose,
        until=consent.until,
        on_paper=consent.on_paper,
        granted_by_role=consent.granted_role,
        granted_at=consent.granted_at,
        withdrawn_at=consent.withdrawn_at,
        active=consent_active(consent.withdrawn_at, consent.until, today),
    )


def _partner_kvk(session: Session, who: Principal, data: ConsentCreate) -> tuple[str, str | None]:
    if (data.partner_kvk is None) == (data.partner_app_id is None):
        raise RuleBroken(
            "consent.partner_required",
            "Name the partner by partner_kvk or by partner_app_id (one of both).",
            "partner_kvk",
            message_nl="Noem de partner met partner_kvk of met partner_app_id (een van beide).",
        )
    if data.partner_app_id is None:
        assert data.partner_kvk is not None
        return data.partner_kvk, None
    app = session.get(PartnerApp, data.partner_app_id)
    if app is None or app.municipality != who.municipality or app.revoked_at is not None:
        raise RuleBroken(
            "consent.unknown_partner_app",
            "No active partner application with this id in your municipality.",
            "partner_app_id",
            message_nl="Er is geen actieve partnerapplicatie met dit id in uw gemeente.",
        )
    return app.organisation_kvk, app.id


# --- commands --------------------------------------------------------------------------------


def grant_consent(uow: UnitOfWork, who: Principal, client_id: str, data: ConsentCreate) -> ConsentPublic:
    authorize(who, Action.GRANT_CONSENT)
    client = repository.client_for(uow.session, who, client_id)
    today = uow.clock.today()
    ensure_until_not_past(data.until, today)
    kvk, app_id = _partner_kvk(uow.session, who, data)
    consent = Consent(
        municipality=client.municipality,
        client_id=client.id,
        partner_kvk=kvk,
        partner_app_id=app_id,
        purpose=data.purpose.value,
        until=data.until,
        on_paper=not who.is_client_side(),
        granted_by=who.subject,
        granted_role=who.role.value,
        granted_at=uow.clock.now(),
    )
    uow.session.add(consent)
    audit.record_change(uow, who, client.id, audit.AuditAction.CREATE, new=audited_consent(consent))
    uow.commit()
    log.info("consent.granted", consent_id=consent.id, purpose=consent.purpose, on_paper=consent.on_paper)
    return consent_public(consent, today)


def withdraw_consent(uow: UnitOfWork, who: Principal, client_id: str, consent_id: str) -> ConsentPublic:
    """Effective at once: the partner's next request no longer finds the client through it."""
    authorize(who, Action.GRANT_CONSENT)
    client = repository.client_for(uow.session, who, client_id)
    consent = uow.session.exec(
        select(Consent).where(Consent.id == consent_id, Consent.client_id == client.id).with_for_update()
    ).first()
    if consent is None:
        raise NotFound("consent", "toestemming")
    if consent.withdrawn_at is not None:
        raise Conflict(
            "consent.already_withdrawn",
            "This consent was withdrawn already.",
            message_nl="Deze toestemming is al ingetrokken.",
        )
    before = audited_consent(consent)
    consent.withdrawn_at, consent.withdrawn_by = uow.clock.now(), who.subject
    uow.session.add(consent)
    audit.record_change(uow, who, client.id, audit.AuditAction.DELETE, old=before, new=audited_consent(consent))
    uow.commit()
    log.info("consent.withdrawn", consent_id=consent.id)
    return consent_public(consent, uow.clock.today())


def audited_consent(consent: Consent) -> dict[str, Any]:
    """A consent as the audit trail compares it (shared.audit.record_change): nothing personal in it."""
    fields = ("partner_kvk", "purpose", "until", "on_paper")
    return {
        "consent_id": consent.id,
        **{f"consent.{name}": getattr(consent, name) for name in fields},
        "consent.withdrawn": consent.withdrawn_at is not None,
    }


# --- queries ---------------------------------------------------------------------------------


def list_consents(
    session: Session, who: Principal, client_id: str, today: date, page: PageRequest
) -> Page[ConsentPublic]:
    authorize(who, Action.READ_CONSENTS)
    client = repository.client_for(session, who, client_id)
    query = select(Consent).where(Consent.client_id == client.id).order_by(col(Consent.granted_at), col(Consent.id))
    return page_of(session, query, page).map(lambda c: consent_public(c, today))


def _reach(session: Session, who: Principal, today: date, client_ids: list[str] | None = None) -> dict[str, set[str]]:
    """Per client the partner may see: the purposes of its active consents, and "plan_line" when an
    open plan names the partner's KvK as a provider. Checked on every read."""
    authorize(who, Action.READ_OWN_CLIENTS)
    require_scope(who, Scope.CLIENTS_READ_OWN)
    active_partner_app(session, who)
    kvk = who.organisation_kvk
    if kvk is None:
        return {}
    consents = select(Consent.client_id, Consent.purpose).where(
        Consent.municipality == who.municipality,
        Consent.partner_kvk == kvk,
        col(Consent.withdrawn_at).is_(None),
        or_(col(Consent.until).is_(None), col(Consent.until) >= today),
    )
    plans = select(Plan.client_id, Plan.content).where(
        Plan.municipality == who.municipality, col(Plan.status).in_(_OPEN_PLANS)
    )
    if client_ids is not None:
        consents = consents.where(col(Consent.client_id).in_(client_ids))
        plans = plans.where(col(Plan.client_id).in_(client_ids))
    reach: dict[str, set[str]] = {}
    for client_id, purpose in session.exec(consents).all():
        reach.setdefault(client_id, set()).add(purpose)
    for client_id, content in session.exec(plans).all():
        if plan_names_provider(content, kvk):
            reach.setdefault(client_id, set()).add(PLAN_LINE)
    return reach


def _partner_client(client: Client, purposes: set[str]) -> PartnerClientPublic:
    return PartnerClientPublic(
        id=client.id,
        client_number=client.client_number,
        name=client.name,
        email=client.email,
        phone=client.phone,
        language=client.language,
        purposes=sorted(purposes),
    )


def list_partner_clients(session: Session, who: Principal, today: date, page: PageRequest) -> Page[PartnerClientPublic]:
    """The clients who chose this partner, oldest first; never the municipality's other clients."""
    reach = _reach(session, who, today)
    query = (
        select(Client)
        .where(Client.municipality == who.municipality, col(Client.id).in_(sorted(reach)))
        .order_by(col(Client.created_at), col(Client.id))
    )
    return page_of(session, query, page).map(lambda c: _partner_client(c, reach[c.id]))


def get_partner_client(session: Session, who: Principal, client_id: str, today: date) -> PartnerClientPublic:
    reach = _reach(session, who, today, [client_id])
    client = session.get(Client, client_id) if client_id in reach else None
    if client is None or client.municipality != who.municipality:
        raise NotFound("client", "klant")
    return _partner_client(client, reach[client.id])
