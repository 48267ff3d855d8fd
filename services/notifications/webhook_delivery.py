"""Webhooks to partners, the moving parts: fan-out (an event becomes one delivery per matching
subscription) and the sending job (due deliveries POSTed, signed by the Standard Webhooks scheme,
every attempt recorded, retried with backoff and jitter, failed after the last, alerted, paused).

At least once: a delivery is claimed (its next attempt moved a lease ahead) and committed before
anything is sent, so two passes never send it at the same time; a pass that dies leaves it due
again when the lease ends. One slow partner cannot hold up the others: each pass sends at most
`webhook_per_subscription_per_pass` deliveries per subscription, the subscriptions in parallel,
each request under a short timeout.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
import structlog
from sqlmodel import col, select
from standardwebhooks import Webhook

from contracts.events import (
    InvoiceApprovedV1,
    InvoiceApprovedV2,
    InvoicePaidV1,
    InvoicePaidV2,
    InvoiceReceivedV1,
    InvoiceReceivedV2,
    InvoiceRejectedV1,
    InvoiceRejectedV2,
    OutcomeRegisteredV1,
    PlanApprovedV1,
    PlanApprovedV2,
    PlanRejectedV1,
    PlanReturnedV1,
    ProgressReportedV1,
    TrajectoryClosedV1,
)
from services.notifications.delivery import add_and_queue
from services.notifications.domain.messages import Message, RecipientKind
from services.notifications.domain.webhooks import (
    SHAPES,
    Resolver,
    RetryPolicy,
    SubscriptionStatus,
    WebhookDeliveryStatus,
    body_of,
    checked_addresses,
    cloud_event,
    pinned,
    sealing_key,
    unseal,
)
from services.notifications.models_webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription
from services.notifications.webhooks import PING, filter_of, requeue, resolve, unpause
from shared.bus.consumer import EventHandler, EventHandlers
from shared.config import Settings, get_settings
from shared.db import is_sqlite, transaction_memo
from shared.errors import Conflict, RuleBroken
from shared.events import Envelope, Payload
from shared.metrics import count_webhook
from shared.uow import UnitOfWork

log = structlog.get_logger("notifications.webhooks")

PARTNER_PAYLOADS: tuple[type[Payload], ...] = (
    PlanApprovedV1,
    PlanApprovedV2,
    PlanRejectedV1,
    PlanReturnedV1,
    TrajectoryClosedV1,
    ProgressReportedV1,
    OutcomeRegisteredV1,
    # Version 1 (still in flight from before) names no provider: only subscriptions that do not
    # ask for their own organisation's events get it. Version 2 names the provider.
    InvoiceReceivedV1,
    InvoiceApprovedV1,
    InvoiceRejectedV1,
    InvoicePaidV1,
    InvoiceReceivedV2,
    InvoiceApprovedV2,
    InvoiceRejectedV2,
    InvoicePaidV2,
)
BATCH = 500
WORKERS = 16  # subscriptions sent to at the same time in one pass
EXCERPT = 500
SEND_EVERY_SECONDS = 10.0


# --- fan-out ------------------------------------------------------------------------------------


def fan_out(uow: UnitOfWork, payload: Payload, event: Envelope) -> int:
    """One delivery per matching subscription (active or paused: a paused one keeps its queue);
    the unique (subscription, event) pair makes a redelivered event add nothing."""
    if event.type not in SHAPES:
        return 0
    data = payload.model_dump(mode="json")
    known = transaction_memo(uow.session, "webhook_subscriptions")  # a batch's events share one read
    if event.tenant not in known:
        known[event.tenant] = uow.session.exec(
            select(WebhookSubscription).where(
                WebhookSubscription.municipality == event.tenant,
                col(WebhookSubscription.status).in_([SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED]),
            )
        ).all()
    subscriptions = known[event.tenant]
    matching = [s for s in subscriptions if filter_of(s).matches(event.type, event.tenant, data)]
    if not matching:
        return 0
    event_id = str(event.event_id)
    already = set(
        uow.session.exec(
            select(WebhookDelivery.subscription_id).where(
                WebhookDelivery.event_id == event_id,
                col(WebhookDelivery.subscription_id).in_([s.id for s in matching]),
            )
        ).all()
    )
    body = body_of(
        cloud_event(
            event_id=event_id, event_type=event.type, tenant=event.tenant, occurred_at=event.occurred_at, payload=data
        )
    )
    now = uow.clock.now()
    made = 0
    for subscription in matching:
        if subscription.id in already:
            continue
        uow.session.add(
            WebhookDelivery(
                id=str(uuid.uuid4()),
                subscription_id=subscription.id,
                municipality=event.tenant,
                event_id=event_id,
                event_type=event.type,
                body=body,
                status=WebhookDeliveryStatus.PENDING,
                next_attempt_at=now,
                round_started_at=now,
                created_at=now,
            )
        )
        made += 1
    return made


def _also_fan_out(handler: EventHandler | None) -> EventHandler:
    def handle(uow: UnitOfWork, payload: Payload, event: Envelope) -> None:
        if handler is not None:
            handler(uow, payload, event)
        fan_out(uow, payload, event)

    return handle


def with_fan_out(handlers: EventHandlers) -> EventHandlers:
    """The service's handler table, where every event type a partner may subscribe to also fans out
    to webhook deliveries (in the same transaction as the message and the inbox row)."""
    combined = dict(handlers)
    for payload_type in PARTNER_PAYLOADS:
        combined[payload_type] = _also_fan_out(handlers.get(payload_type))
    return combined


# --- sending ------------------------------------------------------------------------------------


@dataclass
class Sent:
    delivery_id: str
    subscription_id: str
    status_code: int | None
    latency_ms: int
    error: str | None
    excerpt: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class _Job:
    delivery_id: str
    subscription_id: str
    url: str
    secret: str
    body: str


def policy_of(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        base_seconds=settings.webhook_retry_base_seconds,
        horizon_seconds=settings.webhook_retry_horizon_seconds,
    )


def _claim(uow: UnitOfWork, settings: Settings, now: datetime) -> list[tuple[WebhookDelivery, WebhookSubscription]]:
    """The due deliveries of active subscriptions, at most so many per subscription, locked and moved
    a lease ahead (committed), so no other pass takes them meanwhile."""
    ranked = (
        sa.select(
            col(WebhookDelivery.id).label("id"),
            sa.func.row_number()
            .over(
                partition_by=col(WebhookDelivery.subscription_id),
                order_by=(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id)),
            )
            .label("n"),
        )
        .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
        .where(
            col(WebhookDelivery.status) == WebhookDeliveryStatus.PENDING,
            col(WebhookDelivery.next_attempt_at) <= now,
            col(WebhookSubscription.status) == SubscriptionStatus.ACTIVE,
        )
        .subquery()
    )
    chosen = sa.select(ranked.c.id).where(ranked.c.n <= settings.webhook_per_subscription_per_pass)
    query = (
        select(WebhookDelivery)
        .where(
            col(WebhookDelivery.id).in_(chosen),
            WebhookDelivery.status == WebhookDeliveryStatus.PENDING,
            col(WebhookDelivery.next_attempt_at) <= now,
        )
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(BATCH)
    )
    if not is_sqlite(uow.engine):
        query = query.with_for_update(skip_locked=True)
    deliveries = list(uow.session.exec(query).all())
    # Longer than the pass can take: rounds of WORKERS subscriptions, each sending its deliveries one
    # after the other, each request bounded by connect, write and read timeouts.
    rounds = -(-len({d.subscription_id for d in deliveries}) // WORKERS)
    per_request = 3 * settings.webhook_timeout_seconds
    lease = timedelta(seconds=per_request * settings.webhook_per_subscription_per_pass * max(rounds, 1) + 60)
    subscriptions = {
        s.id: s
        for s in uow.session.exec(
            select(WebhookSubscription).where(col(WebhookSubscription.id).in_({d.subscription_id for d in deliveries}))
        ).all()
    }
    for delivery in deliveries:
        delivery.next_attempt_at = now + lease
        uow.session.add(delivery)
    uow.commit()
    return [(d, subscriptions[d.subscription_id]) for d in deliveries]


def _post(client: httpx.Client, job: _Job, environment: str, resolve_host: Resolver, at: datetime) -> Sent:
    started = time.perf_counter()

    def sent(status_code: int | None = None, error: str | None = None, excerpt: str | None = None) -> Sent:
        latency = int((time.perf_counter() - started) * 1000)
        return Sent(job.delivery_id, job.subscription_id, status_code, latency, error and error[:EXCERPT], excerpt)

    try:
        addresses = checked_addresses(job.url, environment, resolve_host)  # again at send time: DNS can change
    except RuleBroken as refused:
        return sent(error=f"refused: {refused.message}")
    url, extensions, pinned_host = job.url, {}, {}
    if addresses:  # acceptance and production: connect to the address just checked
        url, host = pinned(job.url, addresses[0])
        pinned_host = {"host": host}
        extensions = {"sni_hostname": urlsplit(job.url).hostname or ""}
    signature = Webhook(job.secret).sign(job.delivery_id, at, job.body)
    headers = {
        "content-type": "application/cloudevents+json",
        "webhook-id": job.delivery_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "user-agent": "eigenregie-webhooks/1",
        **pinned_host,
    }
    try:
        with client.stream("POST", url, content=job.body.encode(), headers=headers, extensions=extensions) as response:
            read = b""
            for chunk in response.iter_bytes():
                read += chunk
                if len(read) >= EXCERPT:
                    break
            return sent(response.status_code, excerpt=read[:EXCERPT].decode("utf-8", "replace") or None)
    except httpx.HTTPError as exc:
        return sent(error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _send_group(
    client: httpx.Client, jobs: list[_Job], environment: str, resolve_host: Resolver, at: datetime
) -> list[Sent]:
    """One subscription's deliveries one after the other; after one without an answer (a timeout, a
    refused connection) the rest wait for the next pass: an endpoint that is down or slow costs one
    timeout per pass, not a queue of them, and holds up nobody's next pass."""
    results = []
    for job in jobs:
        results.append(_post(client, job, environment, resolve_host, at))
        if results[-1].status_code is None:
            break
    return results


