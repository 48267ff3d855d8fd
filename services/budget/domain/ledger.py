"""The budget ledger in plain Python: double entry, and the rule that no line goes below zero.

Every movement is a transaction of postings that add up to zero. Accounts per budget line:
  funding    the municipality's side (goes negative as money is granted to the line)
  available  granted and not yet used or committed: the remaining budget
  committed  reserved for an accepted quote or order, not yet invoiced
  held       no cure, less pay: the share of approved invoices held back until an outcome
  payable    approved (or released) and not yet paid
  paid       paid out
Balances are sums of postings; corrections are new transactions, never edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from shared.errors import DomainError
from shared.money import Money


class Account(StrEnum):
    FUNDING = "funding"
    AVAILABLE = "available"
    COMMITTED = "committed"
    HELD = "held"
    PAYABLE = "payable"
    PAID = "paid"


class TransactionKind(StrEnum):
    GRANT = "grant"
    RELEASE = "release"  # remaining budget given back (closing, or moved to another line)
    COMMIT = "commit"  # an accepted quote or order reserves money
    UNCOMMIT = "uncommit"  # a reservation no longer needed
    INVOICE_APPROVED = "invoice_approved"
    HOLDBACK_RELEASED = "holdback_released"
    HOLDBACK_CANCELLED = "holdback_cancelled"
    INVOICE_PAID = "invoice_paid"
    CREDIT_NOTE = "credit_note"  # an approved, unpaid amount taken back
    REFUND = "refund"  # money paid out and received back
    PAYMENT_RETURNED = "payment_returned"  # the bank returned a transfer: payable again


@dataclass(frozen=True)
class Posting:
    account: Account
    amount: Money  # debit positive, credit negative


@dataclass(frozen=True)
class Transaction:
    kind: TransactionKind
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if Money.total(p.amount for p in self.postings) != Money.zero():
            raise DomainError("ledger.unbalanced", "A ledger transaction must add up to zero.")


def _moves(kind: TransactionKind, *moves: tuple[Account, Account, Money]) -> Transaction:
    postings: list[Posting] = []
    for source, target, amount in moves:
        if amount.cents < 0:
            raise DomainError("ledger.amount", "A ledger movement cannot be negative.", "amount")
        if amount.cents:
            postings += [Posting(source, -amount), Posting(target, amount)]
    if not postings:
        raise DomainError("ledger.amount", "A ledger movement needs an amount above zero.", "amount")
    return Transaction(kind, tuple(postings))


def holdback_share(amount: Money, percent: int) -> Money:
    """The part of an invoice held back until an outcome, rounded half up to a cent."""
    return amount.percent(percent) if percent else Money.zero()


def transfer_share(credit: Money, *, charge: Money, total: Money, open_charge: Money, open_transfer: Money) -> Money:
    """What a credit of `credit` on an invoice's budget charge takes off its transfer (incl. VAT).

    The budget may be charged excl. VAT while the provider is paid incl. VAT: the credit takes
    the same share of the transfer as of the charge, rounded half up to a cent, and all of what
    is still to transfer when it credits all of what is still charged (no cent of VAT left over).
    """
    if credit >= open_charge:
        return open_transfer
    if charge.cents <= 0:
        return Money.zero()
    # credit * total / charge, rounded half up, in whole cents (all positive here)
    share = (2 * credit.cents * total.cents + charge.cents) // (2 * charge.cents)
    return min(Money(share), open_transfer)


@dataclass
class LineBalance:
    """The balances of one budget line, derived from its postings."""

    balances: dict[Account, Money] = field(default_factory=lambda: {a: Money.zero() for a in Account})

    @classmethod
    def from_postings(cls, postings: list[Posting]) -> LineBalance:
        line = cls()
        for posting in postings:
            line.balances[posting.account] = line.balances[posting.account] + posting.amount
        return line

    @property
    def granted(self) -> Money:
        return -self.balances[Account.FUNDING]

    @property
    def remaining(self) -> Money:
        return self.balances[Account.AVAILABLE]

    @property
    def committed(self) -> Money:
        return self.balances[Account.COMMITTED]

    @property
    def held(self) -> Money:
        return self.balances[Account.HELD]

    @property
    def payable(self) -> Money:
        return self.balances[Account.PAYABLE]

    @property
    def paid(self) -> Money:
        return self.balances[Account.PAID]

    @property
    def used(self) -> Money:
        """Approved spending: what has left `available` for an invoice and not come back."""
        return self.held + self.payable + self.paid

    def _apply(self, tx: Transaction) -> Transaction:
        after = dict(self.balances)
        for posting in tx.postings:
            after[posting.account] = after[posting.account] + posting.amount
        for account in (Account.AVAILABLE, Account.COMMITTED, Account.HELD, Account.PAYABLE, Account.PAID):
            if after[account].cents < 0:
                raise DomainError("ledger.negative", f"This would take {account} below zero.", "amount")
        if after[Account.FUNDING].cents > 0:
            raise DomainError("ledger.negative", "More would go back than was granted.", "amount")
        self.balances = after
        return tx

    def grant(self, amount: Money) -> Transaction:
        return self._apply(_moves(TransactionKind.GRANT, (Account.FUNDING, Account.AVAILABLE, amount)))

    def release(self, amount: Money) -> Transaction:
        if amount > self.remaining:
            raise DomainError("budget.insufficient", "Only what is left on a line can be released.", "amount")
        return self._apply(_moves(TransactionKind.RELEASE, (Account.AVAILABLE, Account.FUNDING, amount)))

    def commit(self, amount: Money) -> Transaction:
        if amount > self.remaining:
            raise DomainError(
                "budget.insufficient", "The order is more than what is left on this budget line.", "amount"
            )
        return self._apply(_moves(TransactionKind.COMMIT, (Account.AVAILABLE, Account.COMMITTED, amount)))

    def uncommit(self, amount: Money) -> Transaction:
        return self._apply(_moves(TransactionKind.UNCOMMIT, (Account.COMMITTED, Account.AVAILABLE, amount)))

    def approve_invoice(
        self,
        amount: Money,
        holdback_percent: int = 0,
        from_committed: Money | None = None,
    ) -> Transaction:
        """Approve an invoice: from its order's reservation first, the rest from what is left."""
        if amount.cents <= 0:
            raise DomainError("ledger.amount", "An invoice amount must be above zero.", "amount")
        reserved = min(from_committed or Money.zero(), amount, self.committed)
        if amount - reserved > self.remaining:
            raise DomainError(
                "budget.insufficient", "The invoice is more than what is left on this budget line.", "amount"
            )
        held = holdback_share(amount, holdback_percent)
        from_reserved_to_payable = min(reserved, amount - held)
        from_reserved_to_held = reserved - from_reserved_to_payable
        moves = [
            (Account.COMMITTED, Account.PAYABLE, from_reserved_to_payable),
            (Account.COMMITTED, Account.HELD, from_reserved_to_held),
            (Account.AVAILABLE, Account.PAYABLE, amount - held - from_reserved_to_payable),
            (Account.AVAILABLE, Account.HELD, held - from_reserved_to_held),
        ]
        return self._apply(_moves(TransactionKind.INVOICE_APPROVED, *moves))

    def release_holdback(self, amount: Money) -> Transaction:
        return self._apply(_moves(TransactionKind.HOLDBACK_RELEASED, (Account.HELD, Account.PAYABLE, amount)))

    def cancel_holdback(self, amount: Money) -> Transaction:
        return self._apply(_moves(TransactionKind.HOLDBACK_CANCELLED, (Account.HELD, Account.FUNDING, amount)))

    def pay(self, amount: Money) -> Transaction:
        if amount > self.payable:
            raise DomainError("budget.not_payable", "Only approved, unpaid amounts can be paid.", "amount")
        return self._apply(_moves(TransactionKind.INVOICE_PAID, (Account.PAYABLE, Account.PAID, amount)))

    def return_payment(self, amount: Money) -> Transaction:
        """The bank returned a transfer (a closed account, say): what was paid is payable again."""
        if amount > self.paid:
            raise DomainError("budget.return_too_large", "A returned payment cannot exceed what was paid.", "amount")
        return self._apply(_moves(TransactionKind.PAYMENT_RETURNED, (Account.PAID, Account.PAYABLE, amount)))

    def credit(self, amount: Money) -> Transaction:
        if amount > self.payable:
            raise DomainError(
                "budget.credit_too_large", "A credit note cannot exceed what is approved and unpaid.", "amount"
            )
        return self._apply(_moves(TransactionKind.CREDIT_NOTE, (Account.PAYABLE, Account.AVAILABLE, amount)))

    def refund(self, amount: Money) -> Transaction:
        if amount > self.paid:
            raise DomainError("budget.refund_too_large", "A refund cannot exceed what was paid.", "amount")
        return self._apply(_moves(TransactionKind.REFUND, (Account.PAID, Account.AVAILABLE, amount)))


def threshold_crossed(granted: Money, used_before: Money, used_after: Money, thresholds: tuple[int, ...]) -> list[int]:
    """The thresholds (percent of the budget used) this movement crosses, e.g. [80] or [80, 100]."""
    if granted.cents <= 0:
        return []
    crossed = []
    for pct in sorted(thresholds):
        limit = granted.cents * pct
        if used_before.cents * 100 < limit <= used_after.cents * 100:
            crossed.append(pct)
    return crossed
