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
    # The provider chosen in the plan (a company: KvK number and trade name), for matching invoices.
    provider_name: str | None = None
    provider_kvk: str | None = None
    # Service dates of the activity; invoices must fall inside them.
    starts_on: date | None = None
    ends_on: date | None = None
    # No cure, less pay: the share (0-100 %) held back until an outcome or a date.
    holdback_percent: int = Field(default=0, ge=0, le=100)


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


class PlanReturnedV1(Payload):
    """Sent back to the client for changes; comments stay in intake (they are free text)."""

    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)


class PlanChangedV1(Payload):
    """An approved change request: the full new set of granted lines; the total may not grow."""

    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)
    change_id: str
    granted_cents: int = Field(ge=0)
    lines: tuple[GrantedLine, ...]
    execution_deadline: date


class PlanChangeRefusedV1(Payload):
    """The budget cannot carry out an approved change (a line below what is already spent, or more than
    the total); the budget stays as it was and intake restores the grants."""

    plan_id: str
    client_id: str
    change_id: str
    reason_code: Literal["change_below_spent", "change_above_total"]


class OrientationStartedV1(Payload):
    orientation_id: str
    client_id: str
    scheme: str
    ends_on: date
    budget_cents: int = Field(ge=0)


class TrajectoryClosedV1(Payload):
    plan_id: str
    client_id: str
    reason: Literal["completed", "stopped_early", "expired"]
    closed_on: date


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


class InvoiceRejectedV1(Payload):
    invoice_id: str
    budget_id: str | None
    client_id: str | None
    reason_code: str


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


class PaymentScheduledV1(Payload):
    payment_run_id: str
    invoice_count: int = Field(ge=1)
    total_cents: int = Field(gt=0)
    execution_date: date


class BudgetThresholdReachedV1(Payload):
    budget_id: str
    plan_id: str
    client_id: str
    percent: int = Field(ge=1, le=100)
    used_cents: int = Field(ge=0)
    granted_cents: int = Field(ge=0)


class BudgetClosedV1(Payload):
    budget_id: str
    plan_id: str
    client_id: str
    released_cents: int = Field(ge=0)


class DecisionDueSoonV1(Payload):
    """A submitted plan's decision term ends soon (the policy's warning weeks before it)."""

    review_id: str
    plan_id: str
    client_id: str
    due_on: date
    case_manager: str


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
    ("PlanReturned", 1): PlanReturnedV1,
    ("PlanChanged", 1): PlanChangedV1,
    ("PlanChangeRefused", 1): PlanChangeRefusedV1,
    ("OrientationStarted", 1): OrientationStartedV1,
    ("TrajectoryClosed", 1): TrajectoryClosedV1,
    ("BudgetOpened", 1): BudgetOpenedV1,
    ("InvoiceReceived", 1): InvoiceReceivedV1,
    ("InvoiceRejected", 1): InvoiceRejectedV1,
    ("InvoiceApproved", 1): InvoiceApprovedV1,
    ("PaymentScheduled", 1): PaymentScheduledV1,
    ("BudgetThresholdReached", 1): BudgetThresholdReachedV1,
    ("BudgetClosed", 1): BudgetClosedV1,
    ("InvoicePaid", 1): InvoicePaidV1,
    ("ProgressReported", 1): ProgressReportedV1,
    ("DecisionDueSoon", 1): DecisionDueSoonV1,
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
