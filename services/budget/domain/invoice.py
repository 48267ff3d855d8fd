"""The invoice aggregate: which state an invoice may move to next, and the events each move causes.

    received ─┬─> awaiting_second_approval ─> approved ─> scheduled ─> paid
              └─────────────────────────────> approved ──────────────> paid (by hand)
    awaiting_client ─(client confirms)─> received
    review (arrived after the budget closed) ─> approved
    received | awaiting_client | awaiting_second_approval | review ─> rejected
    approved | paid ─(credit note)─> the same state, with less to pay or money back
    scheduled | paid ─(the bank returned the transfer)─> approved, on a payment hold naming the reason

Plain Python: no session, no clock (the caller passes the instant), no HTTP. The money itself
moves in the ledger (domain/ledger.py); the invoice records what it was charged, held and credited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum

from contracts.events import (
    InvoiceApprovedV2,
    InvoiceAwaitingConfirmationV1,
    InvoiceConfirmedByClientV1,
    InvoicePaidV2,
    InvoicePaymentReturnedV1,
    InvoiceReceivedV2,
    InvoiceRejectedV2,
    Payload,
)
from services.budget.domain.ledger import transfer_share
from shared.errors import Conflict, Forbidden, RuleBroken
from shared.money import Money


class InvoiceStatus(StrEnum):
    RECEIVED = "received"
    AWAITING_CLIENT = "awaiting_client"
    AWAITING_SECOND_APPROVAL = "awaiting_second_approval"
    REVIEW = "review"  # arrived after its budget closed: finance decides
    APPROVED = "approved"
    SCHEDULED = "scheduled"  # in a payment run
    PAID = "paid"
    REJECTED = "rejected"


class HoldbackStatus(StrEnum):
    HELD = "held"
    RELEASED = "released"
    CANCELLED = "cancelled"
    PAID = "paid"


class PaymentPart(StrEnum):
    MAIN = "main"
    HOLDBACK = "holdback"


class CreditKind(StrEnum):
    CREDIT = "credit"  # before payment: less to pay
    REFUND = "refund"  # after payment: money came back


# Waiting for a decision: what the budget shows as "invoiced".
OPEN_STATES = (
    InvoiceStatus.RECEIVED,
    InvoiceStatus.AWAITING_CLIENT,
    InvoiceStatus.AWAITING_SECOND_APPROVAL,
    InvoiceStatus.REVIEW,
)
# Claims on what is left of a line (a late invoice in review claims nothing until approved).
PENDING_STATES = (InvoiceStatus.RECEIVED, InvoiceStatus.AWAITING_CLIENT, InvoiceStatus.AWAITING_SECOND_APPROVAL)
# What an approver may decide on now: the approval queue.
APPROVABLE_STATES = (InvoiceStatus.RECEIVED, InvoiceStatus.AWAITING_SECOND_APPROVAL, InvoiceStatus.REVIEW)


class Approval(Enum):
    FIRST_OF_TWO = "first_of_two"  # above the four-eyes threshold: someone else approves too
    FINAL = "final"  # book it: the caller moves the money, then calls `booked`


@dataclass(frozen=True)
class Credit:
    kind: CreditKind
    amount: Money  # of the budget charge: back to the line
    transfer: Money  # of the transfer (incl. VAT)


def credit_amount(euros: Decimal) -> Money:
    """A credit note's amount, refused before anything is read when it is not above zero."""
    amount = Money.euros(euros)
    if amount.cents <= 0:
        raise RuleBroken(
            "credit.amount",
            "A credit note needs an amount above zero.",
            "amount",
            message_nl="Een creditnota moet een bedrag hoger dan nul hebben.",
        )
    return amount


def _wrong_state(status: str, doing: str, doing_nl: str) -> Conflict:
    return Conflict(
        "invoice.wrong_state",
        f"An invoice that is {status} cannot be {doing}.",
        "status",
        message_nl=f"Een rekening met status {status} kan niet worden {doing_nl}.",
    )


