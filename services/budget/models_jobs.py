"""Budget's background jobs: a payment run or a bulk upload of invoices, queued by a request
(202) and run by a worker (embedded mode's scheduler or a Celery beat task), which writes its
progress (`done` of `total`) as it goes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from services.budget.models import SCHEMA, ItemResult

JobKind = Literal["payment_run", "invoice_upload"]
JobStatus = Literal["queued", "running", "done", "failed"]


def _uuid() -> str:
    return str(uuid.uuid4())


class BudgetJob(SQLModel, table=True):
    __tablename__ = "budget_job"
    __table_args__ = {"schema": SCHEMA}

    id: str = Field(default_factory=_uuid, primary_key=True, max_length=36)
    municipality: str = Field(index=True, max_length=4)
    kind: str = Field(max_length=20)
    status: str = Field(default="queued", index=True, max_length=10)
    # Who asked: the job runs with their rights (role, municipality, provider).
    created_by: str = Field(max_length=80)
    role: str = Field(max_length=20)
    provider_id: str | None = Field(default=None, max_length=80)
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Written on claiming and with each committed chunk; a stale one means the worker died.
    heartbeat_at: datetime | None = None
    done: int = 0
    total: int = 0
    # What to do: the payment run's settings, or the upload's format ("json" or "ubl").
    params: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    payload: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    results: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    payment_run_id: str | None = Field(default=None, max_length=36)
    error_code: str | None = Field(default=None, max_length=80)
    error_message: str | None = Field(default=None, max_length=1000)


class PaymentRunJobCreate(SQLModel):
    model_config = {"extra": "forbid"}

    execution_date: date
    pain_schema: Literal["pain.001.001.09", "pain.001.001.03"] | None = None


class BudgetJobPublic(SQLModel):
    id: str
    kind: JobKind
    status: JobStatus
    done: int
    total: int
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    execution_date: date | None = None
    payment_run_id: str | None = None
    accepted: int | None = None
    rejected: int | None = None
    results: list[ItemResult] | None = None
    results_file: str | None = None
    error_code: str | None = None
    error_message: str | None = None
