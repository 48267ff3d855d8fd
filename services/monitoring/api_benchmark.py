"""Monitoring HTTP routes for the benchmark: parse, authorise, call a query. No rules here."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response

from services.monitoring import benchmark, benchmark_charts, benchmark_csv
from services.monitoring.api_params import Uow
from services.monitoring.models_benchmark import BenchmarkReport, BenchmarkSettingsPublic, BenchmarkSettingsUpdate
from shared.auth import CurrentPrincipal, Principal
from shared.deps import ClockDep, SessionDep

router = APIRouter()


class Scheme(StrEnum):
    """The schemes a trajectory can run under (intake's Scheme)."""

    PRB = "prb"
    PGB_BW = "pgb_bw"
    PIB = "pib"
    RIO_IRO = "rio_iro"


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


class Language(StrEnum):
    NL = "nl"
    EN = "en"


class ImageType(StrEnum):
    SVG = "svg"
    PNG = "png"


class Filters:
    """The query every benchmark route takes."""

    def __init__(
        self,
        clock: ClockDep,
        municipality: Annotated[
            str | None,
            Query(
                pattern=r"^(\d{4}|all)$",
                description="A CBS code (your own municipality, the default) or `all` for the national view "
                "(policy role).",
            ),
        ] = None,
        period_from: Annotated[
            date | None,
            Query(
                alias="from", description="Trajectories started on or after this day; default 1 January of `to`'s year."
            ),
        ] = None,
        period_to: Annotated[
            date | None, Query(alias="to", description="Trajectories started on or before this day; default today.")
        ] = None,
        scheme: Annotated[Scheme, Query(description="prb, pgb_bw, pib or rio_iro.")] = Scheme.PRB,
        lang: Annotated[Language, Query(description="The language of labels, notes and captions.")] = Language.EN,
    ) -> None:
        to = period_to or clock.today()
        self.municipality = municipality
        self.period_from = period_from or date(to.year, 1, 1)
        self.period_to = to
        self.scheme = scheme.value
        self.language = lang.value

    def query(self, who: Principal) -> benchmark.Query:
        return benchmark.Query(
            municipality=self.municipality or who.municipality,
            period_from=self.period_from,
            period_to=self.period_to,
            scheme=self.scheme,
        )


FiltersDep = Annotated[Filters, Depends()]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The same tables as one CSV (format=csv)."}
}
IMAGE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/svg+xml": {}, "image/png": {}}, "description": "The chart."}
}


@router.get(
    "/benchmark",
    response_model=BenchmarkReport,
    responses=CSV_RESPONSE,
    tags=["benchmark"],
    summary="The benchmark report",
)
def get_benchmark(
    who: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    filters: FiltersDep,
    format: Annotated[Format, Query(description="json or csv.")] = Format.JSON,
) -> BenchmarkReport | Response:
    """Tables 4.1-4.7 of the Divosa report, always up to date, for the plan trajectories started in the
    period, in the columns WWB, NUG and total (trajectories with another or unknown benefit count in the
    total only). Percentages are whole, rounded half up per cell; cells under the municipality's
    minimum size (default 5), and cells from which such a cell could be recomputed, are suppressed:
    `count` null and `suppressed` true. Costs: paid out per placement, and the execution cost per
    trajectory (case-manager minutes × the hourly rate, the client's orientation phases and external
    costs), compared with regular trajectories. Staff and policy of the municipality; the national
    view (`municipality=all`) only policy. A period whose `to` lies before `from` is a 422 naming `to`."""
    report = benchmark.benchmark(session, who, filters.query(who), language=filters.language, now=clock.now())
    if format == Format.CSV:
        name = f"benchmark-{report.municipality}-{report.period_from}-{report.period_to}.csv"
        return Response(
            benchmark_csv.to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return report


@router.get(
    "/benchmark/settings",
    response_model=BenchmarkSettingsPublic,
    tags=["benchmark"],
    summary="The benchmark settings",
)
def get_benchmark_settings(who: CurrentPrincipal, session: SessionDep) -> BenchmarkSettingsPublic:
    """Your municipality's hourly rate, minimum cell size and reference figures (the defaults until it
    stores its own: EUR 75.00 an hour, 5, outflow WWB 19 % and NUG 61 %, a regular trajectory EUR 2,900)."""
    return benchmark.get_settings(session, who)


@router.put(
    "/benchmark/settings",
    response_model=BenchmarkSettingsPublic,
    tags=["benchmark"],
    summary="Change the benchmark settings",
)
def put_benchmark_settings(who: CurrentPrincipal, uow: Uow, data: BenchmarkSettingsUpdate) -> BenchmarkSettingsPublic:
    """Team lead or policy: the hourly rate (EUR, above 0, at most 1000.00), the minimum cell size (1 to
    100; 1 suppresses nothing), the reference outflow for WWB and NUG (0 to 100 %, one decimal) and the
    cost of a regular trajectory (EUR). A value out of range is a 422 naming the field."""
    return benchmark.put_settings(uow, who, data)


@router.get(
    "/benchmark/charts/{chart}.{image}",
    response_class=Response,
    responses=IMAGE_RESPONSE,
    tags=["benchmark"],
    summary="A benchmark chart",
)
def get_benchmark_chart(
    chart: Annotated[
        benchmark_charts.Chart,
        Path(description="outcomes, profile, soft_characteristics, spending, contact_hours or costs."),
    ],
    image: Annotated[ImageType, Path(description="svg or png.")],
    who: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    filters: FiltersDep,
) -> Response:
    """A chart of the same report (same filters, same suppression): suppressed cells are left out and the
    caption says which."""
    report = benchmark.benchmark(session, who, filters.query(who), language=filters.language, now=clock.now())
    body = benchmark_charts.render(chart, report, image.value, filters.language)
    return Response(body, media_type=benchmark_charts.MEDIA_TYPES[image.value])
