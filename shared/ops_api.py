"""A small HTTP API for operators (role `ops`): the event bus of the services this process runs.

The same facts as `prb events dead-letters` and `prb events replay` and the outbox check of
/readyz, for the ops pages: per service the outbox backlog and its oldest waiting event, and the
dead letters of the caller's municipality (the event's `tenant`), with a replay. Never an
envelope or payload (events name clients): id, service, type, reason, tries and times only.
Mounted on the root app at /ops/v1 (shared.web.create_app)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from shared.access import require_one_of
from shared.auth import CurrentPrincipal, Principal, Role
from shared.bus.dead_letters import DeadLetter, DeadLetterNotFound, list_dead_letters, replay_dead_letter
from shared.bus.relay import Publisher, oldest_unpublished, pending_count, undelivered_count
from shared.errors import Conflict, NotFound
from shared.runtime import Runtime

router = APIRouter(tags=["ops"])
OPS_ROLES = (Role.OPS,)
LetterId = Annotated[str, Path(max_length=36)]


class OutboxState(BaseModel):
    service: str
    unpublished: int
    undelivered: int
    oldest_unpublished_at: datetime | None
    oldest_unpublished_age_seconds: int | None


class DeadLetterPublic(BaseModel):
    id: str
    service: str
    event_id: str | None
    event_type: str | None
    reason: str
    attempts: int
    created_at: datetime
    replayed_at: datetime | None


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _tenant_of(letter: DeadLetter) -> str | None:
    try:
        tenant = json.loads(letter.envelope).get("tenant")
    except (ValueError, AttributeError):
        return None
    return tenant if isinstance(tenant, str) else None


def _public(letter: DeadLetter) -> DeadLetterPublic:
    return DeadLetterPublic(
        id=letter.id,
        service=letter.service,
        event_id=letter.event_id,
        event_type=letter.event_type,
        reason=letter.reason[:500],
        attempts=letter.attempts,
        created_at=letter.created_at,
        replayed_at=letter.replayed_at,
    )


def _own_letters(runtime: Runtime, who: Principal, *, include_replayed: bool) -> list[DeadLetter]:
    found: list[DeadLetter] = []
    for service in runtime.service_names:
        found.extend(
            letter
            for letter in list_dead_letters(runtime.engine, service=service, include_replayed=include_replayed)
            if _tenant_of(letter) == who.municipality
        )
    return sorted(found, key=lambda letter: letter.created_at)


def _publisher(runtime: Runtime) -> Publisher:
    settings = runtime.settings
    if settings.embedded:
        from shared.bus.embedded import InProcessPublisher

        return InProcessPublisher(
            runtime.engine, runtime.handlers_by_service(), max_attempts=settings.event_max_attempts, clock=runtime.clock
        )
    from shared.bus.celery_app import CeleryPublisher, make_celery

    return CeleryPublisher(make_celery(settings))


@router.get("/outbox", response_model=list[OutboxState], summary="The outbox backlog per service")
def outbox(request: Request, who: CurrentPrincipal) -> list[OutboxState]:
    """Per service of this process: events not yet published (the relay's backlog), events some
    subscriber has not recorded yet, and when the oldest unpublished one was written (its age in
    seconds). /readyz says "not ready" when that age passes `ready_outbox_max_age_seconds`."""
    require_one_of(who, OPS_ROLES)
    runtime = _runtime(request)
    now = datetime.now(UTC)
    states: list[OutboxState] = []
    for service in runtime.service_names:
        oldest = oldest_unpublished(runtime.engine, service)
        states.append(
            OutboxState(
                service=service,
                unpublished=pending_count(runtime.engine, service),
                undelivered=undelivered_count(runtime.engine, service),
                oldest_unpublished_at=oldest,
                oldest_unpublished_age_seconds=int((now - oldest).total_seconds()) if oldest else None,
            )
        )
    return states


@router.get("/dead-letters", response_model=list[DeadLetterPublic], summary="List dead letters")
def dead_letters(
    request: Request,
    who: CurrentPrincipal,
    include_replayed: Annotated[bool, Query(description="Also the ones already replayed.")] = False,
) -> list[DeadLetterPublic]:
    """The events of the caller's municipality that a service gave up on, oldest first (at most
    500): id, service, event type, reason, tries, when; never the envelope."""
    require_one_of(who, OPS_ROLES)
    letters = _own_letters(_runtime(request), who, include_replayed=include_replayed)
    return [_public(letter) for letter in letters[:500]]


@router.post(
    "/dead-letters/{letter_id}/replay",
    status_code=202,
    response_model=DeadLetterPublic,
    summary="Replay a dead letter",
)
def replay(request: Request, who: CurrentPrincipal, letter_id: LetterId) -> DeadLetterPublic:
    """Send the event to the service that gave up on it again (as `prb events replay`); a new
    failure makes a new dead letter. Another municipality's or an unknown id: `404`; already
    replayed: `409` `dead_letter.replayed`."""
    require_one_of(who, OPS_ROLES)
    runtime = _runtime(request)
    letter = next(
        (x for x in _own_letters(runtime, who, include_replayed=True) if x.id == letter_id),
        None,
    )
    if letter is None:
        raise NotFound("dead letter", "dode brief")
    if letter.replayed_at is not None:
        raise Conflict(
            "dead_letter.replayed",
            f"This dead letter was already replayed at {letter.replayed_at:%Y-%m-%d %H:%M}.",
            message_nl=f"Deze dode brief is al opnieuw verstuurd op {letter.replayed_at:%d-%m-%Y %H:%M}.",
        )
    try:
        recheck = runtime.settings.redeliver_after_seconds
        replay_dead_letter(runtime.engine, letter_id, _publisher(runtime), recheck_after_seconds=recheck)
    except DeadLetterNotFound as exc:
        raise Conflict("dead_letter.not_replayable", str(exc)) from None
    answer: dict[str, Any] = _public(letter).model_dump()
    answer["replayed_at"] = datetime.now(UTC)
    return DeadLetterPublic(**answer)
