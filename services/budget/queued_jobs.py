"""Work that takes a while, as a job: a request queues it (202 and the job's id), a worker runs
it (`run_queued_jobs`, a budget job that embedded mode's scheduler and Celery beat start every
few seconds) and writes its progress as it goes, so a page can show a progress bar and a person
can leave and come back.

- A payment run: `total` is the number of payable invoices when the worker starts; the run itself
  is one transaction (one pain.001 file, all or nothing), so `done` reaches `total` when it commits.
- A bulk upload of invoices (JSON array or UBL files): in chunks of CHUNK, each chunk and the
  job's progress and per-row results in one transaction.
- A worker that dies (SIGKILL) leaves its job `running`: once its heartbeat is older than
  STALE_AFTER, the next worker claims it again. An upload goes on after its last committed chunk
  (those rows' results are kept, nothing is entered twice); a payment run starts again (its one
  transaction was rolled back with the worker).
"""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from functools import partial
from typing import Any

import structlog
from sqlmodel import Session, and_, col, or_, select

from services.budget import intake_lines, invoices_in, payments, repository
from services.budget.commands import each_in_a_savepoint, rejected
from services.budget.domain.payment_file import check_execution_date
from services.budget.models import ItemResult, PaymentRunCreate
from services.budget.models_jobs import BudgetJob, BudgetJobPublic, PaymentRunJobCreate
from services.budget.permissions import Action, authorize
from services.budget.submissions import Submission, submission_from_ubl
from shared.access import ensure_visible
from shared.auth import Principal, Role
from shared.errors import DomainError, NotFound
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork

log = structlog.get_logger("budget.jobs")
CHUNK = 20
MAX_JOBS_PER_RUN = 5
STALE_AFTER = timedelta(minutes=2)


def _new_job(uow: UnitOfWork, who: Principal, kind: str, params: dict[str, Any], payload: bytes | None) -> BudgetJob:
    return BudgetJob(
        municipality=who.municipality,
        kind=kind,
        created_by=who.subject,
        role=who.role.value,
        provider_id=who.provider_id,
        created_at=uow.clock.now(),
        params=params,
        payload=payload,
        results=[],
    )


def queue_payment_run(uow: UnitOfWork, who: Principal, cmd: PaymentRunJobCreate) -> BudgetJobPublic:
    """Queue a payment run; a past execution date is refused now, not later in the worker."""
    authorize(who, Action.PAYMENT_RUNS)
    check_execution_date(cmd.execution_date, uow.clock.today())
    job = _new_job(uow, who, "payment_run", cmd.model_dump(mode="json"), None)
    uow.session.add(job)
    uow.commit()
    return job_public(job)


def queue_upload(
    uow: UnitOfWork, who: Principal, *, json_body: bytes | None = None, files: list[tuple[str, bytes]] | None = None
) -> BudgetJobPublic:
    """Queue a bulk upload: a JSON array of invoices (as POST /invoices/bulk takes it) or UBL files."""
    authorize(who, Action.SEND_INVOICE)
    if json_body is not None:
        from services.budget.api_invoices_in import _json_submissions

        total = len(_json_submissions(who, json_body))  # 400/422 now for a body that is no array of 1-1000
        job = _new_job(uow, who, "invoice_upload", {"format": "json"}, json_body)
    else:
        documents = [{"filename": name, "content": base64.b64encode(content).decode()} for name, content in files or []]
        total = len(documents)
        job = _new_job(uow, who, "invoice_upload", {"format": "ubl"}, json.dumps(documents).encode())
    job.total = total
    uow.session.add(job)
    uow.commit()
    return job_public(job)


def _visible_job(session: Session, who: Principal, job_id: str, kinds: tuple[str, ...]) -> BudgetJob:
    job = session.get(BudgetJob, job_id)
    if job is None or job.kind not in kinds:
        raise NotFound("job", "taak")
    ensure_visible(who, municipality=job.municipality, client_id=None, what="job")
    if who.role != Role.FINANCE and job.created_by != who.subject:
        raise NotFound("job", "taak")
    return job


def _kinds_for(who: Principal) -> tuple[str, ...]:
    """Finance sees every job of its municipality; a provider its own uploads."""
    return ("payment_run", "invoice_upload") if who.role == Role.FINANCE else ("invoice_upload",)


def get_job(session: Session, who: Principal, job_id: str) -> BudgetJobPublic:
    authorize(who, Action.SEND_INVOICE)
    return job_public(_visible_job(session, who, job_id, _kinds_for(who)))


def job_results(session: Session, who: Principal, job_id: str) -> list[dict[str, Any]]:
    authorize(who, Action.SEND_INVOICE)
    return _visible_job(session, who, job_id, ("invoice_upload",)).results


def list_jobs(session: Session, who: Principal, page: PageRequest, kind: str | None) -> Page[BudgetJobPublic]:
    """The municipality's jobs (a provider: its own), newest first."""
    authorize(who, Action.SEND_INVOICE)
    kinds = [k for k in _kinds_for(who) if kind in (None, k)]
    query = select(BudgetJob).where(BudgetJob.municipality == who.municipality, col(BudgetJob.kind).in_(kinds))
    if who.role != Role.FINANCE:
        query = query.where(BudgetJob.created_by == who.subject)
    query = query.order_by(col(BudgetJob.created_at).desc(), col(BudgetJob.id))
    return page_of(session, query, page).map(job_public)


