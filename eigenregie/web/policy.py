"""The policy pages (issue 12): the benchmark dashboard (monitoring's /benchmark with its charts,
CSV, reference comparison, costs and experiments) and the municipality's intake policy settings
(read and edit, with who changed what, when). Routes call the APIs through pages.api(); no rules here."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from eigenregie.web import formats, i18n, pages
from eigenregie.web.api_client import ApiError
from eigenregie.web.client import CATEGORIES
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)
Policy = Annotated[WebSession, Depends(pages.role_in("policy"))]

pages.add_nav(["policy"], "/policy/benchmark", "policy.nav.benchmark")
pages.add_nav(["policy"], "/policy/settings", "policy.nav.settings")

SCHEMES = ("prb", "pgb_bw", "pib", "rio_iro")
CHARTS = ("outcomes", "profile", "soft_characteristics", "spending", "contact_hours", "costs")
FILTERS = ("municipality", "from", "to", "scheme")


def _filters(request: Request) -> dict[str, str]:
    """The benchmark filters from the query string (empty ones left out; the API checks them)."""
    return {k: v for k in FILTERS if (v := request.query_params.get(k, "").strip())}


def _query(filters: dict[str, str], **extra: str) -> str:
    return urlencode({**filters, **extra})


@router.get("/policy/benchmark", response_class=HTMLResponse)
async def benchmark(request: Request, who: Policy) -> Response:
    """The benchmark dashboard: the Divosa tables, the reference comparison, execution cost, the
    experiments with their intervals, the charts and the CSV export, for the chosen filters."""
    filters = _filters(request)
    client = pages.api(request, who)
    lang = pages.lang_of(request, who)
    errors: dict[str, str] = {}
    report: dict[str, Any] | None = None
    status = 200
    try:
        report = await client.get("/monitoring/v1/benchmark", **filters, lang=lang)
    except ApiError as exc:
        if exc.status not in (403, 422):
            raise
        errors = exc.field_errors() or {"municipality": exc.detail}
        status = exc.status
    experiments: list[dict[str, Any]] | None = None  # the own municipality's only (the API's rule)
    if not filters.get("municipality") or filters.get("municipality") == who.municipality:
        experiments = []
        for experiment in await client.get("/monitoring/v1/experiments", page_size=50):
            results = await client.get(f"/monitoring/v1/experiments/{experiment['id']}/results")
            experiments.append({**experiment, "results": results})
    return pages.render(
        request,
        who,
        "policy/benchmark.html",
        status=status,
        title_key="policy.title.benchmark",
        filters=filters,
        report=report,
        errors=errors,
        experiments=experiments,
        schemes=SCHEMES,
        charts=CHARTS,
        query=_query(filters),
        csv_url="/policy/benchmark.csv?" + _query(filters),
    )


@router.get("/policy/benchmark.csv")
async def benchmark_csv(request: Request, who: Policy) -> Response:
    """The benchmark as the API's CSV, for download."""
    answer = await pages.api(request, who).call(
        "GET", "/monitoring/v1/benchmark", params={**_filters(request), "format": "csv", "lang": who.lang}
    )
    return Response(
        answer.data,
        media_type=answer.headers.get("content-type", "text/csv"),
        headers={"Content-Disposition": f'attachment; filename="benchmark-{date.today().isoformat()}.csv"'},
    )


@router.get("/policy/benchmark/charts/{chart}.{image}")
async def benchmark_chart(request: Request, who: Policy, chart: str, image: str) -> Response:
    """The API's chart image (SVG or PNG), streamed from this site (the CSP allows img-src 'self')."""
    if chart not in CHARTS or image not in ("svg", "png"):
        raise pages.PageProblem(404, "error.not_found")
    answer = await pages.api(request, who).call(
        "GET",
        f"/monitoring/v1/benchmark/charts/{chart}.{image}",
        params={**_filters(request), "lang": pages.lang_of(request, who)},
    )
    return Response(answer.data, media_type=answer.headers.get("content-type", "image/svg+xml"))


# --- settings ------------------------------------------------------------------------------------

