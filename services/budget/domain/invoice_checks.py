"""The checks an incoming invoice must pass before it is accepted, as plain data in and out.

The first failing check rejects the invoice with a stable code, the field and a reason the
provider and the client can read. Nothing here reveals another client's data: a provider
learns only that a line is unknown or its budget is short, never the balance.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

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
class ProviderToken:
    """A provider's own token. Its identity is the KvK number in it (None: the token names none)."""

    kvk: str | None


def kvk_of_provider_id(provider_id: str | None) -> str | None:
    """The KvK number a provider token carries as its provider id: "kvk:12345678", "kvk-12345678"
    or "12345678". Any other id (a name, a Peppol id) proves no KvK."""
    value = (provider_id or "").strip()
    for prefix in ("kvk:", "kvk-"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
            break
    try:
        return validate_kvk(value)
    except IdentifierError:
        return None


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
    issue_date: date | None = None
    # Set when a provider sends the invoice with its own token: who the token says it is.
    sent_by: ProviderToken | None = None

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


def check_invoice(
    line: LineSnapshot, invoice: IncomingInvoice, *, budgets_include_vat: bool, today: date | None = None
) -> Money:
    """Raise InvoiceRejected for the first failing check; return the amount to charge.

    `today` is the latest date a declaration may have been paid on (the caller's clock; None: not
    checked). The fields named are the invoice's; `as_sent` renames them for a declaration."""
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
    _check_dates(line, invoice, today)
    if invoice.flow != "declaration":
        _check_provider(line, invoice)
    amount = charge(invoice, budgets_include_vat)
    if amount > line.remaining:
        message = (
            f"The invoice charges {amount.format_en()}; once orders and invoices waiting for approval are counted, "
        )
        message += (
            f"{line.remaining.format_en()} is left on this budget line."
            if line.reveal_amounts
            else "less than that is left on this budget line."
        )
        raise InvoiceRejected("invoice.over_budget", message, "amount_excl_vat")
    return amount


@dataclass(frozen=True)
class PendingClaims:
    """Invoices received on a line and not yet decided, summed per order they quote (None: no order)."""

    by_order: Mapping[str | None, Money]


def headroom(
    available: Money, order_reserves: Mapping[str, Money], pending: PendingClaims, order_id: str | None
) -> Money:
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


# How long before its budget line could be used an invoice may have been issued. The line can be
# used from its start (or, without one, from the day the budget opened) and a line's start may lie
# before the budget opened (a plan approved after the activity began). A provider may invoice an
# intake fee or an advance shortly before the activity starts, so a month's margin before the
# earlier of those two days; an invoice issued earlier than that predates the plan it is meant to
# be paid from (a typo in the year, or an old invoice sent again) and is refused.
ISSUE_MARGIN = timedelta(days=31)


def earliest_issue_date(line: LineSnapshot) -> date:
    return min(d for d in (line.starts_on, line.opened_on) if d is not None) - ISSUE_MARGIN


def _check_dates(line: LineSnapshot, invoice: IncomingInvoice, today: date | None = None) -> None:
    start, end = invoice.service_from, invoice.service_to or invoice.service_from
    if start and end and end < start:
        raise InvoiceRejected("invoice.dates_order", "The service period ends before it starts.", "service_to")
    if invoice.flow == "declaration" and today is not None and end and end > today:
        # The client declares what they already paid: a payment after today has not happened.
        raise InvoiceRejected(
            "declaration.paid_in_future",
            "A declaration is for what you already paid: the payment date cannot be after today.",
            "service_to",
        )
    earliest = line.starts_on or line.opened_on
    latest = min(d for d in (line.ends_on, line.execution_deadline) if d is not None)
    if start and start < earliest:
        raise InvoiceRejected("invoice.before_plan", "The service started before the planned activity.", "service_from")
    if end and end > latest:
        raise InvoiceRejected(
            "invoice.after_plan", "The service ends after the planned activity or deadline.", "service_to"
        )
    if invoice.issue_date and invoice.issue_date < earliest_issue_date(line):
        raise InvoiceRejected(
            "invoice.issued_before_budget",
            "The invoice was issued before its budget line could "
            f"be used (earliest {earliest_issue_date(line).isoformat()}).",
            "issue_date",
        )


def _check_provider(line: LineSnapshot, invoice: IncomingInvoice) -> None:
    if invoice.sent_by is not None:
        _check_provider_token(line, invoice, invoice.sent_by)
        return
    if line.provider_kvk and invoice.provider_kvk:
        if validate_kvk(line.provider_kvk) != validate_kvk(invoice.provider_kvk):
            raise InvoiceRejected(
                "invoice.provider_mismatch", "This provider is not the one in the approved plan.", "provider_kvk"
            )
        return
    if line.provider_name and normalise_name(line.provider_name) != normalise_name(invoice.provider_name):
        raise InvoiceRejected(
            "invoice.provider_mismatch", "This provider is not the one in the approved plan.", "provider_name"
        )


def _check_provider_token(line: LineSnapshot, invoice: IncomingInvoice, token: ProviderToken) -> None:
    """A provider's own invoice: who sends it is the KvK in its token, never the name in the invoice.

    A line (or order) with a KvK takes invoices only from a token with that KvK. A line without a
    KvK cannot tell providers apart by name (anyone can type a name): the name must still match,
    and the invoice waits for the client's confirmation (`needs_client_confirmation`). A KvK on the
    invoice must be the token's; a token without one (a provider id that is no KvK number) proves
    none, so it invoices only lines without a KvK, through the client."""
    if invoice.provider_kvk and token.kvk and validate_kvk(invoice.provider_kvk) != token.kvk:
        raise InvoiceRejected(
            "invoice.provider_mismatch",
            "The KvK number on the invoice is not the one of the provider that sends it.",
            "provider_kvk",
        )
    if line.provider_kvk:
        if token.kvk is None or validate_kvk(line.provider_kvk) != token.kvk:
            raise InvoiceRejected(
                "invoice.provider_mismatch", "This provider is not the one in the approved plan.", "provider_kvk"
            )
        return
    if line.provider_name and normalise_name(line.provider_name) != normalise_name(invoice.provider_name):
        raise InvoiceRejected(
            "invoice.provider_mismatch", "This provider is not the one in the approved plan.", "provider_name"
        )


def needs_client_confirmation(line: LineSnapshot, invoice: IncomingInvoice, *, policy_asks: bool) -> bool:
    """A provider's invoice waits for the client when the policy asks for that, and always when a
    provider's own token sends it for a line (or order) without a KvK: then only the client can say
    that this is the provider they chose."""
    if invoice.flow != "provider":
        return False
    return policy_asks or (invoice.sent_by is not None and not line.provider_kvk)


# A declaration's form names its fields differently from an invoice (docs/api.md): a check's
# field is renamed to the one the client filled in.
DECLARATION_FIELDS = {
    "service_from": "paid_on",
    "service_to": "paid_on",
    "issue_date": "paid_on",
    "provider_iban": "client_iban",
    "creditor_iban": "client_iban",
    "amount_excl_vat": "amount",
    "creditor_name": "account_holder",
    "invoice_number": "description",
}


def as_sent(exc: DomainError, flow: str) -> DomainError:
    """The same refusal, naming the field as the caller of this flow sent it."""
    renamed = DECLARATION_FIELDS.get(exc.field or "") if flow == "declaration" else None
    if renamed is None:
        return exc
    return type(exc)(exc.code, exc.message, renamed)


class DuplicateInvoice(InvoiceRejected):
    """Already received (same provider and number, or the same document): a conflict, not bad input."""

    status = 409
