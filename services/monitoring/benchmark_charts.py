"""Benchmark charts as SVG or PNG, drawn with matplotlib's Agg backend (no display, no pyplot state):
the same report as the API's JSON, suppressed cells left out and named in the caption."""

from __future__ import annotations

import io
import os
import tempfile
import threading
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from services.monitoring.domain.benchmark_labels import label
from services.monitoring.models_benchmark import BenchmarkReport, BenchmarkRow, BenchmarkTable

MEDIA_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# matplotlib's settings (rc_context) are one global dict: two drawings at once in the API's worker
# threads would swap each other's settings and leave them changed. One drawing at a time.
_DRAWING = threading.Lock()
COLUMNS = ("wwb", "nug", "total")
COLOURS = (
    "#1b5e8c",
    "#4f9fd1",
    "#9cc9e8",
    "#e0a03a",
    "#c0504d",
    "#8c8c8c",
    "#6a9a3a",
    "#7b5ea7",
    "#d47fa6",
    "#5b8c85",
    "#b5a642",
    "#444444",
)


class Chart(StrEnum):
    OUTCOMES = "outcomes"
    PROFILE = "profile"
    SOFT_CHARACTERISTICS = "soft_characteristics"
    SPENDING = "spending"
    CONTACT_HOURS = "contact_hours"
    COSTS = "costs"


def _table(report: BenchmarkReport, key: str) -> BenchmarkTable:
    return next(t for t in report.tables if t.key == key)


def _counted(report: BenchmarkReport) -> str:
    """ "n = 12": the trajectories the charts are drawn from, unless that number is suppressed."""
    base = next((r for r in _table(report, "outcomes").rows if r.row == "n"), None)
    cell = base.cells.get("total") if base else None
    return f"n = {cell.count}. " if cell is not None and not cell.suppressed and cell.count is not None else ""


def _leaves(rows: list[BenchmarkRow], block: str | None = None) -> list[BenchmarkRow]:
    """The rows drawn as parts: not the base rows (n, recorded)."""
    return [r for r in rows if r.base is not None and (block is None or r.block == block)]


