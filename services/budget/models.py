"""Tables owned by the budget service (schema "budget")."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Literal

from pydantic import ConfigDict
from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.identifiers import IBANStr
from shared.money import EuroAmount

SCHEMA = "budget"


def _uuid() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Budget(SQLModel, table=True):
    __tablename__ = "budget"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    plan_id: str = Field(unique=True, max_length=36)
    client_id: str = Field(index=True, max_length=36)
    scheme: str = Field(max_length=20)
    status: str = Field(default="open", max_length=20)
    granted_cents: int
    execution_deadline: date
    opened_at: datetime = Field(default_factory=_now)


class BudgetLine(SQLModel, table=True):
    __tablename__ = "budget_line"
    __table_args__ = (
        CheckConstraint("available_cents >= 0", name="ck_budget_line_available_not_negative"),
        CheckConstraint("payable_cents >= 0", name="ck_budget_line_payable_not_negative"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    budget_id: str = Field(foreign_key="budget.budget.id", index=True, max_length=36)
    plan_line_id: str = Field(max_length=36)
    category: str = Field(max_length=40)
    # Cached balances, kept equal to the ledger's sums under a row lock.
    granted_cents: int = 0
    available_cents: int = 0
    payable_cents: int = 0
    paid_cents: int = 0


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = {"schema": SCHEMA}

    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"),
                                                           primary_key=True, autoincrement=True))
    transaction_id: str = Field(index=True, max_length=36)
    budget_id: str = Field(index=True, max_length=36)
    budget_line_id: str = Field(index=True, max_length=36)
    kind: str = Field(max_length=30)
    account: str = Field(max_length=20)
    amount_cents: int
    invoice_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=_now)


class Invoice(SQLModel, table=True):
    __tablename__ = "invoice"
    __table_args__ = (
        UniqueConstraint("municipality", "provider_id", "invoice_number", name="uq_invoice_provider_number"),
        CheckConstraint("amount_cents > 0", name="ck_invoice_amount_positive"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    budget_id: str = Field(index=True, max_length=36)
    budget_line_id: str = Field(max_length=36)
    plan_id: str = Field(max_length=36)
    client_id: str = Field(index=True, max_length=36)
    provider_id: str = Field(max_length=80, index=True)
    provider_name: str = Field(max_length=200)
    provider_iban: str = Field(max_length=34)
    invoice_number: str = Field(max_length=80)
    amount_cents: int
    status: str = Field(default="received", max_length=20, index=True)
    received_at: datetime = Field(default_factory=_now)
    approved_at: datetime | None = None
    approved_by: str | None = Field(default=None, max_length=80)
    paid_on: date | None = None


# --- API shapes ---------------------------------------------------------------------------


class BudgetLinePublic(SQLModel):
    id: str
    plan_line_id: str
    category: str
    granted: EuroAmount
    approved: EuroAmount
    paid: EuroAmount
    remaining: EuroAmount


class BudgetPublic(SQLModel):
    id: str
    municipality: str
    plan_id: str
    client_id: str
    scheme: str
    status: str
    execution_deadline: date
    granted: EuroAmount
    approved: EuroAmount
    paid: EuroAmount
    remaining: EuroAmount
    lines: list[BudgetLinePublic]


class InvoiceCreate(SQLModel):
    model_config = ConfigDict(extra="forbid")

    budget_line_id: str = Field(min_length=1, max_length=36)
    invoice_number: str = Field(min_length=1, max_length=80)
    provider_id: str | None = Field(default=None, max_length=80,
                                    description="Finance enters it; a provider's own token sets it.")
    provider_name: str = Field(min_length=1, max_length=200)
    provider_iban: IBANStr
    amount: EuroAmount
    currency: Literal["EUR"] = "EUR"


class InvoicePublic(SQLModel):
    id: str
    budget_id: str
    budget_line_id: str
    provider_id: str
    provider_name: str
    invoice_number: str
    amount: EuroAmount
    status: str
    received_at: datetime
    approved_at: datetime | None
    paid_on: date | None


class MarkPaid(SQLModel):
    model_config = ConfigDict(extra="forbid")

    paid_on: date
