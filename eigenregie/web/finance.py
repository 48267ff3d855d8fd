"""The finance pages (issue 12). Routes call the APIs through pages.api(); no rules here.

- /finance/invoices: the approval queue with filters, bulk approve, and per invoice approve or
  reject (four eyes: above the threshold a second, different approver).
- /finance/payment-runs: payment runs; a new run is a budget job with a progress bar (htmx polls a
  small fragment) that one can leave and come back to; a run's totals, its pain.001 and confirm.
- /finance/uploads: a bulk upload of invoices (UBL files or a JSON file), also a job, with a
  result per row.
- /finance/budgets and /finance/budgets/{budget_id}/statement: the budgets and a statement with
  its downloads (CSV, PDF in Dutch or English).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from eigenregie.web import formats, i18n, pages
from eigenregie.web.api_client import ApiClient, ApiError
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)

FINANCE = ("finance",)
APPROVERS = ("finance", "team_lead")
Finance = Annotated[WebSession, Depends(pages.role_in(*FINANCE))]
Approver = Annotated[WebSession, Depends(pages.role_in(*APPROVERS))]
QUEUE_STATUSES = ("received", "awaiting_second_approval", "review")
ALL_STATUSES = (
    "received",
    "awaiting_client",
    "awaiting_second_approval",
    "review",
    "approved",
    "scheduled",
    "paid",
    "rejected",
)
PAGE_SIZE = 50

pages.add_nav(APPROVERS, "/finance/invoices", "finance.nav.invoices")
pages.add_nav(FINANCE, "/finance/payment-runs", "finance.nav.payment_runs")
pages.add_nav(FINANCE, "/finance/uploads", "finance.nav.uploads")
pages.add_nav(FINANCE, "/finance/budgets", "finance.nav.budgets")


def _render(request: Request, who: WebSession, template: str, title_key: str, **context: Any) -> HTMLResponse:
    lang = pages.lang_of(request, who)
    return pages.render(
        request,
        who,
        f"finance/{template}",
        title_key=title_key,
        day=lambda value: formats.day(value, lang, with_time=False),
        **context,
    )


def _short(value: str) -> str:
    return value[:8]


def _percent(done: int, total: int) -> int:
    return 100 if total <= 0 else min(100, round(100 * done / total))


# --- invoices: the approval queue --------------------------------------------------------------


async def _budgets(client: ApiClient) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await client.get("/budget/v1/budgets", page_size=200)
    return rows


@router.get("/finance/invoices", response_class=HTMLResponse)
async def invoices(
    request: Request,
    who: Approver,
    status: str = "",
    budget_id: str = "",
    provider: str = "",
    min_amount: str = "",
    max_amount: str = "",
    page: int = 1,
    approved: int | None = None,
    refused: int | None = None,
) -> Response:
    """Without a status: the approval queue (received, second approval, review); with one: every
    invoice in that state. Narrow by budget, provider (id or part of the name) and amount."""
    client = pages.api(request, who)
    status = status if status in ALL_STATUSES else ""
    page = max(1, page)
    narrowed = {"provider": provider.strip(), "min_amount": formats.parse_amount(min_amount),
                "max_amount": formats.parse_amount(max_amount)}  # fmt: skip
    params = {k: v for k, v in narrowed.items() if v} | {"page": page, "page_size": PAGE_SIZE}
    errors: dict[str, str] = {}
    try:
        if status or budget_id:
            answer = await client.call(
                "GET", "/budget/v1/invoices", params={"status": status, "budget_id": budget_id, **params}
            )
        else:
            answer = await client.call("GET", "/budget/v1/approval-queue", params=params)
        rows: list[dict[str, Any]] = answer.data
        total = answer.total if answer.total is not None else len(rows)
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = exc.field_errors() or {"provider": exc.detail}
        rows, total = [], 0
    budgets = await _budgets(client) if who.role == "finance" else []
    return _render(
        request,
        who,
        "invoices.html",
        "finance.title.invoices",
        status=422 if errors else 200,
        errors=errors,
        narrowed={"provider": provider.strip(), "min_amount": min_amount.strip(), "max_amount": max_amount.strip()},
        rows=rows,
        total=total,
        page=page,
        has_next=page * PAGE_SIZE < total,
        status_filter=status,
        budget_id=budget_id,
        statuses=ALL_STATUSES,
        budgets=budgets,
        short=_short,
        approved=approved,
        refused=refused,
        deciding=QUEUE_STATUSES,
    )


@router.post("/finance/invoices/approve")
async def approve_many(request: Request, who: Approver) -> Response:
    """Approve the selected invoices: each its own result; the refused ones stay in the queue."""
    form = await pages.checked_form(request, who)
    ids = [str(v) for v in form.getlist("invoice_ids") if isinstance(v, str) and v]
    if not ids:
        return pages.redirect("/finance/invoices?approved=0&refused=0")
    results = await pages.api(request, who).post("/budget/v1/invoices/approve", {"invoice_ids": ids[:1000]})
    done = sum(1 for r in results if r.get("status") == "accepted")
    return pages.redirect(f"/finance/invoices?approved={done}&refused={len(results) - done}")


async def _invoice_page(
    request: Request, who: WebSession, invoice_id: str, *, errors: dict[str, str] | None = None, status: int = 200
) -> HTMLResponse:
    client = pages.api(request, who)
    invoice = await client.get(f"/budget/v1/invoices/{invoice_id}")
    page = _render(
        request,
        who,
        "invoice.html",
        "finance.title.invoice",
        invoice=invoice,
        errors=errors or {},
        short=_short,
        can_decide=invoice["status"] in QUEUE_STATUSES,
        first_by_me=invoice.get("first_approved_by") == who.principal.subject,
        done=request.query_params.get("done", ""),
    )
    page.status_code = status
    return page


@router.get("/finance/invoices/{invoice_id}", response_class=HTMLResponse)
async def invoice(request: Request, who: Approver, invoice_id: str) -> Response:
    return await _invoice_page(request, who, invoice_id)


@router.post("/finance/invoices/{invoice_id}/approve")
async def approve_one(request: Request, who: Approver, invoice_id: str) -> Response:
    await pages.checked_form(request, who)
    try:
        await pages.api(request, who).post(f"/budget/v1/invoices/{invoice_id}/approve")
    except ApiError as exc:
        if exc.status not in (403, 409, 422):  # 403: four eyes, the first approver cannot give the second
            raise
        return await _invoice_page(request, who, invoice_id, errors={"approve": exc.detail}, status=exc.status)
    return pages.redirect(f"/finance/invoices/{invoice_id}?done=approved")


@router.post("/finance/invoices/{invoice_id}/reject")
async def reject_one(request: Request, who: Approver, invoice_id: str) -> Response:
    form = await pages.checked_form(request, who)
    reason = str(form.get("reason") or "").strip()
    try:
        await pages.api(request, who).post(f"/budget/v1/invoices/{invoice_id}/reject", {"reason": reason})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = exc.field_errors() or {"reason": exc.detail}
        if "reason" not in errors:
            errors = {"reason": next(iter(errors.values()))}
        return await _invoice_page(request, who, invoice_id, errors=errors, status=exc.status)
    return pages.redirect(f"/finance/invoices/{invoice_id}?done=rejected")


# --- payment runs, as jobs with a progress bar ---------------------------------------------------


async def _job_or_none(client: ApiClient, job_id: str, kind: str) -> dict[str, Any] | None:
    try:
        job: dict[str, Any] = await client.get(f"/budget/v1/jobs/{job_id}")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    return job if job.get("kind") == kind else None


async def _runs_page(
    request: Request, who: WebSession, *, errors: dict[str, str] | None = None, values: dict[str, str] | None = None
) -> HTMLResponse:
    client = pages.api(request, who)
    runs: list[dict[str, Any]] = await client.get("/budget/v1/payment-runs", page_size=200)
    jobs: list[dict[str, Any]] = await client.get("/budget/v1/jobs", kind="payment_run", page_size=10)
    page = _render(
        request,
        who,
        "payment_runs.html",
        "finance.title.payment_runs",
        runs=list(reversed(runs)),
        jobs=[j for j in jobs if j["status"] in ("queued", "running", "failed")][:5],
        errors=errors or {},
        values=values or {"execution_date": date.today().isoformat(), "pain_schema": ""},
        short=_short,
    )
    if errors:
        page.status_code = 422
    return page


@router.get("/finance/payment-runs", response_class=HTMLResponse)
async def payment_runs(request: Request, who: Finance) -> Response:
    return await _runs_page(request, who)


@router.post("/finance/payment-runs")
async def create_payment_run(request: Request, who: Finance) -> Response:
    """Queue the run as a job and go to its progress page."""
    form = await pages.checked_form(request, who)
    values = {
        "execution_date": str(form.get("execution_date") or ""),
        "pain_schema": str(form.get("pain_schema") or ""),
    }
    body: dict[str, Any] = {"execution_date": values["execution_date"] or None}
    if values["pain_schema"]:
        body["pain_schema"] = values["pain_schema"]
    try:
        job = await pages.api(request, who).post("/budget/v1/payment-runs/jobs", body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = exc.field_errors()
        if not errors or set(errors) - {"execution_date", "pain_schema"}:
            errors = {"execution_date": exc.detail}
        return await _runs_page(request, who, errors=errors, values=values)
    return pages.redirect(f"/finance/payment-runs/{job['id']}")


@router.get("/finance/payment-runs/{run_id}", response_class=HTMLResponse)
async def payment_run(request: Request, who: Finance, run_id: str) -> Response:
    """A payment run with its totals; a job's id shows the job's progress until its run is made."""
    client = pages.api(request, who)
    try:
        run = await client.get(f"/budget/v1/payment-runs/{run_id}")
    except ApiError as exc:
        if exc.status != 404:
            raise
        job = await _job_or_none(client, run_id, "payment_run")
        if job is None:
            raise
        if job["status"] == "done" and job.get("payment_run_id"):
            return pages.redirect(f"/finance/payment-runs/{job['payment_run_id']}")
        return _render(
            request,
            who,
            "payment_run_job.html",
            "finance.title.payment_run_job",
            job=job,
            percent=_percent(job["done"], job["total"]),
            progress_url=f"/finance/payment-runs/{run_id}/progress",
        )
    return _render(
        request,
        who,
        "payment_run.html",
        "finance.title.payment_run",
        run=run,
        errors={},
        today=date.today().isoformat(),
        done=request.query_params.get("done", ""),
        short=_short,
    )


@router.get("/finance/payment-runs/{job_id}/progress", response_class=HTMLResponse)
async def payment_run_progress(request: Request, who: Finance, job_id: str) -> Response:
    """The progress fragment htmx polls; when the run is made, htmx goes to the run's page."""
    job = await _job_or_none(pages.api(request, who), job_id, "payment_run")
    if job is None:
        raise pages.PageProblem(404, "error.not_found")
    page = _fragment(request, who, job, f"/finance/payment-runs/{job_id}/progress")
    if job["status"] == "done" and job.get("payment_run_id"):
        page.headers["HX-Redirect"] = f"/finance/payment-runs/{job['payment_run_id']}"
    return page


