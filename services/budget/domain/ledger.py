"""The budget ledger in plain Python: double entry, and the rule that no line goes below zero.

Every movement is a transaction of postings that add up to zero. Accounts per budget line:
  funding    the municipality's side of a grant (goes negative as money is granted)
  available  granted and not yet approved for payment (the remaining budget)
  payable    approved invoices not yet paid
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
    PAYABLE = "payable"
    PAID = "paid"


class TransactionKind(StrEnum):
    GRANT = "grant"
    INVOICE_APPROVED = "invoice_approved"
    INVOICE_PAID = "invoice_paid"


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


def _move(kind: TransactionKind, source: Account, target: Account, amount: Money) -> Transaction:
    if amount.cents <= 0:
        raise DomainError("ledger.amount", "A ledger movement needs an amount above zero.", "amount")
    return Transaction(kind, (Posting(source, -amount), Posting(target, amount)))


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
    def approved(self) -> Money:
        return self.balances[Account.PAYABLE] + self.balances[Account.PAID]

    @property
    def paid(self) -> Money:
        return self.balances[Account.PAID]

    def apply(self, tx: Transaction) -> None:
        for posting in tx.postings:
            self.balances[posting.account] = self.balances[posting.account] + posting.amount
        if self.remaining.cents < 0 or self.balances[Account.PAYABLE].cents < 0:
            raise AssertionError("ledger invariant broken")  # guarded by the checks below

    def grant(self, amount: Money) -> Transaction:
        tx = _move(TransactionKind.GRANT, Account.FUNDING, Account.AVAILABLE, amount)
        self.apply(tx)
        return tx

    def approve_invoice(self, amount: Money) -> Transaction:
        if amount > self.remaining:
            raise DomainError("budget.insufficient",
                              "The invoice is more than what is left on this budget line.", "amount")
        tx = _move(TransactionKind.INVOICE_APPROVED, Account.AVAILABLE, Account.PAYABLE, amount)
        self.apply(tx)
        return tx

    def pay_invoice(self, amount: Money) -> Transaction:
        if amount > self.balances[Account.PAYABLE]:
            raise DomainError("budget.not_payable", "Only approved invoices can be paid.", "amount")
        tx = _move(TransactionKind.INVOICE_PAID, Account.PAYABLE, Account.PAID, amount)
        self.apply(tx)
        return tx
