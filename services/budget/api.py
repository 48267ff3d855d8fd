"""Budget HTTP routes: parse, authorise, call a handler. No rules here."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError

from services.budget import einvoice_intake, handlers, statements
from services.budget.einvoice_intake import submission_from_ubl, submission_from_upload
from services.budget.models import (
    BatchResult,
    BudgetPublic,
    BulkApprove,
    CreditNoteIn,
    CreditNotePublic,
    IdempotencyRecord,
    InvoiceIn,
    InvoicePublic,
    ItemResult,
    MarkPaid,
    OrderIn,
    OrderPublic,
    PaymentRunCreate,
    PeriodicPaymentIn,
    PeriodicPaymentPublic,
    PaymentRunPublic,
    RejectInvoice,
)
from shared.auth import CurrentPrincipal, Principal
from shared.deps import SessionDep, uow_dependency
from shared.errors import DomainError
from shared.idempotency import run_idempotent
from shared.problems import Problem
from shared.text import Line
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("budget"))]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="Retry-safe partner POSTs.")]
MAX_BULK = 1000
_invoice_list = TypeAdapter(list[dict[str, Any]])


async def _idempotent(request: Request, who: Principal, key: str | None, body: bytes, work,  # type: ignore[no-untyped-def]
                      uow: UnitOfWork) -> JSONResponse:
    # The routes are async only to read the raw body; the database work runs in the thread pool,
    # so one process serves other requests while this one waits for PostgreSQL.
    status, payload = await run_in_threadpool(run_idempotent, request.app.state.runtime.engine, IdempotencyRecord,
                                              who, key, body, work, release=uow.rollback)
    return JSONResponse(payload, status_code=status)


# --- policy and budgets -------------------------------------------------------------------


@router.get("/finance-policy", tags=["policy"])
def get_finance_policy(who: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    return handlers.get_finance_policy(session, who)


@router.put("/finance-policy", tags=["policy"])
def put_finance_policy(document: dict[str, Any], who: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    return handlers.put_finance_policy(uow, who, document)


@router.get("/budgets", response_model=list[BudgetPublic], tags=["budgets"])
def list_budgets(who: CurrentPrincipal, session: SessionDep, plan_id: str | None = None) -> list[BudgetPublic]:
    return handlers.list_budgets(session, who, plan_id)


@router.get("/budgets/{budget_id}", response_model=BudgetPublic, tags=["budgets"])
def get_budget(budget_id: str, who: CurrentPrincipal, session: SessionDep) -> BudgetPublic:
    return handlers.get_budget(session, who, budget_id)


@router.get("/budgets/{budget_id}/ledger", tags=["budgets"])
def get_ledger(budget_id: str, who: CurrentPrincipal, session: SessionDep) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in handlers.ledger_entries(session, who, budget_id)]


@router.get("/budgets/{budget_id}/statement.csv", tags=["budgets"], response_class=Response)
def statement_csv(budget_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    budget, invoices = handlers.budget_statement(session, who, budget_id)
    return Response(statements.statement_csv(budget, invoices), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="budget-{budget_id}.csv"'})


@router.get("/budgets/{budget_id}/statement.pdf", tags=["budgets"], response_class=Response)
def statement_pdf(budget_id: str, who: CurrentPrincipal, session: SessionDep, lang: str = "nl") -> Response:
    budget, invoices = handlers.budget_statement(session, who, budget_id)
    return Response(statements.statement_pdf(budget, invoices, "en" if lang == "en" else "nl"),
                    media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="budget-{budget_id}.pdf"'})


@router.post("/budgets/{budget_id}/orders", status_code=201, response_model=OrderPublic, tags=["budgets"])
def place_order(budget_id: str, data: OrderIn, who: CurrentPrincipal, uow: Uow) -> OrderPublic:
    return handlers.place_order(uow, who, budget_id, data)


@router.get("/budgets/{budget_id}/orders", response_model=list[OrderPublic], tags=["budgets"])
def list_orders(budget_id: str, who: CurrentPrincipal, session: SessionDep) -> list[OrderPublic]:
    return handlers.list_orders(session, who, budget_id)


@router.post("/budgets/{budget_id}/periodic-payments", status_code=201, response_model=PeriodicPaymentPublic,
             tags=["payments"])
def schedule_periodic_payment(budget_id: str, data: PeriodicPaymentIn, who: CurrentPrincipal,
                              uow: Uow) -> PeriodicPaymentPublic:
    return handlers.schedule_periodic_payment(uow, who, budget_id, data)


@router.get("/budgets/{budget_id}/periodic-payments", response_model=list[PeriodicPaymentPublic], tags=["payments"])
def list_periodic_payments(budget_id: str, who: CurrentPrincipal, session: SessionDep) -> list[PeriodicPaymentPublic]:
    return handlers.list_periodic_payments(session, who, budget_id)


# --- invoices in: provider (JSON or UBL), single or bulk -----------------------------------


@router.post("/invoices", status_code=201, response_model=InvoicePublic, tags=["invoices in"])
async def submit_invoice(request: Request, data: InvoiceIn, who: CurrentPrincipal, uow: Uow,
                         idempotency_key: IdempotencyKey = None) -> JSONResponse:
    body = await request.body()

    def work() -> tuple[int, Any]:
        return 201, handlers.submit_invoice(uow, who, handlers.submission_from_json(who, data)).model_dump(mode="json")

    return await _idempotent(request, who, idempotency_key, body, work, uow)


@router.post("/budgets/{budget_id}/invoices", status_code=201, response_model=InvoicePublic, tags=["invoices in"])
async def submit_invoice_for_budget(budget_id: str, request: Request, data: InvoiceIn, who: CurrentPrincipal,
                                    uow: Uow, idempotency_key: IdempotencyKey = None) -> JSONResponse:
    body = await request.body()

    def work() -> tuple[int, Any]:
        handlers.get_budget_reference(uow.session, who, budget_id, data.budget_line_id)
        return 201, handlers.submit_invoice(uow, who, handlers.submission_from_json(who, data)).model_dump(mode="json")

    return await _idempotent(request, who, idempotency_key, body, work, uow)


def _json_submissions(who: Principal, raw: bytes) -> list[tuple[str | None, Any]]:
    try:
        items = _invoice_list.validate_json(raw)
    except ValidationError as exc:
        raise Problem(400, "Malformed JSON", "Send a JSON array of invoices.") from exc
    if not 1 <= len(items) <= MAX_BULK:
        raise Problem(422, "Too many invoices", f"Send 1 to {MAX_BULK} invoices at once.")
    submissions: list[tuple[str | None, Any]] = []
    for item in items:
        reference = str(item.get("invoice_number")) if isinstance(item, dict) else None
        try:
            submissions.append((reference, handlers.submission_from_json(who, InvoiceIn.model_validate(item))))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err.get("loc", ())) or None
            message = "unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
            submissions.append((reference, DomainError("invoice.invalid", message, field)))
        except DomainError as exc:
            submissions.append((reference, exc))
    return submissions


def _batch_response(batch_id: str, results: list[ItemResult]) -> dict[str, Any]:
    accepted = sum(1 for r in results if r.status == "accepted")
    return BatchResult(batch_id=batch_id, accepted=accepted, rejected=len(results) - accepted, results=results,
                       results_file=f"/budget/v1/invoice-batches/{batch_id}/results.csv").model_dump(mode="json")


# The body is read raw (one bad invoice must not refuse the others), so FastAPI cannot derive its
# schema: it is declared here. InvoiceIn is in components/schemas through POST /invoices.
_BULK_BODY = {"requestBody": {"required": True, "description": f"A JSON array of 1 to {MAX_BULK} invoices, each as "
                              "POST /invoices takes it; each gets its own result.",
                              "content": {"application/json": {"schema": {
                                  "type": "array", "minItems": 1, "maxItems": MAX_BULK, "title": "Invoices",
                                  "items": {"$ref": "#/components/schemas/InvoiceIn"}}}}}}


@router.post("/invoices/bulk", response_model=BatchResult, tags=["invoices in"], openapi_extra=_BULK_BODY)
async def submit_invoices_bulk(request: Request, who: CurrentPrincipal, uow: Uow,
                               idempotency_key: IdempotencyKey = None) -> JSONResponse:
    handlers.require_invoice_sender(who)
    body = await request.body()

    def work() -> tuple[int, Any]:
        batch, results = handlers.submit_invoices(uow, who, _json_submissions(who, body))
        return 200, _batch_response(batch.id, results)

    return await _idempotent(request, who, idempotency_key, body, work, uow)


@router.post("/invoices/ubl", status_code=201, response_model=InvoicePublic, tags=["invoices in"],
             openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}}})
async def submit_ubl_invoice(request: Request, who: CurrentPrincipal, uow: Uow,
                             idempotency_key: IdempotencyKey = None) -> JSONResponse:
    """A UBL Invoice (an invoice) or CreditNote (booked against the invoice it names, by finance)."""
    body = await request.body()

    def work() -> tuple[int, Any]:
        return 201, einvoice_intake.submit_einvoice(uow, who, body, "invoice.xml")

    return await _idempotent(request, who, idempotency_key, body, work, uow)


@router.get("/invoices/{invoice_id}/einvoice-warnings", tags=["invoices"])
def get_einvoice_warnings(invoice_id: str, who: CurrentPrincipal, session: SessionDep) -> list[dict[str, str]]:
    return einvoice_intake.einvoice_warnings_of(session, who, invoice_id)


@router.post("/invoices/ubl/bulk", response_model=BatchResult, tags=["invoices in"])
async def submit_ubl_invoices_bulk(who: CurrentPrincipal, uow: Uow, files: list[UploadFile] = File(...)) -> Any:
    handlers.require_invoice_sender(who)
    if not 1 <= len(files) <= MAX_BULK:
        raise Problem(422, "Too many invoices", f"Send 1 to {MAX_BULK} files at once.")
    submissions: list[tuple[str | None, Any]] = []
    for upload in files:
        content = await upload.read()
        try:
            submissions.append((upload.filename, submission_from_ubl(who, content, upload.filename or "invoice.xml")))
        except DomainError as exc:
            submissions.append((upload.filename, exc))
    batch, results = await run_in_threadpool(handlers.submit_invoices, uow, who, submissions)
    return _batch_response(batch.id, results)


@router.get("/invoice-batches/{batch_id}/results.csv", tags=["invoices in"], response_class=Response)
def batch_results_csv(batch_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    batch = handlers.batch_results(session, who, batch_id)
    return Response(statements.batch_results_csv(batch.results), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"'})


# --- invoices in: from the client ---------------------------------------------------------


@router.post("/budgets/{budget_id}/forwarded-invoices", status_code=201, response_model=InvoicePublic,
             tags=["invoices in"])
async def forward_invoice(budget_id: str, who: CurrentPrincipal, uow: Uow, file: Annotated[UploadFile, File()],
                          budget_line_id: Annotated[Line, Form(max_length=36)],
                          provider_name: Annotated[Line | None, Form(max_length=200)] = None,
                          provider_kvk: Annotated[Line | None, Form(max_length=20)] = None,
                          provider_iban: Annotated[Line | None, Form(max_length=34)] = None,
                          invoice_number: Annotated[Line | None, Form(max_length=80)] = None,
                          amount_excl_vat: Annotated[Line | None, Form(max_length=20)] = None,
                          vat: Annotated[Line, Form(max_length=20)] = "0",
                          service_from: Annotated[date | None, Form()] = None,
                          service_to: Annotated[date | None, Form()] = None) -> InvoicePublic:
    """Flow 2: the client forwards a provider's invoice (PDF with the key fields, or UBL)."""
    handlers.require_client_invoice_role(who)
    await run_in_threadpool(handlers.get_budget_reference, uow.session, who, budget_id, budget_line_id)
    content = await file.read()
    submission = submission_from_upload(
        who, content, file.filename or "invoice", file.content_type or "", flow="forwarded",
        fields={"budget_line_id": budget_line_id, "provider_name": provider_name, "provider_kvk": provider_kvk,
                "provider_iban": provider_iban, "invoice_number": invoice_number,
                "amount_excl_vat": amount_excl_vat, "vat": vat, "service_from": service_from,
                "service_to": service_to})
    return await run_in_threadpool(handlers.submit_client_invoice, uow, who, submission)