def job_public(job: BudgetJob) -> BudgetJobPublic:
    answer = BudgetJobPublic(
        id=job.id,
        kind=job.kind,  # type: ignore[arg-type]  # stored as text, one of JobKind
        status=job.status,  # type: ignore[arg-type]
        done=job.done,
        total=job.total,
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        payment_run_id=job.payment_run_id,
        error_code=job.error_code,
        error_message=job.error_message,
    )
    if job.kind == "payment_run":
        answer.execution_date = date.fromisoformat(job.params["execution_date"])
        return answer
    accepted = sum(1 for r in job.results if r.get("status") == "accepted")
    answer.accepted, answer.rejected = accepted, len(job.results) - accepted
    answer.results = [ItemResult.model_validate(r) for r in job.results]
    answer.results_file = f"/budget/v1/jobs/{job.id}/results.csv"
    return answer


# --- the worker ------------------------------------------------------------------------------


def _principal(job: BudgetJob) -> Principal:
    return Principal(
        subject=job.created_by, role=Role(job.role), municipality=job.municipality, provider_id=job.provider_id
    )


def _claim(uow: UnitOfWork) -> BudgetJob | None:
    """The oldest queued job, or a running one whose worker died (its heartbeat stale), marked
    running (one worker each: SKIP LOCKED on PostgreSQL, SQLite's write lock)."""
    now = uow.clock.now()
    stale = and_(col(BudgetJob.status) == "running", col(BudgetJob.heartbeat_at) < now - STALE_AFTER)
    job = uow.session.exec(
        select(BudgetJob)
        .where(or_(col(BudgetJob.status) == "queued", stale))
        .order_by(col(BudgetJob.created_at), col(BudgetJob.id))
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if job is None:
        uow.rollback()
        return None
    if job.status == "running":
        log.warning("budget.job_taken_up_again", job_id=job.id, kind=job.kind, done=job.done)
    job.status, job.started_at, job.heartbeat_at = "running", job.started_at or now, now
    if job.kind == "payment_run":
        job.total = repository.count_payable_invoices(uow.session, job.municipality)
    uow.session.add(job)
    uow.commit()
    return job


def _finish(uow: UnitOfWork, job: BudgetJob, *, error: DomainError | None = None) -> None:
    job.finished_at = uow.clock.now()
    if error is None:
        job.status = "done"
    else:
        job.status, job.error_code, job.error_message = "failed", error.code, error.message[:1000]
    uow.session.add(job)
    uow.commit()


def _run_payment_run(uow: UnitOfWork, job: BudgetJob) -> None:
    cmd = PaymentRunCreate.model_validate(job.params)
    try:
        run = payments.create_payment_run(uow, _principal(job), cmd)
    except DomainError as exc:
        uow.rollback()
        _finish(uow, job, error=exc)
        return
    # `total` was the invoices that looked payable at the start; the run says what it took.
    job.payment_run_id, job.done, job.total = run.id, run.item_count, run.item_count
    _finish(uow, job)


def _submissions(job: BudgetJob, who: Principal) -> list[tuple[str | None, Submission | DomainError]]:
    if job.params.get("format") == "json":
        from services.budget.api_invoices_in import _json_submissions

        return _json_submissions(who, job.payload or b"[]")
    found: list[tuple[str | None, Submission | DomainError]] = []
    for document in json.loads(job.payload or b"[]"):
        name = document["filename"]
        try:
            found.append((name, submission_from_ubl(who, base64.b64decode(document["content"]), name)))
        except DomainError as exc:
            found.append((name, exc))
    return found


def _run_upload(uow: UnitOfWork, job: BudgetJob) -> None:
    who = _principal(job)
    submissions = _submissions(job, who)
    job.total = len(submissions)
    # After a worker died: its committed chunks are done (with their results), the rest is not.
    for start in range(job.done, len(submissions), CHUNK):
        chunk = submissions[start : start + CHUNK]
        references = {s.budget_line_id for _, s in chunk if isinstance(s, Submission)}
        repository.lock_budgets(uow.session, intake_lines.budgets_referenced(uow.session, who, references))
        intake_lines.read_locked_lines(uow.session, who, references)
        results: list[dict[str, Any]] = []
        for index, (reference, submission) in enumerate(chunk, start=start):
            if isinstance(submission, DomainError):
                results.append(rejected(index, reference, submission).model_dump(mode="json"))
                continue
            try:
                invoice = each_in_a_savepoint(uow, partial(invoices_in.accept_invoice, uow, who, submission))
                result = ItemResult(index=index, reference=reference, status="accepted", invoice_id=invoice.id)
                intake_lines.accepted(uow.session, invoice)
            except DomainError as exc:
                result = rejected(index, reference, exc)
            results.append(result.model_dump(mode="json"))
        job.results = [*job.results, *results]
        job.done, job.heartbeat_at = start + len(chunk), uow.clock.now()
        uow.session.add(job)
        uow.commit()  # this chunk's invoices with the job's progress
    _finish(uow, job)


def run_queued_jobs(uow: UnitOfWork) -> int:
    """Every few seconds: run the queued jobs, oldest first (a few per call), writing their progress."""
    ran = 0
    while ran < MAX_JOBS_PER_RUN:
        job = _claim(uow)
        if job is None:
            break
        try:
            if job.kind == "payment_run":
                _run_payment_run(uow, job)
            else:
                _run_upload(uow, job)
        except Exception as exc:  # noqa: BLE001 - a job that breaks is marked failed, not left running
            uow.rollback()
            log.error("budget.job_failed", job_id=job.id, error=type(exc).__name__)
            stored = uow.session.get(BudgetJob, job.id)
            if stored is not None:
                _finish(uow, stored, error=DomainError("job.failed", "The job failed; try again."))
        ran += 1
    return ran
