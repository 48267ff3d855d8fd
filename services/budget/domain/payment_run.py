"""The payment-run aggregate: which approved invoice parts go in a run, the pain.001 file for the
bank, and the events it causes.

A run takes, for one municipality, every approved main part not yet in a run and every released
holdback not yet in a run, each with something left to transfer (an invoice on a payment hold
is paid by hand). Its execution date is today or later. Plain Python: the caller passes today.

A run may hold 100,000 invoices, so it is planned in a stream (docs/performance.md): `start`,
then `take` for each chunk of invoices (it returns that chunk's items, for the caller to store,
and writes them into the file), then `finish`. `plan` does the three at once and keeps the items.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from contracts.events import Payload, PaymentScheduledV1
from services.budget.domain import payment_file
from services.budget.domain.invoice import HoldbackStatus, InvoiceStatus, PaymentPart
from shared.errors import Conflict, RuleBroken
from shared.money import Money


class PaymentRunStatus(StrEnum):
    SCHEDULED = "scheduled"
    PAID = "paid"


class PayableInvoice(Protocol):
    """An invoice as a run looks at it (a plain row: a run may hold 100,000 invoices)."""

    id: str
    invoice_number: str
    creditor_name: str
    creditor_iban: str
    status: str
    holdback_status: str | None
    amount_excl_vat_cents: int
    vat_cents: int
    amount_cents: int
    held_cents: int
    held_pay_cents: int
    credited_cents: int
    credited_pay_cents: int
    main_open: bool  # its main part is in no run yet
    holdback_open: bool  # its holdback is in no run yet


@dataclass(frozen=True)
class PayableItem:
    invoice_id: str
    invoice_number: str
    creditor_name: str
    creditor_iban: str
    part: PaymentPart
    amount: Money  # to transfer
    ledger: Money  # to move from payable to paid


@dataclass(frozen=True)
class RunItem:
    item: PayableItem
    end_to_end_id: str


def payable_items(invoices: Iterable[PayableInvoice]) -> list[PayableItem]:
    """The parts of these invoices that a run pays, in the order given."""
    return list(_payable_items(invoices))


def _payable_items(invoices: Iterable[PayableInvoice]) -> Iterator[PayableItem]:
    for invoice in invoices:
        items: list[PayableItem] = []
        total = Money(invoice.amount_excl_vat_cents + invoice.vat_cents)
        base = (invoice.id, invoice.invoice_number, invoice.creditor_name, invoice.creditor_iban)
        if invoice.status == InvoiceStatus.APPROVED and invoice.main_open:
            items.append(
                PayableItem(
                    *base,
                    PaymentPart.MAIN,
                    total - Money(invoice.held_pay_cents) - Money(invoice.credited_pay_cents),
                    Money(invoice.amount_cents - invoice.held_cents - invoice.credited_cents),
                )
            )
        if invoice.holdback_status == HoldbackStatus.RELEASED and invoice.holdback_open:
            items.append(
                PayableItem(*base, PaymentPart.HOLDBACK, Money(invoice.held_pay_cents), Money(invoice.held_cents))
            )
        yield from (item for item in items if item.amount.cents > 0)


def end_to_end_id(invoice_id: str, part: str, n: int) -> str:
    return f"{invoice_id.replace('-', '')[:26]}-{part[0].upper()}{n % 1000:03d}"[:35]


def message_id_of(run_id: str) -> str:
    return f"PRB-{run_id.replace('-', '')[:28]}"


@dataclass
class PaymentRun:
    id: str
    municipality: str
    execution_date: date
    pain_schema: str
    message_id: str
    status: str = PaymentRunStatus.SCHEDULED
    paid_on: date | None = None
    items: list[RunItem] = field(default_factory=list)  # kept by `plan` only
    item_count: int = 0
    file: payment_file.PaymentFile | None = None
    events: list[Payload] = field(default_factory=list, compare=False, repr=False)
    _writer: payment_file.Pain001Writer | None = field(default=None, compare=False, repr=False)

    @property
    def total(self) -> Money:
        return self.file.control_sum if self.file else Money(0)

    @classmethod
    def plan(
        cls,
        *,
        run_id: str,
        municipality: str,
        execution_date: date,
        today: date,
        invoices: Iterable[PayableInvoice],
        debtor: payment_file.Debtor,
        pain_schema: str,
        created_at: datetime | None = None,
    ) -> PaymentRun:
        """A run of everything payable, as one checked pain.001 file; refused when the execution date
        is in the past or nothing is payable."""
        run = cls.start(
            run_id=run_id,
            municipality=municipality,
            execution_date=execution_date,
            today=today,
            debtor=debtor,
            pain_schema=pain_schema,
            created_at=created_at,
        )
        try:
            run.items = run.take(invoices)
            run.finish()
        finally:
            run.discard()
        return run

    @classmethod
    def start(
        cls,
        *,
        run_id: str,
        municipality: str,
        execution_date: date,
        today: date,
        debtor: payment_file.Debtor,
        pain_schema: str,
        created_at: datetime | None = None,
    ) -> PaymentRun:
        """An empty run with its file opened; refused when the execution date is in the past."""
        payment_file.check_execution_date(execution_date, today)
        run = cls(
            id=run_id,
            municipality=municipality,
            execution_date=execution_date,
            pain_schema=pain_schema,
            message_id=message_id_of(run_id),
        )
        run._writer = payment_file.Pain001Writer(
            debtor, execution_date, run.message_id, pain_schema, created_at=created_at
        )
        return run

    def take(self, invoices: Iterable[PayableInvoice]) -> list[RunItem]:
        """The items of these invoices (the next chunk, in order), now written into the file."""
        assert self._writer is not None, "take() after finish()"
        taken = []
        for item in _payable_items(invoices):
            self.item_count += 1
            e2e = end_to_end_id(item.invoice_id, item.part, self.item_count)
            remittance = f"Factuur {item.invoice_number}" + (
                " (ingehouden deel)" if item.part == PaymentPart.HOLDBACK else ""
            )
            self._writer.add(
                payment_file.Payment(
                    end_to_end_id=e2e,
                    creditor_name=item.creditor_name[:70],
                    creditor_iban=item.creditor_iban,
                    creditor_bic=None,
                    amount=item.amount,
                    remittance=remittance[:140],
                )
            )
            taken.append(RunItem(item, e2e))
        return taken

    def finish(self) -> None:
        """Close the file (validated, totals read back) and record PaymentScheduled; refused when
        nothing was payable."""
        assert self._writer is not None, "finish() twice"
        if not self.item_count:
            raise RuleBroken(
                "payment_run.empty",
                "There are no approved, unpaid invoices to pay.",
                message_nl="Er zijn geen goedgekeurde, onbetaalde rekeningen om te betalen.",
            )
        self.file = self._writer.finish()
        self.discard()
        self.events.append(
            PaymentScheduledV1(
                payment_run_id=self.id,
                invoice_count=self.item_count,
                total_cents=self.total.cents,
                execution_date=self.execution_date,
            )
        )

    def discard(self) -> None:
        """Drop the half-written file (also after a refusal); the finished one stays in `file`."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def confirm(self, paid_on: date) -> None:
        """The bank executed the run: the caller pays every item in it, once."""
        if self.status == PaymentRunStatus.PAID:
            raise Conflict(
                "payment_run.already_paid",
                "This payment run was already confirmed.",
                "status",
                message_nl="Deze betaalrun is al bevestigd.",
            )
        self.status, self.paid_on = PaymentRunStatus.PAID, paid_on
