"""The provider register's rules and the price catalogue at invoicing, as plain data. No I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.budget.domain.invoice_checks import InvoiceRejected
from services.budget.domain.provider_register import (
    CataloguePrice,
    RegisteredProvider,
    UnregisteredProviders,
    catalogue_findings,
    check_transition,
    hold_reason,
    mask_iban,
    register_findings,
)
from shared.errors import Conflict

IBAN, OTHER = "NL91ABNA0417164300", "NL02ABNA0123456789"
KVK = "30212345"


def entry(status: str = "contracted", iban: str = IBAN) -> RegisteredProvider:
    return RegisteredProvider(kvk=KVK, status=status, iban=iban)


@pytest.mark.parametrize("status", ["contracted", "approved_for_plan"])
def test_a_provider_that_may_invoice_with_the_register_iban_has_no_findings(status):
    assert register_findings(entry(status), kvk=KVK, invoice_iban=IBAN, unregistered=UnregisteredProviders.REFUSE) == []


@pytest.mark.parametrize("status", ["suspended", "ended"])
def test_a_suspended_or_ended_provider_is_refused_naming_the_kvk(status):
    with pytest.raises(InvoiceRejected) as err:
        register_findings(entry(status), kvk=KVK, invoice_iban=IBAN, unregistered=UnregisteredProviders.ACCEPT)
    assert (err.value.code, err.value.field) == (f"invoice.provider_{status}", "provider_kvk")
    assert "aanbiedersregister" in err.value.message_nl


def test_another_iban_than_the_register_is_a_finding_that_shows_both_masked():
    [finding] = register_findings(entry(), kvk=KVK, invoice_iban=OTHER, unregistered=UnregisteredProviders.ACCEPT)
    assert finding.code == "invoice.iban_not_registered"
    assert "NL02ABNA******6789" in finding.message and "NL91ABNA******4300" in finding.message_nl
    assert OTHER not in finding.message and IBAN not in finding.message_nl


def test_an_unregistered_kvk_is_accepted_held_or_refused_as_the_policy_says():
    kwargs = {"kvk": KVK, "invoice_iban": IBAN}
    assert register_findings(None, unregistered=UnregisteredProviders.ACCEPT, **kwargs) == []
    [held] = register_findings(None, unregistered=UnregisteredProviders.HOLD, **kwargs)
    assert held.code == "invoice.provider_not_registered"
    with pytest.raises(InvoiceRejected) as err:
        register_findings(None, unregistered=UnregisteredProviders.REFUSE, **kwargs)
    assert err.value.code == "invoice.provider_not_registered"


def test_an_invoice_that_proves_no_kvk_is_not_matched_at_all():
    assert register_findings(None, kvk=None, invoice_iban=IBAN, unregistered=UnregisteredProviders.REFUSE) == []


@pytest.mark.parametrize(("current", "wanted", "allowed"), [
    ("contracted", "suspended", True),
    ("suspended", "contracted", True),
    ("approved_for_plan", "contracted", True),
    ("suspended", "ended", True),
    ("contracted", "contracted", True),
    ("ended", "contracted", False),
    ("ended", "suspended", False),
])
def test_status_transitions_keep_ended_final(current, wanted, allowed):
    if allowed:
        check_transition(current, wanted)
    else:
        with pytest.raises(Conflict) as err:
            check_transition(current, wanted)
        assert err.value.code == "provider.status_transition"


def test_an_iban_is_masked_but_for_country_bank_and_last_four():
    assert mask_iban(IBAN) == "NL91ABNA******4300"
    assert mask_iban(None) is None


PRICE = CataloguePrice("COACH-UUR", "hour", 80_00)


def test_a_unit_price_above_the_catalogue_maximum_is_a_finding_and_at_it_is_not():
    assert catalogue_findings(PRICE, [Decimal("80.00"), Decimal("79.99")]) == []
    [finding] = catalogue_findings(PRICE, [Decimal("80.00"), Decimal("80.01")])
    assert finding.code == "invoice.above_catalogue_price" and "80.01" in finding.message
    assert hold_reason([finding]) == "Held for finance: invoice.above_catalogue_price"


def test_no_catalogue_product_or_no_unit_price_gives_no_finding():
    assert catalogue_findings(None, [Decimal("1000")]) == []
    assert catalogue_findings(PRICE, []) == []
    assert hold_reason([]) is None