def send_due(
    uow: UnitOfWork,
    settings: Settings,
    *,
    resolve_host: Resolver = resolve,
    draw: Callable[[], float] = random.random,
) -> int:
    """One pass: claim what is due, send it (subscriptions in parallel), record every attempt and
    what follows from it. Answers how many attempts were made."""
    now = uow.clock.now()
    claimed = _claim(uow, settings, now)
    if not claimed:
        return 0
    key = sealing_key(settings.jwt_secret)
    secrets: dict[str, str] = {}
    groups: dict[str, list[_Job]] = {}
    for delivery, subscription in claimed:
        if subscription.id not in secrets:
            secrets[subscription.id] = unseal(subscription.secret_sealed, key)
        groups.setdefault(subscription.id, []).append(
            _Job(delivery.id, subscription.id, subscription.callback_url, secrets[subscription.id], delivery.body)
        )
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    with (
        httpx.Client(timeout=timeout, follow_redirects=False) as client,
        ThreadPoolExecutor(max_workers=min(WORKERS, len(groups)), thread_name_prefix="webhooks") as pool,
    ):
        futures = [
            pool.submit(_send_group, client, jobs, settings.environment, resolve_host, now) for jobs in groups.values()
        ]
        results = [sent for future in futures for sent in future.result()]
    by_id = {d.id: (d, s) for d, s in claimed}
    policy = policy_of(settings)
    at = uow.clock.now()
    for sent in results:
        delivery, subscription = by_id.pop(sent.delivery_id)
        _record(uow, settings, policy, delivery, subscription, sent, at, draw)
    for delivery, _subscription in by_id.values():  # not sent: due again (their lease ends now)
        delivery.next_attempt_at = at
        uow.session.add(delivery)
    uow.commit()
    return len(results)


