"""The benchmark's table (a municipality's settings) and the shapes of its API (schema "monitoring")."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel
from sqlmodel._compat import SQLModelConfig

from services.monitoring.models_registration import EuroInput
from shared.money import EuroAmount

SCHEMA = "monitoring"


class BenchmarkSettingsRow(SQLModel, table=True):
    """A municipality's benchmark settings; a municipality without a row uses the defaults
    (domain/benchmark.py DEFAULTS), and so does the national view."""

    __tablename__ = "benchmark_settings"
    __table_args__ = {"schema": SCHEMA}

    municipality: str = Field(primary_key=True, max_length=4)
    hourly_rate_cents: int = Field(sa_type=BigInteger)
    min_cell_size: int
    # Tenths of a percent: 190 is 19.0 %.
    reference_outflow_wwb_tenths: int
    reference_outflow_nug_tenths: int
    reference_trajectory_cost_cents: int = Field(sa_type=BigInteger)
    updated_by: str = Field(max_length=80)
    updated_at: datetime


# --- API shapes --------------------------------------------------------------------------------


class BenchmarkSettingsUpdate(SQLModel):
    model_config = SQLModelConfig(extra="forbid")

    hourly_rate: EuroInput = Field(description="EUR per case-manager hour, for the execution cost.")
    # The bound keeps a huge number from the database; the domain says the real range (1-100) in words.
    min_cell_size: int = Field(
        le=1_000_000,
        description="Cells counting fewer trajectories than this are suppressed (1 suppresses nothing; at most 100).",
    )
    reference_outflow_wwb: Decimal = Field(description="Outflow to work of regular WWB trajectories, in %.")
    reference_outflow_nug: Decimal = Field(description="Outflow to work of regular NUG trajectories, in %.")
    reference_trajectory_cost: EuroInput = Field(description="The average cost of a regular trajectory, EUR.")


class BenchmarkSettingsPublic(SQLModel):
    municipality: str
    hourly_rate: EuroAmount
    min_cell_size: int
    reference_outflow_wwb: Decimal
    reference_outflow_nug: Decimal
    reference_trajectory_cost: EuroAmount
    is_default: bool = Field(description="True until the municipality stores its own settings.")
    updated_at: datetime | None = None


class BenchmarkCell(SQLModel):
    count: int | None = Field(description="Trajectories in the cell; null when suppressed.")
    percent: int | None = Field(
        description="Whole percentage of the row's base (n, recorded or outflow), rounded half up per cell; "
        "never forced to add up to 100. Null when suppressed and for the base rows themselves."
    )
    amount: EuroAmount | None = Field(default=None, description="A sum of money, where the row has one.")
    average: EuroAmount | None = Field(
        default=None, description="The amount per trajectory in the cell (per base trajectory for an amount row)."
    )
    average_minutes: int | None = Field(default=None, description="Case-manager minutes per trajectory.")
    suppressed: bool = Field(description="True when the cell is too small, or would let a small cell be recomputed.")


class BenchmarkRow(SQLModel):
    block: str = Field(description="The group of rows (gender, age_band, motivation, ...).")
    row: str
    label: str
    base: str | None = Field(description="The row whose count is this row's 100 %; null for a base row.")
    cells: dict[str, BenchmarkCell] = Field(description="By column: wwb, nug, total.")


class BenchmarkTable(SQLModel):
    key: str
    number: str | None = Field(description="The table's number in the Divosa report (chapter 4).")
    title: str
    rows: list[BenchmarkRow]


class BenchmarkComparison(SQLModel):
    column: str
    actual: Decimal | None = Field(description="Percent (outflow) or EUR (cost); null when suppressed.")
    reference: Decimal | None
    difference: Decimal | None = Field(description="actual − reference (percentage points or EUR).")
    ratio: Decimal | None = Field(default=None, description="actual / reference (costs).")


class BenchmarkReference(SQLModel):
    outflow: list[BenchmarkComparison] = Field(description="Outflow to work (%) against regular trajectories.")
    total_cost: list[BenchmarkComparison] = Field(
        description="Paid out plus execution cost per trajectory against a regular trajectory's cost."
    )
    granted: list[BenchmarkComparison] = Field(
        description="The average granted budget against a regular trajectory's cost."
    )


class BenchmarkReport(SQLModel):
    municipality: str = Field(description="A CBS code, or `all` for the national view.")
    period_from: date
    period_to: date
    scheme: str
    columns: list[str]
    min_cell_size: int
    suppressed_cells: int
    other_or_unknown_benefit: int | None = Field(
        description="Trajectories whose benefit is other or unknown: in the total column only (null when suppressed)."
    )
    notes: list[str]
    settings: BenchmarkSettingsPublic
    tables: list[BenchmarkTable]
    reference: BenchmarkReference
    generated_at: datetime
