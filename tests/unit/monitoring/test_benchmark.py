"""The benchmark's arithmetic: percentages rounded as the report rounds, small cells suppressed so that
none can be recomputed (checked here with an independent linear program), costs to the cent."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from scipy.optimize import linprog

from services.monitoring.domain.benchmark import (
    Settings,
    average_cents,
    check_settings,
    minutes_cost_cents,
    percent,
)
from services.monitoring.domain.benchmark_report import Aggregates, build_report
from shared.errors import RuleBroken

ROWS = ("work_during", "work_after", "work_ended", "no_work_running", "no_work_ended", "unknown")
# Table 4.7 of the report, the counts behind it (WWB n=97, NUG n=49), and the percentages it prints.
WWB_COUNTS = (22, 4, 4, 43, 10, 14)
NUG_COUNTS = (25, 1, 0, 17, 1, 5)
PRINTED = {
    "work_during": (23, 51, 32),
    "work_after": (4, 2, 3),
    "work_ended": (4, 0, 3),
    "no_work_running": (44, 35, 41),
    "no_work_ended": (10, 2, 8),
    "unknown": (14, 10, 13),
}


def _aggregates(wwb, nug, rest=(0, 0, 0, 0, 0, 0)) -> Aggregates:
    counts = {"n": {"wwb": sum(wwb), "nug": sum(nug), "rest": sum(rest)}}
    for row, a, b, c in zip(ROWS, wwb, nug, rest, strict=True):
        counts[f"outcomes.{row}"] = {"wwb": a, "nug": b, "rest": c}
    return Aggregates(counts=counts, amounts={})


def _outcomes(report):
    block = report.tables[0].blocks[0][0]
    return block


@pytest.mark.parametrize(
    "count,base,expected",
    [(22, 97, 23), (43, 97, 44), (25, 49, 51), (17, 49, 35), (1, 49, 2), (19, 146, 13), (1, 8, 13), (0, 5, 0)],
)
def test_a_percentage_is_whole_and_rounded_half_up(count, base, expected):
    assert percent(count, base) == expected


def test_there_is_no_percentage_of_nothing():
    assert percent(0, 0) is None


def test_table_4_7_comes_out_as_the_report_prints_it_without_forcing_100():
    block = _outcomes(build_report(_aggregates(WWB_COUNTS, NUG_COUNTS), Settings(min_cell_size=1)))
    for row, printed in PRINTED.items():
        assert tuple(block.cell(row, c).percent for c in ("wwb", "nug", "total")) == printed, row
    assert block.cell("outflow", "total").percent == 38  # "het uitstroompercentage 38 procent"
    assert block.cell("n", "total").count == 146
    assert sum(PRINTED[r][0] for r in ROWS) == 99  # the report's WWB column adds up to 99 %, and so does ours


# --- suppression, checked against an attacker's linear program ---------------------------------------


def _cells(wwb, nug, rest):
    """Every cell of the outcomes table with its true value: rows x (wwb, nug, rest, total), n and outflow."""
    values = {}
    for i, row in enumerate(ROWS):
        values[(row, "wwb")], values[(row, "nug")], values[(row, "rest")] = wwb[i], nug[i], rest[i]
    for column, data in (("wwb", wwb), ("nug", nug), ("rest", rest)):
        values[("n", column)] = sum(data)
        values[("outflow", column)] = sum(data[:3])
    for row in (*ROWS, "n", "outflow"):
        values[(row, "total")] = sum(values[(row, c)] for c in ("wwb", "nug", "rest"))
    return values


def _relations(values):
    """The equations anyone can write down for this table (by hand, not from the code under test)."""
    out = []
    for row in (*ROWS, "n", "outflow"):
        out.append({(row, "wwb"): 1, (row, "nug"): 1, (row, "rest"): 1, (row, "total"): -1})
    for column in ("wwb", "nug", "rest", "total"):
        out.append({**{(row, column): 1 for row in ROWS}, ("n", column): -1})
        out.append({**{(row, column): 1 for row in ROWS[:3]}, ("outflow", column): -1})
    return out


def _range_of(key, values, unknown):
    """The smallest and largest value `key` can take, given every shown cell and counts never negative."""
    names = sorted(unknown)
    index = {k: i for i, k in enumerate(names)}
    a_eq, b_eq = [], []
    for relation in _relations(values):
        row = [0.0] * len(names)
        rhs = 0.0
        for k, coefficient in relation.items():
            if k in index:
                row[index[k]] += coefficient
            else:
                rhs -= coefficient * values[k]
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
    bounds = []
    for _ in range(2):
        objective = [0.0] * len(names)
        objective[index[key]] = 1.0 if not bounds else -1.0
        result = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=[(0, None)] * len(names), method="highs")
        assert result.status == 0
        bounds.append(result.fun if len(bounds) == 0 else -result.fun)
    return bounds[0], bounds[1]


def _shown_and_hidden(report):
    block = _outcomes(report)
    rows = (*ROWS, "n", "outflow")
    hidden = {(r, c) for r in rows for c in ("wwb", "nug", "total") if block.cell(r, c).suppressed}
    return block, hidden


def _check_protected(wwb, nug, rest, minimum):
    report = build_report(_aggregates(wwb, nug, rest), Settings(min_cell_size=minimum))
    block, hidden = _shown_and_hidden(report)
    values = _cells(wwb, nug, rest)
    # The attacker knows every shown cell; the rest column and the hidden cells are unknown to them.
    unknown = hidden | {(r, "rest") for r in (*ROWS, "outflow")}
    if report.rest.suppressed:
        unknown.add(("n", "rest"))
    for (row, column), value in values.items():
        if column == "rest":
            continue
        cell = block.cell(row, column)
        if 0 < value < minimum:
            assert cell.suppressed, (row, column, value)
        if not cell.suppressed:
            assert cell.count == value
    for key in unknown:
        value = values[key]
        if value == 0 or (key[1] == "rest" and value >= minimum):
            continue
        low, high = _range_of(key, values, unknown)
        assert high - low > 0.5, f"{key} = {value} can be recomputed ({low}..{high})"
    return hidden


def test_the_reports_small_cells_are_suppressed_and_none_can_be_recomputed():
    hidden = _check_protected(WWB_COUNTS, NUG_COUNTS, (0,) * 6, 5)
    assert ("work_after", "nug") in hidden and ("no_work_ended", "nug") in hidden
    assert ("work_during", "total") not in hidden and ("n", "nug") not in hidden


def test_one_small_cell_in_a_column_takes_a_second_one_with_it():
    wwb, nug = (20, 3, 10, 30, 12, 25), (8, 9, 10, 11, 12, 13)
    hidden = _check_protected(wwb, nug, (0,) * 6, 5)
    in_wwb = {r for r, c in hidden if c == "wwb"}
    assert "work_after" in in_wwb and len(in_wwb) >= 2


def test_a_few_trajectories_with_other_benefit_cannot_be_read_off_the_total():
    wwb, nug, rest = (20, 6, 10, 30, 12, 25), (8, 9, 10, 11, 12, 13), (0, 0, 2, 0, 0, 0)
    hidden = _check_protected(wwb, nug, rest, 5)
    assert any(r == "work_ended" for r, _c in hidden)  # the row where the two are


def test_a_column_under_the_minimum_is_suppressed_whole():
    report = build_report(_aggregates((20, 6, 10, 30, 12, 25), (1, 0, 0, 2, 0, 0)), Settings())
    block = _outcomes(report)
    assert all(block.cell(r, "nug").suppressed for r in (*ROWS, "n", "outflow"))
    _check_protected((20, 6, 10, 30, 12, 25), (1, 0, 0, 2, 0, 0), (0,) * 6, 5)


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_are_protected(seed):
    rnd = random.Random(seed)
    small = lambda: rnd.choice((0, 0, 1, 2, 3, 4, 5, 7, 12, 30))  # noqa: E731
    wwb = tuple(small() for _ in ROWS)
    nug = tuple(small() for _ in ROWS)
    rest = tuple(rnd.choice((0, 0, 0, 0, 1, 2, 6)) for _ in ROWS)
    _check_protected(wwb, nug, rest, rnd.choice((3, 5, 10)))


def test_nothing_is_suppressed_with_a_minimum_of_one():
    report = build_report(_aggregates(WWB_COUNTS, NUG_COUNTS), Settings(min_cell_size=1))
    assert report.suppressed == 0


# --- money ---------------------------------------------------------------------------------------


def test_case_manager_time_is_priced_per_minute_and_rounded_once_half_up():
    assert minutes_cost_cents(90, Decimal("60.00")) == 90_00
    assert minutes_cost_cents(1, Decimal("75.00")) == 1_25
    assert minutes_cost_cents(1, Decimal("70.01")) == 1_17  # 1.16683... → 1.17
    assert average_cents(1000, 3) == 333 and average_cents(1001, 2) == 501


def test_execution_cost_is_time_at_the_rate_plus_orientation_and_external_costs():
    counts = {
        "n": {"wwb": 2, "nug": 0, "rest": 0},
        "outcomes.work_during": {"wwb": 1, "nug": 0, "rest": 0},
        "outcomes.no_work_running": {"wwb": 1, "nug": 0, "rest": 0},
    }
    amounts = {
        "paid": {"wwb": 3000_00, "nug": 0, "rest": 0},
        "case_minutes": {"wwb": 150, "nug": 0, "rest": 0},  # 2.5 hours
        "orientation_minutes": {"wwb": 30, "nug": 0, "rest": 0},  # half an hour
        "orientation_spent": {"wwb": 120_00, "nug": 0, "rest": 0},
        "external": {"wwb": 500_00, "nug": 0, "rest": 0},
    }
    report = build_report(Aggregates(counts, amounts), Settings(hourly_rate=Decimal("80.00"), min_cell_size=1))
    costs = next(t for t in report.tables if t.key == "costs").blocks[0][0]
    # 3 hours x EUR 80 = 240, + 120 orientation + 500 external = EUR 860 for two trajectories: 430 each.
    assert costs.cell("execution", "wwb").amount_cents == 860_00
    assert costs.cell("execution", "wwb").average_cents == 430_00
    assert costs.cell("paid", "wwb").average_cents == 1500_00
    assert costs.cell("total_cost", "wwb").average_cents == 1930_00
    assert costs.cell("cost_per_placement", "wwb").average_cents == 3000_00  # one placement
    total = next(c for c in report.cost if c.column == "wwb")
    assert (total.actual, total.reference, total.difference, total.ratio) == (
        1930_00,
        2900_00,
        -970_00,
        Decimal("0.67"),
    )


def test_cost_per_placement_is_suppressed_with_a_small_outflow():
    counts = {
        "n": {"wwb": 10, "nug": 0, "rest": 0},
        "outcomes.work_during": {"wwb": 2, "nug": 0, "rest": 0},
        "outcomes.unknown": {"wwb": 8, "nug": 0, "rest": 0},
    }
    report = build_report(Aggregates(counts, {"paid": {"wwb": 10_000_00, "nug": 0, "rest": 0}}), Settings())
    costs = next(t for t in report.tables if t.key == "costs").blocks[0][0]
    assert costs.cell("cost_per_placement", "wwb").suppressed
    assert costs.cell("paid", "wwb").average_cents == 1000_00


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change,field",
    [
        ({"hourly_rate": Decimal("0")}, "hourly_rate"),
        ({"hourly_rate": Decimal("10.001")}, "hourly_rate"),
        ({"min_cell_size": 0}, "min_cell_size"),
        ({"min_cell_size": 101}, "min_cell_size"),
        ({"reference_outflow_wwb": Decimal("100.5")}, "reference_outflow_wwb"),
        ({"reference_outflow_nug": Decimal("-1")}, "reference_outflow_nug"),
        ({"reference_trajectory_cost_cents": 0}, "reference_trajectory_cost"),
    ],
)
def test_settings_out_of_range_are_refused_naming_the_field(change, field):
    with pytest.raises(RuleBroken) as refused:
        check_settings(Settings(**change))
    assert refused.value.field == field and refused.value.message_nl != refused.value.message


def test_several_wrong_settings_are_named_together():
    with pytest.raises(RuleBroken) as refused:
        check_settings(Settings(hourly_rate=Decimal("-1"), min_cell_size=0))
    assert {e["field"] for e in refused.value.errors} == {"hourly_rate", "min_cell_size"}