# The settings of the policy a form changes (one value each); the rest is shown and kept.
NUMBERS = ("execution_months", "decision_term_weeks", "decision_warning_weeks", "min_quotes_per_activity")
AMOUNTS = ("four_eyes_threshold",)
CHOICES = {"review_model": ("marginal", "reciprocal", "demand_oriented"), "too_few_quotes": ("warning", "block")}
SWITCHES = ("client_confirms_invoices", "amounts_excl_vat")


RULE_KINDS = (
    "benefit_type",
    "resident",
    "no_running_trajectory",
    "min_months_unemployed",
    "min_months_on_benefit",
    "max_distance_to_labour_market",
    "no_suitable_regular_offer",
    "fair_chance_of_outflow",
    "available_for_work",
    "target_group",
)
# The price catalogue's units (intake's words for them; the form shows them in Dutch or English).
UNITS = ("hour", "day", "month", "session", "course", "piece")
# Monitoring's benchmark settings, edited on the same page (one PUT with all of them).
BENCHMARK_FIELDS = (
    "hourly_rate",
    "min_cell_size",
    "reference_outflow_wwb",
    "reference_outflow_nug",
    "reference_trajectory_cost",
)
CATALOGUE_SETTINGS = ("price_catalogue", "quote_required_above", "over_catalogue_price", "missing_required_quote")
LABELLED = (*CATALOGUE_SETTINGS, *NUMBERS, *AMOUNTS, *CHOICES, *SWITCHES, "months", "budget", "enabled")


def setting_label(name: str, lang: str) -> str:
    """A setting's words where the form has them (`orientation.months` too), else its name."""
    last = name.split(".")[-1]
    if last in LABELLED and (name.count(".") == 0 or name.startswith("orientation.")):
        return i18n.text(f"policy.settings.{last}", lang)
    return name


def rule_label(kind: str, lang: str) -> str:
    return i18n.text(f"policy.rule.{kind}", lang) if kind in RULE_KINDS else kind


async def settings_context(request: Request, who: WebSession) -> dict[str, Any]:
    client = pages.api(request, who)
    lang = pages.lang_of(request, who)
    changes: list[dict[str, Any]] = []
    try:
        changes = await client.get("/intake/v1/policy/changes", page_size=20)
    except ApiError as exc:
        if exc.status != 404:
            raise
    return {
        "policy": await client.get("/intake/v1/policy"),
        "benchmark": await client.get("/monitoring/v1/benchmark/settings"),
        "benchmark_fields": BENCHMARK_FIELDS,
        "changes": changes,
        "choices": CHOICES,
        "numbers": NUMBERS,
        "amounts": AMOUNTS,
        "switches": SWITCHES,
        "setting_label": lambda name: setting_label(name, lang),
        "rule_label": lambda kind: rule_label(kind, lang),
        "may_edit": who.role == "policy",
        "catalogue_errors": {},
        "catalogue_rows": None,
        "catalogue_values": {},
        "units": UNITS,
        "categories": CATEGORIES,
    }


@router.get("/policy/settings", response_class=HTMLResponse)
async def settings(request: Request, who: Policy, done: str = "") -> Response:
    """The municipality's intake policy: what it says, a form for its main settings, and its change log;
    below it the benchmark's settings (hourly rate, minimum cell size, reference figures)."""
    context = await settings_context(request, who)
    return pages.render(
        request,
        who,
        "policy/settings.html",
        title_key="policy.title.settings",
        errors={},
        values={},
        benchmark_errors={},
        benchmark_values={},
        done=done if done in ("1", "benchmark", "catalogue") else "",
        **context,
    )