def _fragment(request: Request, who: WebSession, job: dict[str, Any], progress_url: str) -> HTMLResponse:
    lang = pages.lang_of(request, who)

    def t(key: str, **values: Any) -> str:
        words = i18n.text(key, lang)
        return words.format(**values) if values else words

    html = pages.env.get_template("finance/_progress.html").render(
        t=t, job=job, percent=_percent(job["done"], job["total"]), progress_url=progress_url
    )
    return HTMLResponse(html)


@router.get("/finance/payment-runs/{run_id}/pain001")
async def payment_file(request: Request, who: Finance, run_id: str) -> Response:
    """The run's pain.001 as budget gives it, for the bank."""
    answer = await pages.api(request, who).call("GET", f"/budget/v1/payment-runs/{run_id}/pain001.xml")
    return Response(
        answer.data,
        media_type="application/xml",
        headers={
            "Content-Disposition": answer.headers.get("content-disposition", f'attachment; filename="{run_id}.xml"')
        },
    )


@router.post("/finance/payment-runs/{run_id}/confirm")
async def confirm_payment_run(request: Request, who: Finance, run_id: str) -> Response:
    form = await pages.checked_form(request, who)
    paid_on = str(form.get("paid_on") or "")
    client = pages.api(request, who)
    try:
        await client.post(f"/budget/v1/payment-runs/{run_id}/confirm", {"paid_on": paid_on or None})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        run = await client.get(f"/budget/v1/payment-runs/{run_id}")
        errors = {"paid_on": exc.field_errors().get("paid_on") or exc.detail}
        page = _render(
            request,
            who,
            "payment_run.html",
            "finance.title.payment_run",
            run=run,
            errors=errors,
            today=paid_on,
            done="",
            short=_short,
        )
        page.status_code = exc.status
        return page
    return pages.redirect(f"/finance/payment-runs/{run_id}?done=confirmed")


