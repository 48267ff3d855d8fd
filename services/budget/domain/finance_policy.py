"""How a municipality runs the money side: data per municipality, not code.

Intake owns the plan policy (maxima, criteria, review); the budget service owns this part,
so no service reads another's tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from shared.errors import DomainError
from shared.identifiers import IdentifierError, validate_iban
from shared.money import Money

PAIN_SCHEMAS = ("pain.001.001.09", "pain.001.001.03")
UNREGISTERED_PROVIDERS = ("accept", "hold", "refuse")


@dataclass(frozen=True)
class FinancePolicy:
    municipality: str
    name: str
    # Above this invoice total a second person approves too (four eyes).
    invoice_four_eyes_threshold: Money = Money.euros("2500.00")
    # Where the client is the contracting party (Almere, Groningen), the client confirms a
    # provider's invoice before finance approves it: the client directs their own budget.
    client_confirms_provider_invoices: bool = False
    # Budgets are excl. VAT unless the municipality says otherwise (it reclaims the VAT).
    budgets_include_vat: bool = False
    # Percentages of a budget used at which the client and case manager are told.
    thresholds: tuple[int, ...] = (80, 100)
    # pgb bw: the municipality's execution costs, deducted from the yearly budget at opening.
    pgb_bw_execution_cost_percent: int = 0
    # The municipality's own bank account for payment runs.
    debtor_name: str = "Gemeente"
    debtor_iban: str = "NL02ABNA0123456789"
    debtor_bic: str = "ABNANL2A"
    pain_schema: str = "pain.001.001.09"
    # An invoice from a KvK number not in the provider register: accept (as before the register),
    # hold (for finance, out of payment runs) or refuse (domain/provider_register.py).
    unregistered_providers: str = "accept"
    extra: dict[str, Any] = field(default_factory=dict)


DEFAULT = FinancePolicy(municipality="0000", name="Neutrale standaard")

PRESETS: dict[str, FinancePolicy] = {
    # Groningen: the client contracts the provider and receives the invoice (Table 3.3).
    "0014": replace(
        DEFAULT,
        municipality="0014",
        name="Groningen",
        client_confirms_provider_invoices=True,
        debtor_name="Gemeente Groningen",
        debtor_iban="NL02ABNA0123456789",
    ),
    "0344": replace(
        DEFAULT,
        municipality="0344",
        name="Utrecht",
        debtor_name="Gemeente Utrecht",
        debtor_iban="NL39RABO0300065264",
        debtor_bic="RABONL2U",
    ),
    "0637": replace(
        DEFAULT,
        municipality="0637",
        name="Zoetermeer",
        debtor_name="Gemeente Zoetermeer",
        invoice_four_eyes_threshold=Money.euros("1000.00"),
        pgb_bw_execution_cost_percent=10,
    ),
}


def finance_policy_for(municipality: str, stored: dict[str, Any] | None = None) -> FinancePolicy:
    if stored is not None:
        return policy_from_dict(stored)
    preset = PRESETS.get(municipality)
    return preset or replace(DEFAULT, municipality=municipality)


def policy_to_dict(policy: FinancePolicy) -> dict[str, Any]:
    data = asdict(policy)
    data["invoice_four_eyes_threshold"] = str(policy.invoice_four_eyes_threshold)
    data["thresholds"] = list(policy.thresholds)
    return data


def policy_from_dict(data: dict[str, Any]) -> FinancePolicy:
    known = set(FinancePolicy.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        field_name = sorted(unknown)[0]
        raise DomainError("finance_policy.unknown_field", f"Unknown setting: {field_name}", field_name)
    values = dict(data)
    try:
        if "invoice_four_eyes_threshold" in values:
            values["invoice_four_eyes_threshold"] = Money.euros(values["invoice_four_eyes_threshold"])
    except ValueError as exc:
        raise DomainError("finance_policy.amount", str(exc), "invoice_four_eyes_threshold") from exc
    thresholds = tuple(values.get("thresholds", DEFAULT.thresholds))
    if not all(isinstance(t, int) and 1 <= t <= 100 for t in thresholds):
        raise DomainError("finance_policy.thresholds", "Thresholds are whole percentages from 1 to 100.", "thresholds")
    values["thresholds"] = thresholds
    pct = values.get("pgb_bw_execution_cost_percent", 0)
    if not isinstance(pct, int) or not 0 <= pct <= 50:
        raise DomainError(
            "finance_policy.execution_costs", "Execution costs are 0 to 50 percent.", "pgb_bw_execution_cost_percent"
        )
    if values.get("pain_schema", DEFAULT.pain_schema) not in PAIN_SCHEMAS:
        raise DomainError("finance_policy.pain_schema", f"Choose one of {', '.join(PAIN_SCHEMAS)}.", "pain_schema")
    if "debtor_iban" in values:
        try:
            values["debtor_iban"] = validate_iban(values["debtor_iban"])
        except IdentifierError as exc:
            raise DomainError("finance_policy.debtor_iban", str(exc), "debtor_iban") from exc
    for flag in ("client_confirms_provider_invoices", "budgets_include_vat"):
        if flag in values and not isinstance(values[flag], bool):
            raise DomainError("finance_policy.flag", f"{flag} is true or false.", flag)
    if values.get("unregistered_providers", DEFAULT.unregistered_providers) not in UNREGISTERED_PROVIDERS:
        raise DomainError(
            "finance_policy.unregistered_providers",
            f"Choose one of {', '.join(UNREGISTERED_PROVIDERS)}.",
            "unregistered_providers",
        )
    if "municipality" not in values or "name" not in values:
        raise DomainError("finance_policy.missing", "municipality and name are required.", "municipality")
    return FinancePolicy(**values)
