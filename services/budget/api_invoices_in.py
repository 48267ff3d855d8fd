"""Budget HTTP routes for invoices coming in: JSON, UBL, bulk, and the client's forwarded
invoices and declarations. Parse, authorise, call a command. Included by api.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from services.budget import invoices_in, queries, statements
from services.budget.models import BatchResult, IdempotencyRecord, InvoiceIn, InvoicePublic, ItemResult
from services.budget.permissions import Action, authorize
from services.budget.submissions import submission_from_json, submission_from_ubl, submission_from_upload
from shared.access import Scope, as_provider
from shared.auth import CurrentPrincipal, Principal
from shared.deps import SessionDep, uow_dependency
from shared.errors import DomainError, RuleBroken
from shared.idempotency import run_idempotent
from shared.text import Line
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("budget"))]


async def _idempotent_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """As `uow_dependency("budget")`, but async, for the routes whose work runs through
    `_idempotent`: opening and closing the unit of work does no I/O there (the work commits, or
    `release` rolls it back, in the thread pool), and a sync dependency costs two hops to the pool."""
    with request.app.state.runtime.uow("budget") as uow:
        if not hasattr(request.state, "db_session"):
            request.state.db_session = uow.session
        yield uow


IdempotentUow = Annotated[UnitOfWork, Depends(_idempotent_uow)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", description="Retry-safe partner POSTs.")]
MAX_BULK = 1000
_invoice_list = TypeAdapter(list[dict[str, Any]])


async def _invoice_sender(who: CurrentPrincipal) -> Principal:
    """A partner application with the scope invoices:write sends invoices as the provider its KvK
    number is (shared.access.as_provider): a line naming another KvK refuses them, as for a provider.
    Async because it does no I/O: a sync dependency costs a hop to the thread pool."""
    return as_provider(who, Scope.INVOICES_WRITE)


InvoiceSender = Annotated[Principal, Depends(_invoice_sender)]


def _too_many(what: str) -> RuleBroken:
    return RuleBroken(
        "invoice.bulk_size",
        f"Send 1 to {MAX_BULK} {what} at once.",
        message_nl=f"Stuur 1 tot {MAX_BULK} {'rekeningen' if what == 'invoices' else 'bestanden'} tegelijk.",
    )


async def _idempotent(
    request: Request, who: Principal, key: str | None, body: bytes, work: Callable[[], tuple[int, Any]], uow: UnitOfWork
) -> JSONResponse:
    # The routes are async only to read the raw body; the database work runs in the thread pool,
    # so one process serves other requests while this one waits for PostgreSQL.
    def guarded() -> tuple[int, Any]:
        try:
            return work()
        except BaseException:
            uow.rollback()  # here in the pool, not in the dependency's exit on the event loop
            raise

    engine = request.app.state.runtime.engine
    status, payload = await run_in_threadpool(
        run_idempotent, engine, IdempotencyRecord, who, key, body, guarded, release=uow.rollback
    )
    return JSONResponse(payload, status_code=status)


# --- invoices in: provider (JSON or UBL), single or bulk -----------------------------------


@router.post(
    "/invoices", status_code=201, response_model=InvoicePublic, tags=["invoices in"], summary="Send an invoice"
)
async def submit_invoice(
    request: Request, data: InvoiceIn, who: InvoiceSender, uow: IdempotentUow, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """One invoice as JSON; its `budget_line_id` is a budget line id or an order reference. Accepted
    (`201`) or refused naming the failed check; accepts `Idempotency-Key`."""
    body = await request.body()

    def work() -> tuple[int, Any]:
        return 201, invoices_in.submit_invoice(uow, who, submission_from_json(who, data)).model_dump(mode="json")

    return await _idempotent(request, who, idempotency_key, body, work, uow)


@router.post(
    "/budgets/{budget_id}/invoices",
    status_code=201,
    response_model=InvoicePublic,
    tags=["invoices in"],
    summary="Send an invoice for a budget",
)
async def submit_invoice_for_budget(
    budget_id: str,
    request: Request,
    data: InvoiceIn,
    who: InvoiceSender,
    uow: IdempotentUow,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """As `POST /invoices`, checking that the line belongs to this budget."""
    body = await request.body()

    def work() -> tuple[int, Any]:
        queries.check_budget_reference(uow.session, who, budget_id, data.budget_line_id)
        return 201, invoices_in.submit_invoice(uow, who, submission_from_json(who, data)).model_dump(mode="json")

    return await _idempotent(request, who, idempotency_key, body, work, uow)


def _json_submissions(who: Principal, raw: bytes) -> list[tuple[str | None, Any]]:
    try:
        items = _invoice_list.validate_json(raw)
    except ValidationError as exc:
        # As FastAPI reports a body it cannot read: 400 if it is not JSON, 422 if it is no array.
        errors = [{**err, "loc": ("body", *err.get("loc", ()))} for err in exc.errors(include_url=False)]
        raise RequestValidationError(errors, body=raw) from exc
    if not 1 <= len(items) <= MAX_BULK:
        raise _too_many("invoices")
    submissions: list[tuple[str | None, Any]] = []
    for item in items:
        reference = str(item.get("invoice_number")) if isinstance(item, dict) else None
        try:
            submissions.append((reference, submission_from_json(who, InvoiceIn.model_validate(item))))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err.get("loc", ())) or None
            message = "unknown field" if err.get("type") == "extra_forbidden" else err.get("msg", "invalid")
            submissions.append((reference, RuleBroken("invoice.invalid", message, field)))
        except DomainError as exc:
            submissions.append((reference, exc))
    return submissions


def _batch_response(batch_id: str, results: list[ItemResult]) -> dict[str, Any]:
    accepted = sum(1 for r in results if r.status == "accepted")
    return BatchResult(
        batch_id=batch_id,
        accepted=accepted,
        rejected=len(results) - accepted,
        results=results,
        results_file=f"/budget/v1/invoice-batches/{batch_id}/results.csv",
    ).model_dump(mode="json")


# The body is read raw (one bad invoice must not refuse the others), so FastAPI cannot derive its
# schema: it is declared here. InvoiceIn is in components/schemas through POST /invoices.
_BULK_BODY = {
    "requestBody": {
        "required": True,
        "description": f"A JSON array of 1 to {MAX_BULK} invoices, each as "
        "POST /invoices takes it; each gets its own result.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BULK,
                    "title": "Invoices",
                    "items": {"$ref": "#/components/schemas/InvoiceIn"},
                }
            }
        },
    }
}


@router.post(
    "/invoices/bulk",
    response_model=BatchResult,
    tags=["invoices in"],
    openapi_extra=_BULK_BODY,
    summary="Send many invoices",
)
async def submit_invoices_bulk(
    request: Request, who: InvoiceSender, uow: IdempotentUow, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """A JSON array of 1 to 1000 invoices; each gets its own result (one bad invoice never refuses
    the others), and the results are kept as a CSV file. Accepts `Idempotency-Key`."""
    authorize(who, Action.SEND_INVOICE)
    body = await request.body()

    def work() -> tuple[int, Any]:
        batch, results = invoices_in.submit_invoices(uow, who, _json_submissions(who, body))
        return 200, _batch_response(batch.id, results)

    return await _idempotent(request, who, idempotency_key, body, work, uow)


@router.post(
    "/invoices/ubl",
    status_code=201,
    response_model=InvoicePublic,
    tags=["invoices in"],
    summary="Send a UBL e-invoice or credit note",
    openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}}},
)
async def submit_ubl_invoice(
    request: Request, who: InvoiceSender, uow: IdempotentUow, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """A UBL Invoice (accepted like a JSON invoice) or CreditNote (booked by finance against the
    invoice it names), checked against UBL 2.1 and the Dutch SI-UBL 2.0 rules. Accepts `Idempotency-Key`."""
    body = await request.body()

    def work() -> tuple[int, Any]:
        return 201, invoices_in.submit_einvoice(uow, who, body, "invoice.xml")

    return await _idempotent(request, who, idempotency_key, body, work, uow)


@router.post("/invoices/ubl/bulk", response_model=BatchResult, tags=["invoices in"], summary="Send many UBL e-invoices")
async def submit_ubl_invoices_bulk(who: InvoiceSender, uow: Uow, files: list[UploadFile] = File(...)) -> Any:
    """Up to 1000 UBL invoice files (`multipart/form-data`, field `files`), each with its own result;
    a credit note in the batch is refused (send it on its own)."""
    authorize(who, Action.SEND_INVOICE)
    if not 1 <= len(files) <= MAX_BULK:
        raise _too_many("files")
    submissions: list[tuple[str | None, Any]] = []
    for upload in files:
        content = await upload.read()
        try:
            submissions.append((upload.filename, submission_from_ubl(who, content, upload.filename or "invoice.xml")))
        except DomainError as exc:
            submissions.append((upload.filename, exc))
    batch, results = await run_in_threadpool(invoices_in.submit_invoices, uow, who, submissions)
    return _batch_response(batch.id, results)


@router.get(
    "/invoice-batches/{batch_id}/results.csv",
    tags=["invoices in"],
    response_class=Response,
    summary="Download a bulk submission's results",
)
def batch_results_csv(batch_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    """The result of every invoice in a bulk submission, as CSV (semicolon-separated)."""
    batch = queries.batch_results(session, who, batch_id)
    return Response(
        statements.batch_results_csv(batch.results),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.csv"'},
    )


# --- invoices in: from the client ---------------------------------------------------------


@router.post(
    "/budgets/{budget_id}/forwarded-invoices",
    status_code=201,
    response_model=InvoicePublic,
    tags=["invoices in"],
    summary="Forward a provider's invoice",
)
async def forward_invoice(
    budget_id: str,
    who: CurrentPrincipal,
    uow: Uow,
    file: Annotated[UploadFile, File()],
    budget_line_id: Annotated[Line, Form(max_length=36)],
    provider_name: Annotated[Line | None, Form(max_length=200)] = None,
    provider_kvk: Annotated[Line | None, Form(max_length=20)] = None,
    provider_iban: Annotated[Line | None, Form(max_length=34)] = None,
    invoice_number: Annotated[Line | None, Form(max_length=80)] = None,
    amount_excl_vat: Annotated[Line | None, Form(max_length=20)] = None,
    vat: Annotated[Line, Form(max_length=20)] = "0",
    service_from: Annotated[date | None, Form()] = None,
    service_to: Annotated[date | None, Form()] = None,
) -> InvoicePublic:
    """Flow 2: the client forwards a provider's invoice (a PDF with the key fields, or UBL)."""
    authorize(who, Action.SEND_INVOICE_FOR_CLIENT)
    await run_in_threadpool(queries.check_budget_reference, uow.session, who, budget_id, budget_line_id)
    content = await file.read()
    submission = submission_from_upload(
        who,
        content,
        file.filename or "invoice",
        file.content_type or "",
        flow="forwarded",
        fields={
            "budget_line_id": budget_line_id,
            "provider_name": provider_name,
            "provider_kvk": provider_kvk,
            "provider_iban": provider_iban,
            "invoice_number": invoice_number,
            "amount_excl_vat": amount_excl_vat,
            "vat": vat,
            "service_from": service_from,
            "service_to": service_to,
        },
    )
    return await run_in_threadpool(invoices_in.submit_client_invoice, uow, who, submission)


