"""Budget HTTP routes for bank statements: a camt.053 or camt.054 file from the bank reconciles
the payment runs. Parse, authorise, call reconciliation. Included by api.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from services.budget import reconciliation
from services.budget.domain.bank_statement import MAX_STATEMENT_BYTES, BankStatementError
from services.budget.models_bank import BankStatementPublic
from services.budget.permissions import Action, authorize
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("budget"))]


def _too_large() -> BankStatementError:
    mb = MAX_STATEMENT_BYTES // (1024 * 1024)
    return BankStatementError(
        "bank_statement.too_large",
        f"A bank statement may be at most {mb} MB.",
        "file",
        message_nl=f"Een bankafschrift mag hoogstens {mb} MB zijn.",
    )


@router.post(
    "/bank-statements",
    status_code=201,
    response_model=BankStatementPublic,
    tags=["payments"],
    summary="Import a bank statement (camt.053 or camt.054)",
    openapi_extra={"requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}}},
    responses={200: {"description": "This file was imported before: its stored result, nothing changed."}},
)
async def import_bank_statement(request: Request, who: CurrentPrincipal, uow: Uow) -> JSONResponse:
    """The bank's camt.053 statement or camt.054 notification as the XML body: each booked
    transaction is matched to a payment-run item by its EndToEndId. Paid ones are paid as a
    confirmed run pays them, returned ones (with their reason) are payable again, and the rest
    are listed. `201` with each transaction's outcome; the same file again: `200` with the same."""
    authorize(who, Action.PAYMENT_RUNS)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_STATEMENT_BYTES:
        raise _too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_STATEMENT_BYTES:
            raise _too_large()
    created, result = await run_in_threadpool(reconciliation.import_bank_statement, uow, who, bytes(body))
    return JSONResponse(result.model_dump(mode="json"), status_code=201 if created else 200)


@router.get(
    "/bank-statements",
    response_model=list[BankStatementPublic],
    tags=["payments"],
    responses=PAGED,
    summary="List imported bank statements",
)
def list_bank_statements(
    who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[BankStatementPublic]:
    """The municipality's imported bank statements, oldest first, with how many transactions had
    each outcome (the transactions themselves: GET /bank-statements/{id})."""
    return page_answer(reconciliation.list_bank_statements(session, who, page), response)


@router.get(
    "/bank-statements/{bank_statement_id}",
    response_model=BankStatementPublic,
    tags=["payments"],
    summary="Read an imported bank statement",
)
def get_bank_statement(bank_statement_id: str, who: CurrentPrincipal, session: SessionDep) -> BankStatementPublic:
    """One imported statement with each transaction's outcome: `paid`, `returned` (with the ISO
    reason code and its text in English and Dutch), `not_found`, `amount_mismatch`, ..."""
    return reconciliation.get_bank_statement(session, who, bank_statement_id)
