"""The provider register: the organisations a municipality pays (issue 13), as plain rules.

Finance keeps it per municipality: KvK number (the key), trade name, VAT number, the IBAN the
municipality pays to, and a contract status with its history. An invoice is matched on the KvK
that sends it (a provider's own token) or that it names, never on a supplier name:

- a registered provider that is `suspended` or `ended` gets its invoice refused
  (`invoice.provider_suspended` / `invoice.provider_ended`, 422 naming the KvK);
- a bank account on the invoice that is not the register's is not paid to: the invoice is held
  for finance with the finding `invoice.iban_not_registered` (classic invoice fraud is a new
  account on an otherwise normal invoice), and what a payment run pays to is the register's IBAN;
- an unregistered KvK does what the finance policy's `unregistered_providers` says: `accept` (the
  default, so a municipality that has not filled its register works as before), `hold` (held for
  finance with `invoice.provider_not_registered`) or `refuse` (422 `invoice.provider_not_registered`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.budget.domain.invoice_checks import InvoiceRejected
from shared.errors import Conflict


class ProviderStatus(StrEnum):
    CONTRACTED = "contracted"  # a framework contract: may be named in any plan
    APPROVED_FOR_PLAN = "approved_for_plan"  # no contract, admitted for the plans that name it
    SUSPENDED = "suspended"  # no new invoices until finance lifts it
    ENDED = "ended"  # the relation ended; final


INVOICING = frozenset({ProviderStatus.CONTRACTED, ProviderStatus.APPROVED_FOR_PLAN})
# Where a status may go; an ended provider is registered again under a new status only by finance
# lifting nothing: it stays ended (its history is the record of what happened).
TRANSITIONS: dict[ProviderStatus, frozenset[ProviderStatus]] = {
    ProviderStatus.CONTRACTED: frozenset(
        {ProviderStatus.APPROVED_FOR_PLAN, ProviderStatus.SUSPENDED, ProviderStatus.ENDED}
    ),
    ProviderStatus.APPROVED_FOR_PLAN: frozenset(
        {ProviderStatus.CONTRACTED, ProviderStatus.SUSPENDED, ProviderStatus.ENDED}
    ),
    ProviderStatus.SUSPENDED: frozenset(
        {ProviderStatus.CONTRACTED, ProviderStatus.APPROVED_FOR_PLAN, ProviderStatus.ENDED}
    ),
    ProviderStatus.ENDED: frozenset(),
}


class UnregisteredProviders(StrEnum):
    """The finance policy's `unregistered_providers`: what an invoice from a KvK not in the register gets."""

    ACCEPT = "accept"
    HOLD = "hold"
    REFUSE = "refuse"


def check_transition(current: str, wanted: str) -> None:
    """Raise a 409 when the register may not go from `current` to `wanted`."""
    now, to = ProviderStatus(current), ProviderStatus(wanted)
    if to == now:
        return
    if to not in TRANSITIONS[now]:
        raise Conflict(
            "provider.status_transition",
            f"A provider that is {now.value} cannot become {to.value}.",
            "status",
            message_nl=f"Een aanbieder met status {now.value} kan niet {to.value} worden.",
        )


def mask_iban(iban: str | None) -> str | None:
    """For logs, audit records, history and readers other than finance: the country, the bank and
    the last four digits (NL91ABNA0417164300 -> NL91ABNA******4300)."""
    if not iban:
        return iban
    if len(iban) <= 12:
        return iban[:2] + "*" * (len(iban) - 2)
    return iban[:8] + "*" * (len(iban) - 12) + iban[-4:]


@dataclass(frozen=True)
class Finding:
    """Something finance must look at before the invoice is paid; it holds the payment."""

    code: str
    message: str
    message_nl: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "message_nl": self.message_nl}


@dataclass(frozen=True)
class RegisteredProvider:
    """What the invoice checks see of a register entry."""

    kvk: str
    status: str
    iban: str


def register_findings(
    entry: RegisteredProvider | None,
    *,
    kvk: str | None,
    invoice_iban: str,
    unregistered: UnregisteredProviders,
    field: str = "provider_kvk",
) -> list[Finding]:
    """The register's say on an invoice from `kvk` (None: the invoice proves no KvK; nothing to
    match). Raises InvoiceRejected for a refusal; returns the findings that hold it."""
    if kvk is None:
        return []
    if entry is None:
        if unregistered is UnregisteredProviders.REFUSE:
            raise InvoiceRejected(
                "invoice.provider_not_registered",
                "This provider (KvK number) is not in the municipality's provider register.",
                field,
                message_nl="Deze aanbieder (KvK-nummer) staat niet in het aanbiedersregister van de gemeente.",
            )
        if unregistered is UnregisteredProviders.HOLD:
            return [
                Finding(
                    "invoice.provider_not_registered",
                    "The provider is not in the provider register: check it and register it before paying.",
                    "De aanbieder staat niet in het aanbiedersregister: controleer en registreer hem voor u betaalt.",
                )
            ]
        return []
    status = ProviderStatus(entry.status)
    if status not in INVOICING:
        raise InvoiceRejected(
            f"invoice.provider_{status.value}",
            f"This provider is {status.value} in the municipality's provider register; it cannot invoice now.",
            field,
            message_nl=f"Deze aanbieder heeft status {status.value} in het aanbiedersregister; "
            "hij kan nu geen rekening sturen.",
        )
    if invoice_iban != entry.iban:
        return [
            Finding(
                "invoice.iban_not_registered",
                f"The bank account on the invoice ({mask_iban(invoice_iban)}) is not the one in the provider "
                f"register ({mask_iban(entry.iban)}). Check it with the provider, by a number you already know, "
                "before paying.",
                f"Het rekeningnummer op de rekening ({mask_iban(invoice_iban)}) is niet dat uit het "
                f"aanbiedersregister ({mask_iban(entry.iban)}). Controleer het bij de aanbieder, via een nummer "
                "dat u al kent, voor u betaalt.",
            )
        ]
    return []


# --- the price catalogue at invoicing ---------------------------------------------------------


@dataclass(frozen=True)
class CataloguePrice:
    """A budget line's catalogue product, as the plan's approval named it (PlanApproved v2)."""

    product_code: str
    unit: str
    max_unit_price_cents: int


def catalogue_findings(price: CataloguePrice | None, unit_prices: list[Decimal]) -> list[Finding]:
    """An invoice on a line with a catalogue product: a unit price (excl. VAT, in euros) above the
    product's maximum holds the invoice for finance (`invoice.above_catalogue_price`). No unit
    price known (a JSON invoice without `quantity`): nothing to compare, no finding."""
    if price is None or not unit_prices:
        return []
    highest = max(unit_prices)
    maximum = Decimal(price.max_unit_price_cents) / 100
    if highest <= maximum:
        return []
    return [
        Finding(
            "invoice.above_catalogue_price",
            f"A unit price on the invoice (EUR {highest:.2f} per {price.unit}) is above the catalogue's maximum for "
            f"{price.product_code} (EUR {maximum:.2f}). Pay at most the maximum: credit the difference, or reject.",
            f"Een prijs per eenheid op de rekening (EUR {highest:.2f} per {price.unit}) is hoger dan het maximum "
            f"in de prijscatalogus voor {price.product_code} (EUR {maximum:.2f}). Betaal hoogstens het maximum: "
            "crediteer het verschil, of wijs af.",
        )
    ]


def hold_reason(findings: list[Finding]) -> str | None:
    """The payment hold an invoice with findings gets (it stays out of payment runs)."""
    if not findings:
        return None
    return ("Held for finance: " + ", ".join(f.code for f in findings))[:200]