def _record(
    uow: UnitOfWork,
    settings: Settings,
    policy: RetryPolicy,
    delivery: WebhookDelivery,
    subscription: WebhookSubscription,
    sent: Sent,
    at: datetime,
    draw: Callable[[], float],
) -> None:
    number = uow.session.exec(
        select(sa.func.count()).select_from(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
    ).one()
    uow.session.add(
        WebhookAttempt(
            id=str(uuid.uuid4()),
            delivery_id=delivery.id,
            number=int(number) + 1,
            at=at,
            status_code=sent.status_code,
            latency_ms=sent.latency_ms,
            error=sent.error if not sent.ok else None,
            response_excerpt=sent.excerpt,
        )
    )
    delivery.attempts += 1
    count_webhook("delivered" if sent.ok else "failed")
    if sent.ok:
        delivery.status = WebhookDeliveryStatus.DELIVERED
        delivery.delivered_at = at
        delivery.next_attempt_at = None
        if delivery.event_type != PING:
            subscription.consecutive_failures = 0
    else:
        retry = (
            None
            if delivery.event_type == PING
            else policy.next_attempt(delivery.attempts, draw(), delivery.round_started_at, at)
        )
        if retry is not None:
            delivery.next_attempt_at = retry
        else:
            delivery.status = WebhookDeliveryStatus.FAILED
            delivery.failed_at = at
            delivery.next_attempt_at = None
            count_webhook("gave_up")
            if delivery.event_type != PING:
                _failed_for_good(uow, settings, delivery, subscription, at)
    log.info(
        "webhook_attempt",
        delivery_id=delivery.id,
        subscription_id=subscription.id,
        status_code=sent.status_code,
        latency_ms=sent.latency_ms,
        outcome=str(delivery.status),
    )
    uow.session.add(delivery)
    uow.session.add(subscription)


def _failed_for_good(
    uow: UnitOfWork, settings: Settings, delivery: WebhookDelivery, subscription: WebhookSubscription, at: datetime
) -> None:
    """The last attempt failed: one failure more in a row (paused at the limit) and an alert to the
    municipality's operators (in the app, and by e-mail to the ops mailbox) and to the subscription's
    owner (in their app inbox), naming the subscription, never the event's content."""
    subscription.consecutive_failures += 1
    paused = (
        subscription.status == SubscriptionStatus.ACTIVE
        and subscription.consecutive_failures >= settings.webhook_pause_after_failed_deliveries
    )
    if paused:
        subscription.status = SubscriptionStatus.PAUSED
        subscription.paused_at = at
    rounds = uow.session.exec(
        select(sa.func.count()).select_from(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id)
    ).one()
    params = {
        "subscription_id": subscription.id,
        "delivery_id": delivery.id,
        "event_type": delivery.event_type,
        "attempts": delivery.attempts,
        "owner": subscription.owner_subject,
        "paused": subscription.status == SubscriptionStatus.PAUSED,
    }
    # once per failed round: a replay that fails again alerts again
    cause = str(uuid.uuid5(uuid.NAMESPACE_URL, f"webhook:{delivery.id}:{int(rounds) + 1}"))
    for kind, template, ref in (
        (RecipientKind.OPS, "webhook_delivery_failed", None),
        (RecipientKind.PARTNER, "webhook_delivery_failed_owner", subscription.owner_subject),
    ):
        alert = Message.about(
            message_id=str(uuid.uuid4()),
            municipality=subscription.municipality,
            template=template,
            client_id=None,
            recipient_kind=kind,
            params=params,
            cause_event_id=cause,
            at=at,
            recipient_ref=ref,
        )
        add_and_queue(uow, alert)


def send_due_job(uow: UnitOfWork) -> int:
    """The periodic job (every SEND_EVERY_SECONDS): one pass with the process's settings."""
    return send_due(uow, get_settings())


# --- ops ----------------------------------------------------------------------------------------


def failing_subscriptions(uow: UnitOfWork) -> list[WebhookSubscription]:
    """Every municipality's paused subscriptions and those with failed deliveries in a row (the ops CLI)."""
    return list(
        uow.session.exec(
            select(WebhookSubscription)
            .where(
                WebhookSubscription.status != SubscriptionStatus.DELETED,
                sa.or_(
                    col(WebhookSubscription.status) == SubscriptionStatus.PAUSED,
                    col(WebhookSubscription.consecutive_failures) > 0,
                ),
            )
            .order_by(col(WebhookSubscription.municipality), col(WebhookSubscription.created_at))
        ).all()
    )


def ops_command(uow: UnitOfWork, command: str, target: str | None) -> str:
    """`prb webhooks failing | replay <delivery_id> | resume <subscription_id>`: the answer to print."""
    if command == "failing":
        rows = failing_subscriptions(uow)
        if not rows:
            return "no failing subscriptions"
        lines = [f"{'id':36}  {'mun.':4}  {'status':7}  {'failed':6}  {'owner':24}  url"]
        lines += [
            f"{r.id:36}  {r.municipality:4}  {r.status:7}  {r.consecutive_failures:6}  {r.owner_subject[:24]:24}  "
            f"{r.callback_url}"
            for r in rows
        ]
        return "\n".join(lines)
    if command == "replay":
        delivery = uow.session.get(WebhookDelivery, target)
        if delivery is None:
            raise LookupError(f"no delivery {target}")
        try:
            requeue(uow, delivery)
        except Conflict as exc:
            raise LookupError(exc.message) from None
        return f"replayed {delivery.id}: {delivery.event_type} to subscription {delivery.subscription_id}"
    if command == "resume":
        subscription = uow.session.get(WebhookSubscription, target)
        if subscription is None or subscription.status == SubscriptionStatus.DELETED:
            raise LookupError(f"no subscription {target}")
        unpause(uow, subscription)
        return f"resumed {subscription.id}"
    raise LookupError(f"unknown command {command}")