@router.post("/budgets/{budget_id}/declarations", status_code=201, response_model=InvoicePublic,
             tags=["invoices in"])
async def declare_expense(budget_id: str, who: CurrentPrincipal, uow: Uow, receipt: Annotated[UploadFile, File()],
                          budget_line_id: Annotated[Line, Form(max_length=36)],
                          description: Annotated[Line, Form(min_length=1, max_length=200)],
                          provider_name: Annotated[Line, Form(min_length=1, max_length=200)],
                          amount: Annotated[Line, Form(max_length=20)],
                          client_iban: Annotated[Line, Form(max_length=34)],
                          account_holder: Annotated[Line, Form(min_length=1, max_length=70)],
                          paid_on: Annotated[date, Form()]) -> InvoicePublic:
    """Flow 3: the client paid and declares it, with the receipt; reimbursed to the client's IBAN."""
    handlers.require_client_invoice_role(who)
    await run_in_threadpool(handlers.get_budget_reference, uow.session, who, budget_id, budget_line_id)
    content = await receipt.read()
    submission = submission_from_upload(
        who, content, receipt.filename or "receipt", receipt.content_type or "", flow="declaration",
        fields={"budget_line_id": budget_line_id, "provider_name": provider_name, "provider_iban": client_iban,
                "creditor_name": account_holder, "invoice_number": f"DECL-{description[:40]}-{paid_on}",
                "amount_excl_vat": amount, "vat": "0", "service_from": paid_on, "service_to": paid_on})
    return await run_in_threadpool(handlers.submit_client_invoice, uow, who, submission)


