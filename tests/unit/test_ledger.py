import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.budget.domain.ledger import (
    Account,
    LineBalance,
    Posting,
    Transaction,
    TransactionKind,
    holdback_share,
    threshold_crossed,
)
from shared.errors import DomainError
from shared.money import Money


def _line(granted: int = 100_00) -> LineBalance:
    line = LineBalance()
    line.grant(Money(granted))
    return line


def test_grant_makes_the_amount_available():
    line = _line()
    assert line.granted == Money(100_00) and line.remaining == Money(100_00)


def test_an_invoice_above_the_remaining_budget_is_refused_and_changes_nothing():
    line = _line()
    line.approve_invoice(Money(60_00))
    with pytest.raises(DomainError) as err:
        line.approve_invoice(Money(40_01))
    assert err.value.code == "budget.insufficient"
    assert line.remaining == Money(40_00) and line.used == Money(60_00)


def test_holdback_keeps_a_share_apart_until_an_outcome():
    line = _line()
    line.approve_invoice(Money(50_00), holdback_percent=20)
    assert line.payable == Money(40_00) and line.held == Money(10_00) and line.remaining == Money(50_00)
    line.release_holdback(Money(10_00))
    assert line.payable == Money(50_00) and line.held == Money.zero()


def test_cancelled_holdback_goes_back_to_the_municipality_not_to_the_line():
    line = _line()
    line.approve_invoice(Money(50_00), holdback_percent=20)
    line.cancel_holdback(Money(10_00))
    assert line.granted == Money(90_00) and line.remaining == Money(50_00) and line.held == Money.zero()


def test_holdback_share_rounds_half_up():
    assert holdback_share(Money(333), 20) == Money(67)


def test_only_approved_money_can_be_paid():
    with pytest.raises(DomainError):
        _line().pay(Money(1))


def test_a_credit_note_cannot_exceed_what_is_payable():
    line = _line()
    line.approve_invoice(Money(10_00))
    with pytest.raises(DomainError):
        line.credit(Money(10_01))
    line.credit(Money(10_00))
    assert line.remaining == Money(100_00)


def test_release_gives_back_only_what_is_left():
    line = _line()
    line.approve_invoice(Money(30_00))
    with pytest.raises(DomainError):
        line.release(Money(70_01))
    line.release(Money(70_00))
    assert line.remaining == Money.zero() and line.granted == Money(30_00)


def test_an_unbalanced_transaction_cannot_exist():
    with pytest.raises(DomainError):
        Transaction(TransactionKind.GRANT, (Posting(Account.AVAILABLE, Money(5)),))


def test_zero_movements_are_refused():
    with pytest.raises(DomainError):
        LineBalance().grant(Money(0))


def test_thresholds_are_crossed_once():
    granted = Money(1000)
    assert threshold_crossed(granted, Money(700), Money(850), (80, 100)) == [80]
    assert threshold_crossed(granted, Money(850), Money(900), (80, 100)) == []
    assert threshold_crossed(granted, Money(0), Money(1000), (80, 100)) == [80, 100]


OPS = ["grant", "approve", "approve_hold", "release_hold", "cancel_hold", "pay", "credit", "refund", "release",
       "commit", "uncommit", "approve_order"]


def test_an_order_reserves_money_and_its_invoice_uses_the_reservation_first():
    line = _line()
    line.commit(Money(60_00))
    assert line.remaining == Money(40_00) and line.committed == Money(60_00)
    line.approve_invoice(Money(70_00), from_committed=Money(60_00))
    assert line.committed == Money.zero() and line.remaining == Money(30_00) and line.payable == Money(70_00)


def test_an_order_cannot_reserve_more_than_is_left():
    with pytest.raises(DomainError):
        _line().commit(Money(100_01))


@given(st.lists(st.tuples(st.sampled_from(OPS), st.integers(min_value=1, max_value=10_000)), max_size=80))
def test_balance_equations_hold_for_any_sequence(steps):
    line = LineBalance()
    postings: list[Posting] = []
    for action, cents in steps:
        amount = Money(cents)
        op = {
            "grant": lambda: line.grant(amount), "approve": lambda: line.approve_invoice(amount),
            "approve_hold": lambda: line.approve_invoice(amount, 20), "release_hold": lambda: line.release_holdback(amount),
            "cancel_hold": lambda: line.cancel_holdback(amount), "pay": lambda: line.pay(amount),
            "credit": lambda: line.credit(amount), "refund": lambda: line.refund(amount),
            "release": lambda: line.release(amount), "commit": lambda: line.commit(amount),
            "uncommit": lambda: line.uncommit(amount),
            "approve_order": lambda: line.approve_invoice(amount, 10, from_committed=amount),
        }[action]
        before = dict(line.balances)
        try:
            postings.extend(op().postings)
        except DomainError:
            assert line.balances == before  # a refused movement changes nothing
        for account in (Account.AVAILABLE, Account.COMMITTED, Account.HELD, Account.PAYABLE, Account.PAID):
            assert line.balances[account].cents >= 0
        assert line.granted == line.remaining + line.committed + line.used
    assert LineBalance.from_postings(postings).balances == line.balances
    assert Money.total(p.amount for p in postings) == Money.zero()


def test_a_credit_takes_the_same_share_of_the_transfer_as_of_the_budget_charge():
    from services.budget.domain.ledger import transfer_share

    # Charged 200.00 excl. VAT, transferred 242.00 incl. 21 % VAT: a 50.00 credit is 60.50 of the transfer.
    args = {"charge": Money(200_00), "total": Money(242_00), "open_charge": Money(200_00),
            "open_transfer": Money(242_00)}
    assert transfer_share(Money(50_00), **args) == Money(60_50)
    assert transfer_share(Money(1), **args) == Money(1)  # 1.21 cents, rounded half up to a cent
    # Crediting all that is still charged takes all that is still to transfer: no VAT left over.
    assert transfer_share(Money(200_00), **args) == Money(242_00)
    assert transfer_share(Money(70_00), charge=Money(200_00), total=Money(242_00), open_charge=Money(70_00),
                          open_transfer=Money(84_71)) == Money(84_71)