@router.post("/policy/settings", response_class=HTMLResponse)
async def save_settings(request: Request, who: Policy) -> Response:
    """Change the main settings with a JSON merge patch: only what the form holds; the API checks it."""
    form = await pages.checked_form(request, who)
    values = {k: str(v).strip() for k, v in form.items() if k != "csrf_token" and isinstance(v, str)}
    patch: dict[str, Any] = {}
    for name in NUMBERS:
        if name in values:
            patch[name] = int(values[name]) if values[name].isdigit() else values[name]
    for name in AMOUNTS:
        if name in values:
            patch[name] = formats.parse_amount(values[name])
    for name in CHOICES:
        if name in values:
            patch[name] = values[name]
    for name in SWITCHES:
        patch[name] = values.get(name) == "on"
    orientation: dict[str, Any] = {"enabled": values.get("enabled") == "on"}
    if "months" in values:
        orientation["months"] = int(values["months"]) if values["months"].isdigit() else values["months"]
    if "budget" in values:
        orientation["budget"] = formats.parse_amount(values["budget"])
    patch["orientation"] = orientation
    try:
        await pages.api(request, who).call(
            "PATCH",
            "/intake/v1/policy",
            content=json.dumps(patch).encode(),
            headers={"Content-Type": "application/merge-patch+json"},
        )
    except ApiError as exc:
        if exc.status != 422:
            raise
        context = await settings_context(request, who)
        return pages.render(
            request,
            who,
            "policy/settings.html",
            status=422,
            title_key="policy.title.settings",
            errors=exc.field_errors() or {"execution_months": exc.detail},
            values=values,
            benchmark_errors={},
            benchmark_values={},
            done="",
            **context,
        )
    return pages.redirect("/policy/settings?done=1")


