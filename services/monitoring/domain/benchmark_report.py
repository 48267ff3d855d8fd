"""The benchmark report from counted registrations: which rows each table has, how they are tied,
and the costs and the reference comparison. Plain Python: `build_report(aggregates, settings)`.

The caller (services/monitoring/benchmark.py) counts, per column part (wwb, nug, rest), measures
named "block.row" (e.g. "outcomes.work_during", "gender.female", "soft.motivation.more",
"spending.coaching") and sums ("amount.granted", "amount.paid", ...). Everything else is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from services.monitoring.domain.benchmark import (
    NUG,
    REST,
    SHOWN,
    TOTAL,
    WWB,
    BlockResult,
    BlockSpec,
    Cell,
    Key,
    N,
    RowSpec,
    Settings,
    minutes_cost_cents,
    pinned,
    shape,
)
from services.monitoring.domain.outcomes import OUTFLOW, KindOfWork, OutcomeKind
from services.monitoring.domain.registration import PROVISIONS, SOFT_CHARACTERISTICS

OUTCOME_ROWS = tuple(kind.value for kind in OutcomeKind)
OUTFLOW_ROWS = tuple(kind.value for kind in OutcomeKind if kind in OUTFLOW)
SUBSIDISED = (KindOfWork.WORK_EXPERIENCE, KindOfWork.SECONDMENT, KindOfWork.TRIAL_PLACEMENT)
REGULAR = (KindOfWork.PERMANENT_JOB, KindOfWork.TEMPORARY_JOB, KindOfWork.TEMP_AGENCY, KindOfWork.OWN_BUSINESS)
KIND_ROWS = ("subsidised", "regular", "kind_not_recorded")
PROFILE = {
    "gender": ("female", "male", "other", "unknown"),
    "age_band": ("under_35", "35_44", "45_plus", "unknown"),
    "benefit_duration": ("under_1y", "1_3y", "over_3y", "none", "unknown"),
    "education": ("low", "middle", "high", "unknown"),
}
RELATIVE = ("more", "same", "less")
CONTACT = ("more", "average", "less")
# Table 4.4's order first, then the extra products listed under it, then pgb bw's categories.
CATEGORIES = (
    "coaching",
    "training_knowledge",
    "study_material",
    "training_skills",
    "job_mediation",
    "business_start_support",
    "driving_lessons",
    "computer",
    "other",
    "wage_cost_subsidy",
    "job_coaching",
    "workplace_adaptation",
)
AMOUNTS = ("granted", "paid", "case_minutes", "orientation_spent", "orientation_minutes", "external")

PerPart = Mapping[str, int]  # part column (wwb, nug, rest) -> value


@dataclass(frozen=True)
class Aggregates:
    """What the database counted for one report."""

    counts: Mapping[str, PerPart]  # "block.row" -> per part
    amounts: Mapping[str, PerPart]  # "granted", "paid", ..., "spending.<category>" -> cents (minutes for *_minutes)
    municipalities: tuple[tuple[str, int, int], ...] = ()  # national view: (code, trajectories, granted cents)


@dataclass(frozen=True)
class Table:
    key: str
    number: str | None
    blocks: tuple[tuple[BlockResult, tuple[str, ...]], ...]  # a block and the rows of it this table shows


@dataclass(frozen=True)
class Comparison:
    column: str
    actual: Decimal | int | None  # None: suppressed or nothing to compare
    reference: Decimal | int | None
    difference: Decimal | int | None
    ratio: Decimal | None = None


@dataclass(frozen=True)
class Report:
    tables: tuple[Table, ...]
    rest: Cell  # the trajectories with other or unknown benefit (counted in the total only)
    minimum: int
    suppressed: int  # shown cells suppressed (hidden rest cells not counted)
    outflow: tuple[Comparison, ...]
    cost: tuple[Comparison, ...]
    granted: tuple[Comparison, ...]


def _values(aggregates: Aggregates, block: str, rows: tuple[str, ...]) -> dict[Key, int]:
    out: dict[Key, int] = {}
    for row in rows:
        for part, value in aggregates.counts.get(f"{block}.{row}", {}).items():
            out[(row, part)] = value
    return out


def _n(aggregates: Aggregates) -> dict[Key, int]:
    return {(N, part): value for part, value in aggregates.counts.get("n", {}).items()}


def _partition(key: str, rows: tuple[str, ...], base: str = N) -> BlockSpec:
    return BlockSpec(key, (RowSpec(base, None), *(RowSpec(r, base) for r in rows)), sums=((base, rows),))


OUTCOMES = BlockSpec(
    "outcomes",
    (
        RowSpec(N, None),
        *(RowSpec(r) for r in OUTCOME_ROWS),
        RowSpec("outflow"),
        RowSpec("durable"),
        *(RowSpec(r, "outflow") for r in KIND_ROWS),
    ),
    sums=((N, OUTCOME_ROWS), ("outflow", OUTFLOW_ROWS), ("outflow", KIND_ROWS)),
)
N_ONLY = BlockSpec("n", (RowSpec(N, None),))


def _spending_spec(categories: tuple[str, ...]) -> BlockSpec:
    return BlockSpec(
        "spending",
        (RowSpec(N, None), RowSpec("granted", money=True), *(RowSpec(c) for c in categories)),
        # Conservative: the lines' amounts add up to what was granted (counts do not, but a pattern
        # that protects the amounts protects the counts with them).
        sums=(("granted", categories),),
    )


COSTS = BlockSpec(
    "costs",
    (
        RowSpec(N, None),
        RowSpec("outflow"),
        RowSpec("paid", money=True),
        RowSpec("case_minutes", money=True),
        RowSpec("execution", money=True),
        RowSpec("total_cost", money=True, follows=("paid", "execution")),
        RowSpec("cost_per_placement", base="outflow", money=True, follows=("paid",)),
    ),
    sums=(("total_cost", ("paid", "execution")),),
)


def _with_n(aggregates: Aggregates, values: dict[Key, int]) -> dict[Key, int]:
    return {**_n(aggregates), **values}


def _sum_rows(values: dict[Key, int], target: str, rows: tuple[str, ...]) -> None:
    for part in (WWB, NUG, REST):
        values[(target, part)] = sum(values.get((r, part), 0) for r in rows)


def _amount(aggregates: Aggregates, name: str) -> dict[str, int]:
    return {part: aggregates.amounts.get(name, {}).get(part, 0) for part in (WWB, NUG, REST)}


def _execution(aggregates: Aggregates, settings: Settings) -> dict[str, int]:
    """Per part: (case minutes + the orientation phases' minutes) / 60 × the hourly rate, plus what the
    orientation phases paid out and the external costs outside the budget."""
    minutes = _amount(aggregates, "case_minutes")
    orientation_minutes = _amount(aggregates, "orientation_minutes")
    orientation_spent = _amount(aggregates, "orientation_spent")
    external = _amount(aggregates, "external")
    return {
        part: minutes_cost_cents(minutes[part] + orientation_minutes[part], settings.hourly_rate)
        + orientation_spent[part]
        + external[part]
        for part in (WWB, NUG, REST)
    }


def build_report(aggregates: Aggregates, settings: Settings, *, categories: tuple[str, ...] = ()) -> Report:
    """Every table, suppressed with `settings.min_cell_size`. `categories`: spending categories beyond the
    known ones that occur in the data (shown after them)."""
    minimum = settings.min_cell_size
    n_block = shape(N_ONLY, _n(aggregates), minimum)
    n_pin = pinned(n_block, (N,))

    outcome_values = _with_n(aggregates, _values(aggregates, "outcomes", OUTCOME_ROWS + ("durable",) + KIND_ROWS))
    _sum_rows(outcome_values, "outflow", OUTFLOW_ROWS)
    outcomes = shape(OUTCOMES, outcome_values, minimum, fixed=n_pin)

    profile = []
    for block, rows in PROFILE.items():
        spec = _partition(block, rows)
        profile.append(
            (shape(spec, _with_n(aggregates, _values(aggregates, block, rows)), minimum, fixed=n_pin), spec_rows(spec))
        )

    soft = []
    for name in SOFT_CHARACTERISTICS:
        spec = _partition(name, RELATIVE, base="recorded")
        values = _values(aggregates, f"soft.{name}", RELATIVE)
        _sum_rows(values, "recorded", RELATIVE)
        soft.append((shape(spec, values, minimum), spec_rows(spec)))

    known = tuple(c for c in CATEGORIES if f"spending.{c}" in aggregates.counts)
    extra = tuple(c for c in categories if c not in CATEGORIES)
    used = known + extra
    spending_spec = _spending_spec(used)
    spending_amounts = {("granted", p): v for p, v in _amount(aggregates, "granted").items()}
    for category in used:
        spending_amounts.update({(category, p): v for p, v in _amount(aggregates, f"spending.{category}").items()})
    spending = shape(
        spending_spec,
        _with_n(aggregates, _values(aggregates, "spending", used)),
        minimum,
        amounts=spending_amounts,
        fixed=n_pin,
    )
    granted_parts: list[tuple[BlockResult, tuple[str, ...]]] = [(spending, (N, "granted"))]
    if aggregates.municipalities:
        granted_parts.append(
            (_municipalities(aggregates, minimum), ("n", *(m for m, _n, _g in aggregates.municipalities)))
        )

    provisions_spec = BlockSpec(
        "provisions",
        (
            RowSpec("recorded", None),
            RowSpec("co_occurrence", "recorded"),
            RowSpec("no_co_occurrence", "recorded"),
            *(RowSpec(p, "recorded") for p in PROVISIONS),
        ),
        sums=(("recorded", ("co_occurrence", "no_co_occurrence")),),
    )
    provision_values = _values(aggregates, "provisions", ("co_occurrence", "no_co_occurrence", *PROVISIONS))
    _sum_rows(provision_values, "recorded", ("co_occurrence", "no_co_occurrence"))
    provisions = shape(provisions_spec, provision_values, minimum)

    contact_spec = _partition("contact_hours", CONTACT, base="recorded")
    contact_values = _values(aggregates, "contact_hours", CONTACT)
    _sum_rows(contact_values, "recorded", CONTACT)
    contact = shape(contact_spec, contact_values, minimum)

    costs = _costs(aggregates, settings, outcomes, outcome_values, n_pin)

    tables = (
        Table("outcomes", "4.7", ((outcomes, spec_rows(OUTCOMES)),)),
        Table("profile", "4.1", tuple(profile)),
        Table("soft_characteristics", "4.2", tuple(soft)),
        Table("granted_budget", "4.3", tuple(granted_parts)),
        Table("spending", "4.4", ((spending, (N, *used)),)),
        Table("provisions", "4.5", ((provisions, spec_rows(provisions_spec)),)),
        Table("contact_hours", "4.6", ((contact, spec_rows(contact_spec)),)),
        Table("costs", None, ((costs, spec_rows(COSTS)),)),
    )
    blocks = {id(b): b for t in tables for b, _rows in t.blocks}
    suppressed = sum(b.suppressed_count for b in blocks.values())
    rest = n_block.cell(N, REST)
    return Report(
        tables=tables,
        rest=rest,
        minimum=minimum,
        suppressed=suppressed,
        outflow=_outflow_comparison(outcomes, settings),
        cost=_money_comparison(costs, "total_cost", settings.reference_trajectory_cost_cents),
        granted=_money_comparison(spending, "granted", settings.reference_trajectory_cost_cents),
    )


def spec_rows(spec: BlockSpec) -> tuple[str, ...]:
    return tuple(row.key for row in spec.rows)


def _municipalities(aggregates: Aggregates, minimum: int) -> BlockResult:
    """The national view's Table 4.3: one row per municipality, in the total column only."""
    codes = tuple(code for code, _n, _g in aggregates.municipalities)
    spec = BlockSpec(
        "municipalities", (RowSpec(N, None), *(RowSpec(code) for code in codes)), sums=((N, codes),), parts=()
    )
    values: dict[Key, int] = {(code, TOTAL): n for code, n, _g in aggregates.municipalities}
    values[(N, TOTAL)] = sum(n for _c, n, _g in aggregates.municipalities)
    amounts = {(code, TOTAL): granted for code, _n, granted in aggregates.municipalities}
    amounts[(N, TOTAL)] = sum(g for _c, _n, g in aggregates.municipalities)
    return shape(spec, values, minimum, amounts=amounts)


def _costs(
    aggregates: Aggregates,
    settings: Settings,
    outcomes: BlockResult,
    outcome_values: dict[Key, int],
    n_pin: dict[Key, bool],
) -> BlockResult:
    paid = _amount(aggregates, "paid")
    execution = _execution(aggregates, settings)
    amounts: dict[Key, int] = {}
    for part in (WWB, NUG, REST):
        amounts[("paid", part)] = paid[part]
        amounts[("case_minutes", part)] = _amount(aggregates, "case_minutes")[part]
        amounts[("execution", part)] = execution[part]
        amounts[("total_cost", part)] = paid[part] + execution[part]
        amounts[("cost_per_placement", part)] = paid[part]
    values = {key: v for key, v in outcome_values.items() if key[0] in (N, "outflow")}
    fixed = {**n_pin, **pinned(outcomes, ("outflow",))}
    return shape(COSTS, values, settings.min_cell_size, amounts=amounts, fixed=fixed)


def _outflow_comparison(outcomes: BlockResult, settings: Settings) -> tuple[Comparison, ...]:
    references = {WWB: settings.reference_outflow_wwb, NUG: settings.reference_outflow_nug, TOTAL: None}
    out = []
    for column in SHOWN:
        actual = outcomes.cell("outflow", column).percent
        reference = references[column]
        difference = Decimal(actual) - reference if actual is not None and reference is not None else None
        out.append(Comparison(column, actual, reference, difference))
    return tuple(out)


def _money_comparison(block: BlockResult, row: str, reference_cents: int) -> tuple[Comparison, ...]:
    out = []
    for column in SHOWN:
        actual = block.cell(row, column).average_cents
        if actual is None:
            out.append(Comparison(column, None, reference_cents, None))
            continue
        ratio = (Decimal(actual) / Decimal(reference_cents)).quantize(Decimal("0.01"))
        out.append(Comparison(column, actual, reference_cents, actual - reference_cents, ratio))
    return tuple(out)
