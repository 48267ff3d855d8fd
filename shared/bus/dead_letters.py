"""Operations on dead letters: list them, and replay one to the service that gave up on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from shared.bus.relay import Publisher
from shared.bus.routing import ROUTES, SERVICES
from shared.bus.tables import BUS_TABLES


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


def list_dead_letters(engine: Engine, *, service: str | None = None, include_replayed: bool = False) -> list[DeadLetter]:
    letters: list[DeadLetter] = []
    with engine.connect() as conn:
        for name in (service,) if service else SERVICES:
            table = BUS_TABLES[name].dead_letter
            query = sa.select(table).order_by(table.c.created_at)
            if not include_replayed:
                query = query.where(table.c.replayed_at.is_(None))
            letters.extend(DeadLetter(service=name, **row._mapping) for row in conn.execute(query))
    return sorted(letters, key=lambda letter: letter.created_at)


def find_dead_letter(engine: Engine, letter_id: str) -> DeadLetter:
    with engine.connect() as conn:
        for name in SERVICES:
            table = BUS_TABLES[name].dead_letter
            row = conn.execute(sa.select(table).where(table.c.id == letter_id)).first()
            if row:
                return DeadLetter(service=name, **row._mapping)
    raise DeadLetterNotFound(f"no dead letter with id {letter_id}")


def replay_dead_letter(engine: Engine, letter_id: str, publisher: Publisher) -> DeadLetter:
    """Send the event to its service again; a second failure makes a new dead letter."""
    letter = find_dead_letter(engine, letter_id)
    if letter.replayed_at is not None:
        raise DeadLetterNotFound(f"dead letter {letter_id} was already replayed at {letter.replayed_at}")
    if letter.event_type not in ROUTES:
        raise DeadLetterNotFound(f"dead letter {letter_id} has no known event type ({letter.event_type!r}); "
                                 "it cannot be handled as it is")
    # Publish first: if the broker is down the letter stays visible and can be replayed later.
    # A crash between publish and mark means a second replay, which the inbox makes harmless.
    publisher.publish(letter.service, letter.event_type, letter.envelope)
    table = BUS_TABLES[letter.service].dead_letter
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == letter_id).values(replayed_at=datetime.now(timezone.utc)))
    return letter
