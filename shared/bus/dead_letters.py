"""Operations on dead letters: list them, and replay one to the service that gave up on it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.bus.relay import Publisher
from shared.bus.routing import routing, services
from shared.bus.tables import bus_tables


@dataclass(frozen=True)
class DeadLetter:
    id: str
    service: str
    event_id: str | None
    event_type: str | None
    reason: str
    attempts: int
    created_at: datetime
    replayed_at: datetime | None
    envelope: str


class DeadLetterNotFound(LookupError):
    pass


def list_dead_letters(
    engine: Engine, *, service: str | None = None, include_replayed: bool = False
) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    with engine.connect() as conn:
        for name in (service,) if service else services():
            table = bus_tables(name).dead_letter
            query = sa.select(table).order_by(table.c.created_at)
            if not include_replayed:
                query = query.where(table.c.replayed_at.is_(None))
            letters.extend(DeadLetter(service=name, **row._mapping) for row in conn.execute(query))
    return sorted(letters, key=lambda letter: letter.created_at)


def find_dead_letter(engine: Engine, letter_id: str) -> DeadLetter:
    with engine.connect() as conn:
        for name in services():
            table = bus_tables(name).dead_letter
            row = conn.execute(sa.select(table).where(table.c.id == letter_id)).first()
            if row:
                return DeadLetter(service=name, **row._mapping)
    raise DeadLetterNotFound(f"no dead letter with id {letter_id}")


def replay_dead_letter(
    engine: Engine, letter_id: str, publisher: Publisher, *, recheck_after_seconds: float = 60.0
) -> DeadLetter:
    """Send the event to its service again; a second failure makes a new dead letter.

    The producer's outbox row is watched again by the delivery sweeper, so a replay that the
    broker loses is published once more, like any other event."""
    letter = find_dead_letter(engine, letter_id)
    if letter.replayed_at is not None:
        raise DeadLetterNotFound(f"dead letter {letter_id} was already replayed at {letter.replayed_at}")
    if letter.event_type is None or letter.event_type not in routing().routes:
        raise DeadLetterNotFound(
            f"dead letter {letter_id} has no known event type ({letter.event_type!r}); it cannot be handled as it is"
        )
    # Publish first: if the broker is down the letter stays visible and can be replayed later.
    # A crash between publish and mark means a second replay, which the inbox makes harmless.
    publisher.publish(letter.service, letter.event_type, letter.envelope)
    table = bus_tables(letter.service).dead_letter
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == letter_id).values(replayed_at=now))
        producer = _producer_of(letter.envelope)
        if producer in services() and letter.event_id:
            outbox = bus_tables(producer).outbox
            conn.execute(
                sa.update(outbox)
                .where(outbox.c.event_id == letter.event_id)
                .values(delivered_at=None, redeliveries=0, next_check_at=now + timedelta(seconds=recheck_after_seconds))
            )
    return letter


def _producer_of(envelope: str) -> str | None:
    try:
        producer = json.loads(envelope).get("producer")
    except (ValueError, AttributeError):
        return None
    return producer if isinstance(producer, str) else None
