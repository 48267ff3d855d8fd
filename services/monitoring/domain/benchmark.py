"""The benchmark's arithmetic (the Divosa report's Tables 4.1-4.7): percentages rounded the way the
report rounds, suppression of small cells, and the cost figures. Plain Python: no database, no
clock; the caller hands in counts and sums, this answers cells.

**Columns.** Every table has the columns WWB, NUG and total. Trajectories whose benefit is
`other` or `unknown` count in the total only: they form a hidden column `rest` (never shown), so
that total = WWB + NUG + rest in every row.

**Percentages.** Whole percentages per column, each cell rounded half up on its own (22 of 97 is
22.68 %: 23 %), never forced to add up to 100 (the report prints 23+4+4+44+10+14 = 99).

**Suppression.** A cell counting fewer than `minimum` (but more than zero) trajectories is
suppressed: no count, no percentage, no amount. Zeros are shown (a zero names nobody). A cell
whose denominator is suppressed goes with it (a percentage would give the denominator back), so a
column whose n is under the minimum is suppressed whole; an amount (an average) goes with a small
denominator too, also in the hidden rest column (one person's budget). Then no suppressed cell
may be recomputable from what is shown: the cells of a block are tied by linear equations (each
row: WWB + NUG + rest = total; each partition: n = the sum of its rows; outflow = the first three
rows = the three kinds of work; ...), and while a suppressed cell follows from those equations and
the shown cells (`determined`: exact, in integers), a partner is suppressed as well: of the shown
cells above zero that share an equation with such a cell, the one that leaves the fewest
recomputable cells, the smallest on a tie (one small cell in a column takes a second one of that
column with it, and each of those a second one of its row: a rectangle of which only the sums are
known). Hidden `rest` cells are free partners (they are never shown). n cells are never chosen as
partners: a hidden n would take its whole column with it. The number of trajectories with other or
unknown benefit follows from the three shown n's, so it is shown (unless hiding it is what
protects a small WWB or NUG n). A suppressed cell that holds 0 is taken as known, since counts and
amounts are never negative; with every other hidden cell above zero the linear test is exact.
tests/unit/monitoring/test_benchmark.py checks the outcome with an independent linear program.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from math import gcd

from shared.errors import RuleBroken

WWB, NUG, REST, TOTAL = "wwb", "nug", "rest", "total"
PARTS = (WWB, NUG, REST)
SHOWN = (WWB, NUG, TOTAL)
COLUMNS = (*PARTS, TOTAL)
N = "n"
CENT = Decimal("0.01")
INFINITE = 10**18

Key = tuple[str, str]  # (row, column)


def column_of(benefit: str | None) -> str:
    """wwb and nug have a column of their own; other and unknown count in the total only."""
    return benefit if benefit in (WWB, NUG) else REST


def percent(count: int, base: int) -> int | None:
    """Whole percentage, half up: (200·count + base) // (2·base). None without a base."""
    if base <= 0:
        return None
    return (200 * count + base) // (2 * base)


