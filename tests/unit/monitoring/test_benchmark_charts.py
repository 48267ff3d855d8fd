"""Charts drawn at the same moment (the API's worker threads) are each the chart a single drawing
gives, and leave matplotlib's global settings as they found them."""

from __future__ import annotations

import datetime
from concurrent.futures import ThreadPoolExecutor

import matplotlib

from services.monitoring import benchmark_charts
from services.monitoring.benchmark import _settings_public, notes, tables
from services.monitoring.benchmark_charts import Chart
from services.monitoring.domain.benchmark import DEFAULTS
from services.monitoring.domain.benchmark_report import Aggregates, build_report
from services.monitoring.models_benchmark import BenchmarkReference, BenchmarkReport


def _report() -> BenchmarkReport:
    counts = {"n": {"wwb": 20, "nug": 10, "rest": 0}, "outcomes.work_during": {"wwb": 8, "nug": 5, "rest": 0}}
    built = build_report(Aggregates(counts=counts, amounts={}), DEFAULTS)
    return BenchmarkReport(
        municipality="0014",
        period_from=datetime.date(2026, 1, 1),
        period_to=datetime.date(2026, 6, 30),
        scheme="prb",
        columns=["wwb", "nug", "total"],
        min_cell_size=5,
        suppressed_cells=0,
        other_or_unknown_benefit=0,
        notes=notes(built, "en"),
        settings=_settings_public("0014", None),
        tables=tables(built, "en"),
        reference=BenchmarkReference(outflow=[], total_cost=[], granted=[]),
        generated_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )


def test_charts_drawn_at_once_are_each_the_single_drawing_and_leave_the_global_settings_alone():
    report = _report()
    # The first chart of a process chooses the Agg backend (matplotlib is imported then); after that
    # no drawing may change a setting.
    alone = {chart: benchmark_charts.render(chart, report, "svg", "en") for chart in (Chart.OUTCOMES, Chart.PROFILE)}
    before = dict(matplotlib.rcParams)
    charts = [Chart.OUTCOMES if i % 2 else Chart.PROFILE for i in range(48)]
    with ThreadPoolExecutor(8) as pool:
        drawn = list(pool.map(lambda chart: (chart, benchmark_charts.render(chart, report, "svg", "en")), charts))
    assert all(body == alone[chart] for chart, body in drawn)
    assert {k for k, v in before.items() if matplotlib.rcParams[k] != v} == set()


def test_a_chart_names_how_many_trajectories_it_is_drawn_from_unless_that_number_is_suppressed():
    report = _report()
    assert b"n = 30." in benchmark_charts.render(Chart.OUTCOMES, report, "svg", "en")
    few = build_report(Aggregates(counts={"n": {"wwb": 3, "nug": 0, "rest": 0}}, amounts={}), DEFAULTS)
    hidden = report.model_copy(update={"tables": tables(few, "en")})
    assert b"n = " not in benchmark_charts.render(Chart.OUTCOMES, hidden, "svg", "en")