@router.post("/policy/settings/benchmark", response_class=HTMLResponse)
async def save_benchmark_settings(request: Request, who: Policy) -> Response:
    """Store the benchmark settings (hourly rate, minimum cell size, reference figures); the API checks them."""
    form = await pages.checked_form(request, who)
    values = {k: str(form.get(k) or "").strip() for k in BENCHMARK_FIELDS}
    body: dict[str, Any] = {k: formats.parse_amount(v) for k, v in values.items()}
    body["min_cell_size"] = (
        int(values["min_cell_size"]) if values["min_cell_size"].isdigit() else values["min_cell_size"]
    )
    try:
        await pages.api(request, who).put("/monitoring/v1/benchmark/settings", json=body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        context = await settings_context(request, who)
        return pages.render(
            request,
            who,
            "policy/settings.html",
            status=422,
            title_key="policy.title.settings",
            errors={},
            values={},
            benchmark_errors=exc.field_errors() or {"min_cell_size": exc.detail},
            benchmark_values=values,
            done=False,
            **context,
        )
    return pages.redirect("/policy/settings?done=benchmark#h-benchmark-settings")


i18n.register(
    {
        "policy.nav.benchmark": {"nl": "Benchmark", "en": "Benchmark"},
        "policy.nav.settings": {"nl": "Beleidsregels", "en": "Policy settings"},
        "policy.title.benchmark": {"nl": "Benchmark", "en": "Benchmark"},
        "policy.title.settings": {"nl": "Beleidsregels", "en": "Policy settings"},
        "policy.benchmark.intro": {
            "nl": "Hoe gaat het met de trajecten? Hier ziet u de cijfers van het Divosa-rapport. Kleine aantallen"
            " tonen we niet, zodat niemand te herkennen is.",
            "en": "How are the trajectories doing? These are the figures of the Divosa report. Small numbers are"
            " hidden, so nobody can be recognised.",
        },
        "policy.filter.title": {"nl": "Kies wat u wilt zien", "en": "Choose what to see"},
        "policy.filter.municipality": {"nl": "Gemeente", "en": "Municipality"},
        "policy.filter.municipality_hint": {
            "nl": "Leeg is uw eigen gemeente. Een andere gemeente: vier cijfers (CBS-code). Heel Nederland: all.",
            "en": "Empty is your own municipality. Another one: four digits (CBS code). All of the Netherlands: all.",
        },
        "policy.filter.own": {"nl": "Mijn gemeente", "en": "My municipality"},
        "policy.filter.from": {"nl": "Gestart vanaf", "en": "Started from"},
        "policy.filter.to": {"nl": "Gestart tot en met", "en": "Started up to and including"},
        "policy.filter.scheme": {"nl": "Regeling", "en": "Scheme"},
        "policy.filter.show": {"nl": "Toon", "en": "Show"},
        "policy.scheme.prb": {"nl": "Persoonlijk re-integratiebudget", "en": "Personal reintegration budget"},
        "policy.scheme.pgb_bw": {"nl": "Pgb begeleid werken", "en": "Personal budget for supported employment"},
        "policy.scheme.pib": {
            "nl": "Persoonlijk inburgeringsbudget (pib)",
            "en": "Personal civic integration budget (pib)",
        },
        "policy.scheme.rio_iro": {"nl": "Rio / iro", "en": "Rio / iro"},
        "policy.csv": {"nl": "Download als CSV (Excel)", "en": "Download as CSV (Excel)"},
        "policy.period": {"nl": "Periode", "en": "Period"},
        "policy.until": {"nl": "tot en met", "en": "to"},
        "policy.national": {"nl": "Heel Nederland", "en": "All of the Netherlands"},
        "policy.min_cell": {
            "nl": "Aantallen kleiner dan {n} tonen we niet. Daar staat: verborgen.",
            "en": "Numbers below {n} are not shown. They say: hidden.",
        },
        "policy.column.label": {"nl": "Onderdeel", "en": "Item"},
        "policy.column.wwb": {"nl": "Bijstand (WWB)", "en": "Social assistance (WWB)"},
        "policy.column.nug": {"nl": "Zonder uitkering (NUG)", "en": "No benefit (NUG)"},
        "policy.column.total": {"nl": "Totaal", "en": "Total"},
        "policy.suppressed": {"nl": "verborgen", "en": "hidden"},
        "policy.reference.title": {"nl": "Vergeleken met gewone trajecten", "en": "Compared with regular trajectories"},
        "policy.reference.outflow": {"nl": "Uitstroom naar werk (%)", "en": "Outflow to work (%)"},
        "policy.reference.total_cost": {"nl": "Kosten per traject", "en": "Cost per trajectory"},
        "policy.reference.granted": {"nl": "Toegekend budget per traject", "en": "Granted budget per trajectory"},
        "policy.reference.group": {"nl": "Groep", "en": "Group"},
        "policy.reference.actual": {"nl": "Deze trajecten", "en": "These trajectories"},
        "policy.reference.reference": {"nl": "Gewone trajecten", "en": "Regular trajectories"},
        "policy.reference.difference": {"nl": "Verschil", "en": "Difference"},
        "policy.charts.title": {"nl": "Grafieken", "en": "Charts"},
        "policy.chart.outcomes": {"nl": "Uitstroom naar werk", "en": "Outflow to work"},
        "policy.chart.profile": {"nl": "Wie het budget gebruikt", "en": "Who uses the budget"},
        "policy.chart.soft_characteristics": {"nl": "Zachte kenmerken", "en": "Soft characteristics"},
        "policy.chart.spending": {"nl": "Uitgaven per soort", "en": "Spending by category"},
        "policy.chart.contact_hours": {"nl": "Contacturen", "en": "Contact hours"},
        "policy.chart.costs": {"nl": "Kosten", "en": "Costs"},
        "policy.chart.alt": {
            "nl": "Grafiek: {name}. De cijfers staan ook in de tabel hierboven.",
            "en": "Chart: {name}. The figures are also in the table above.",
        },
        "policy.experiments.title": {"nl": "Experimenten", "en": "Experiments"},
        "policy.experiments.none": {"nl": "Er zijn nog geen experimenten.", "en": "There are no experiments yet."},
        "policy.experiments.group": {"nl": "Groep", "en": "Group"},
        "policy.experiments.n": {"nl": "Deelnemers", "en": "Participants"},
        "policy.experiments.outflow": {"nl": "Naar werk", "en": "To work"},
        "policy.experiments.proportion": {"nl": "Aandeel", "en": "Share"},
        "policy.experiments.difference": {
            "nl": "Verschil met controlegroep (95%-interval)",
            "en": "Difference from control (95% interval)",
        },
        "policy.experiments.control": {"nl": "controlegroep", "en": "control group"},
        "policy.experiments.lottery": {"nl": "Loting", "en": "Lottery"},
        "policy.experiments.choice": {"nl": "Eigen keuze", "en": "Own choice"},
        "policy.generated": {"nl": "Berekend op", "en": "Computed at"},
        "policy.settings.intro": {
            "nl": "Dit zijn de regels van uw gemeente voor de aanvraag en het plan. U kunt de belangrijkste hier"
            " aanpassen.",
            "en": "These are your municipality's rules for the application and the plan. You can change the main"
            " ones here.",
        },
        "policy.settings.read_only": {
            "nl": "Alleen de rol Beleid mag deze regels aanpassen.",
            "en": "Only the Policy role may change these rules.",
        },
        "policy.settings.saved": {"nl": "De regels zijn opgeslagen.", "en": "The rules have been saved."},
        "policy.settings.edit": {"nl": "Regels aanpassen", "en": "Change the rules"},
        "policy.settings.schemes": {"nl": "Regelingen en maximale budgetten", "en": "Schemes and maximum budgets"},
        "policy.settings.scheme": {"nl": "Regeling", "en": "Scheme"},
        "policy.settings.maximum": {"nl": "Maximaal budget", "en": "Maximum budget"},
        "policy.settings.per_year": {"nl": "Per jaar", "en": "Per year"},
        "policy.settings.admission": {"nl": "Wie mag meedoen", "en": "Who may take part"},
        "policy.settings.yes": {"nl": "ja", "en": "yes"},
        "policy.settings.no": {"nl": "nee", "en": "no"},
        "policy.settings.execution_months": {"nl": "Looptijd van het plan (maanden)", "en": "Plan duration (months)"},
        "policy.settings.decision_term_weeks": {"nl": "Beslistermijn (weken)", "en": "Decision term (weeks)"},
        "policy.settings.decision_warning_weeks": {
            "nl": "Waarschuwing voor het einde van de beslistermijn (weken)",
            "en": "Warning before the decision term ends (weeks)",
        },
        "policy.settings.min_quotes_per_activity": {
            "nl": "Aantal offertes per activiteit",
            "en": "Quotes per activity",
        },
        "policy.settings.four_eyes_threshold": {
            "nl": "Vanaf dit bedrag kijkt een teamleider mee (euro)",
            "en": "From this amount a team lead checks too (euro)",
        },
        "policy.settings.review_model": {"nl": "Manier van beoordelen", "en": "Review model"},
        "policy.settings.review_model.marginal": {
            "nl": "Ja, tenzij (de klant kiest zelf)",
            "en": "Yes, unless (the client decides)",
        },
        "policy.settings.review_model.reciprocal": {
            "nl": "Samen (de klantmanager beoordeelt de inhoud)",
            "en": "Reciprocal (the case manager reviews the content)",
        },
        "policy.settings.review_model.demand_oriented": {
            "nl": "Vraaggericht (alleen gecontracteerde aanbieders)",
            "en": "Demand-oriented (contracted providers only)",
        },
        "policy.settings.too_few_quotes": {"nl": "Te weinig offertes", "en": "Too few quotes"},
        "policy.settings.too_few_quotes.warning": {"nl": "Waarschuwen", "en": "Warn"},
        "policy.settings.too_few_quotes.block": {"nl": "Tegenhouden", "en": "Block"},
        "policy.settings.client_confirms_invoices": {
            "nl": "De klant bevestigt rekeningen",
            "en": "The client confirms invoices",
        },
        "policy.settings.amounts_excl_vat": {"nl": "Bedragen zonder btw", "en": "Amounts excluding VAT"},
        "policy.settings.orientation": {"nl": "Oriëntatiefase", "en": "Orientation phase"},
        "policy.settings.enabled": {"nl": "Er is een oriëntatiefase", "en": "There is an orientation phase"},
        "policy.settings.months": {"nl": "Oriëntatiefase (maanden)", "en": "Orientation phase (months)"},
        "policy.settings.budget": {"nl": "Budget oriëntatiefase (euro)", "en": "Orientation budget (euro)"},
        "policy.settings.setting": {"nl": "Regel", "en": "Setting"},
        "policy.settings.value": {"nl": "Waarde", "en": "Value"},
        "policy.changes.title": {"nl": "Wie wat veranderde, en wanneer", "en": "Who changed what, and when"},
        "policy.changes.none": {
            "nl": "Er is nog niets veranderd. De gemeente gebruikt de standaardregels.",
            "en": "Nothing has been changed yet. The municipality uses the standard rules.",
        },
        "policy.rule.benefit_type": {"nl": "Soort uitkering", "en": "Kind of benefit"},
        "policy.rule.resident": {"nl": "Woont in de gemeente", "en": "Lives in the municipality"},
        "policy.rule.no_running_trajectory": {
            "nl": "Heeft nu geen ander traject",
            "en": "Has no other trajectory running",
        },
        "policy.rule.min_months_unemployed": {
            "nl": "Minimaal aantal maanden zonder werk",
            "en": "Minimum months without work",
        },
        "policy.rule.min_months_on_benefit": {
            "nl": "Minimaal aantal maanden met uitkering",
            "en": "Minimum months on benefit",
        },
        "policy.rule.max_distance_to_labour_market": {
            "nl": "Afstand tot werk is niet te groot",
            "en": "Distance to the labour market is not too large",
        },
        "policy.rule.no_suitable_regular_offer": {
            "nl": "Er is geen passend gewoon aanbod",
            "en": "No suitable regular offer",
        },
        "policy.rule.fair_chance_of_outflow": {"nl": "Redelijke kans op werk", "en": "A fair chance of work"},
        "policy.rule.available_for_work": {"nl": "Beschikbaar voor werk", "en": "Available for work"},
        "policy.rule.target_group": {"nl": "Hoort bij de doelgroep", "en": "Belongs to the target group"},
        "policy.settings.benchmark": {
            "nl": "Uurtarief klantmanager {rate}. Gewone trajecten: {wwb}% (bijstand) en {nug}% (zonder uitkering)"
            " naar werk, kosten {cost} per traject.",
            "en": "Case manager hourly rate {rate}. Regular trajectories: {wwb}% (assistance) and {nug}% (no benefit)"
            " to work, cost {cost} per trajectory.",
        },
        "policy.benchmark_settings.title": {"nl": "Instellingen van de benchmark", "en": "Benchmark settings"},
        "policy.benchmark_settings.intro": {
            "nl": "Hiermee rekent de benchmark de kosten uit en vergelijkt hij met gewone trajecten. Een kleiner"
            " minimum laat meer cijfers zien; kies 1 alleen als niemand zo te herkennen is.",
            "en": "The benchmark uses these to compute costs and compare with regular trajectories. A smaller"
            " minimum shows more figures; choose 1 only when nobody can be recognised that way.",
        },
        "policy.benchmark_settings.save": {"nl": "Instellingen benchmark opslaan", "en": "Save benchmark settings"},
        "policy.benchmark_settings.saved": {
            "nl": "De instellingen van de benchmark zijn opgeslagen.",
            "en": "The benchmark settings have been saved.",
        },
        "policy.benchmark_settings.hourly_rate": {
            "nl": "Uurtarief klantmanager (euro)",
            "en": "Case manager hourly rate (euro)",
        },
        "policy.benchmark_settings.min_cell_size": {
            "nl": "Kleinste aantal dat we tonen (1 tot 100)",
            "en": "Smallest number shown (1 to 100)",
        },
        "policy.benchmark_settings.reference_outflow_wwb": {
            "nl": "Gewone trajecten bijstand: naar werk (%)",
            "en": "Regular trajectories, assistance: to work (%)",
        },
        "policy.benchmark_settings.reference_outflow_nug": {
            "nl": "Gewone trajecten zonder uitkering: naar werk (%)",
            "en": "Regular trajectories, no benefit: to work (%)",
        },
        "policy.benchmark_settings.reference_trajectory_cost": {
            "nl": "Kosten van een gewoon traject (euro)",
            "en": "Cost of a regular trajectory (euro)",
        },
        "policy.benchmark_settings.default": {
            "nl": "Uw gemeente gebruikt nog de standaardwaarden.",
            "en": "Your municipality still uses the default values.",
        },
        "policy.settings.price_catalogue": {"nl": "Prijslijst", "en": "Price catalogue"},
        "policy.settings.quote_required_above": {"nl": "Offerte verplicht boven", "en": "Quote required above"},
        "policy.settings.over_catalogue_price": {"nl": "Duurder dan de prijslijst", "en": "Above the catalogue"},
        "policy.settings.missing_required_quote": {
            "nl": "Verplichte offerte ontbreekt",
            "en": "Required quote missing",
        },
        "policy.changes.products": {"nl": "{n} producten", "en": "{n} products"},
        "policy.changes.when": {"nl": "Wanneer", "en": "When"},
        "policy.changes.who": {"nl": "Wie", "en": "Who"},
        "policy.changes.what": {"nl": "Wat", "en": "What"},
        "policy.changes.from_to": {"nl": "van {old} naar {new}", "en": "from {old} to {new}"},
    }
)
