"""Bank statements (camt.053 / camt.054) imported to reconcile payment runs: the file, and each
transaction's outcome. One file per municipality and message id (unique): the same file twice
changes nothing the second time."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from services.budget.domain.bank_statement import Outcome
from services.budget.models import SCHEMA
from shared.money import EuroAmount


def _uuid() -> str:
    return str(uuid.uuid4())


class BankStatement(SQLModel, table=True):
    __tablename__ = "bank_statement"
    __table_args__ = (
        UniqueConstraint("municipality", "message_id", name="uq_bank_statement_message_id"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    message: str = Field(max_length=10)  # camt.053 | camt.054
    schema_version: str = Field(max_length=20)  # e.g. camt.053.001.02
    message_id: str = Field(max_length=35)  # GrpHdr/MsgId
    statement_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))  # Stmt/Id or Ntfctn/Id
    account_iban: str | None = Field(default=None, max_length=34)
    sha256: str = Field(max_length=64)
    size: int
    document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    transaction_count: int
    # How many transactions had each outcome, e.g. {"paid": 2, "returned": 1, "not_found": 1}.
    outcomes: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))
    imported_by: str = Field(max_length=80)
    imported_at: datetime


class BankStatementEntry(SQLModel, table=True):
    """One transaction of an imported statement and what it did (or why it changed nothing)."""

    __tablename__ = "bank_statement_entry"
    __table_args__ = (
        UniqueConstraint("bank_statement_id", "position", name="uq_bank_statement_entry_position"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    bank_statement_id: str = Field(index=True, max_length=36)
    position: int
    statement_id: str = Field(max_length=35)
    entry_ref: str = Field(max_length=80)
    end_to_end_id: str | None = Field(default=None, max_length=35)
    booking_date: date | None = None
    status: str = Field(max_length=10)
    credit_debit: str = Field(max_length=4)
    amount_cents: int | None = Field(default=None, sa_type=BigInteger)
    currency: str = Field(max_length=3)
    outcome: str = Field(max_length=20)  # an Outcome
    reason_code: str | None = Field(default=None, max_length=35)  # ISO 20022 return reason, e.g. AC04
    payment_run_id: str | None = Field(default=None, max_length=36)
    payment_item_id: str | None = Field(default=None, max_length=36)
    invoice_id: str | None = Field(default=None, max_length=36)
    message: str = Field(max_length=300)


# --- API shapes ---------------------------------------------------------------------------


class BankEntryPublic(SQLModel):
    position: int
    statement_id: str
    entry_ref: str
    end_to_end_id: str | None
    booking_date: date | None
    status: str
    credit_debit: str
    amount: EuroAmount | None
    currency: str
    outcome: Outcome
    reason_code: str | None
    reason: str | None = Field(description="The return reason in English (for a return).")
    reason_nl: str | None = Field(description="The return reason in Dutch (for a return).")
    payment_run_id: str | None
    invoice_id: str | None
    message: str


class BankStatementPublic(SQLModel):
    id: str
    message: str
    schema_version: str
    message_id: str
    statement_ids: list[str]
    account_iban: str | None
    transaction_count: int
    outcomes: dict[str, int]
    imported_by: str
    imported_at: datetime
    # Each transaction's outcome: in the answer to the import and in GET .../{id}, not in the list.
    entries: list[BankEntryPublic] | None = None


def outcome_counts(outcomes: list[str]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
