"""The benchmark report: who may ask what, the municipality's settings, and the shaping of the
counted figures (benchmark_sql.py) through the domain's arithmetic and suppression
(domain/benchmark*.py) into the API's tables. The API, the CSV, the charts and
bench/monitoring.py all go through `benchmark()`.

Who may ask: staff for their own municipality; the policy role also for another municipality and
for the national view (`all`, which shows every municipality's Table 4.3): aggregates only, with
that municipality's suppression settings.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from services.monitoring import benchmark_sql
from services.monitoring.benchmark_sql import NATIONAL, Query
from services.monitoring.domain import benchmark_report as report_domain
from services.monitoring.domain.benchmark import (
    DEFAULTS,
    SHOWN,
    Settings,
    check_settings,
    euros,
)
from services.monitoring.domain.benchmark_labels import label
from services.monitoring.domain.benchmark_report import Report
from services.monitoring.models_benchmark import (
    BenchmarkCell,
    BenchmarkComparison,
    BenchmarkReference,
    BenchmarkReport,
    BenchmarkRow,
    BenchmarkSettingsPublic,
    BenchmarkSettingsRow,
    BenchmarkSettingsUpdate,
    BenchmarkTable,
)
from services.monitoring.permissions import Action, allowed_roles, authorize
from shared.auth import Principal
from shared.errors import Forbidden, RuleBroken
from shared.money import Money
from shared.uow import UnitOfWork

# --- who may ask, and what ---------------------------------------------------------------------


def check_query(who: Principal, query: Query) -> None:
    authorize(who, Action.READ_BENCHMARK)
    if query.period_to < query.period_from:
        raise RuleBroken(
            "benchmark.period_reversed",
            "The end of the period (`to`) lies before its start (`from`).",
            "to",
            message_nl="Het einde van de periode (`to`) ligt vóór het begin (`from`).",
        )
    if query.national:
        authorize(who, Action.READ_NATIONAL_BENCHMARK)
    # Policy staff compare municipalities (aggregates, suppressed by that municipality's settings);
    # staff ask their own.
    elif query.municipality != who.municipality and who.role not in allowed_roles(Action.READ_NATIONAL_BENCHMARK):
        raise Forbidden(
            "benchmark.other_municipality",
            "You may ask the benchmark of your own municipality; the policy role also another municipality's "
            "or the national view (`all`).",
            "municipality",
            message_nl="U kunt de benchmark van uw eigen gemeente opvragen. De rol beleid kan ook die van een "
            "andere gemeente of het landelijke beeld (`all`) opvragen.",
        )


# --- settings ----------------------------------------------------------------------------------


def _settings_of(row: BenchmarkSettingsRow | None) -> Settings:
    if row is None:
        return DEFAULTS
    return Settings(
        hourly_rate=Money(row.hourly_rate_cents).decimal,
        min_cell_size=row.min_cell_size,
        reference_outflow_wwb=Decimal(row.reference_outflow_wwb_tenths) / 10,
        reference_outflow_nug=Decimal(row.reference_outflow_nug_tenths) / 10,
        reference_trajectory_cost_cents=row.reference_trajectory_cost_cents,
    )


def _settings_public(municipality: str, row: BenchmarkSettingsRow | None) -> BenchmarkSettingsPublic:
    s = _settings_of(row)
    return BenchmarkSettingsPublic(
        municipality=municipality,
        hourly_rate=s.hourly_rate,
        min_cell_size=s.min_cell_size,
        reference_outflow_wwb=s.reference_outflow_wwb.normalize(),
        reference_outflow_nug=s.reference_outflow_nug.normalize(),
        reference_trajectory_cost=Money(s.reference_trajectory_cost_cents).decimal,
        is_default=row is None,
        updated_at=row.updated_at if row else None,
    )


def settings_for(session: Session, municipality: str) -> tuple[Settings, BenchmarkSettingsPublic]:
    """A municipality's settings (the defaults until it stores its own). The national view: the
    defaults, with the strictest minimum cell size any municipality chose (never below the default),
    so that its row of Table 4.3 is not shown in a cell smaller than its own report would show."""
    if municipality != NATIONAL:
        row = session.get(BenchmarkSettingsRow, municipality)
        return _settings_of(row), _settings_public(municipality, row)
    strictest = session.exec(select(func.max(col(BenchmarkSettingsRow.min_cell_size)))).one()
    settings = replace(DEFAULTS, min_cell_size=max(DEFAULTS.min_cell_size, strictest or 0))
    public = _settings_public(municipality, None).model_copy(update={"min_cell_size": settings.min_cell_size})
    return settings, public


def get_settings(session: Session, who: Principal) -> BenchmarkSettingsPublic:
    authorize(who, Action.READ_BENCHMARK)
    return settings_for(session, who.municipality)[1]


def put_settings(uow: UnitOfWork, who: Principal, data: BenchmarkSettingsUpdate) -> BenchmarkSettingsPublic:
    """Store the caller's municipality's settings (team lead or policy), refusing values out of range."""
    authorize(who, Action.MANAGE_BENCHMARK_SETTINGS)
    wanted = Settings(
        hourly_rate=data.hourly_rate,
        min_cell_size=data.min_cell_size,
        reference_outflow_wwb=data.reference_outflow_wwb,
        reference_outflow_nug=data.reference_outflow_nug,
        reference_trajectory_cost_cents=Money.euros(data.reference_trajectory_cost).cents,
    )
    check_settings(wanted)
    values: dict[str, Any] = {
        "hourly_rate_cents": Money.euros(wanted.hourly_rate).cents,
        "min_cell_size": wanted.min_cell_size,
        "reference_outflow_wwb_tenths": int(wanted.reference_outflow_wwb * 10),
        "reference_outflow_nug_tenths": int(wanted.reference_outflow_nug * 10),
        "reference_trajectory_cost_cents": wanted.reference_trajectory_cost_cents,
        "updated_by": who.subject,
        "updated_at": uow.clock.now(),
    }
    session = uow.session
    row = session.get(BenchmarkSettingsRow, who.municipality, with_for_update=True, populate_existing=True)
    if row is None:
        # The first settings of a municipality, perhaps sent twice at once: the other insert wins
        # the key, and this one then changes the row it stored (under its lock), not a 500.
        try:
            with session.begin_nested():
                row = BenchmarkSettingsRow(municipality=who.municipality, **values)
                session.add(row)
        except IntegrityError:
            row = session.get(BenchmarkSettingsRow, who.municipality, with_for_update=True, populate_existing=True)
    assert row is not None  # stored here, or by the request that won the key
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    uow.commit()
    return _settings_public(who.municipality, row)


def compute(session: Session, query: Query, *, min_cell_size: int = 1) -> tuple[Report, BenchmarkSettingsPublic]:
    """The report for a checked query: what the API, the CSV, the charts and bench/monitoring.py use;
    cells are suppressed under the municipality's minimum, and never under `min_cell_size`."""
    settings, public = settings_for(session, query.municipality)
    if settings.min_cell_size < min_cell_size:
        settings = replace(settings, min_cell_size=min_cell_size)
    counted, extra = benchmark_sql.aggregates(session, query)
    return report_domain.build_report(counted, settings, categories=extra), public