def average_cents(total_cents: int, count: int) -> int | None:
    """An average in whole cents, half up (away from zero for a negative total)."""
    if count <= 0:
        return None
    return int((Decimal(total_cents) / Decimal(count)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def minutes_cost_cents(minutes: int, hourly_rate: Decimal) -> int:
    """minutes / 60 × the hourly rate (EUR), in cents, rounded half up once (on the column's sum)."""
    euros = Decimal(minutes) * hourly_rate / Decimal(60)
    return int((euros.quantize(CENT, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def euros(cents: int | None) -> Decimal | None:
    return None if cents is None else (Decimal(cents) / 100).quantize(CENT)


# --- blocks: rows, their denominators and the equations between them ----------------------------


@dataclass(frozen=True)
class RowSpec:
    key: str
    base: str | None = N  # the row whose count is the denominator; None for a denominator row itself
    money: bool = False  # an amount row (a sum per column, shown as an average over `base`)
    # Rows whose suppression this row follows too (cost per placement follows the amount paid).
    follows: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlockSpec:
    """A group of rows sharing the columns and tied by equations."""

    key: str
    rows: tuple[RowSpec, ...]
    # (row, parts): in every column, row = the sum of parts (a partition: ("n", rows)).
    sums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    parts: tuple[str, ...] = PARTS  # the columns that add up to the total column ((): total only)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.parts, TOTAL)

    def row(self, key: str) -> RowSpec:
        return next(r for r in self.rows if r.key == key)


@dataclass(frozen=True)
class Cell:
    count: int | None
    percent: int | None
    amount_cents: int | None
    average_cents: int | None
    suppressed: bool


@dataclass(frozen=True)
class BlockResult:
    spec: BlockSpec
    cells: dict[Key, Cell]
    hidden: frozenset[Key]

    def cell(self, row: str, column: str) -> Cell:
        return self.cells[(row, column)]

    @property
    def suppressed_count(self) -> int:
        return sum(1 for (_r, c), cell in self.cells.items() if cell.suppressed and c != REST)


def with_totals(spec: BlockSpec, values: Mapping[Key, int]) -> dict[Key, int]:
    """The values of the part columns plus the total column (their sum, or as given for total-only blocks)."""
    out: dict[Key, int] = {}
    for row in spec.rows:
        for column in spec.parts:
            out[(row.key, column)] = values.get((row.key, column), 0)
        out[(row.key, TOTAL)] = (
            sum(out[(row.key, c)] for c in spec.parts) if spec.parts else values.get((row.key, TOTAL), 0)
        )
    return out


def _equations(spec: BlockSpec) -> list[dict[Key, int]]:
    equations: list[dict[Key, int]] = []
    if spec.parts:
        for row in spec.rows:
            equation = {(row.key, c): 1 for c in spec.parts}
            equation[(row.key, TOTAL)] = -1
            equations.append(equation)
    for lhs, parts in spec.sums:
        for column in spec.columns:
            equation = {(p, column): 1 for p in parts}
            equation[(lhs, column)] = -1
            equations.append(equation)
    return equations


def determined(equations: Iterable[Mapping[Key, int]], hidden: Iterable[Key]) -> set[Key]:
    """The hidden cells whose value follows from the equations and the shown cells (exact, in integers):
    a hidden cell is determined when no solution of the homogeneous system over the hidden cells moves
    it, i.e. when its row of the reduced echelon form has no other unknown left in it."""
    unknowns = set(hidden)
    pivots: dict[Key, dict[Key, int]] = {}  # pivot unknown -> its reduced row (sparse, integer)
    for equation in equations:
        row = {key: c for key, c in equation.items() if key in unknowns and c}
        for key, pivot_row in pivots.items():  # eliminate the pivots found so far
            if key in row:
                row = _combine(row, pivot_row, key)
        if not row:
            continue
        lead = min(row)
        for key in list(pivots):  # keep the earlier rows reduced: clear the new pivot from them
            if lead in pivots[key]:
                pivots[key] = _combine(pivots[key], row, lead)
        pivots[lead] = row
    return {key for key, row in pivots.items() if len(row) == 1}


def _combine(row: dict[Key, int], pivot_row: dict[Key, int], key: Key) -> dict[Key, int]:
    """row · p − pivot_row · r (p, r: their coefficients of `key`), so that `key` drops out; divided by the gcd."""
    p, r = pivot_row[key], row[key]
    out = {k: c * p for k, c in row.items()}
    for k, c in pivot_row.items():
        out[k] = out.get(k, 0) - c * r
    out = {k: c for k, c in out.items() if c}
    divisor = 0
    for c in out.values():
        divisor = gcd(divisor, c)
    return {k: c // divisor for k, c in out.items()} if divisor > 1 else out


def _cascade(spec: BlockSpec, hidden: set[Key]) -> None:
    """A shown cell whose denominator (or a row it follows) is hidden is hidden too. Count cells of the
    hidden rest column need not follow (they show no percentage); amounts do (one person's amount)."""
    changed = True
    while changed:
        changed = False
        for row in spec.rows:
            leaders = ((row.base,) if row.base else ()) + row.follows
            for column in spec.columns:
                key = (row.key, column)
                if key in hidden or (column == REST and not row.money):
                    continue
                if any((leader, column) in hidden for leader in leaders):
                    hidden.add(key)
                    changed = True


def suppress(
    spec: BlockSpec,
    values: Mapping[Key, int],
    minimum: int,
    fixed: Mapping[Key, bool] | None = None,
    amounts: Mapping[Key, int] | None = None,
) -> frozenset[Key]:
    """The cells to hide (see the module's docstring). `values` holds counts, `amounts` the sums of the
    amount rows (and of count rows that carry one); `fixed` pins cells whose state another block decided
    (True: hidden): they are never partners.

    Zeros: a hidden cell that holds 0 is taken as known (counts and amounts are never negative, so a
    zero can often be inferred), and no zero is chosen as a partner. With every unknown cell above zero
    the linear test is exact: near the true table every direction the equations allow stays feasible."""
    fixed = dict(fixed or {})
    counts = with_totals(spec, values)
    sums = with_totals(spec, amounts or {})
    has_amount = {row for row, _c in (amounts or {})}
    equations = _equations(spec)
    denominators = {r.base for r in spec.rows if r.base} | {r.key for r in spec.rows if r.base is None}
    hidden = {key for key, is_hidden in fixed.items() if is_hidden}
    for row in spec.rows:
        for column in spec.columns:
            key = (row.key, column)
            if key in fixed:
                continue
            if row.money:
                base = counts.get((row.base, column), 0) if row.base else 0
                if 0 < base < minimum:
                    hidden.add(key)
            elif row.base is None and column == REST:
                continue  # follows from the shown totals: hidden only as a partner (below)
            elif 0 < counts[key] < minimum:
                hidden.add(key)
    _cascade(spec, hidden)

    def positive(key: Key) -> bool:
        row = spec.row(key[0])
        if row.money:
            return sums[key] > 0
        return counts[key] > 0 and (row.key not in has_amount or sums[key] > 0)

    def cost(key: Key) -> int:
        row, column = key
        if key in fixed or not positive(key):
            return INFINITE
        if column == REST:
            return 0
        spec_row = spec.row(row)
        if spec_row.base is None:
            return INFINITE
        size = counts.get((spec_row.base, column), 0) if spec_row.money and spec_row.base else counts[key]
        return size + 1 + (10**6 if row in denominators else 0)

    def unknown(cells: set[Key]) -> set[Key]:
        return {key for key in cells if positive(key)}

    order = {key: i for i, key in enumerate((r.key, c) for r in spec.rows for c in spec.columns)}
    while True:
        found = determined(equations, unknown(hidden))
        if not found:
            return frozenset(hidden)
        # Partners: shown cells above zero that share an equation with a recomputable cell; the one that
        # leaves the fewest recomputable cells wins, the smallest on a tie.
        near = {key for eq in equations if found & eq.keys() for key in eq if key not in hidden}
        candidates = [k for k in near if cost(k) < INFINITE]
        if not candidates:  # nothing next to them may go: any shown cell of the block, then nothing
            candidates = [k for k in order if k not in hidden and k not in fixed and positive(k)]
            if not candidates:
                return frozenset(hidden)

        def outcome(candidate: Key) -> tuple[int, int, int]:
            trial = hidden | {candidate}
            _cascade(spec, trial)
            return len(determined(equations, unknown(trial))), cost(candidate), order[candidate]

        hidden.add(min(candidates, key=outcome))
        _cascade(spec, hidden)


def shape(
    spec: BlockSpec,
    values: Mapping[Key, int],
    minimum: int,
    *,
    amounts: Mapping[Key, int] | None = None,
    fixed: Mapping[Key, bool] | None = None,
) -> BlockResult:
    """The block's cells: counts with percentages of their denominator, amounts with their average over
    the row's own count (count rows) or over the denominator (amount rows); hidden cells empty."""
    counts = with_totals(spec, values)
    sums = with_totals(spec, amounts or {})
    has_amount = {row for row, _c in (amounts or {})}
    hidden = suppress(spec, values, minimum, fixed, amounts)
    cells: dict[Key, Cell] = {}
    for row in spec.rows:
        for column in spec.columns:
            key = (row.key, column)
            if key in hidden:
                cells[key] = Cell(None, None, None, None, True)
                continue
            base = counts.get((row.base, column), 0) if row.base else None
            amount = sums[key] if row.key in has_amount else None
            if row.money:
                cells[key] = Cell(None, None, amount, average_cents(amount or 0, base or 0), False)
            else:
                count = counts[key]
                cells[key] = Cell(
                    count,
                    percent(count, base) if base is not None else None,
                    amount,
                    average_cents(amount, count) if amount is not None else None,
                    False,
                )
    return BlockResult(spec, cells, hidden)


def pinned(result: BlockResult, rows: Iterable[str]) -> dict[Key, bool]:
    """The suppression state of `rows` in a block already shaped, to pin them in another block."""
    wanted = set(rows)
    return {key: key in result.hidden for key in result.cells if key[0] in wanted}


# --- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """A municipality's benchmark settings; the national view uses the defaults."""

    hourly_rate: Decimal = Decimal("75.00")  # EUR per case-manager hour, until the municipality sets its own
    min_cell_size: int = 5
    reference_outflow_wwb: Decimal = Decimal("19")  # % of regular WWB trajectories into paid work (SZW 2008)
    reference_outflow_nug: Decimal = Decimal("61")
    reference_trajectory_cost_cents: int = 2900_00  # a regular trajectory on average (SZW 2008)


DEFAULTS = Settings()
MAX_HOURLY_RATE = Decimal("1000.00")
MAX_MIN_CELL_SIZE = 100
MAX_REFERENCE_COST_CENTS = 100_000_00


def _refusal(field_name: str, code: str, message: str, message_nl: str) -> dict[str, str]:
    return {"field": field_name, "code": f"benchmark_settings.{code}", "message": message, "message_nl": message_nl}


def check_settings(settings: Settings) -> None:
    """Refuse settings out of range, naming every field that is (in English and Dutch)."""
    problems: list[dict[str, str]] = []
    rate = settings.hourly_rate
    if not (Decimal(0) < rate <= MAX_HOURLY_RATE) or rate != rate.quantize(CENT):
        problems.append(
            _refusal(
                "hourly_rate",
                "hourly_rate",
                f"The hourly rate is an amount in euros above 0 and at most {MAX_HOURLY_RATE}, in cents at most.",
                f"Het uurtarief is een bedrag in euro's boven 0 en hoogstens {MAX_HOURLY_RATE}, op centen nauwkeurig.",
            )
        )
    if not 1 <= settings.min_cell_size <= MAX_MIN_CELL_SIZE:
        problems.append(
            _refusal(
                "min_cell_size",
                "min_cell_size",
                f"The minimum cell size is a whole number from 1 (suppress nothing) to {MAX_MIN_CELL_SIZE}.",
                f"De kleinste celgrootte is een heel getal van 1 (niets afschermen) tot en met {MAX_MIN_CELL_SIZE}.",
            )
        )
    for name in ("reference_outflow_wwb", "reference_outflow_nug"):
        value: Decimal = getattr(settings, name)
        if not Decimal(0) <= value <= Decimal(100) or value != value.quantize(Decimal("0.1")):
            problems.append(
                _refusal(
                    name,
                    "reference_outflow",
                    "A reference outflow is a percentage from 0 to 100, with at most one decimal.",
                    "Een referentie-uitstroom is een percentage van 0 tot en met 100, met hoogstens een decimaal.",
                )
            )
    if not 0 < settings.reference_trajectory_cost_cents <= MAX_REFERENCE_COST_CENTS:
        problems.append(
            _refusal(
                "reference_trajectory_cost",
                "reference_trajectory_cost",
                "The cost of a regular trajectory is an amount above 0 and at most 100000.00 euros.",
                "De kosten van een regulier traject zijn een bedrag boven 0 en hoogstens 100000,00 euro.",
            )
        )
    if problems:
        first = problems[0]
        several = [{"field": p["field"], "code": p["code"], "message": p["message"]} for p in problems]
        raise RuleBroken(
            first["code"],
            first["message"],
            first["field"],
            message_nl=first["message_nl"],
            errors=several if len(several) > 1 else (),
        )
