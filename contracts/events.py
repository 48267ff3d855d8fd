"""The events services publish to each other: the published language between them.

Each payload names its event type and version; `uow.emit(payload, ...)` takes both from it.
Events carry ids and amounts (in cents), never a BSN, a name or free text about a person.
A consumer that needs more asks the owning service under its own authorisation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.events import Payload, ValuePart

# Amounts are integer cents.


class ClientRegisteredV1(Payload, event_type="ClientRegistered", version=1):
    client_id: str


class GrantedLine(ValuePart):
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


class TrajectoryProfiledV1(Payload, event_type="TrajectoryProfiled", version=1):
    """The coarse statistical profile of the client at the start of a trajectory (a plan, or an
    orientation phase under its orientation id), for the benchmark's Table 4.1: categories only,
    never a birth date or a number of months. Sent by intake beside PlanApproved and
    OrientationStarted; monitoring keeps it on the trajectory."""

    plan_id: str
    client_id: str
    benefit: Literal["wwb", "nug", "other", "unknown"]
    gender: Literal["female", "male", "other", "unknown"]
    age_band: Literal["under_35", "35_44", "45_plus", "unknown"]
    benefit_duration: Literal["under_1y", "1_3y", "over_3y", "none", "unknown"]
    education: Literal["low", "middle", "high", "unknown"]


class PlanSubmittedV1(Payload, event_type="PlanSubmitted", version=1):
    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)
    requested_cents: int = Field(ge=0)


class PlanApprovedV1(Payload, event_type="PlanApproved", version=1):
    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)
    scheme: str
    granted_cents: int = Field(ge=0)
    lines: tuple[GrantedLine, ...]
    execution_deadline: date


class PlanRejectedV1(Payload, event_type="PlanRejected", version=1):
    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)


class PlanReturnedV1(Payload, event_type="PlanReturned", version=1):
    """Sent back to the client for changes; comments stay in intake (they are free text)."""

    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)


class PlanChangedV1(Payload, event_type="PlanChanged", version=1):
    """An approved change request: the full new set of granted lines; the total may not grow."""

    plan_id: str
    client_id: str
    plan_version: int = Field(ge=1)
    change_id: str
    granted_cents: int = Field(ge=0)
    lines: tuple[GrantedLine, ...]
    execution_deadline: date


class PlanChangeRefusedV1(Payload, event_type="PlanChangeRefused", version=1):
    """The budget cannot carry out an approved change (a line below what is already spent, or more than
    the total); the budget stays as it was and intake restores the grants."""

    plan_id: str
    client_id: str
    change_id: str
    reason_code: Literal["change_below_spent", "change_above_total"]


class OrientationStartedV1(Payload, event_type="OrientationStarted", version=1):
    orientation_id: str
    client_id: str
    scheme: str
    ends_on: date
    budget_cents: int = Field(ge=0)


class TrajectoryClosedV1(Payload, event_type="TrajectoryClosed", version=1):
    plan_id: str
    client_id: str
    reason: Literal["completed", "stopped_early", "expired"]
    closed_on: date


class BudgetOpenedV1(Payload, event_type="BudgetOpened", version=1):
    budget_id: str
    plan_id: str
    client_id: str
    granted_cents: int = Field(ge=0)


class InvoiceReceivedV1(Payload, event_type="InvoiceReceived", version=1):
    invoice_id: str
    budget_id: str
    budget_line_id: str
    amount_cents: int = Field(gt=0)


class InvoiceRejectedV1(Payload, event_type="InvoiceRejected", version=1):
    invoice_id: str
    budget_id: str | None
    client_id: str | None
    reason_code: str


class InvoiceApprovedV1(Payload, event_type="InvoiceApproved", version=1):
    invoice_id: str
    budget_id: str
    budget_line_id: str
    amount_cents: int = Field(gt=0)
    remaining_cents: int = Field(ge=0)


class InvoicePaidV1(Payload, event_type="InvoicePaid", version=1):
    invoice_id: str
    budget_id: str
    plan_id: str
    client_id: str
    amount_cents: int = Field(gt=0)
    paid_on: date


class PaymentScheduledV1(Payload, event_type="PaymentScheduled", version=1):
    payment_run_id: str
    invoice_count: int = Field(ge=1)
    total_cents: int = Field(gt=0)
    execution_date: date


class BudgetThresholdReachedV1(Payload, event_type="BudgetThresholdReached", version=1):
    budget_id: str
    plan_id: str
    client_id: str
    percent: int = Field(ge=1, le=100)
    used_cents: int = Field(ge=0)
    granted_cents: int = Field(ge=0)


class BudgetClosedV1(Payload, event_type="BudgetClosed", version=1):
    budget_id: str
    plan_id: str
    client_id: str
    released_cents: int = Field(ge=0)


class DecisionDueSoonV1(Payload, event_type="DecisionDueSoon", version=1):
    """A submitted plan's decision term ends soon (the policy's warning weeks before it)."""

    review_id: str
    plan_id: str
    client_id: str
    due_on: date
    case_manager: str


class ProgressReportedV1(Payload, event_type="ProgressReported", version=1):
    report_id: str
    plan_id: str
    client_id: str
    reported_by_role: str
    on_track: bool


class FollowUpOverdueV1(Payload, event_type="FollowUpOverdue", version=1):
    """Something due on a trajectory (a progress report, a conversation, a milestone, a durability
    check, an aftercare check-in) is past its day and still open. Said once per item by
    monitoring's daily scan; notifications reminds the case team."""

    follow_up_id: str
    plan_id: str
    client_id: str
    kind: Literal["progress_report", "conversation", "milestone", "durability_check", "aftercare"]
    due_on: date


