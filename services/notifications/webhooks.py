"""Webhooks to partners, the commands and queries: register, list, read and delete a subscription,
a test ping, the delivery log, replay and resume. Fan-out and sending: webhook_delivery.py. Rules:
domain/webhooks.py.

Who: a partner application (for now a token with role `partner`, or `provider` with its
`provider_id`) manages its own subscriptions; ops sees every subscription of its municipality,
replays and resumes. Another caller's subscription answers 404.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from services.notifications.domain.webhooks import (
    Filter,
    SubscriptionStatus,
    WebhookDeliveryStatus,
    body_of,
    check_event_types,
    check_url,
    new_secret,
    ping_event,
    seal,
    sealing_key,
)
from services.notifications.models_webhooks import (
    WebhookAttempt,
    WebhookAttemptPublic,
    WebhookDelivery,
    WebhookDeliveryPublic,
    WebhookSubscription,
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionPublic,
)
from services.notifications.permissions import Action, authorize
from shared.auth import Principal, Role
from shared.config import Settings
from shared.errors import Conflict, NotFound
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

PING = "Ping"


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name has now (IPv4 and IPv6)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def filter_of(row: WebhookSubscription) -> Filter:
    return Filter(
        municipality=row.municipality,
        event_types=tuple(row.event_types),
        scheme=row.scheme,
        provider_id=row.provider_id,
        own_organisation_only=row.own_organisation_only,
    )


def public(row: WebhookSubscription) -> WebhookSubscriptionPublic:
    return WebhookSubscriptionPublic(
        id=row.id,
        callback_url=row.callback_url,
        event_types=list(row.event_types),
        scheme=row.scheme,
        provider_id=row.provider_id,
        own_organisation_only=row.own_organisation_only,
        status=row.status,
        consecutive_failures=row.consecutive_failures,
        created_at=row.created_at,
        paused_at=row.paused_at,
    )


def _visible(session: Session, who: Principal, subscription_id: str) -> WebhookSubscription:
    """The subscription if the caller may see it: its owner, or ops of its municipality."""
    authorize(who, Action.OPERATE_WEBHOOKS)
    row = session.get(WebhookSubscription, subscription_id)
    if (
        row is None
        or row.status == SubscriptionStatus.DELETED
        or row.municipality != who.municipality
        or (who.role != Role.OPS and row.owner_subject != who.subject)
    ):
        raise NotFound("webhook subscription", "webhook-abonnement")
    return row


def _refuse_a_twin(session: Session, who: Principal, url: str, event_types: Sequence[str], scheme: str | None) -> None:
    """A retried POST (its answer lost) must not make a second subscription that doubles every
    delivery: the same owner, URL, event types and scheme is a 409 naming the one there is."""
    rows = session.exec(
        select(WebhookSubscription).where(
            WebhookSubscription.municipality == who.municipality,
            WebhookSubscription.owner_subject == who.subject,
            WebhookSubscription.callback_url == url,
            WebhookSubscription.status != SubscriptionStatus.DELETED,
        )
    ).all()
    for row in rows:
        if set(row.event_types) == set(event_types) and row.scheme == scheme:
            raise Conflict(
                "webhook.duplicate",
                f"You already have this subscription ({row.id}). Delete it first to get a new secret.",
                message_nl=f"U heeft dit abonnement al ({row.id}). Verwijder het eerst voor een nieuw geheim.",
            )


def create_subscription(
    uow: UnitOfWork, who: Principal, data: WebhookSubscriptionCreate, settings: Settings
) -> WebhookSubscriptionCreated:
    """Register a callback URL; the signing secret is made here and shown once."""
    authorize(who, Action.MANAGE_WEBHOOKS)
    event_types = check_event_types(who.role, data.event_types)
    url = check_url(data.callback_url, settings.environment, resolve)
    _refuse_a_twin(uow.session, who, url, event_types, data.scheme)
    secret = new_secret()
    row = WebhookSubscription(
        id=str(uuid.uuid4()),
        municipality=who.municipality,
        owner_subject=who.subject,
        owner_role=who.role.value,
        provider_id=who.provider_id,
        callback_url=url,
        event_types=event_types,
        scheme=data.scheme,
        own_organisation_only=who.role == Role.PROVIDER,
        secret_sealed=seal(secret, sealing_key(settings.jwt_secret)),
        status=SubscriptionStatus.ACTIVE,
        created_at=uow.clock.now(),
    )
    uow.session.add(row)
    uow.commit()
    return WebhookSubscriptionCreated(**public(row).model_dump(), secret=secret)


def list_subscriptions(
    session: Session, who: Principal, page: PageRequest, *, failing: bool = False
) -> Page[WebhookSubscriptionPublic]:
    """A partner's own subscriptions; ops: all of the municipality's. `failing`: paused, or with
    failed deliveries in a row."""
    authorize(who, Action.OPERATE_WEBHOOKS)
    query = select(WebhookSubscription).where(
        WebhookSubscription.municipality == who.municipality,
        WebhookSubscription.status != SubscriptionStatus.DELETED,
    )
    if who.role != Role.OPS:
        query = query.where(WebhookSubscription.owner_subject == who.subject)
    if failing:
        query = query.where(
            or_(
                col(WebhookSubscription.status) == SubscriptionStatus.PAUSED,
                col(WebhookSubscription.consecutive_failures) > 0,
            )
        )
    query = query.order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
    return page_of(session, query, page).map(public)


def get_subscription(session: Session, who: Principal, subscription_id: str) -> WebhookSubscriptionPublic:
    return public(_visible(session, who, subscription_id))


def delete_subscription(uow: UnitOfWork, who: Principal, subscription_id: str) -> None:
    """Nothing more is delivered; the row and its attempt log stay for the record."""
    row = _visible(uow.session, who, subscription_id)
    row.status = SubscriptionStatus.DELETED
    uow.session.add(row)
    uow.commit()


def end_subscriptions_of_revoked_app(uow: UnitOfWork, municipality: str, partner_app_id: str) -> int:
    """A revoked partner application gets nothing more: its subscriptions end as if it deleted them
    (the rows and attempt logs stay; deliveries still waiting are not sent). In the caller's unit of work."""
    ended = uow.session.execute(
        sa.update(WebhookSubscription)
        .where(
            col(WebhookSubscription.municipality) == municipality,
            col(WebhookSubscription.owner_subject) == partner_app_id,
            col(WebhookSubscription.owner_role) == Role.PARTNER.value,
            col(WebhookSubscription.status) != SubscriptionStatus.DELETED,
        )
        .values(status=SubscriptionStatus.DELETED)
    )
    return int(getattr(ended, "rowcount", 0) or 0)


