"""The checks an incoming invoice must pass before it is accepted, as plain data in and out.

The first failing check rejects the invoice with a stable code, the field and a reason the
provider and the client can read. Nothing here reveals another client's data: a provider
learns only that a line is unknown or its budget is short, never the balance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from shared.errors import DomainError
from shared.identifiers import IdentifierError, validate_kvk, validate_vat
from shared.money import Money


class InvoiceRejected(DomainError):
    """The invoice fails a check; `code` says which (e.g. "invoice.over_budget")."""


@dataclass(frozen=True)
class LineSnapshot:
    line_id: str
    budget_status: str
    line_status: str
    remaining: Money
    provider_name: str | None
    provider_kvk: str | None
    starts_on: date | None
    ends_on: date | None
    execution_deadline: date
    opened_on: date
    # The amounts go into a refusal for staff and the client; a provider learns only that the line is short.
    reveal_amounts: bool = True


@dataclass(frozen=True)
class IncomingInvoice:
    invoice_number: str
    provider_name: str
    provider_kvk: str | None
    provider_vat: str | None
    currency: str
    amount_excl_vat: Money
    vat: Money
    service_from: date | None
    service_to: date | None
    flow: str  # provider | forwarded | declaration | periodic

    @property
    def total(self) -> Money:
        return self.amount_excl_vat + self.vat


def charge(invoice: IncomingInvoice, budgets_include_vat: bool) -> Money:
    """What the invoice costs the budget: excl. VAT unless the policy says incl."""
    return invoice.total if budgets_include_vat else invoice.amount_excl_vat


def normalise_name(name: str) -> str:
    """Trade names compared loosely: case, punctuation and legal forms do not matter."""
    words = re.sub(r"[^a-z0-9 ]", " ", name.lower()).split()
    return " ".join(w for w in words if w not in {"bv", "b", "v", "nv", "vof", "stichting", "the"})


def check_invoice(line: LineSnapshot, invoice: IncomingInvoice, *, budgets_include_vat: bool) -> Money:
    """Raise InvoiceRejected for the first failing check; return the amount to charge."""
    if invoice.currency != "EUR":
        raise InvoiceRejected("invoice.currency", "Only invoices in euro (EUR) can be paid.", "currency")
    if invoice.amount_excl_vat.cents <= 0:
        raise InvoiceRejected("invoice.amount", "The amount must be above zero.", "amount_excl_vat")
    if invoice.vat.cents < 0:
        raise InvoiceRejected("invoice.vat", "VAT cannot be negative.", "vat")
    if invoice.provider_kvk:
        try:
            validate_kvk(invoice.provider_kvk)
        except IdentifierError as exc:
            raise InvoiceRejected("invoice.kvk", str(exc), "provider_kvk") from exc
    if invoice.provider_vat:
        try:
            validate_vat(invoice.provider_vat)
        except IdentifierError as exc:
            raise InvoiceRejected("invoice.vat_number", str(exc), "provider_vat") from exc
    if line.budget_status != "open":
        raise InvoiceRejected("budget.closed", "This budget is closed; the invoice goes to review.", "budget_line_id")
    if line.line_status != "open":
        raise InvoiceRejected("invoice.line_closed", "This budget line is closed.", "budget_line_id")
    _check_dates(line, invoice)
    if invoice.flow != "declaration":
        _check_provider(line, invoice)
    amount = charge(invoice, budgets_include_vat)
    if amount > line.remaining:
        message = (f"The invoice charges {amount.format_en()}; once orders and invoices waiting for approval are "
                   "counted, ")
        message += (f"{line.remaining.format_en()} is left on this budget line." if line.reveal_amounts
                    else "less than that is left on this budget line.")
        raise InvoiceRejected("invoice.over_budget", message, "amount_excl_vat")
    return amount


@dataclass(frozen=True)
class PendingClaims:
    """Invoices received on a line and not yet decided, summed per order they quote (None: no order)."""

    by_order: Mapping[str | None, Money]


def headroom(available: Money, order_reserves: Mapping[str, Money], pending: PendingClaims,
             order_id: str | None) -> Money:
    """What a new invoice may still claim on a line at intake.

    Invoices waiting for approval claim money before it is approved; each draws on its order's
    reservation first and on what is left of the line for the rest, as approval will. A new
    invoice fits in what the line has left after those claims, plus what is left of its own
    order's reservation.
    """
    reserves = dict(order_reserves)
    free = available
    for claimed_order, amount in pending.by_order.items():
        from_order = min(amount, reserves.get(claimed_order, Money.zero())) if claimed_order else Money.zero()
        if claimed_order in reserves:
            reserves[claimed_order] = reserves[claimed_order] - from_order
        free = free - (amount - from_order)
    own = reserves.get(order_id, Money.zero()) if order_id else Money.zero()
    return max(free, Money.zero()) + own


def pending_claims(rows: Iterable[tuple[str | None, int]]) -> PendingClaims:
    totals: dict[str | None, Money] = {}
    for order_id, cents in rows:
        totals[order_id] = totals.get(order_id, Money.zero()) + Money(int(cents))  # SUM is NUMERIC on PostgreSQL
    return PendingClaims(totals)


def _check_dates(line: LineSnapshot, invoice: IncomingInvoice) -> None:
    start, end = invoice.service_from, invoice.service_to or invoice.service_from
    if start and end and end < start:
        raise InvoiceRejected("invoice.dates_order", "The service period ends before it starts.", "service_to")
    earliest = line.starts_on or line.opened_on
    latest = min(d for d in (line.ends_on, line.execution_deadline) if d is not None)
    if start and start < earliest:
        raise InvoiceRejected("invoice.before_plan", "The service started before the planned activity.",
                              "service_from")
    if end and end > latest:
        raise InvoiceRejected("invoice.after_plan", "The service ends after the planned activity or deadline.",
                              "service_to")


def _check_provider(line: LineSnapshot, invoice: IncomingInvoice) -> None:
    if line.provider_kvk and invoice.provider_kvk:
        if validate_kvk(line.provider_kvk) != validate_kvk(invoice.provider_kvk):
            raise InvoiceRejected("invoice.provider_mismatch", "This provider is not the one in the approved plan.",
                                  "provider_kvk")
        return
    if line.provider_name and normalise_name(line.provider_name) != normalise_name(invoice.provider_name):
        raise InvoiceRejected("invoice.provider_mismatch", "This provider is not the one in the approved plan.",
                              "provider_name")


class DuplicateInvoice(InvoiceRejected):
    """Already received (same provider and number, or the same document): a conflict, not bad input."""

    status = 409
