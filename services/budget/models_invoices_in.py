"""API shapes of invoices coming in (beside invoices_in.py and api_invoices_in.py): the JSON invoice,
and the supplier's contact it may give. services.budget.models re-exports InvoiceIn."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, model_validator
from sqlmodel import Field, SQLModel

from services.budget.domain.supplier_contact import MAX_EMAIL_LENGTH, checked_email
from shared.identifiers import IBANStr
from shared.money import EuroAmount
from shared.text import Line

# One e-mail address (a 422 naming the field otherwise), in its normal form.
SupplierEmail = Annotated[str, StringConstraints(max_length=MAX_EMAIL_LENGTH), AfterValidator(checked_email)]


class InvoiceIn(SQLModel):
    """An invoice as a provider or finance sends it through the API (JSON)."""

    model_config = {"extra": "forbid"}

    budget_line_id: Line = Field(min_length=1, max_length=36, description="The order reference on the invoice.")
    invoice_number: Line = Field(min_length=1, max_length=80)
    issue_date: date | None = None
    provider_id: Line | None = Field(
        default=None, max_length=80, description="Finance enters it; a provider's own token sets it."
    )
    provider_name: Line = Field(min_length=1, max_length=200)
    provider_kvk: Line | None = Field(default=None, max_length=20)
    provider_vat: Line | None = Field(default=None, max_length=20)
    provider_iban: IBANStr
    supplier_email: SupplierEmail | None = Field(
        default=None, description="Where the municipality may tell the supplier about this invoice."
    )
    currency: Line = Field(default="EUR", max_length=3)
    amount_excl_vat: EuroAmount | None = None
    vat: EuroAmount = Field(default=0)
    amount: EuroAmount | None = Field(default=None, description="Old name for amount_excl_vat.")
    service_from: date | None = None
    service_to: date | None = None
    quantity: Decimal | None = Field(
        default=None,
        gt=0,
        le=100_000,
        max_digits=9,
        decimal_places=3,
        description="How many units of the line's catalogue product (hours, sessions, ...) the invoice charges: "
        "with it the unit price is checked against the price catalogue's maximum.",
    )

    @model_validator(mode="after")
    def one_amount(self) -> InvoiceIn:
        if self.amount_excl_vat is None and self.amount is None:
            raise ValueError("amount_excl_vat is required")
        if self.amount_excl_vat is None:
            self.amount_excl_vat = self.amount
        return self


class SupplierContactPublic(SQLModel):
    """Where notifications write to the supplier about an invoice (null: the invoice named no address)."""

    email: str | None
