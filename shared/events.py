"""The event envelope, the payload base class and the registry of event types by version.

The payloads themselves are declared where the services publish them (a `contracts` package);
each registers its type and version here when it is defined.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MUNICIPALITY_CODE = r"^\d{4}$"  # CBS gemeentecode, e.g. 0014 Groningen


class UnknownEventError(ValueError):
    """An event type or version this code base does not know: it goes to the dead letters."""


class ValuePart(BaseModel):
    """A value inside an event payload (a granted line, ...): frozen, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Payload(ValuePart):
    """An event's payload. A subclass names its type and version and is registered by them:

    class PlanApprovedV1(Payload, event_type="PlanApproved", version=1): ...
    """

    event_type: ClassVar[str]
    event_version: ClassVar[int]

    def __init_subclass__(cls, *, event_type: str | None = None, version: int = 1, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if event_type is None:
            return
        key = (event_type, version)
        if key in EVENT_SCHEMAS and EVENT_SCHEMAS[key].__qualname__ != cls.__qualname__:
            raise TypeError(f"{event_type} version {version} is declared twice")
        cls.event_type, cls.event_version = event_type, version
        EVENT_SCHEMAS[key] = cls


TRACEPARENT = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"  # W3C Trace Context


class TraceContext(BaseModel):
    """Where the event was emitted in a trace (shared/tracing.py): the emitting span's W3C traceparent.

    Tolerant inside (extra="ignore"): a later release may add a key here, and a consumer of this
    release drops it instead of refusing the event. Only hex digits ride along, nothing a person typed.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    traceparent: str = Field(pattern=TRACEPARENT)


class Envelope(BaseModel):
    # No unknown field at the top: nothing extra (personal data) rides along. An optional field is
    # left out of the JSON while it is empty, so an event without it reads the same for a consumer
    # of an older release (docs/operations.md, "Traces": the deploy order).
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, max_length=80)
    version: int = Field(ge=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    tenant: str = Field(pattern=MUNICIPALITY_CODE)
    subject: str = Field(min_length=1, max_length=80)
    correlation_id: str = Field(min_length=1, max_length=80)
    causation_id: str | None = Field(default=None, max_length=80)
    producer: str = Field(pattern=r"^[a-z][a-z_]{0,39}$")  # the publishing service
    payload: dict[str, Any]
    # Set only while tracing is on (PRB_OTLP_ENDPOINT); absent from the JSON otherwise.
    trace_context: TraceContext | None = Field(default=None, exclude_if=lambda value: value is None)

    @field_validator("occurred_at")
    @classmethod
    def must_be_aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        return value

    def typed_payload(self) -> Payload:
        return payload_model(self.type, self.version).model_validate(self.payload)


def event_type_of(payload_class: type[Payload]) -> str:
    if not getattr(payload_class, "event_type", None):
        raise TypeError(f"{payload_class.__name__} does not declare an event type")
    return payload_class.event_type


EVENT_SCHEMAS: dict[tuple[str, int], type[Payload]] = {}


def latest_version(event_type: str) -> int:
    versions = [v for (t, v) in EVENT_SCHEMAS if t == event_type]
    if not versions:
        raise UnknownEventError(f"unknown event type {event_type!r}")
    return max(versions)


def payload_model(event_type: str, version: int) -> type[Payload]:
    try:
        return EVENT_SCHEMAS[(event_type, version)]
    except KeyError:
        known = sorted(v for (t, v) in EVENT_SCHEMAS if t == event_type)
        if not known:
            raise UnknownEventError(f"unknown event type {event_type!r}") from None
        raise UnknownEventError(f"{event_type} version {version} is not supported (known versions: {known})") from None


def new_event(
    payload: Payload,
    *,
    tenant: str,
    subject: str,
    producer: str,
    correlation_id: str,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
    trace_context: dict[str, str] | None = None,
) -> Envelope:
    """The envelope of a payload; its class says the type and version (validated when it was built)."""
    return Envelope(
        occurred_at=occurred_at or datetime.now(UTC),
        type=payload.event_type,
        version=payload.event_version,
        tenant=tenant,
        subject=subject,
        producer=producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=payload.model_dump(mode="json"),
        trace_context=TraceContext.model_validate(trace_context) if trace_context else None,
    )


def parse_envelope(raw: str | bytes | dict[str, Any]) -> Envelope:
    """Parse and validate an incoming envelope (not yet its payload)."""
    return Envelope.model_validate(raw) if isinstance(raw, dict) else Envelope.model_validate_json(raw)


def parse_event(raw: str | bytes | dict[str, Any]) -> tuple[Envelope, Payload]:
    """Parse and fully validate an incoming event, once: the envelope and its typed payload.

    Raises UnknownEventError for an unknown type or version and ValidationError otherwise.
    """
    envelope = parse_envelope(raw)
    return envelope, envelope.typed_payload()


__all__ = [
    "Envelope",
    "EVENT_SCHEMAS",
    "Payload",
    "TraceContext",
    "ValuePart",
    "event_type_of",
    "parse_event",
    "UnknownEventError",
    "ValidationError",
    "new_event",
    "parse_envelope",
    "payload_model",
]
