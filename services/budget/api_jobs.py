"""Budget HTTP routes for jobs: a payment run or a bulk upload of invoices queued (202) and run
by a worker, with its progress to poll. Parse, authorise, call queued_jobs. Included by api.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from services.budget import queued_jobs, statements
from services.budget.api_invoices_in import MAX_BULK, _too_many
from services.budget.models_jobs import BudgetJobPublic, PaymentRunJobCreate
from services.budget.permissions import Action, authorize
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("budget"))]


@router.post(
    "/payment-runs/jobs",
    status_code=202,
    response_model=BudgetJobPublic,
    tags=["payments"],
    summary="Queue a payment run as a job",
)
def queue_payment_run(cmd: PaymentRunJobCreate, who: CurrentPrincipal, uow: Uow) -> BudgetJobPublic:
    """As POST /payment-runs, run by a worker: `202` with the job; poll GET /jobs/{job_id} for its
    progress (`done` of `total` invoices) and, when `done`, the `payment_run_id`. A past execution
    date is a `422` at once."""
    return queued_jobs.queue_payment_run(uow, who, cmd)


@router.post(
    "/invoices/upload-jobs",
    status_code=202,
    response_model=BudgetJobPublic,
    tags=["invoices in"],
    summary="Queue a bulk upload of invoices as a job",
)
async def queue_upload(
    request: Request,
    who: CurrentPrincipal,
    uow: Uow,
    files: Annotated[list[UploadFile] | None, File(description="UBL invoice files")] = None,
) -> BudgetJobPublic:
    """A JSON array of 1 to 1000 invoices (`application/json`, as POST /invoices/bulk) or up to
    1000 UBL files (`multipart/form-data`, field `files`), run by a worker in chunks: `202` with
    the job; GET /jobs/{job_id} has the progress and each row's result."""
    authorize(who, Action.SEND_INVOICE)
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        return await run_in_threadpool(queued_jobs.queue_upload, uow, who, json_body=body)
    if not files or not 1 <= len(files) <= MAX_BULK:
        raise _too_many("files")
    documents = [(upload.filename or "invoice.xml", await upload.read()) for upload in files]
    return await run_in_threadpool(queued_jobs.queue_upload, uow, who, files=documents)


@router.get("/jobs", response_model=list[BudgetJobPublic], tags=["jobs"], responses=PAGED, summary="List jobs")
def list_jobs(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    kind: Annotated[Literal["payment_run", "invoice_upload"] | None, Query()] = None,
) -> list[BudgetJobPublic]:
    """The municipality's jobs, newest first (a provider: its own uploads); narrow by `kind`."""
    return page_answer(queued_jobs.list_jobs(session, who, page, kind), response)


@router.get("/jobs/{job_id}", response_model=BudgetJobPublic, tags=["jobs"], summary="Read a job")
def get_job(job_id: str, who: CurrentPrincipal, session: SessionDep) -> BudgetJobPublic:
    """A job's state (`queued`, `running`, `done`, `failed`), its progress and its result."""
    return queued_jobs.get_job(session, who, job_id)


@router.get(
    "/jobs/{job_id}/results.csv",
    tags=["jobs"],
    response_class=Response,
    summary="Download an upload job's results",
)
def job_results_csv(job_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    """Each uploaded invoice's result so far, as CSV (`;`)."""
    results = queued_jobs.job_results(session, who, job_id)
    return Response(
        statements.batch_results_csv(results),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="job-{job_id}.csv"'},
    )
