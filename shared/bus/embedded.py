"""In-process delivery for embedded mode: the same consume() path, without a broker."""

from __future__ import annotations

import time
from collections.abc import Mapping

from sqlalchemy.engine import Engine

from shared.bus.celery_app import retry_delay
from shared.bus.consumer import EventHandlers, HandlerFailed, consume
from shared.clock import SYSTEM_CLOCK, Clock


class InProcessPublisher:
    """Handles each event right away; retries with backoff, then dead-letters.

    The relay marks a row published only after this returns, so a crash mid-way means the
    event is delivered again on restart and the inbox drops the duplicate effect.
    """

    # When publish() returns, the consumer's inbox or dead letters hold the event: the relay marks
    # the row delivered at once and the sweeper has nothing to check.
    settles_on_publish = True

    def __init__(
        self,
        engine: Engine,
        handlers: Mapping[str, EventHandlers],
        *,
        max_attempts: int = 5,
        retry_base_seconds: float = 0.2,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.handlers = handlers
        self.max_attempts = max_attempts
        self.retry_base_seconds = retry_base_seconds

    def publish(self, service: str, event_type: str, envelope_json: str) -> None:
        handlers = self.handlers.get(service, {})
        for attempt in range(1, self.max_attempts + 1):
            try:
                consume(
                    self.engine,
                    service,
                    envelope_json,
                    handlers,
                    attempt=attempt,
                    max_attempts=self.max_attempts,
                    clock=self.clock,
                )
                return
            except HandlerFailed:
                time.sleep(retry_delay(attempt, self.retry_base_seconds))
