"""The provider's pages: its invoices with their status (and why one was refused), and a form to
send an invoice on an order reference (the budget line the municipality gave it), or a UBL file.
The budget API decides; the provider's own token names who it is."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from eigenregie.web import formats, i18n, pages
from eigenregie.web.api_client import ApiError
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)
Provider = Annotated[WebSession, Depends(pages.role_in("provider"))]

pages.add_nav(["provider"], "/provider", "provider.nav.invoices")
pages.add_nav(["provider"], "/provider/invoices/new", "provider.nav.new")

FIELDS = ("budget_line_id", "invoice_number", "issue_date", "provider_name", "provider_kvk", "provider_iban",
          "amount_excl_vat", "vat", "supplier_email")  # fmt: skip
STATUSES = ("received", "awaiting_client", "awaiting_second_approval", "review", "approved", "scheduled", "paid",
            "rejected")  # fmt: skip


@router.get("/provider", response_class=HTMLResponse)
async def invoices(request: Request, who: Provider, done: str = "") -> Response:
    """The invoices this provider sent, newest first, with their status."""
    rows = await pages.api(request, who).get("/budget/v1/invoices", page_size=100)
    return pages.render(
        request,
        who,
        "provider/invoices.html",
        title_key="provider.title.invoices",
        rows=list(reversed(rows)),
        done=done if done in ("sent", "uploaded") else "",
        statuses=STATUSES,
    )


def _form_page(
    request: Request, who: WebSession, *, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return pages.render(
        request,
        who,
        "provider/new.html",
        status=status,
        title_key="provider.title.new",
        values=values,
        errors=errors,
    )


@router.get("/provider/invoices/new", response_class=HTMLResponse)
async def new_invoice(request: Request, who: Provider) -> Response:
    """The form for one invoice, and for a UBL e-invoice file."""
    return _form_page(request, who, values={"vat": "0"}, errors={})


@router.post("/provider/invoices", response_class=HTMLResponse)
async def send_invoice(request: Request, who: Provider) -> Response:
    """Send one invoice as JSON; errors come back at their fields."""
    form = await pages.checked_form(request, who)
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    body: dict[str, Any] = {k: v for k, v in values.items() if v}
    for name in ("amount_excl_vat", "vat"):
        if name in body:
            body[name] = formats.parse_amount(body[name])
    if "provider_iban" in body:
        body["provider_iban"] = body["provider_iban"].replace(" ", "").upper()
    try:
        await pages.api(request, who).post("/budget/v1/invoices", body)
    except ApiError as exc:
        if exc.status not in (404, 409, 422):
            raise
        errors = exc.field_errors()
        if exc.status == 404 or not errors:
            errors = {"budget_line_id": exc.detail}
        return _form_page(request, who, values=values, errors=errors, status=exc.status)
    return pages.redirect("/provider?done=sent")


@router.post("/provider/invoices/ubl", response_class=HTMLResponse)
async def upload_ubl(request: Request, who: Provider) -> Response:
    """Send a UBL 2.1 / SI-UBL 2.0 e-invoice file; the order reference is in the file."""
    form = await pages.checked_form(request, who)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors = {"file": i18n.text("provider.error.no_file", pages.lang_of(request, who))}
        return _form_page(request, who, values={"vat": "0"}, errors=errors, status=422)
    content = await upload.read()
    try:
        await pages.api(request, who).call(
            "POST", "/budget/v1/invoices/ubl", content=content, headers={"Content-Type": "application/xml"}
        )
    except ApiError as exc:
        if exc.status not in (404, 409, 413, 415, 422):
            raise
        return _form_page(request, who, values={"vat": "0"}, errors={"file": exc.detail}, status=exc.status)
    return pages.redirect("/provider?done=uploaded")


def _both(nl: str, en: str) -> dict[str, str]:
    return {"nl": nl, "en": en}


i18n.register(
    {
        "provider.nav.invoices": _both("Mijn rekeningen", "My invoices"),
        "provider.nav.new": _both("Rekening sturen", "Send an invoice"),
        "provider.title.invoices": _both("Mijn rekeningen", "My invoices"),
        "provider.title.new": _both("Rekening sturen", "Send an invoice"),
        "provider.intro": _both(
            "Hier ziet u de rekeningen die u de gemeente stuurde, en hoe het ermee staat.",
            "These are the invoices you sent the municipality, and how they stand.",
        ),
        "provider.none": _both("U heeft nog geen rekeningen gestuurd.", "You have not sent any invoices yet."),
        "provider.sent": _both("Uw rekening is ontvangen.", "Your invoice was received."),
        "provider.uploaded": _both("Uw e-factuur is ontvangen.", "Your e-invoice was received."),
        "provider.caption": _both("Uw rekeningen", "Your invoices"),
        "provider.number": _both("Nummer", "Number"),
        "provider.received": _both("Ontvangen", "Received"),
        "provider.amount": _both("Bedrag", "Amount"),
        "provider.status": _both("Status", "Status"),
        "provider.why": _both("Reden", "Reason"),
        "provider.new.intro": _both(
            "Stuur een rekening voor een opdracht van de gemeente. De opdrachtcode staat in de opdracht die u kreeg.",
            "Send an invoice for an order of the municipality. The order code is in the order you received.",
        ),
        "provider.field.budget_line_id": _both("Opdrachtcode", "Order code"),
        "provider.field.invoice_number": _both("Factuurnummer", "Invoice number"),
        "provider.field.issue_date": _both("Factuurdatum", "Invoice date"),
        "provider.field.provider_name": _both("Naam van uw bedrijf", "Your company's name"),
        "provider.field.provider_kvk": _both("KvK-nummer", "KvK number"),
        "provider.field.provider_iban": _both("IBAN voor de betaling", "IBAN for the payment"),
        "provider.field.amount_excl_vat": _both("Bedrag zonder btw (euro)", "Amount without VAT (euro)"),
        "provider.field.vat": _both("Btw (euro)", "VAT (euro)"),
        "provider.field.supplier_email": _both(
            "E-mail voor berichten over deze rekening", "E-mail for messages about this invoice"
        ),
        "provider.send": _both("Rekening sturen", "Send the invoice"),
        "provider.ubl.title": _both("Of stuur een e-factuur (UBL)", "Or send an e-invoice (UBL)"),
        "provider.field.file": _both("E-factuur (XML)", "E-invoice (XML)"),
        "provider.ubl.send": _both("E-factuur sturen", "Send the e-invoice"),
        "provider.error.no_file": _both("Kies een bestand.", "Choose a file."),
        **{
            f"provider.invoice_status.{status}": _both(nl, en)
            for status, (nl, en) in {
                "received": ("ontvangen", "received"),
                "awaiting_client": ("wacht op de klant", "waiting for the client"),
                "awaiting_second_approval": ("wacht op een tweede controle", "waiting for a second check"),
                "review": ("wordt bekeken", "being checked"),
                "approved": ("goedgekeurd", "approved"),
                "scheduled": ("wordt betaald", "being paid"),
                "paid": ("betaald", "paid"),
                "rejected": ("afgewezen", "rejected"),
            }.items()
        },
    }
)