class _Caption:
    """Collects what is left out, for the caption under the chart."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.left_out: list[str] = []

    def value(self, row: BenchmarkRow, column: str, field: str = "percent") -> float | None:
        cell = row.cells.get(column)
        if cell is None:
            return None
        if cell.suppressed:
            self.left_out.append(f"{label(column, self.language)}: {row.label}")
            return None
        value = getattr(cell, field)
        return None if value is None else float(value)

    def text(self, report: BenchmarkReport) -> str:
        if not self.left_out:
            return label("note.none_suppressed", self.language)
        head = label("note.suppressed", self.language).format(count=len(self.left_out), minimum=report.min_cell_size)
        shown = "; ".join(self.left_out[:8]) + (" …" if len(self.left_out) > 8 else "")
        return f"{head} {label('suppressed', self.language).capitalize()}: {shown}"


def _stacked(ax: Any, rows: list[BenchmarkRow], columns: tuple[str, ...], caption: _Caption, language: str) -> None:
    """One horizontal bar per column, each row a segment (its percentage); a suppressed segment is left out."""
    names = [label(c, language) for c in columns]
    left = [0.0] * len(columns)
    for i, row in enumerate(rows):
        widths = []
        for column in columns:
            value = caption.value(row, column)
            widths.append(value or 0.0)
        ax.barh(names, widths, left=left, color=COLOURS[i % len(COLOURS)], label=row.label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel(label("percent", language) + " (%)")


def _grouped(ax: Any, rows: list[BenchmarkRow], caption: _Caption, language: str, field: str = "percent") -> None:
    """Bars per row, one per column; a suppressed bar is left out."""
    width = 0.8 / len(COLUMNS)
    positions = range(len(rows))
    for j, column in enumerate(COLUMNS):
        values = [caption.value(row, column, field) for row in rows]
        xs = [p + (j - 1) * width for p, v in zip(positions, values, strict=True) if v is not None]
        ys = [v for v in values if v is not None]
        ax.bar(xs, ys, width=width, color=COLOURS[j], label=label(column, language))
    ax.set_xticks(list(positions))
    ax.set_xticklabels([row.label for row in rows], rotation=30, ha="right")


def _draw(figure: Figure, chart: Chart, report: BenchmarkReport, caption: _Caption, language: str) -> None:
    if chart in (Chart.OUTCOMES, Chart.CONTACT_HOURS):
        table = _table(report, chart.value)
        rows = _leaves(table.rows, "outcomes" if chart == Chart.OUTCOMES else None)
        if chart == Chart.OUTCOMES:
            rows = rows[:6]  # the six outcome rows; outflow, durable and the kinds overlap them
        ax = figure.add_subplot(1, 1, 1)
        _stacked(ax, rows, COLUMNS, caption, language)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8, frameon=False)
        ax.set_title(label(f"chart.{chart.value}", language))
    elif chart in (Chart.PROFILE, Chart.SOFT_CHARACTERISTICS):
        table = _table(report, chart.value)
        blocks = list(dict.fromkeys(r.block for r in table.rows))
        for i, block in enumerate(blocks):
            ax = figure.add_subplot(len(blocks), 1, i + 1)
            rows = _leaves(table.rows, block)
            columns = COLUMNS if chart == Chart.PROFILE else ("total",)
            _stacked(ax, rows, columns, caption, language)
            ax.set_title(label(f"block.{block}", language), fontsize=9, loc="left")
            ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
            if i < len(blocks) - 1:
                ax.set_xlabel("")
        figure.suptitle(label(f"chart.{chart.value}", language))
    elif chart == Chart.SPENDING:
        rows = [r for r in _table(report, "spending").rows if r.base is not None]
        ax = figure.add_subplot(1, 1, 1)
        _grouped(ax, rows, caption, language)
        ax.set_ylim(0, 100)
        ax.set_ylabel(label("percent", language) + " (%)")
        ax.legend(frameon=False)
        ax.set_title(label("chart.spending", language))
    else:
        keys = ("paid", "execution", "total_cost")
        rows = [r for r in _table(report, "costs").rows if r.row in keys]
        ax = figure.add_subplot(1, 1, 1)
        _grouped(ax, rows, caption, language, field="average")
        reference = report.settings.reference_trajectory_cost
        ax.axhline(
            float(reference),
            color="#c0504d",
            linestyle="--",
            linewidth=1,
            label=f"{label('reference', language)}: EUR {reference}",
        )
        ax.set_ylabel("EUR")
        ax.legend(frameon=False)
        ax.set_title(label("chart.costs", language))


def _matplotlib() -> Any:
    """matplotlib, imported at the first chart rather than at every process start: its import and
    font cache cost seconds, and only the policy dashboard's charts need it."""
    # The font cache goes under MPLCONFIGDIR; not in the service's $HOME.
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(tempfile.gettempdir(), "prb-matplotlib"))
    import matplotlib

    matplotlib.use("Agg")
    return matplotlib


def render(chart: Chart, report: BenchmarkReport, image: str, language: str) -> bytes:
    """The chart as SVG or PNG bytes."""
    matplotlib = _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    caption = _Caption(language)
    tall = chart in (Chart.PROFILE, Chart.SOFT_CHARACTERISTICS)
    # Reproducible files: the same report draws the same bytes.
    with (
        _DRAWING,
        matplotlib.rc_context({"svg.hashsalt": "eigenregie-benchmark", "svg.fonttype": "none", "font.size": 9}),
    ):
        figure = Figure(figsize=(8, 9 if tall else 5), dpi=100)
        FigureCanvasAgg(figure)
        _draw(figure, chart, report, caption, language)
        scope = "NL" if report.municipality == "all" else report.municipality
        period = f"{report.period_from} – {report.period_to}"
        footer = f"{scope} · {report.scheme} · {period}. {_counted(report)}{caption.text(report)}"
        figure.text(0.01, 0.01, footer, fontsize=7, wrap=True, va="bottom")
        figure.tight_layout(rect=(0, 0.06, 1, 1))
        out = io.BytesIO()
        metadata = {"Date": None} if image == "svg" else {}
        figure.savefig(out, format=image, metadata=metadata)
    return out.getvalue()