# --- uploads: a bulk upload of invoices as a job ------------------------------------------------


async def _uploads_page(request: Request, who: WebSession, errors: dict[str, str] | None = None) -> HTMLResponse:
    jobs = await pages.api(request, who).get("/budget/v1/jobs", kind="invoice_upload", page_size=20)
    page = _render(request, who, "uploads.html", "finance.title.uploads", jobs=jobs, errors=errors or {})
    if errors:
        page.status_code = 422
    return page


@router.get("/finance/uploads", response_class=HTMLResponse)
async def uploads(request: Request, who: Finance) -> Response:
    return await _uploads_page(request, who)


@router.post("/finance/uploads")
async def upload(request: Request, who: Finance) -> Response:
    """One JSON file (an array of invoices) or UBL files: queued as a job, then its progress page."""
    form = await pages.checked_form(request, who)
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if not files:
        return await _uploads_page(request, who, {"files": i18n.text("finance.uploads.none", who.lang)})
    contents = [(f.filename or "invoice.xml", await f.read()) for f in files]
    client = pages.api(request, who)
    try:
        if len(contents) == 1 and contents[0][0].lower().endswith(".json"):
            job = (
                await client.call(
                    "POST",
                    "/budget/v1/invoices/upload-jobs",
                    content=contents[0][1],
                    headers={"Content-Type": "application/json"},
                )
            ).data
        else:
            parts = [("files", (name, data, "application/xml")) for name, data in contents]
            job = (await client.call("POST", "/budget/v1/invoices/upload-jobs", files=parts)).data
    except ApiError as exc:
        if exc.status not in (400, 413, 415, 422):
            raise
        return await _uploads_page(request, who, {"files": exc.detail})
    return pages.redirect(f"/finance/uploads/{job['id']}")


