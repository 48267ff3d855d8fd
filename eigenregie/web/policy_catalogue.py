"""The municipality's price catalogue on the policy settings page (issue 13): products with a
maximum price per unit, the amount above which a quote is required, and what an overrun does to a
plan. One form, saved as a JSON merge patch on intake's policy; intake checks it."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from eigenregie.web import formats, i18n, pages
from eigenregie.web.api_client import ApiError
from eigenregie.web.policy import Policy, settings_context

router = APIRouter(include_in_schema=False)

PRODUCT_FIELDS = ("code", "description", "category", "unit", "maximum_price")
SWITCHES = ("over_catalogue_price", "missing_required_quote")
MAX_ROWS = 500


def products_of(form: FormData) -> list[dict[str, str]]:
    """The form's rows as typed, in order: empty rows and rows marked for removal left out."""
    rows: list[dict[str, str]] = []
    count = min(int(str(form.get("product-count") or "0")) if str(form.get("product-count") or "").isdigit() else 0,
                MAX_ROWS + 1)  # fmt: skip
    for i in range(count):
        row = {name: str(form.get(f"product-{i}-{name}") or "").strip() for name in PRODUCT_FIELDS}
        if form.get(f"product-{i}-remove") or not any(row.values()):
            continue
        rows.append(row)
    return rows


def patch_of(form: FormData) -> dict[str, Any]:
    products = [{**row, "maximum_price": formats.parse_amount(row["maximum_price"])} for row in products_of(form)]
    threshold = formats.parse_amount(str(form.get("quote_required_above") or ""))
    patch: dict[str, Any] = {"price_catalogue": products, "quote_required_above": threshold or None}
    for name in SWITCHES:
        if form.get(name):
            patch[name] = str(form.get(name))
    return patch


def field_errors(exc: ApiError) -> dict[str, str]:
    """The API names a product's field as price_catalogue[2].unit; the form as product-2-unit."""
    found: dict[str, str] = {}
    for error in exc.problem.get("errors") or []:
        name = str(error.get("field") or "")
        if name.startswith("price_catalogue[") and "]." in name:
            index, field = name[len("price_catalogue[") :].split("].", 1)
            name = f"product-{index}-{field}"
        elif name.startswith("price_catalogue"):
            name = "product-0-code"
        found.setdefault(name or "quote_required_above", str(error.get("message") or exc.detail))
    return found or {"quote_required_above": exc.detail}


@router.post("/policy/settings/catalogue", response_class=HTMLResponse)
async def save_catalogue(request: Request, who: Policy) -> Response:
    """Store the whole catalogue (a merge patch replaces the list), the quote threshold and the switches."""
    form = await pages.checked_form(request, who)
    patch = patch_of(form)
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
        context.update(
            catalogue_errors=field_errors(exc),
            catalogue_rows=products_of(form),
            catalogue_values={k: str(form.get(k) or "") for k in ("quote_required_above", *SWITCHES)},
        )
        return pages.render(
            request,
            who,
            "policy/settings.html",
            status=422,
            title_key="policy.title.settings",
            errors={},
            values={},
            benchmark_errors={},
            benchmark_values={},
            done="",
            **context,
        )
    return pages.redirect("/policy/settings?done=catalogue#h-catalogue")


i18n.register(
    {
        "policy.catalogue.title": {"nl": "Prijslijst", "en": "Price catalogue"},
        "policy.catalogue.intro": {
            "nl": "Wat een product of dienst hoogstens mag kosten, per eenheid. Bij de controle van een plan en"
            " van een rekening kijken we of een bedrag daarboven ligt.",
            "en": "What a product or service may cost at most, per unit. When a plan or an invoice is checked, we"
            " see whether an amount is above it.",
        },
        "policy.catalogue.empty": {
            "nl": "Er staan nog geen producten in de prijslijst.",
            "en": "There are no products in the catalogue yet.",
        },
        "policy.catalogue.product_n": {"nl": "Product {n}", "en": "Product {n}"},
        "policy.catalogue.product_new": {"nl": "Nieuw product", "en": "New product"},
        "policy.catalogue.code": {"nl": "Code", "en": "Code"},
        "policy.catalogue.description": {"nl": "Omschrijving", "en": "Description"},
        "policy.catalogue.category": {"nl": "Soort uitgave", "en": "Kind of spending"},
        "policy.catalogue.unit": {"nl": "Per", "en": "Per"},
        "policy.catalogue.maximum_price": {
            "nl": "Hoogste prijs per eenheid (euro)",
            "en": "Maximum price per unit (euro)",
        },
        "policy.catalogue.remove": {"nl": "Haal dit product weg", "en": "Remove this product"},
        "policy.catalogue.choose": {"nl": "Kies", "en": "Choose"},
        "policy.catalogue.unit.hour": {"nl": "uur", "en": "hour"},
        "policy.catalogue.unit.day": {"nl": "dag", "en": "day"},
        "policy.catalogue.unit.month": {"nl": "maand", "en": "month"},
        "policy.catalogue.unit.session": {"nl": "les of gesprek", "en": "lesson or session"},
        "policy.catalogue.unit.course": {"nl": "hele cursus", "en": "whole course"},
        "policy.catalogue.unit.piece": {"nl": "stuk", "en": "piece"},
        "policy.catalogue.quote_required_above": {
            "nl": "Offerte verplicht boven dit bedrag per regel (euro, leeg: nooit)",
            "en": "Quote required above this amount per line (euro, empty: never)",
        },
        "policy.catalogue.over_catalogue_price": {
            "nl": "Als een regel duurder is dan de prijslijst",
            "en": "When a line costs more than the catalogue",
        },
        "policy.catalogue.missing_required_quote": {
            "nl": "Als een verplichte offerte ontbreekt",
            "en": "When a required quote is missing",
        },
        "policy.catalogue.warning": {"nl": "Waarschuwen", "en": "Warn"},
        "policy.catalogue.block": {"nl": "Tegenhouden", "en": "Block"},
        "policy.catalogue.save": {"nl": "Prijslijst opslaan", "en": "Save the catalogue"},
        "policy.catalogue.saved": {"nl": "De prijslijst is opgeslagen.", "en": "The catalogue has been saved."},
    }
)