@router.post(
    "/budgets/{budget_id}/declarations",
    status_code=201,
    response_model=InvoicePublic,
    tags=["invoices in"],
    summary="Declare an expense",
)
async def declare_expense(
    budget_id: str,
    who: CurrentPrincipal,
    uow: Uow,
    receipt: Annotated[UploadFile, File()],
    budget_line_id: Annotated[Line, Form(max_length=36)],
    description: Annotated[Line, Form(min_length=1, max_length=200)],
    provider_name: Annotated[Line, Form(min_length=1, max_length=200)],
    amount: Annotated[Line, Form(max_length=20)],
    client_iban: Annotated[Line, Form(max_length=34)],
    account_holder: Annotated[Line, Form(min_length=1, max_length=70)],
    paid_on: Annotated[date, Form()],
) -> InvoicePublic:
    """Flow 3: the client paid and declares it, with the receipt; reimbursed to the client's IBAN."""
    authorize(who, Action.SEND_INVOICE_FOR_CLIENT)
    await run_in_threadpool(queries.check_budget_reference, uow.session, who, budget_id, budget_line_id)
    content = await receipt.read()
    submission = submission_from_upload(
        who,
        content,
        receipt.filename or "receipt",
        receipt.content_type or "",
        flow="declaration",
        fields={
            "budget_line_id": budget_line_id,
            "provider_name": provider_name,
            "provider_iban": client_iban,
            "creditor_name": account_holder,
            "invoice_number": f"DECL-{description[:40]}-{paid_on}",
            "amount_excl_vat": amount,
            "vat": "0",
            "service_from": paid_on,
            "service_to": paid_on,
        },
    )
    return await run_in_threadpool(invoices_in.submit_client_invoice, uow, who, submission)
