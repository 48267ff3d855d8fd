"""The event envelope and the payload schema of every event type, by version.

Events carry ids and amounts (in cents), never a BSN, a name or free text about a person.
A consumer that needs more asks the owning service under its own authorisation.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MUNICIPALITY_CODE = r"^\d{4}$"  # CBS gemeentecode, e.g. 0014 Groningen


class UnknownEventError(ValueError):
    """An event type or version this code base does not know: it goes to the dead letters."""


class Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str = Field(min_length=1, max_length=80)
    version: int = Field(ge=1)
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    tenant: str = Field(pattern=MUNICIPALITY_CODE)
    subject: str = Field(min_length=1, max_length=80)
    correlation_id: str = Field(min_length=1, max_length=80)
    causation_id: str | None = Field(default=None, max_length=80)
    producer: Literal["intake", "budget", "monitoring", "notifications"]
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def must_be_aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")
        return value

    def typed_payload(self) -> Payload:
        return payload_model(self.type, self.version).model_validate(self.payload)


# --- payloads (wave 1). Amounts are integer cents. ---------------------------------------


class ClientRegisteredV1(Payload):
    client_id: str


class GrantedLine(Payload):
    plan_line_id: str
    category: str
    granted_cents: int = Field(ge=0)


class PlanSubmittedV1(Payload):
    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)
    requested_cents: int = Field(ge=0)


class PlanApprovedV1(Payload):
    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)
    scheme: str
    granted_cents: int = Field(ge=0)
    lines: tuple[GrantedLine, ...]
    execution_deadline: date


class PlanRejectedV1(Payload):
    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)


class BudgetOpenedV1(Payload):
    budget_id: str
    plan_id: str
    client_id: str
    granted_cents: int = Field(ge=0)


class InvoiceReceivedV1(Payload):
    invoice_id: str
    budget_id: str
    budget_line_id: str
    amount_cents: int = Field(gt=0)


class InvoiceApprovedV1(Payload):
    invoice_id: str
    budget_id: str
    budget_line_id: str
    amount_cents: int = Field(gt=0)
    remaining_cents: int = Field(ge=0)


class InvoicePaidV1(Payload):
    invoice_id: str
    budget_id: str
    plan_id: str
    client_id: str
    amount_cents: int = Field(gt=0)
    paid_on: date


class ProgressReportedV1(Payload):
    report_id: str
    plan_id: str
    client_id: str
    reported_by_role: str
    on_track: bool


class OutcomeRegisteredV1(Payload):
    outcome_id: str
    plan_id: str
    client_id: str
    outcome: str
    durable: bool


EVENT_SCHEMAS: dict[tuple[str, int], type[Payload]] = {
    ("ClientRegistered", 1): ClientRegisteredV1,
    ("PlanSubmitted", 1): PlanSubmittedV1,
    ("PlanApproved", 1): PlanApprovedV1,
    ("PlanRejected", 1): PlanRejectedV1,
    ("BudgetOpened", 1): BudgetOpenedV1,
    ("InvoiceReceived", 1): InvoiceReceivedV1,
    ("InvoiceApproved", 1): InvoiceApprovedV1,
    ("InvoicePaid", 1): InvoicePaidV1,
    ("ProgressReported", 1): ProgressReportedV1,
    ("OutcomeRegistered", 1): OutcomeRegisteredV1,
}


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
        raise UnknownEventError(
            f"{event_type} version {version} is not supported (known versions: {known})"
        ) from None


def new_event(
    event_type: str,
    *,
    tenant: str,
    subject: str,
    producer: str,
    correlation_id: str,
    causation_id: str | None = None,
    payload: Payload | dict[str, Any],
) -> Envelope:
    """Build an envelope at the latest version, validating the payload against its schema."""
    version = latest_version(event_type)
    model = payload_model(event_type, version)
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else payload
    validated = model.model_validate(data)
    return Envelope(
        type=event_type,
        version=version,
        tenant=tenant,
        subject=subject,
        producer=producer,  # type: ignore[arg-type]
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=validated.model_dump(mode="json"),
    )


def parse_envelope(raw: str | bytes | dict[str, Any]) -> Envelope:
    """Parse and fully validate an incoming event: envelope, known type/version, payload.

    Raises UnknownEventError for an unknown type or version and ValidationError otherwise.
    """
    envelope = (
        Envelope.model_validate(raw) if isinstance(raw, dict) else Envelope.model_validate_json(raw)
    )
    envelope.typed_payload()
    return envelope


__all__ = [
    "Envelope",
    "EVENT_SCHEMAS",
    "Payload",
    "UnknownEventError",
    "ValidationError",
    "new_event",
    "parse_envelope",
    "payload_model",
]
