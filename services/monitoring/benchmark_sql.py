"""The benchmark's SQL: three statements per report, whatever the number of trajectories.

1. One pass over the plan trajectories started in the period, grouped by benefit part and
   municipality, with conditional aggregates (`count(*) FILTER (WHERE ...)`): every cell of
   Tables 4.1, 4.2 and 4.5-4.7, the sums for 4.3 and the costs, and (national view) 4.3 per
   municipality.
2. The plan lines of the period per part and category (Table 4.4): clients and amounts, from
   the lines alone (each carries its trajectory's start, scheme and benefit, and whether it is
   its plan's first of the category; the handlers keep them).
3. The orientation phases of their clients, counted with the client's first plan (`first_plan`,
   kept when a plan trajectory starts).

On PostgreSQL the report's transaction raises `work_mem` (SET LOCAL) so that the joins' hash
tables stay in memory. bench/monitoring.py times this on 1,000,000 trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from services.monitoring.domain import benchmark_report as report_domain
from services.monitoring.domain.benchmark import NUG, PARTS, REST, WWB
from services.monitoring.domain.benchmark_report import Aggregates
from services.monitoring.domain.registration import PROVISIONS, SOFT_CHARACTERISTICS
from services.monitoring.domain.trajectory import TrajectoryKind, TrajectoryStatus
from services.monitoring.models import Trajectory, TrajectoryLine

NATIONAL = "all"
T = Trajectory.__table__  # type: ignore[attr-defined]
L = TrajectoryLine.__table__  # type: ignore[attr-defined]
REPORT_WORK_MEM = "64MB"


@dataclass(frozen=True)
class Query:
    municipality: str  # a CBS code or NATIONAL
    period_from: date
    period_to: date
    scheme: str

    @property
    def national(self) -> bool:
        return self.municipality == NATIONAL


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
    (`first_plan`, kept by the handler that starts it) so that a client with two plans does not
    count it twice."""
    o = T.alias("o")
    part = _part().label("part")
    return (
        sa.select(
            part,
            sa.func.coalesce(sa.func.sum(o.c.spent_cents), 0),
            sa.func.coalesce(sa.func.sum(o.c.case_minutes), 0),
        )
        .select_from(T.join(o, sa.and_(o.c.client_id == T.c.client_id, o.c.municipality == T.c.municipality)))
        .where(*_in_period(query), T.c.first_plan.is_(True), o.c.kind == TrajectoryKind.ORIENTATION.value)
        .group_by(part)
    )


def _lines(query: Query) -> sa.Select[Any]:
    """Table 4.4: per part and category, the clients with a line of it (a plan's first line of the
    category) and the granted amounts, from the lines alone: they carry their trajectory's start,
    scheme and benefit (only plans have lines)."""
    part = sa.case(
        (L.c.benefit == WWB, sa.literal(WWB)), (L.c.benefit == NUG, sa.literal(NUG)), else_=sa.literal(REST)
    ).label("part")
    where = [L.c.scheme == query.scheme, L.c.started_on >= query.period_from, L.c.started_on <= query.period_to]
    if not query.national:
        where.append(L.c.municipality == query.municipality)
    return (
        sa.select(
            part,
            L.c.category,
            sa.func.count().filter(L.c.first_of_category.is_(True)),
            sa.func.coalesce(sa.func.sum(L.c.granted_cents), 0),
        )
        .where(*where)
        .group_by(part, L.c.category)
    )


def aggregates(session: Session, query: Query) -> tuple[Aggregates, tuple[str, ...]]:
    """Count once: the three statements, their few result rows folded into the part columns."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'"))
    measures = _measures()
    names = list(measures)
    part = _part().label("part")
    main = (
        sa.select(part, T.c.municipality, *(measures[n].label(f"m{i}") for i, n in enumerate(names)))
        .where(*_in_period(query))
        .group_by(part, T.c.municipality)
    )
    counts: dict[str, dict[str, int]] = {}
    amounts: dict[str, dict[str, int]] = {}
    per_municipality: dict[str, list[int]] = {}

    def add(target: dict[str, dict[str, int]], key: str, where: str, value: Any) -> None:
        per_part = target.setdefault(key, dict.fromkeys(PARTS, 0))
        per_part[where] += int(value or 0)

    granted = names.index("amount.granted")
    for row in session.execute(main):
        for i, name in enumerate(names):
            if name.startswith("amount."):
                add(amounts, name.removeprefix("amount."), row[0], row[i + 2])
            else:
                add(counts, name, row[0], row[i + 2])
        totals = per_municipality.setdefault(row[1], [0, 0])
        totals[0] += int(row[2])  # n is the first measure
        totals[1] += int(row[granted + 2])
    for where, spent, minutes in session.execute(_orientation(query)):
        add(amounts, "orientation_spent", where, spent)
        add(amounts, "orientation_minutes", where, minutes)
    extra: list[str] = []
    for where, category, clients, amount in session.execute(_lines(query)):
        add(counts, f"spending.{category}", where, clients)
        add(amounts, f"spending.{category}", where, amount)
        if category not in report_domain.CATEGORIES and category not in extra:
            extra.append(category)
    municipalities: tuple[tuple[str, int, int], ...] = ()
    if query.national:
        municipalities = tuple((m, n, g) for m, (n, g) in sorted(per_municipality.items()))
    return Aggregates(counts=counts, amounts=amounts, municipalities=municipalities), tuple(sorted(extra))