class OutcomeRegisteredV1(Payload, event_type="OutcomeRegistered", version=1):
    """An outcome (a row of Table 4.7) was registered on a trajectory. Sent once per outcome, not for
    durability checks. `durable` is the state at registration time: whether that registration
    itself showed six full months of work since the start. Monitoring re-evaluates durability
    afterwards (durability checks); that later state is on the trajectory, not in this event."""

    outcome_id: str
    plan_id: str
    client_id: str
    outcome: str
    durable: bool


# --- Reminders (issue 11): said once per item and occasion by the owning service's daily scan ---

FollowUpKindName = Literal["progress_report", "conversation", "milestone", "durability_check", "aftercare"]


class FollowUpDueSoonV1(Payload, event_type="FollowUpDueSoon", version=1):
    """An open follow-up's day is near (within the reminder lead time of its kind). Said once per
    item by monitoring's daily scan; notifications reminds the client or the case team.
    `conversation_kind` says which conversation (e.g. the six-month presentation)."""

    follow_up_id: str
    plan_id: str
    client_id: str
    kind: FollowUpKindName
    due_on: date
    conversation_kind: Literal["progress", "six_month_presentation", "closing", "other"] | None = None


class FollowUpClosedV1(Payload, event_type="FollowUpClosed", version=1):
    """A follow-up that was reminded of or flagged overdue is done or cancelled: reminders about it
    that have not gone out yet stop. Not said for items nobody was reminded of."""

    follow_up_id: str
    plan_id: str
    client_id: str
    kind: FollowUpKindName
    closed: Literal["done", "cancelled"]


class TrajectoryEndingSoonV1(Payload, event_type="TrajectoryEndingSoon", version=1):
    """A running trajectory's execution deadline is 30 days (configurable) away. Said once per
    deadline by monitoring's daily scan; a later deadline (a plan change) is reminded of again."""

    plan_id: str
    client_id: str
    ends_on: date


class OrientationEndingSoonV1(Payload, event_type="OrientationEndingSoon", version=1):
    """An orientation phase ends soon and no plan has been submitted yet. Said once per phase by
    intake's daily scan."""

    orientation_id: str
    client_id: str
    ends_on: date


# --- Invoices, version 2: they name the provider, so a provider's webhook gets its own invoices ---


class InvoiceAwaitingConfirmationV1(Payload, event_type="InvoiceAwaitingConfirmation", version=1):
    """An invoice waits for the client's confirmation before finance may approve it."""

    invoice_id: str
    budget_id: str
    client_id: str
    provider_id: str | None = None
    amount_cents: int = Field(gt=0)