# --- reading and deciding ------------------------------------------------------------------


@router.get("/invoices", response_model=list[InvoicePublic], tags=["invoices"])
def list_invoices(who: CurrentPrincipal, session: SessionDep, budget_id: str | None = None,
                  status: str | None = None) -> list[InvoicePublic]:
    return handlers.list_invoices(session, who, budget_id=budget_id, status=status)


@router.get("/approval-queue", response_model=list[InvoicePublic], tags=["invoices"])
def approval_queue(who: CurrentPrincipal, session: SessionDep) -> list[InvoicePublic]:
    return handlers.approval_queue(session, who)


@router.get("/invoices/{invoice_id}", response_model=InvoicePublic, tags=["invoices"])
def get_invoice(invoice_id: str, who: CurrentPrincipal, session: SessionDep) -> InvoicePublic:
    return handlers.get_invoice(session, who, invoice_id)


@router.get("/invoices/{invoice_id}/document", tags=["invoices"], response_class=Response)
def get_invoice_document(invoice_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    document = handlers.document_of(session, who, invoice_id)
    return Response(document.content, media_type=document.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{document.id}"',
                             "X-Content-SHA256": document.sha256})


@router.post("/invoices/approve", response_model=list[ItemResult], tags=["invoices"])
def approve_invoices(cmd: BulkApprove, who: CurrentPrincipal, uow: Uow) -> list[ItemResult]:
    return handlers.approve_invoices(uow, who, cmd.invoice_ids)


