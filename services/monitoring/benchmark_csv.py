"""The benchmark report as one CSV: a line per cell, suppressed cells empty and marked."""

from __future__ import annotations

import csv
import io
from typing import Any

from services.monitoring.models_benchmark import BenchmarkReport

HEADER = (
    "table",
    "number",
    "block",
    "row",
    "label",
    "column",
    "count",
    "percent",
    "amount",
    "average",
    "average_minutes",
    "suppressed",
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv(report: BenchmarkReport) -> str:
    """RFC 4180 (comma, CRLF), amounts in euros with a decimal point. The report's notes come first as
    rows of the table `notes`, the reference comparison last as rows of the table `reference`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for note in report.notes:
        writer.writerow(("notes", "", "", "", note, "", "", "", "", "", "", ""))
    for table in report.tables:
        for row in table.rows:
            for column, cell in row.cells.items():
                writer.writerow(
                    (
                        table.key,
                        _text(table.number),
                        row.block,
                        row.row,
                        row.label,
                        column,
                        _text(cell.count),
                        _text(cell.percent),
                        _text(cell.amount),
                        _text(cell.average),
                        _text(cell.average_minutes),
                        _text(cell.suppressed),
                    )
                )
    for block, comparisons in (
        ("outflow", report.reference.outflow),
        ("total_cost", report.reference.total_cost),
        ("granted", report.reference.granted),
    ):
        for c in comparisons:
            for name, value in (
                ("actual", c.actual),
                ("reference", c.reference),
                ("difference", c.difference),
                ("ratio", c.ratio),
            ):
                writer.writerow(("reference", "", block, name, "", c.column, "", "", _text(value), "", "", ""))
    return out.getvalue()