@router.get("/finance/uploads/{job_id}", response_class=HTMLResponse)
async def upload_job(request: Request, who: Finance, job_id: str) -> Response:
    job = await _job_or_none(pages.api(request, who), job_id, "invoice_upload")
    if job is None:
        raise pages.PageProblem(404, "error.not_found")
    return _render(
        request,
        who,
        "upload.html",
        "finance.title.upload",
        job=job,
        percent=_percent(job["done"], job["total"]),
        progress_url=f"/finance/uploads/{job_id}/progress",
        short=_short,
    )


@router.get("/finance/uploads/{job_id}/progress", response_class=HTMLResponse)
async def upload_progress(request: Request, who: Finance, job_id: str) -> Response:
    job = await _job_or_none(pages.api(request, who), job_id, "invoice_upload")
    if job is None:
        raise pages.PageProblem(404, "error.not_found")
    page = _fragment(request, who, job, f"/finance/uploads/{job_id}/progress")
    if job["status"] in ("done", "failed"):
        page.headers["HX-Refresh"] = "true"  # the whole page, with each row's result
    return page


@router.get("/finance/uploads/{job_id}/results.csv")
async def upload_results(request: Request, who: Finance, job_id: str) -> Response:
    answer = await pages.api(request, who).call("GET", f"/budget/v1/jobs/{job_id}/results.csv")
    return Response(
        answer.data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="upload-{job_id}.csv"'},
    )


# --- budgets and their statement ----------------------------------------------------------------


@router.get("/finance/budgets", response_class=HTMLResponse)
async def budgets(request: Request, who: Finance, page: int = 1) -> Response:
    page = max(1, page)
    answer = await pages.api(request, who).call(
        "GET", "/budget/v1/budgets", params={"page": page, "page_size": PAGE_SIZE}
    )
    total = answer.total if answer.total is not None else len(answer.data)
    return _render(
        request,
        who,
        "budgets.html",
        "finance.title.budgets",
        rows=answer.data,
        page=page,
        has_next=page * PAGE_SIZE < total,
        short=_short,
    )


@router.get("/finance/budgets/{budget_id}/statement", response_class=HTMLResponse)
async def statement(request: Request, who: Finance, budget_id: str) -> Response:
    budget = await pages.api(request, who).get(f"/budget/v1/budgets/{budget_id}")
    return _render(request, who, "statement.html", "finance.title.statement", budget=budget, short=_short)