class InvoiceConfirmedByClientV1(Payload, event_type="InvoiceConfirmedByClient", version=1):
    """The client confirmed an invoice that waited for them; finance may now approve it."""

    invoice_id: str
    budget_id: str
    client_id: str


class InvoiceReceivedV2(Payload, event_type="InvoiceReceived", version=2):
    invoice_id: str
    budget_id: str
    budget_line_id: str
    client_id: str
    amount_cents: int = Field(gt=0)
    provider_id: str | None = None  # the provider application that sent it (its token), if any
    provider_kvk: str | None = None


class InvoiceRejectedV2(Payload, event_type="InvoiceRejected", version=2):
    invoice_id: str
    budget_id: str | None
    client_id: str | None
    reason_code: str
    provider_id: str | None = None
    provider_kvk: str | None = None


class InvoiceApprovedV2(Payload, event_type="InvoiceApproved", version=2):
    invoice_id: str
    budget_id: str
    budget_line_id: str
    client_id: str
    amount_cents: int = Field(gt=0)
    remaining_cents: int = Field(ge=0)
    provider_id: str | None = None
    provider_kvk: str | None = None


class InvoicePaidV2(Payload, event_type="InvoicePaid", version=2):
    invoice_id: str
    budget_id: str
    plan_id: str
    client_id: str
    amount_cents: int = Field(gt=0)
    paid_on: date
    provider_id: str | None = None
    provider_kvk: str | None = None


class InvoicePaymentReturnedV1(Payload, event_type="InvoicePaymentReturned", version=1):
    """The bank returned a transfer that InvoicePaid had announced (a closed account, say): the
    amount is payable again. `reason_code` is the ISO 20022 return reason (e.g. AC04); `part` says
    whether the main payment or the released holdback came back."""

    invoice_id: str
    budget_id: str
    plan_id: str
    client_id: str
    amount_cents: int = Field(gt=0)
    part: Literal["main", "holdback"]
    reason_code: str | None = None
    returned_on: date
    provider_id: str | None = None
    provider_kvk: str | None = None


class HandoverAcceptedV1(Payload, event_type="HandoverAccepted", version=1):
    """The municipality accepted a partner's (UWV's) warm hand-over: the client it is now about, and
    the partner organisation it came from (a KvK number). Nothing personal: ask intake for more."""

    handover_id: str
    client_id: str
    partner_kvk: str
    reason_code: str


class HandoverDeclinedV1(Payload, event_type="HandoverDeclined", version=1):
    """The municipality declined a partner's hand-over, with a reason code (never the staff's note)."""

    handover_id: str
    partner_kvk: str
    decline_reason: str


class HandoverSentV1(Payload, event_type="HandoverSent", version=1):
    """A case manager handed a client over to a partner that has the client's consent for it."""

    handover_id: str
    client_id: str
    partner_kvk: str
    reason_code: str


class GrantedLineV2(GrantedLine):
    """A granted line with the price catalogue's product the plan named for it (if any): the
    budget holds an invoice whose unit price is above `max_unit_price_cents` for finance."""

    product_code: str | None = Field(default=None, max_length=40)
    unit: str | None = Field(default=None, max_length=20)  # hour, day, month, session, course, piece
    max_unit_price_cents: int | None = Field(default=None, ge=1)


class PlanApprovedV2(PlanApprovedV1, event_type="PlanApproved", version=2):
    """As version 1; each line may name its catalogue product, unit and maximum unit price."""

    lines: tuple[GrantedLineV2, ...]


class PlanChangedV2(PlanChangedV1, event_type="PlanChanged", version=2):
    """As version 1; each line may name its catalogue product, unit and maximum unit price."""

    lines: tuple[GrantedLineV2, ...]


class PartnerCredentialsRevokedV1(Payload, event_type="PartnerCredentialsRevoked", version=1):
    """A partner application's access tokens no longer count: every one of them (`app_revoked`),
    or those issued before `tokens_issued_before` (its secret was rotated). Sent by intake, which
    owns the applications; every other service refuses those tokens from then on
    (shared/revocation.py). Ids and a moment only: nothing about a person."""

    partner_app_id: str
    reason: Literal["app_revoked", "secret_rotated"]
    tokens_issued_before: datetime