# --- shaping for the API -----------------------------------------------------------------------


def _cell(cell: Any, row: str) -> BenchmarkCell:
    minutes = row == "case_minutes"
    return BenchmarkCell(
        count=cell.count,
        percent=cell.percent,
        amount=None if minutes else euros(cell.amount_cents),
        average=None if minutes else euros(cell.average_cents),
        average_minutes=cell.average_cents if minutes else None,
        suppressed=cell.suppressed,
    )


def _row_label(block: str, row: str, language: str) -> str:
    """A municipality's row is its CBS code; any other row has a label."""
    return row if block == "municipalities" and row != "n" else label(row, language)


def tables(report: Report, language: str) -> list[BenchmarkTable]:
    out = []
    for table in report.tables:
        rows = []
        for block, keys in table.blocks:
            for key in keys:
                spec = block.spec.row(key)
                columns = SHOWN if block.spec.parts else ("total",)
                rows.append(
                    BenchmarkRow(
                        block=block.spec.key,
                        row=key,
                        label=_row_label(block.spec.key, key, language),
                        base=spec.base,
                        cells={c: _cell(block.cell(key, c), key) for c in columns},
                    )
                )
        out.append(
            BenchmarkTable(key=table.key, number=table.number, title=label(f"table.{table.key}", language), rows=rows)
        )
    return out


def _comparisons(items: tuple[report_domain.Comparison, ...], money: bool) -> list[BenchmarkComparison]:
    def value(v: Any) -> Decimal | None:
        if v is None:
            return None
        return euros(v) if money else Decimal(v)

    return [
        BenchmarkComparison(
            column=c.column,
            actual=value(c.actual),
            reference=value(c.reference),
            difference=value(c.difference),
            ratio=c.ratio,
        )
        for c in items
    ]


def notes(report: Report, language: str) -> list[str]:
    out = []
    if report.rest.suppressed:
        out.append(label("note.rest_suppressed", language))
    elif report.rest.count:
        out.append(label("note.rest", language).format(count=report.rest.count))
    if report.suppressed:
        out.append(label("note.suppressed", language).format(count=report.suppressed, minimum=report.minimum))
    else:
        out.append(label("note.none_suppressed", language))
    return out


def benchmark(session: Session, who: Principal, query: Query, *, language: str, now: datetime) -> BenchmarkReport:
    check_query(who, query)
    # A municipality's own minimum (even 1, suppress nothing) is for its own people; policy staff
    # comparing it from elsewhere see its cells suppressed at least at the default.
    floor = 1 if query.municipality == who.municipality else DEFAULTS.min_cell_size
    report, settings = compute(session, query, min_cell_size=floor)
    return BenchmarkReport(
        municipality=query.municipality,
        period_from=query.period_from,
        period_to=query.period_to,
        scheme=query.scheme,
        columns=list(SHOWN),
        min_cell_size=report.minimum,
        suppressed_cells=report.suppressed,
        other_or_unknown_benefit=None if report.rest.suppressed else report.rest.count,
        notes=notes(report, language),
        settings=settings,
        tables=tables(report, language),
        reference=BenchmarkReference(
            outflow=_comparisons(report.outflow, money=False),
            total_cost=_comparisons(report.cost, money=True),
            granted=_comparisons(report.granted, money=True),
        ),
        generated_at=now,
    )
