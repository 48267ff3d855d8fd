import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.budget.domain.ledger import Account, LineBalance, Posting, Transaction, TransactionKind
from shared.errors import DomainError
from shared.money import Money


def test_grant_makes_the_amount_available():
    line = LineBalance()
    line.grant(Money(100_00))
    assert line.granted == Money(100_00) and line.remaining == Money(100_00)


def test_an_invoice_above_the_remaining_budget_is_refused_and_changes_nothing():
    line = LineBalance()
    line.grant(Money(100_00))
    line.approve_invoice(Money(60_00))
    with pytest.raises(DomainError) as err:
        line.approve_invoice(Money(40_01))
    assert err.value.code == "budget.insufficient"
    assert line.remaining == Money(40_00) and line.approved == Money(60_00)


def test_only_approved_money_can_be_paid():
    line = LineBalance()
    line.grant(Money(100_00))
    with pytest.raises(DomainError):
        line.pay_invoice(Money(1))


def test_an_unbalanced_transaction_cannot_exist():
    with pytest.raises(DomainError):
        Transaction(TransactionKind.GRANT, (Posting(Account.AVAILABLE, Money(5)),))


def test_zero_or_negative_movements_are_refused():
    with pytest.raises(DomainError):
        LineBalance().grant(Money(0))


@given(st.lists(st.tuples(st.sampled_from(["grant", "approve", "pay"]), st.integers(min_value=1, max_value=10_000)),
                max_size=60))
def test_balance_equations_hold_for_any_sequence(steps):
    line = LineBalance()
    postings: list[Posting] = []
    for action, cents in steps:
        op = {"grant": line.grant, "approve": line.approve_invoice, "pay": line.pay_invoice}[action]
        try:
            postings.extend(op(Money(cents)).postings)
        except DomainError:
            pass
        assert line.remaining.cents >= 0
        assert line.granted == line.remaining + line.approved
        assert line.paid <= line.approved
    rebuilt = LineBalance.from_postings(postings)
    assert rebuilt.balances == line.balances
    assert Money.total(p.amount for p in postings) == Money.zero()