@router.post("/invoices/{invoice_id}/confirm", response_model=InvoicePublic, tags=["invoices"])
def confirm_invoice(invoice_id: str, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    return handlers.confirm_invoice(uow, who, invoice_id)


@router.post("/invoices/{invoice_id}/approve", response_model=InvoicePublic, tags=["invoices"])
def approve_invoice(invoice_id: str, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    return handlers.approve_invoice(uow, who, invoice_id)


@router.post("/invoices/{invoice_id}/reject", response_model=InvoicePublic, tags=["invoices"])
def reject_invoice(invoice_id: str, cmd: RejectInvoice, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    return handlers.reject_invoice(uow, who, invoice_id, cmd)


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201, response_model=CreditNotePublic,
             tags=["invoices"])
def credit_invoice(invoice_id: str, cmd: CreditNoteIn, who: CurrentPrincipal, uow: Uow) -> CreditNotePublic:
    return handlers.credit_invoice(uow, who, invoice_id, cmd)


@router.post("/invoices/{invoice_id}/mark-paid", response_model=InvoicePublic, tags=["payments"])
def mark_invoice_paid(invoice_id: str, cmd: MarkPaid, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    return handlers.mark_invoice_paid(uow, who, invoice_id, cmd)


# --- payment runs ---------------------------------------------------------------------------


@router.post("/payment-runs", status_code=201, response_model=PaymentRunPublic, tags=["payments"])
def create_payment_run(cmd: PaymentRunCreate, who: CurrentPrincipal, uow: Uow) -> PaymentRunPublic:
    return handlers.create_payment_run(uow, who, cmd)


@router.get("/payment-runs", response_model=list[PaymentRunPublic], tags=["payments"])
def list_payment_runs(who: CurrentPrincipal, session: SessionDep) -> list[PaymentRunPublic]:
    return handlers.list_payment_runs(session, who)


@router.get("/payment-runs/{run_id}", response_model=PaymentRunPublic, tags=["payments"])
def get_payment_run(run_id: str, who: CurrentPrincipal, session: SessionDep) -> PaymentRunPublic:
    return handlers.get_payment_run(session, who, run_id)


@router.get("/payment-runs/{run_id}/pain001.xml", tags=["payments"], response_class=Response)
def download_payment_file(run_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    run = handlers.payment_file_of(session, who, run_id)
    return Response(run.xml, media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{run.message_id}.xml"'})


@router.post("/payment-runs/{run_id}/confirm", response_model=PaymentRunPublic, tags=["payments"])
def confirm_payment_run(run_id: str, cmd: MarkPaid, who: CurrentPrincipal, uow: Uow) -> PaymentRunPublic:
    return handlers.confirm_payment_run(uow, who, run_id, cmd)