@router.get("/finance/budgets/{budget_id}/statement/download")
async def statement_download(
    request: Request, who: Finance, budget_id: str, format: str = "csv", lang: str = "nl"
) -> Response:
    """The statement file budget makes: CSV, or PDF in Dutch or English."""
    kind = "pdf" if format == "pdf" else "csv"
    answer = await pages.api(request, who).call(
        "GET", f"/budget/v1/budgets/{budget_id}/statement", params={"format": kind, "lang": i18n.language(lang)}
    )
    return Response(
        answer.data,
        media_type="application/pdf" if kind == "pdf" else "text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="budget-{budget_id}.{kind}"'},
    )


i18n.register(
    {
        "finance.nav.invoices": {"nl": "Rekeningen", "en": "Invoices"},
        "finance.nav.payment_runs": {"nl": "Betaalruns", "en": "Payment runs"},
        "finance.nav.uploads": {"nl": "Rekeningen uploaden", "en": "Upload invoices"},
        "finance.nav.budgets": {"nl": "Budgetten", "en": "Budgets"},
        "finance.title.invoices": {"nl": "Rekeningen goedkeuren", "en": "Approve invoices"},
        "finance.title.invoice": {"nl": "Rekening", "en": "Invoice"},
        "finance.title.payment_runs": {"nl": "Betaalruns", "en": "Payment runs"},
        "finance.title.payment_run": {"nl": "Betaalrun", "en": "Payment run"},
        "finance.title.payment_run_job": {"nl": "Betaalrun wordt gemaakt", "en": "Payment run in progress"},
        "finance.title.uploads": {"nl": "Rekeningen uploaden", "en": "Upload invoices"},
        "finance.title.upload": {"nl": "Upload van rekeningen", "en": "Invoice upload"},
        "finance.title.budgets": {"nl": "Budgetten", "en": "Budgets"},
        "finance.title.statement": {"nl": "Overzicht van het budget", "en": "Budget statement"},
        # the queue
        "finance.invoices.intro": {
            "nl": "Deze rekeningen wachten op een besluit. Kies er een of meer en keur ze goed. Of open een rekening"
            " om haar af te wijzen.",
            "en": "These invoices wait for a decision. Select one or more and approve them. Or open an invoice to"
            " reject it.",
        },
        "finance.invoices.filters": {"nl": "Filteren", "en": "Filter"},
        "finance.invoices.status": {"nl": "Status", "en": "Status"},
        "finance.invoices.status_queue": {"nl": "Wacht op besluit", "en": "Waiting for a decision"},
        "finance.invoices.budget": {"nl": "Budget", "en": "Budget"},
        "finance.invoices.provider_filter": {
            "nl": "Aanbieder (naam of deel ervan)",
            "en": "Provider (name or part of it)",
        },
        "finance.invoices.min_amount": {"nl": "Bedrag vanaf (euro)", "en": "Amount from (euro)"},
        "finance.invoices.max_amount": {"nl": "Bedrag tot en met (euro)", "en": "Amount up to (euro)"},
        "finance.invoices.all_budgets": {"nl": "Alle budgetten", "en": "All budgets"},
        "finance.invoices.show": {"nl": "Toon", "en": "Show"},
        "finance.invoices.count": {"nl": "{n} rekeningen", "en": "{n} invoices"},
        "finance.invoices.select": {"nl": "Kies", "en": "Select"},
        "finance.invoices.select_one": {"nl": "Kies rekening {number}", "en": "Select invoice {number}"},
        "finance.invoices.number": {"nl": "Nummer", "en": "Number"},
        "finance.invoices.provider": {"nl": "Aanbieder", "en": "Provider"},
        "finance.invoices.amount": {"nl": "Bedrag", "en": "Amount"},
        "finance.invoices.total": {"nl": "Te betalen (met btw)", "en": "To pay (incl. VAT)"},
        "finance.invoices.received": {"nl": "Ontvangen", "en": "Received"},
        "finance.invoices.approve_selected": {"nl": "Keur gekozen rekeningen goed", "en": "Approve selected invoices"},
        "finance.invoices.approved": {
            "nl": "{n} rekening(en) goedgekeurd.",
            "en": "{n} invoice(s) approved.",
        },
        "finance.invoices.refused": {
            "nl": "{n} rekening(en) niet goedgekeurd. Open ze om te zien waarom.",
            "en": "{n} invoice(s) not approved. Open them to see why.",
        },
        "finance.invoices.second_waiting": {
            "nl": "Wacht op een tweede goedkeuring",
            "en": "Waiting for a second approval",
        },
        "finance.invoices.open": {"nl": "Open", "en": "Open"},
        "finance.invoices.open_one": {"nl": "Open rekening {number}", "en": "Open invoice {number}"},
        "finance.status.received": {"nl": "Ontvangen", "en": "Received"},
        "finance.status.awaiting_client": {"nl": "Wacht op de klant", "en": "Waiting for the client"},
        "finance.status.awaiting_second_approval": {
            "nl": "Wacht op een tweede goedkeuring",
            "en": "Waiting for a second approval",
        },
        "finance.status.review": {"nl": "Te laat: beoordelen", "en": "Late: to review"},
        "finance.status.approved": {"nl": "Goedgekeurd", "en": "Approved"},
        "finance.status.scheduled": {"nl": "In een betaalrun", "en": "In a payment run"},
        "finance.status.paid": {"nl": "Betaald", "en": "Paid"},
        "finance.status.rejected": {"nl": "Afgewezen", "en": "Rejected"},
        # one invoice
        "finance.invoice.heading": {"nl": "Rekening {number}", "en": "Invoice {number}"},
        "finance.invoice.details": {"nl": "Gegevens", "en": "Details"},
        "finance.invoice.excl_vat": {"nl": "Bedrag zonder btw", "en": "Amount excl. VAT"},
        "finance.invoice.vat": {"nl": "Btw", "en": "VAT"},
        "finance.invoice.service": {"nl": "Periode", "en": "Period"},
        "finance.invoice.first_by": {"nl": "Eerste goedkeuring door", "en": "First approval by"},
        "finance.invoice.approved_by": {"nl": "Goedgekeurd door", "en": "Approved by"},
        "finance.invoice.rejection": {"nl": "Reden van afwijzing", "en": "Reason for rejection"},
        "finance.invoice.four_eyes": {
            "nl": "Dit bedrag is hoger dan de grens. Een tweede, andere persoon moet de rekening ook goedkeuren.",
            "en": "This amount is above the threshold. A second, different person must approve the invoice too.",
        },
        "finance.invoice.not_you": {
            "nl": "U gaf de eerste goedkeuring. Iemand anders moet de tweede geven.",
            "en": "You gave the first approval. Someone else must give the second.",
        },
        "finance.invoice.decide": {"nl": "Besluit", "en": "Decision"},
        "finance.invoice.approve": {"nl": "Goedkeuren", "en": "Approve"},
        "finance.invoice.reject": {"nl": "Afwijzen", "en": "Reject"},
        "finance.invoice.reason": {"nl": "Reden van afwijzing", "en": "Reason for rejection"},
        "finance.invoice.reason_hint": {
            "nl": "De aanbieder ziet deze reden. Schrijf kort en duidelijk.",
            "en": "The provider sees this reason. Keep it short and clear.",
        },
        "finance.invoice.done_approved": {"nl": "De rekening is goedgekeurd.", "en": "The invoice is approved."},
        "finance.invoice.done_rejected": {"nl": "De rekening is afgewezen.", "en": "The invoice is rejected."},
        "finance.invoice.no_decision": {
            "nl": "Over deze rekening is al besloten.",
            "en": "This invoice has been decided already.",
        },
        "finance.invoice.back": {"nl": "Terug naar de rekeningen", "en": "Back to the invoices"},
        # payment runs
        "finance.runs.intro": {
            "nl": "Een betaalrun zet alle goedgekeurde, onbetaalde rekeningen in één bestand voor de bank"
            " (pain.001). Dat kan even duren. U kunt de pagina verlaten en later terugkomen.",
            "en": "A payment run puts every approved, unpaid invoice in one file for the bank (pain.001). This may"
            " take a while. You can leave the page and come back later.",
        },
        "finance.runs.new": {"nl": "Nieuwe betaalrun", "en": "New payment run"},
        "finance.runs.execution_date": {"nl": "Datum van betalen", "en": "Execution date"},
        "finance.runs.execution_hint": {
            "nl": "Vandaag of later. De bank betaalt op deze dag.",
            "en": "Today or later. The bank pays on this day.",
        },
        "finance.runs.pain_schema": {"nl": "Versie van het bestand", "en": "File version"},
        "finance.runs.pain_default": {"nl": "Zoals in het beleid", "en": "As in the policy"},
        "finance.runs.create": {"nl": "Maak de betaalrun", "en": "Create the payment run"},
        "finance.runs.busy": {"nl": "Bezig of mislukt", "en": "In progress or failed"},
        "finance.runs.list": {"nl": "Betaalruns", "en": "Payment runs"},
        "finance.runs.created": {"nl": "Gemaakt", "en": "Created"},
        "finance.runs.items": {"nl": "Rekeningen", "en": "Invoices"},
        "finance.runs.total": {"nl": "Totaal", "en": "Total"},
        "finance.runs.status": {"nl": "Status", "en": "Status"},
        "finance.runs.open_one": {"nl": "Open betaalrun van {day}", "en": "Open payment run of {day}"},
        "finance.run_status.scheduled": {"nl": "Klaar voor de bank", "en": "Ready for the bank"},
        "finance.run_status.paid": {"nl": "Betaald", "en": "Paid"},
        "finance.run.heading": {"nl": "Betaalrun van {day}", "en": "Payment run of {day}"},
        "finance.run.download": {
            "nl": "Download het betaalbestand (pain.001)",
            "en": "Download the payment file (pain.001)",
        },
        "finance.run.confirm": {"nl": "De bank heeft betaald", "en": "The bank has paid"},
        "finance.run.confirm_intro": {
            "nl": "Heeft de bank het bestand uitgevoerd? Vul de datum in. Dan zijn alle rekeningen in deze run"
            " betaald.",
            "en": "Has the bank executed the file? Fill in the date. Then every invoice in this run is paid.",
        },
        "finance.run.paid_on": {"nl": "Betaald op", "en": "Paid on"},
        "finance.run.confirm_button": {"nl": "Bevestig de betaling", "en": "Confirm the payment"},
        "finance.run.done_confirmed": {"nl": "De betaalrun is betaald.", "en": "The payment run is paid."},
        "finance.run.message_id": {"nl": "Kenmerk", "en": "Message id"},
        "finance.run.schema": {"nl": "Versie", "en": "Version"},
        "finance.run.created_by": {"nl": "Gemaakt door", "en": "Created by"},
        "finance.run.back": {"nl": "Terug naar de betaalruns", "en": "Back to the payment runs"},
        # jobs and their progress
        "finance.job.status": {"nl": "Status", "en": "Status"},
        "finance.job.queued": {"nl": "Wacht op de beurt", "en": "Waiting its turn"},
        "finance.job.running": {"nl": "Bezig", "en": "In progress"},
        "finance.job.done": {"nl": "Klaar", "en": "Done"},
        "finance.job.failed": {"nl": "Mislukt", "en": "Failed"},
        "finance.job.progress": {"nl": "Voortgang", "en": "Progress"},
        "finance.job.progress_text": {
            "nl": "{done} van {total} rekeningen ({percent}%)",
            "en": "{done} of {total} invoices ({percent}%)",
        },
        "finance.job.leave": {
            "nl": "U kunt deze pagina verlaten. Het werk gaat door. Kom later terug via het menu.",
            "en": "You can leave this page. The work goes on. Come back later through the menu.",
        },
        "finance.job.refresh": {"nl": "Ververs de voortgang", "en": "Refresh the progress"},
        "finance.job.error.payment_run.empty": {
            "nl": "Er zijn geen goedgekeurde, onbetaalde rekeningen om te betalen.",
            "en": "There are no approved, unpaid invoices to pay.",
        },
        "finance.job.error.other": {"nl": "Het werk is mislukt: {message}", "en": "The work failed: {message}"},
        "finance.job.open": {"nl": "Open", "en": "Open"},
        "finance.job.open_one": {"nl": "Open taak van {day}", "en": "Open job of {day}"},
        # uploads
        "finance.uploads.intro": {
            "nl": "Upload rekeningen in één keer: UBL-bestanden (.xml) of één JSON-bestand met een lijst"
            " rekeningen. Elke rekening krijgt een eigen uitkomst.",
            "en": "Upload many invoices at once: UBL files (.xml) or one JSON file with a list of invoices. Each"
            " invoice gets its own result.",
        },
        "finance.uploads.files": {"nl": "Bestanden", "en": "Files"},
        "finance.uploads.files_hint": {
            "nl": "Kies UBL-bestanden (.xml) of één JSON-bestand (.json). Hoogstens 1000.",
            "en": "Choose UBL files (.xml) or one JSON file (.json). At most 1000.",
        },
        "finance.uploads.send": {"nl": "Upload", "en": "Upload"},
        "finance.uploads.none": {"nl": "Kies minstens één bestand.", "en": "Choose at least one file."},
        "finance.uploads.recent": {"nl": "Eerdere uploads", "en": "Earlier uploads"},
        "finance.uploads.accepted": {"nl": "Aangenomen", "en": "Accepted"},
        "finance.uploads.rejected": {"nl": "Geweigerd", "en": "Refused"},
        "finance.upload.heading": {"nl": "Upload van {day}", "en": "Upload of {day}"},
        "finance.upload.results": {"nl": "Uitkomst per rekening", "en": "Result per invoice"},
        "finance.upload.row": {"nl": "Rij", "en": "Row"},
        "finance.upload.reference": {"nl": "Rekening of bestand", "en": "Invoice or file"},
        "finance.upload.outcome": {"nl": "Uitkomst", "en": "Result"},
        "finance.upload.message": {"nl": "Toelichting", "en": "Explanation"},
        "finance.upload.download": {"nl": "Download de uitkomsten (CSV)", "en": "Download the results (CSV)"},
        "finance.upload.summary": {
            "nl": "{accepted} aangenomen, {rejected} geweigerd.",
            "en": "{accepted} accepted, {rejected} refused.",
        },
        "finance.upload.back": {"nl": "Terug naar de uploads", "en": "Back to the uploads"},
        # budgets and statement
        "finance.budgets.intro": {
            "nl": "De budgetten van de gemeente. Open een budget voor het overzicht en de downloads.",
            "en": "The municipality's budgets. Open a budget for its statement and downloads.",
        },
        "finance.budgets.budget": {"nl": "Budget", "en": "Budget"},
        "finance.budgets.scheme": {"nl": "Regeling", "en": "Scheme"},
        "finance.budgets.status": {"nl": "Status", "en": "Status"},
        "finance.budgets.granted": {"nl": "Toegekend", "en": "Granted"},
        "finance.budgets.paid": {"nl": "Betaald", "en": "Paid"},
        "finance.budgets.remaining": {"nl": "Over", "en": "Remaining"},
        "finance.budgets.deadline": {"nl": "Uiterlijk klaar", "en": "Deadline"},
        "finance.budgets.statement": {"nl": "Overzicht", "en": "Statement"},
        "finance.budgets.statement_of": {"nl": "Overzicht van budget {id}", "en": "Statement of budget {id}"},
        "finance.statement.heading": {"nl": "Overzicht van budget {id}", "en": "Statement of budget {id}"},
        "finance.statement.downloads": {"nl": "Downloaden", "en": "Download"},
        "finance.statement.csv": {"nl": "Overzicht als CSV", "en": "Statement as CSV"},
        "finance.statement.pdf_nl": {"nl": "Overzicht als PDF (Nederlands)", "en": "Statement as PDF (Dutch)"},
        "finance.statement.pdf_en": {"nl": "Overzicht als PDF (Engels)", "en": "Statement as PDF (English)"},
        "finance.statement.totals": {"nl": "Totalen", "en": "Totals"},
        "finance.statement.lines": {"nl": "Budgetregels", "en": "Budget lines"},
        "finance.statement.category": {"nl": "Soort", "en": "Category"},
        "finance.statement.committed": {"nl": "Besteld", "en": "Committed"},
        "finance.statement.invoiced": {"nl": "Gefactureerd", "en": "Invoiced"},
        "finance.statement.approved": {"nl": "Goedgekeurd", "en": "Approved"},
        "finance.statement.held": {"nl": "Ingehouden", "en": "Held back"},
        "finance.statement.what": {"nl": "Wat", "en": "What"},
        "finance.statement.amount": {"nl": "Bedrag", "en": "Amount"},
        "finance.statement.back": {"nl": "Terug naar de budgetten", "en": "Back to the budgets"},
        "finance.budget_status.open": {"nl": "Open", "en": "Open"},
        "finance.budget_status.closed": {"nl": "Gesloten", "en": "Closed"},
    }
)