def ping(uow: UnitOfWork, who: Principal, subscription_id: str) -> WebhookDeliveryPublic:
    """A test delivery (`nl.eigenregie.Ping`), sent by the next pass of the sending job, signed and
    logged like any other."""
    row = _visible(uow.session, who, subscription_id)
    now = uow.clock.now()
    event_id = str(uuid.uuid4())
    delivery = WebhookDelivery(
        id=str(uuid.uuid4()),
        subscription_id=row.id,
        municipality=row.municipality,
        event_id=event_id,
        event_type=PING,
        body=body_of(ping_event(event_id=event_id, subscription_id=row.id, tenant=row.municipality, at=now)),
        status=WebhookDeliveryStatus.PENDING,
        next_attempt_at=now,
        round_started_at=now,
        created_at=now,
    )
    uow.session.add(delivery)
    uow.commit()
    return delivery_public(delivery, [])


def resume(uow: UnitOfWork, who: Principal, subscription_id: str) -> WebhookSubscriptionPublic:
    """A paused subscription takes deliveries again (what waited goes out in the next pass)."""
    return unpause(uow, _visible(uow.session, who, subscription_id))


def unpause(uow: UnitOfWork, row: WebhookSubscription) -> WebhookSubscriptionPublic:
    row.status = SubscriptionStatus.ACTIVE
    row.consecutive_failures = 0
    row.paused_at = None
    uow.session.add(row)
    uow.commit()
    return public(row)


def replay(uow: UnitOfWork, who: Principal, delivery_id: str) -> WebhookDeliveryPublic:
    """A failed delivery is queued again: a new round of attempts, the same body and `webhook-id`."""
    delivery = uow.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("webhook delivery", "webhook-bezorging")
    _visible(uow.session, who, delivery.subscription_id)
    return requeue(uow, delivery)


def requeue(uow: UnitOfWork, delivery: WebhookDelivery) -> WebhookDeliveryPublic:
    if delivery.status != WebhookDeliveryStatus.FAILED:
        raise Conflict(
            "webhook.replay_not_failed",
            f"Only a failed delivery can be replayed; this one is {delivery.status}.",
            "delivery_id",
            message_nl=f"Alleen een mislukte bezorging kan opnieuw; deze is {delivery.status}.",
        )
    now = uow.clock.now()
    delivery.status = WebhookDeliveryStatus.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.round_started_at = now
    delivery.failed_at = None
    uow.session.add(delivery)
    uow.commit()
    return delivery_public(delivery, attempts_of(uow.session, [delivery.id]).get(delivery.id, []))


def attempts_of(session: Session, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttemptPublic]]:
    rows = session.exec(
        select(WebhookAttempt)
        .where(col(WebhookAttempt.delivery_id).in_(list(delivery_ids)))
        .order_by(col(WebhookAttempt.delivery_id), col(WebhookAttempt.number))
    ).all()
    found: dict[str, list[WebhookAttemptPublic]] = {}
    for a in rows:
        found.setdefault(a.delivery_id, []).append(
            WebhookAttemptPublic(
                number=a.number,
                at=a.at,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                error=a.error,
                response_excerpt=a.response_excerpt,
            )
        )
    return found


def delivery_public(row: WebhookDelivery, attempts: list[WebhookAttemptPublic]) -> WebhookDeliveryPublic:
    return WebhookDeliveryPublic(
        id=row.id,
        subscription_id=row.subscription_id,
        event_id=row.event_id,
        event_type=row.event_type,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        failed_at=row.failed_at,
        attempt_log=attempts,
    )


def list_deliveries(
    session: Session,
    who: Principal,
    subscription_id: str,
    page: PageRequest,
    *,
    status: WebhookDeliveryStatus | None = None,
) -> Page[WebhookDeliveryPublic]:
    """The subscription's deliveries, newest first, each with its attempt log."""
    _visible(session, who, subscription_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    query = query.order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
    rows = page_of(session, query, page)
    attempts = attempts_of(session, [r.id for r in rows.items])
    return rows.map(lambda r: delivery_public(r, attempts.get(r.id, [])))
