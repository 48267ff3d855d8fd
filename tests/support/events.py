"""Events for tests, built from a type name and a plain dict (validated like any payload)."""

from __future__ import annotations

from typing import Any

import contracts.events  # noqa: F401 - registers every event type
from shared.events import Envelope, Payload, latest_version, new_event, payload_model


def event_of(event_type: str, *, payload: Payload | dict[str, Any], **envelope: Any) -> Envelope:
    return new_event(payload_of(event_type, payload) if isinstance(payload, dict) else payload, **envelope)


def payload_of(event_type: str, data: dict[str, Any]) -> Payload:
    return payload_model(event_type, latest_version(event_type)).model_validate(data)


def emit_of(uow: Any, event_type: str, *, payload: dict[str, Any], **envelope: Any) -> Envelope:
    """`uow.emit` with the payload given as a dict, for tests of the bus itself."""
    return uow.emit(payload_of(event_type, payload), **envelope)
