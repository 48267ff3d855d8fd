"""Notifications HTTP routes for webhooks: parse, authorise, call a command or a query. No rules here
(domain/webhooks.py; commands and queries in webhooks.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from services.notifications import webhooks
from services.notifications.domain.webhooks import WebhookDeliveryStatus
from services.notifications.models_webhooks import (
    WebhookDeliveryPublic,
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionPublic,
)
from shared.access import Scope, scope_required
from shared.auth import CurrentPrincipal
from shared.config import Settings
from shared.deps import SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

# A partner application's token needs the scope webhooks:manage here (staff, ops and provider
# tokens are held to their role alone).
router = APIRouter(dependencies=[Depends(scope_required(Scope.WEBHOOKS_MANAGE))])
Uow = Annotated[UnitOfWork, Depends(uow_dependency("notifications"))]
SubscriptionId = Annotated[str, Path(max_length=36)]
DeliveryId = Annotated[str, Path(max_length=36)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


@router.post(
    "/webhooks/subscriptions",
    status_code=201,
    response_model=WebhookSubscriptionCreated,
    tags=["webhooks"],
    summary="Subscribe a callback URL",
)
def create_subscription(
    data: WebhookSubscriptionCreate, who: CurrentPrincipal, uow: Uow, settings: SettingsDep
) -> WebhookSubscriptionCreated:
    """A partner application (role `partner`, or `provider` with its provider id) registers a callback
    URL for event types of its role's allow-list, in its own municipality; a provider receives only
    events that name its own provider id; `scheme` keeps only events of one scheme. The answer holds
    the signing secret, once. Refused (422, field `url`): not https outside dev and test, or (in
    acceptance and production) a host that resolves to a private, loopback, link-local or multicast
    address."""
    return webhooks.create_subscription(uow, who, data, settings)


@router.get(
    "/webhooks/subscriptions",
    response_model=list[WebhookSubscriptionPublic],
    responses=PAGED,
    tags=["webhooks"],
    summary="List subscriptions",
)
def list_subscriptions(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    failing: Annotated[bool, Query(description="Only paused ones and those with failed deliveries in a row.")] = False,
) -> list[WebhookSubscriptionPublic]:
    """A partner's own subscriptions; ops: every subscription of its municipality."""
    return page_answer(webhooks.list_subscriptions(session, who, page, failing=failing), response)


@router.get(
    "/webhooks/subscriptions/{subscription_id}",
    response_model=WebhookSubscriptionPublic,
    tags=["webhooks"],
    summary="Read a subscription",
)
def get_subscription(
    subscription_id: SubscriptionId, who: CurrentPrincipal, session: SessionDep
) -> WebhookSubscriptionPublic:
    """Its filters, status (active, paused) and failed deliveries in a row; never the secret."""
    return webhooks.get_subscription(session, who, subscription_id)


@router.delete(
    "/webhooks/subscriptions/{subscription_id}", status_code=204, tags=["webhooks"], summary="Delete a subscription"
)
def delete_subscription(subscription_id: SubscriptionId, who: CurrentPrincipal, uow: Uow) -> Response:
    """Nothing more is delivered; the attempt log stays."""
    webhooks.delete_subscription(uow, who, subscription_id)
    return Response(status_code=204)


@router.post(
    "/webhooks/subscriptions/{subscription_id}/ping",
    status_code=202,
    response_model=WebhookDeliveryPublic,
    tags=["webhooks"],
    summary="Send a test delivery",
)
def ping(subscription_id: SubscriptionId, who: CurrentPrincipal, uow: Uow) -> WebhookDeliveryPublic:
    """Queues a `nl.eigenregie.Ping` CloudEvent, signed like every delivery, sent by the next pass
    of the sending job (one attempt; read the outcome in the delivery log)."""
    return webhooks.ping(uow, who, subscription_id)


@router.get(
    "/webhooks/subscriptions/{subscription_id}/deliveries",
    response_model=list[WebhookDeliveryPublic],
    responses=PAGED,
    tags=["webhooks"],
    summary="The delivery log",
)
def list_deliveries(
    subscription_id: SubscriptionId,
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    status: Annotated[WebhookDeliveryStatus | None, Query(description="pending, delivered or failed.")] = None,
) -> list[WebhookDeliveryPublic]:
    """Deliveries, newest first, each with every attempt: status code, latency, error, the first 500
    characters of the answer."""
    return page_answer(webhooks.list_deliveries(session, who, subscription_id, page, status=status), response)


@router.post(
    "/webhooks/deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=WebhookDeliveryPublic,
    tags=["webhooks"],
    summary="Replay a failed delivery",
)
def replay(delivery_id: DeliveryId, who: CurrentPrincipal, uow: Uow) -> WebhookDeliveryPublic:
    """A failed delivery is queued again (a new round of attempts, the same body and `webhook-id`);
    409 `webhook.replay_not_failed` for one that is not failed."""
    return webhooks.replay(uow, who, delivery_id)


@router.post(
    "/webhooks/subscriptions/{subscription_id}/resume",
    response_model=WebhookSubscriptionPublic,
    tags=["webhooks"],
    summary="Resume a paused subscription",
)
def resume(subscription_id: SubscriptionId, who: CurrentPrincipal, uow: Uow) -> WebhookSubscriptionPublic:
    """What waited goes out in the next pass; the count of failures in a row starts again."""
    return webhooks.resume(uow, who, subscription_id)
