"""The provider register's tables (schema "budget") and API shapes (issue 13): who the
municipality pays, matched on the KvK number; services/budget/providers.py works with them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import JSON, BigInteger, Column, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.identifiers import IBANStr
from shared.text import FreeText, Line

SCHEMA = "budget"


def _uuid() -> str:
    return str(uuid.uuid4())


class Provider(SQLModel, table=True):
    """A registered provider: who the municipality pays, matched on its KvK number (issue 13)."""

    __tablename__ = "provider"
    __table_args__ = (
        UniqueConstraint("municipality", "kvk", name="uq_provider_municipality_kvk"),
        {"schema": SCHEMA},
    )

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    kvk: str = Field(max_length=8)
    name: str = Field(max_length=200)
    vat_number: str | None = Field(default=None, max_length=20)
    # The account payment runs pay to: an invoice naming another is held (provider_register.py).
    iban: str = Field(max_length=34)
    status: str = Field(max_length=20)  # a ProviderStatus
    version: int = 1
    created_by: str = Field(max_length=80)
    created_at: datetime
    updated_at: datetime


class ProviderHistory(SQLModel, table=True):
    """Every registration and change of a provider: its status, and which fields changed (an IBAN masked)."""

    __tablename__ = "provider_history"
    __table_args__ = {"schema": SCHEMA}

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    )
    provider_id: str = Field(index=True, max_length=36)
    status: str = Field(max_length=20)
    changes: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    reason: str | None = Field(default=None, max_length=500)
    changed_by: str = Field(max_length=80)
    changed_at: datetime


ProviderStatusName = Literal["contracted", "approved_for_plan", "suspended", "ended"]


class ProviderIn(SQLModel):
    model_config = {"extra": "forbid"}

    kvk: Line = Field(min_length=8, max_length=20, description="KvK number, 8 digits.")
    name: Line = Field(min_length=1, max_length=200)
    vat_number: Line | None = Field(default=None, max_length=20, description="EU VAT number, e.g. NL123456789B01.")
    iban: IBANStr = Field(description="The account the municipality pays this provider's invoices to.")
    status: ProviderStatusName = "contracted"
    reason: FreeText | None = Field(default=None, max_length=500)


class ProviderPatch(SQLModel):
    model_config = {"extra": "forbid"}

    version: int = Field(ge=1, le=1_000_000, description="The version you read (optimistic concurrency).")
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    vat_number: Line | None = Field(default=None, max_length=20)
    iban: IBANStr | None = None
    status: ProviderStatusName | None = None
    reason: FreeText | None = Field(default=None, max_length=500)


class ProviderHistoryPublic(SQLModel):
    status: str
    changes: dict[str, Any]
    reason: str | None
    changed_by: str
    changed_at: datetime


class ProviderPublic(SQLModel):
    id: str
    kvk: str
    name: str
    vat_number: str | None
    iban: str  # finance reads it whole; everyone else masked
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    history: list[ProviderHistoryPublic] | None = None
