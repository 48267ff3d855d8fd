"""The benchmark report: the SQL that counts, and its shaping into the API's tables.

A report is four statements, whatever the number of trajectories (bench/monitoring.py times
them on 1,000,000): one pass over the plan trajectories started in the period with conditional
aggregates (`count(*) FILTER (WHERE ...)`, every cell of Tables 4.1, 4.2 and 4.5-4.7 and the sums
for 4.3 and the costs), grouped by the benefit column; one over their plan lines (Table 4.4);
one for the orientation phases of their clients; and in the national view one per
municipality (4.3). Arithmetic and suppression are in domain/benchmark*.py.

Who may ask: staff and policy for their own municipality; the national view (`all`) only the
policy role (it shows other municipalities' aggregates, Table 4.3 per municipality).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from services.monitoring.domain import benchmark_report as report_domain
from services.monitoring.domain.benchmark import (
    DEFAULTS,
    NUG,
    PARTS,
    REST,
    SHOWN,
    WWB,
    Settings,
    check_settings,
    euros,
)
from services.monitoring.domain.benchmark_labels import label
from services.monitoring.domain.benchmark_report import Aggregates, Report
from services.monitoring.domain.registration import PROVISIONS, SOFT_CHARACTERISTICS
from services.monitoring.domain.trajectory import TrajectoryKind, TrajectoryStatus
from services.monitoring.models import Trajectory, TrajectoryLine
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
from services.monitoring.permissions import Action, authorize
from shared.auth import Principal
from shared.errors import Forbidden, RuleBroken
from shared.money import Money
from shared.uow import UnitOfWork

NATIONAL = "all"
T = Trajectory.__table__  # type: ignore[attr-defined]
L = TrajectoryLine.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Query:
    municipality: str  # a CBS code or NATIONAL
    period_from: date
    period_to: date
    scheme: str

    @property
    def national(self) -> bool:
        return self.municipality == NATIONAL


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
    elif query.municipality != who.municipality:
        raise Forbidden(
            "benchmark.other_municipality",
            "You may ask the benchmark of your own municipality, or the national view (`all`, policy role).",
            "municipality",
            message_nl="U kunt de benchmark van uw eigen gemeente opvragen, of het landelijke beeld "
            "(`all`, rol beleid).",
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
    """A municipality's settings (the defaults until it stores its own; the national view: the defaults)."""
    row = None if municipality == NATIONAL else session.get(BenchmarkSettingsRow, municipality)
    return _settings_of(row), _settings_public(municipality, row)


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
    row = session.get(BenchmarkSettingsRow, who.municipality)
    if row is None:
        row = BenchmarkSettingsRow(municipality=who.municipality, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.add(row)
    uow.commit()
    return _settings_public(who.municipality, row)


# --- the SQL -----------------------------------------------------------------------------------


def _part() -> ColumnElement[Any]:
    return sa.case((T.c.benefit == WWB, sa.literal(WWB)), (T.c.benefit == NUG, sa.literal(NUG)), else_=sa.literal(REST))


def _in_period(query: Query, table: Any = T) -> list[ColumnElement[bool]]:
    where = [
        table.c.kind == TrajectoryKind.PLAN.value,
        table.c.scheme == query.scheme,
        table.c.started_on >= query.period_from,
        table.c.started_on <= query.period_to,
    ]
    if not query.national:
        where.append(table.c.municipality == query.municipality)
    return where


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return sa.func.count().filter(condition)


def _one_of(column: Any, values: tuple[str, ...], rows: tuple[str, ...]) -> dict[str, ColumnElement[bool]]:
    """A partition: each known value its row; anything else (NULL too) in the row `unknown`."""
    known = tuple(v for v in rows if v != "unknown")
    out = {v: column == v for v in known if v in values}
    if "unknown" in rows:
        out["unknown"] = sa.or_(column.is_(None), column.not_in(known))
    return out


def _measures() -> dict[str, ColumnElement[Any]]:
    """Every counted cell and every sum of one report, as aggregates over the trajectories in the period."""
    outcome = sa.func.coalesce(
        T.c.outcome_category,
        sa.case(
            (T.c.status == TrajectoryStatus.CLOSED.value, sa.literal("unknown")), else_=sa.literal("no_work_running")
        ),
    )
    measures: dict[str, ColumnElement[Any]] = {"n": sa.func.count()}
    for row in report_domain.OUTCOME_ROWS:
        measures[f"outcomes.{row}"] = _count(outcome == row)
    measures["outcomes.durable"] = _count(T.c.durable.is_(True))
    outflow = outcome.in_(report_domain.OUTFLOW_ROWS)
    subsidised = tuple(k.value for k in report_domain.SUBSIDISED)
    regular = tuple(k.value for k in report_domain.REGULAR)
    measures["outcomes.subsidised"] = _count(sa.and_(outflow, T.c.kind_of_work.in_(subsidised)))
    measures["outcomes.regular"] = _count(sa.and_(outflow, T.c.kind_of_work.in_(regular)))
    measures["outcomes.kind_not_recorded"] = _count(
        sa.and_(outflow, sa.or_(T.c.kind_of_work.is_(None), T.c.kind_of_work.not_in(subsidised + regular)))
    )
    for block, rows in report_domain.PROFILE.items():
        for row, condition in _one_of(T.c[block], rows, rows).items():
            measures[f"{block}.{row}"] = _count(condition)
    for name in SOFT_CHARACTERISTICS:
        for value in report_domain.RELATIVE:
            measures[f"soft.{name}.{value}"] = _count(T.c[name] == value)
    recorded = T.c.provisions_recorded.is_(True)
    any_kind = sa.or_(*(T.c[p].is_(True) for p in PROVISIONS))
    measures["provisions.co_occurrence"] = _count(sa.and_(recorded, any_kind))
    measures["provisions.no_co_occurrence"] = _count(sa.and_(recorded, sa.not_(any_kind)))
    for p in PROVISIONS:
        measures[f"provisions.{p}"] = _count(sa.and_(recorded, T.c[p].is_(True)))
    for value in report_domain.CONTACT:
        measures[f"contact_hours.{value}"] = _count(T.c.contact_hours == value)
    for name, column in (
        ("granted", T.c.granted_cents),
        ("paid", T.c.spent_cents),
        ("case_minutes", T.c.case_minutes),
        ("external", T.c.external_cost_cents),
    ):
        measures[f"amount.{name}"] = sa.func.coalesce(sa.func.sum(column), 0)
    return measures


def _orientation(query: Query) -> sa.Select[Any]:
    """What the clients' orientation phases cost, counted with the client's first plan trajectory
    (by start, then id) so that a client with two plans does not count it twice."""
    o = T.alias("o")
    q = T.alias("q")
    earlier = (
        sa.select(sa.literal(1))
        .where(
            q.c.kind == TrajectoryKind.PLAN.value,
            q.c.client_id == T.c.client_id,
            q.c.municipality == T.c.municipality,
            sa.or_(
                q.c.started_on < T.c.started_on, sa.and_(q.c.started_on == T.c.started_on, q.c.plan_id < T.c.plan_id)
            ),
        )
        .exists()
    )
    part = _part().label("part")
    return (
        sa.select(
            part,
            sa.func.coalesce(sa.func.sum(o.c.spent_cents), 0),
            sa.func.coalesce(sa.func.sum(o.c.case_minutes), 0),
        )
        .select_from(T.join(o, sa.and_(o.c.client_id == T.c.client_id, o.c.municipality == T.c.municipality)))
        .where(*_in_period(query), o.c.kind == TrajectoryKind.ORIENTATION.value, sa.not_(earlier))
        .group_by(part)
    )


def _lines(query: Query) -> sa.Select[Any]:
    """Table 4.4: per benefit part and category, the trajectories with such a line and what they were granted."""
    part = _part().label("part")
    return (
        sa.select(part, L.c.category, sa.func.count(sa.distinct(L.c.plan_id)), sa.func.sum(L.c.granted_cents))
        .select_from(T.join(L, L.c.plan_id == T.c.plan_id))
        .where(*_in_period(query))
        .group_by(part, L.c.category)
    )


def _municipalities(query: Query) -> sa.Select[Any]:
    return (
        sa.select(T.c.municipality, sa.func.count(), sa.func.coalesce(sa.func.sum(T.c.granted_cents), 0))
        .where(*_in_period(query))
        .group_by(T.c.municipality)
        .order_by(T.c.municipality)
    )


def aggregates(session: Session, query: Query) -> tuple[Aggregates, tuple[str, ...]]:
    """Count once: the four statements, their few result rows folded into the part columns."""
    measures = _measures()
    names = list(measures)
    part = _part().label("part")
    main = sa.select(part, *(measures[n].label(f"m{i}") for i, n in enumerate(names))).where(*_in_period(query))
    counts: dict[str, dict[str, int]] = {}
    amounts: dict[str, dict[str, int]] = {}

    def add(target: dict[str, dict[str, int]], key: str, where: str, value: Any) -> None:
        per_part = target.setdefault(key, dict.fromkeys(PARTS, 0))
        per_part[where] += int(value or 0)

    for row in session.execute(main.group_by(part)):
        for i, name in enumerate(names):
            if name.startswith("amount."):
                add(amounts, name.removeprefix("amount."), row[0], row[i + 1])
            else:
                add(counts, name, row[0], row[i + 1])
    for where, spent, minutes in session.execute(_orientation(query)):
        add(amounts, "orientation_spent", where, spent)
        add(amounts, "orientation_minutes", where, minutes)
    extra: list[str] = []
    for where, category, clients, granted in session.execute(_lines(query)):
        add(counts, f"spending.{category}", where, clients)
        add(amounts, f"spending.{category}", where, granted)
        if category not in report_domain.CATEGORIES and category not in extra:
            extra.append(category)
    municipalities: tuple[tuple[str, int, int], ...] = ()
    if query.national:
        municipalities = tuple((m, int(n), int(g)) for m, n, g in session.execute(_municipalities(query)))
    return Aggregates(counts=counts, amounts=amounts, municipalities=municipalities), tuple(sorted(extra))


def compute(session: Session, query: Query) -> tuple[Report, BenchmarkSettingsPublic]:
    """The report for a checked query: what the API, the CSV, the charts and bench/monitoring.py use."""
    settings, public = settings_for(session, query.municipality)
    counted, extra = aggregates(session, query)
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
    if block == "municipalities" and row != "n":
        return row
    if row == "n" or row == "recorded":
        return label(row, language)
    return label(row, language)


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
    report, settings = compute(session, query)
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