@dataclass
class Invoice:
    """What decides an invoice's next state. Amounts in cents, as the rows keep them."""

    id: str
    budget_id: str
    budget_line_id: str
    plan_id: str
    client_id: str
    amount_cents: int  # the charge to the budget
    amount_excl_vat_cents: int
    vat_cents: int
    status: str = InvoiceStatus.RECEIVED
    client_confirmed_at: datetime | None = None
    first_approved_by: str | None = None
    approved_at: datetime | None = None
    approved_by: str | None = None
    rejection_code: str | None = None
    rejection_reason: str | None = None
    paid_on: date | None = None
    holdback_status: str | None = None
    held_cents: int = 0
    held_pay_cents: int = 0
    credited_cents: int = 0
    credited_pay_cents: int = 0
    # Set when it must not go into a payment run (finance pays it by hand): a G-account split, or
    # a transfer the bank returned.
    payment_hold: str | None = None
    # Who sent it: the provider application (its token, or the id finance entered) and its KvK.
    # The invoice events name them, so a provider's webhook hears about its own invoices.
    provider_id: str | None = None
    provider_kvk: str | None = None
    events: list[Payload] = field(default_factory=list, compare=False, repr=False)

    # --- what it comes to ------------------------------------------------------------------

    @property
    def charge(self) -> Money:
        return Money(self.amount_cents)

    @property
    def total(self) -> Money:
        """The invoice's total incl. VAT: what the provider is paid before holdback and credits."""
        return Money(self.amount_excl_vat_cents + self.vat_cents)

    @property
    def open_charge(self) -> Money:
        """Of the budget charge: what is still to pay (or was paid), after holdback and credits."""
        return Money(self.amount_cents - self.held_cents - self.credited_cents)

    @property
    def open_transfer(self) -> Money:
        """Of the transfer: what is still to pay (or was paid), after holdback and credits."""
        return self.total - Money(self.held_pay_cents) - Money(self.credited_pay_cents)

    # --- arriving ----------------------------------------------------------------------------

    @classmethod
    def receive(
        cls,
        *,
        invoice_id: str,
        budget_id: str,
        budget_line_id: str,
        plan_id: str,
        client_id: str,
        charge: Money,
        amount_excl_vat: Money,
        vat: Money,
        budget_closed: bool,
        needs_client_confirmation: bool,
        provider_id: str | None = None,
        provider_kvk: str | None = None,
    ) -> Invoice:
        """A checked invoice arrives: in review after its budget closed, else waiting for the
        client's confirmation where the policy asks it (said once, here), else received."""
        if budget_closed:
            status = InvoiceStatus.REVIEW
        elif needs_client_confirmation:
            status = InvoiceStatus.AWAITING_CLIENT
        else:
            status = InvoiceStatus.RECEIVED
        invoice = cls(
            id=invoice_id,
            budget_id=budget_id,
            budget_line_id=budget_line_id,
            plan_id=plan_id,
            client_id=client_id,
            amount_cents=charge.cents,
            amount_excl_vat_cents=amount_excl_vat.cents,
            vat_cents=vat.cents,
            status=status,
            provider_id=provider_id,
            provider_kvk=provider_kvk,
        )
        invoice.events.append(
            InvoiceReceivedV2(
                invoice_id=invoice_id,
                budget_id=budget_id,
                budget_line_id=budget_line_id,
                client_id=client_id,
                amount_cents=charge.cents,
                provider_id=provider_id,
                provider_kvk=provider_kvk,
            )
        )
        if status == InvoiceStatus.AWAITING_CLIENT:
            invoice.events.append(
                InvoiceAwaitingConfirmationV1(
                    invoice_id=invoice_id,
                    budget_id=budget_id,
                    client_id=client_id,
                    provider_id=provider_id,
                    amount_cents=charge.cents,
                )
            )
        return invoice

    def sent_by_client(self, at: datetime) -> None:
        """The client (or their representative) sent it themselves: that is their confirmation."""
        self.client_confirmed_at = at
        if self.status == InvoiceStatus.AWAITING_CLIENT:
            self.status = InvoiceStatus.RECEIVED

    def confirm_by_client(self, at: datetime) -> None:
        if self.status != InvoiceStatus.AWAITING_CLIENT:
            raise Conflict(
                "invoice.wrong_state",
                f"An invoice that is {self.status} needs no confirmation.",
                "status",
                message_nl=f"Een rekening met status {self.status} hoeft u niet te bevestigen.",
            )
        self.status, self.client_confirmed_at = InvoiceStatus.RECEIVED, at
        self.events.append(
            InvoiceConfirmedByClientV1(invoice_id=self.id, budget_id=self.budget_id, client_id=self.client_id)
        )

    # --- deciding ----------------------------------------------------------------------------

    def approve(self, by: str, *, four_eyes_threshold: Money) -> Approval:
        """One approval. Above the four-eyes threshold the first only marks it for a second,
        different approver; the final one is booked by the caller (money first, then `booked`)."""
        if self.status == InvoiceStatus.AWAITING_CLIENT:
            raise Conflict(
                "invoice.awaiting_client",
                "The client has not confirmed this invoice yet.",
                "status",
                message_nl="De klant heeft deze rekening nog niet bevestigd.",
            )
        if self.status not in APPROVABLE_STATES:
            raise _wrong_state(self.status, "approved", "goedgekeurd")
        if self.total > four_eyes_threshold:
            if self.first_approved_by is None:
                self.first_approved_by, self.status = by, InvoiceStatus.AWAITING_SECOND_APPROVAL
                return Approval.FIRST_OF_TWO
            if self.first_approved_by == by:
                raise Forbidden(
                    "invoice.same_approver",
                    "A second approver must be someone else.",
                    "approved_by",
                    message_nl="De tweede goedkeuring moet van iemand anders komen.",
                )
        return Approval.FINAL

    @property
    def needs_new_grant(self) -> bool:
        """A late invoice (in review) is charged to money granted again for it."""
        return self.status == InvoiceStatus.REVIEW

    def booked(self, by: str, at: datetime, *, remaining: Money, held: Money, held_transfer: Money) -> None:
        """The final approval is booked on the line (`remaining` is left on it afterwards); `held`
        of the charge and `held_transfer` of the transfer wait for the outcome."""
        if held.cents:
            self.holdback_status = HoldbackStatus.HELD
            self.held_cents, self.held_pay_cents = held.cents, held_transfer.cents
        self.status, self.approved_at, self.approved_by = InvoiceStatus.APPROVED, at, by
        self.events.append(
            InvoiceApprovedV2(
                invoice_id=self.id,
                budget_id=self.budget_id,
                budget_line_id=self.budget_line_id,
                client_id=self.client_id,
                amount_cents=self.amount_cents,
                remaining_cents=remaining.cents,
                provider_id=self.provider_id,
                provider_kvk=self.provider_kvk,
            )
        )

    def reject(self, reason: str) -> None:
        if self.status not in OPEN_STATES:
            raise _wrong_state(self.status, "rejected", "afgewezen")
        self.status, self.rejection_code, self.rejection_reason = InvoiceStatus.REJECTED, "invoice.rejected", reason
        self.events.append(
            InvoiceRejectedV2(
                invoice_id=self.id,
                budget_id=self.budget_id,
                client_id=self.client_id,
                reason_code="invoice.rejected",
                provider_id=self.provider_id,
                provider_kvk=self.provider_kvk,
            )
        )

    # --- paying ------------------------------------------------------------------------------

    def ensure_payable_by_hand(self) -> None:
        """Paid outside a payment run: only an approved invoice not in a run."""
        if self.status != InvoiceStatus.APPROVED:
            raise _wrong_state(self.status, "marked paid", "als betaald gemarkeerd")

    def paid(self, part: str, transfer: Money, paid_on: date) -> None:
        """A transfer of `transfer` for the main part or the released holdback went out."""
        if part == PaymentPart.MAIN:
            self.status, self.paid_on = InvoiceStatus.PAID, paid_on
        else:
            self.holdback_status = HoldbackStatus.PAID
        self.events.append(
            InvoicePaidV2(
                invoice_id=self.id,
                budget_id=self.budget_id,
                plan_id=self.plan_id,
                client_id=self.client_id,
                amount_cents=transfer.cents,
                paid_on=paid_on,
                provider_id=self.provider_id,
                provider_kvk=self.provider_kvk,
            )
        )

    def payment_returned(
        self, part: str, transfer: Money, *, was_paid: bool, reason_code: str | None, hold: str, returned_on: date
    ) -> None:
        """The bank returned the transfer of `part` (`was_paid`: after it was booked as paid). The
        part is payable again, but not in a run: the account it went to may be closed, so the
        invoice is put on a payment hold naming the reason, and finance pays it by hand."""
        if part == PaymentPart.MAIN:
            if self.status not in (InvoiceStatus.SCHEDULED, InvoiceStatus.PAID):
                raise _wrong_state(self.status, "returned by the bank", "teruggeboekt")
            self.status, self.paid_on = InvoiceStatus.APPROVED, None
        elif self.holdback_status in (HoldbackStatus.RELEASED, HoldbackStatus.PAID):
            self.holdback_status = HoldbackStatus.RELEASED
        else:
            raise _wrong_state(str(self.holdback_status), "returned by the bank", "teruggeboekt")
        self.payment_hold = hold[:200]
        if was_paid:
            self.events.append(
                InvoicePaymentReturnedV1(
                    invoice_id=self.id,
                    budget_id=self.budget_id,
                    plan_id=self.plan_id,
                    client_id=self.client_id,
                    amount_cents=transfer.cents,
                    part=PaymentPart(part).value,
                    reason_code=reason_code,
                    returned_on=returned_on,
                    provider_id=self.provider_id,
                    provider_kvk=self.provider_kvk,
                )
            )

    # --- correcting --------------------------------------------------------------------------

    def credit(self, amount: Money) -> Credit:
        """A credit note of `amount` (of the budget charge): before payment it lowers what will be
        paid, after payment it records money coming back; the transfer goes down by the same share."""
        open_charge, open_transfer = self.open_charge, self.open_transfer
        if self.status == InvoiceStatus.APPROVED:
            if amount > open_charge:
                raise RuleBroken(
                    "credit.too_large",
                    "A credit note cannot exceed what is still to pay.",
                    "amount",
                    message_nl="Een creditnota kan niet hoger zijn dan wat nog betaald moet worden.",
                )
            kind = CreditKind.CREDIT
        elif self.status == InvoiceStatus.PAID:
            if amount > open_charge:
                raise RuleBroken(
                    "credit.too_large",
                    "A refund cannot exceed what was paid.",
                    "amount",
                    message_nl="Een terugbetaling kan niet hoger zijn dan wat betaald is.",
                )
            kind = CreditKind.REFUND
        else:
            raise Conflict(
                "credit.wrong_state",
                f"An invoice that is {self.status} cannot be credited.",
                "status",
                message_nl=f"Een rekening met status {self.status} kan niet worden gecrediteerd.",
            )
        transfer = transfer_share(
            amount, charge=self.charge, total=self.total, open_charge=open_charge, open_transfer=open_transfer
        )
        self.credited_cents += amount.cents
        self.credited_pay_cents += transfer.cents
        return Credit(kind, amount, transfer)
