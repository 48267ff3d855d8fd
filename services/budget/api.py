"""Budget HTTP routes: parse, authorise, call a command or a query. No rules here. The routes
that take invoices in are in api_invoices_in.py, jobs in api_jobs.py and bank statements in
api_bank.py, included here."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.budget import commands, payments, queries, statements
from services.budget.api_bank import router as bank_router
from services.budget.api_invoices_in import router as invoices_in_router
from services.budget.api_jobs import router as jobs_router
from services.budget.api_providers import router as providers_router
from services.budget.domain.invoice import InvoiceStatus
from services.budget.domain.states import BudgetStatus
from services.budget.models import (
    BudgetPublic,
    BulkApprove,
    CreditNoteIn,
    CreditNotePublic,
    InvoicePublic,
    ItemResult,
    MarkPaid,
    OrderIn,
    OrderPublic,
    PaymentRunCreate,
    PaymentRunPublic,
    PeriodicPaymentIn,
    PeriodicPaymentPublic,
    RejectInvoice,
)
from services.budget.models_invoices_in import SupplierContactPublic
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.money import Money
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
router.include_router(invoices_in_router)
router.include_router(jobs_router)
router.include_router(bank_router)
router.include_router(providers_router)
Uow = Annotated[UnitOfWork, Depends(uow_dependency("budget"))]


# --- policy and budgets -------------------------------------------------------------------


@router.get("/finance-policy", tags=["policy"], summary="Read the finance policy")
def get_finance_policy(who: CurrentPrincipal, session: SessionDep) -> dict[str, Any]:
    """The municipality's money rules: four-eyes threshold, client confirmation, VAT, alert
    thresholds, the bank account payments go out from and the payment-file version."""
    return queries.get_finance_policy(session, who)


@router.put("/finance-policy", tags=["policy"], summary="Replace the finance policy")
def put_finance_policy(document: dict[str, Any], who: CurrentPrincipal, uow: Uow) -> dict[str, Any]:
    """Replace the municipality's money rules with this whole document; unknown settings are refused."""
    return commands.put_finance_policy(uow, who, document)


@router.get("/budgets", response_model=list[BudgetPublic], tags=["budgets"], responses=PAGED, summary="List budgets")
def list_budgets(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    plan_id: Annotated[str | None, Query(max_length=36)] = None,
    client_id: Annotated[
        list[str] | None, Query(max_length=100, description="Only these clients' (repeat the parameter; at most 100).")
    ] = None,
    status: Annotated[BudgetStatus | None, Query(description="open or closed.")] = None,
) -> list[BudgetPublic]:
    """Budgets with their lines and balances, oldest first; the client side sees only its own.
    `plan_id` (a plan or orientation id) narrows it to that trajectory's budget."""
    return page_answer(queries.list_budgets(session, who, page, plan_id, client_id, status), response)


@router.get("/budgets/{budget_id}", response_model=BudgetPublic, tags=["budgets"], summary="Read a budget")
def get_budget(budget_id: str, who: CurrentPrincipal, session: SessionDep) -> BudgetPublic:
    """One budget with its lines: granted, committed (orders), invoiced (waiting), approved, held, paid, remaining."""
    return queries.get_budget(session, who, budget_id)


@router.get("/budgets/{budget_id}/ledger", tags=["budgets"], responses=PAGED, summary="List a budget's ledger postings")
def get_ledger(
    budget_id: str, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[dict[str, Any]]:
    """The raw double-entry postings of a budget, in the order they were booked."""
    entries = queries.ledger_entries(session, who, budget_id, page)
    return page_answer(entries.map(lambda e: e.model_dump(mode="json")), response)


@router.get(
    "/budgets/{budget_id}/statement",
    tags=["budgets"],
    response_class=Response,
    summary="Download a budget statement",
    responses={200: {"content": {"text/csv": {}, "application/pdf": {}}}},
)
def get_statement(
    budget_id: str,
    who: CurrentPrincipal,
    session: SessionDep,
    format_: Annotated[Literal["csv", "pdf"], Query(alias="format")] = "csv",
    lang: Literal["nl", "en"] = "nl",
) -> Response:
    """A statement of the budget and its invoices, as CSV (`format=csv`, the default) or as a PDF
    (`format=pdf`) in Dutch or English (`lang`)."""
    budget, invoices = queries.budget_statement(session, who, budget_id)
    if format_ == "pdf":
        return Response(
            statements.statement_pdf(budget, invoices, lang),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="budget-{budget_id}.pdf"'},
        )
    return Response(
        statements.statement_csv(budget, invoices),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="budget-{budget_id}.csv"'},
    )


@router.post(
    "/budgets/{budget_id}/orders",
    status_code=201,
    response_model=OrderPublic,
    tags=["budgets"],
    summary="Place an order on a budget line",
)
def place_order(budget_id: str, data: OrderIn, who: CurrentPrincipal, uow: Uow) -> OrderPublic:
    """Record an accepted quote or order: it reserves the amount on the line, and invoices quoting
    its `order_reference` draw on it."""
    return commands.place_order(uow, who, budget_id, data)


@router.get(
    "/budgets/{budget_id}/orders",
    response_model=list[OrderPublic],
    tags=["budgets"],
    responses=PAGED,
    summary="List a budget's orders",
)
def list_orders(
    budget_id: str, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[OrderPublic]:
    """The orders on a budget, oldest first, with what each reserves (`amount`) and has used."""
    return page_answer(queries.list_orders(session, who, budget_id, page), response)


@router.post(
    "/budgets/{budget_id}/periodic-payments",
    status_code=201,
    response_model=PeriodicPaymentPublic,
    tags=["payments"],
    summary="Schedule a periodic payment",
)
def schedule_periodic_payment(
    budget_id: str, data: PeriodicPaymentIn, who: CurrentPrincipal, uow: Uow
) -> PeriodicPaymentPublic:
    """pgb begeleid werken: reserve the months' total on the line; each month that comes due an
    invoice for it joins the approval queue."""
    return commands.schedule_periodic_payment(uow, who, budget_id, data)


@router.get(
    "/budgets/{budget_id}/periodic-payments",
    response_model=list[PeriodicPaymentPublic],
    tags=["payments"],
    responses=PAGED,
    summary="List a budget's periodic payments",
)
def list_periodic_payments(
    budget_id: str, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[PeriodicPaymentPublic]:
    """The periodic payments scheduled on a budget, by first due date, with the months created so far."""
    return page_answer(queries.list_periodic_payments(session, who, budget_id, page), response)


# --- reading and deciding ------------------------------------------------------------------

Euros = Annotated[Decimal | None, Query(ge=0, max_digits=12, decimal_places=2)]


def invoice_filter(
    provider: Annotated[str | None, Query(max_length=200)] = None,
    min_amount: Euros = None,
    max_amount: Euros = None,
) -> queries.InvoiceFilter:
    return queries.InvoiceFilter(
        provider=provider or None,
        min_amount=None if min_amount is None else Money.euros(min_amount),
        max_amount=None if max_amount is None else Money.euros(max_amount),
    )


@router.get(
    "/invoices/{invoice_id}/einvoice-warnings",
    tags=["invoices"],
    responses=PAGED,
    summary="List an e-invoice's BR-NL warnings",
)
def get_einvoice_warnings(
    invoice_id: str, who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[dict[str, str]]:
    """The Dutch "not recommended" rules the invoice's UBL broke when it came in (none: an empty list)."""
    return page_answer(queries.einvoice_warnings(session, who, invoice_id, page), response)


@router.get(
    "/invoices", response_model=list[InvoicePublic], tags=["invoices"], responses=PAGED, summary="List invoices"
)
def list_invoices(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    narrow: Annotated[queries.InvoiceFilter, Depends(invoice_filter)],
    budget_id: Annotated[str | None, Query(max_length=36)] = None,
    status: InvoiceStatus | None = None,
) -> list[InvoicePublic]:
    """Invoices, oldest first: the client side sees its own, a provider the ones it sent. Narrow
    by `budget_id` and `status` (an unknown status is a 422), `provider` (its id, or a part of its
    name) and `min_amount`/`max_amount` (the amount in budget terms, both included)."""
    found = queries.list_invoices(session, who, page, budget_id=budget_id, status=status, narrow=narrow)
    return page_answer(found, response)


@router.get(
    "/approval-queue",
    response_model=list[InvoicePublic],
    tags=["invoices"],
    responses=PAGED,
    summary="List invoices waiting for a decision",
)
def approval_queue(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    narrow: Annotated[queries.InvoiceFilter, Depends(invoice_filter)],
) -> list[InvoicePublic]:
    """Received, second-approval and late (review) invoices of the municipality, oldest first;
    narrow by `provider`, `min_amount` and `max_amount` as the invoice list."""
    return page_answer(queries.approval_queue(session, who, page, narrow), response)


@router.get("/invoices/{invoice_id}", response_model=InvoicePublic, tags=["invoices"], summary="Read an invoice")
def get_invoice(invoice_id: str, who: CurrentPrincipal, session: SessionDep) -> InvoicePublic:
    """One invoice with its amounts and state; the client side and providers see only their own."""
    return queries.get_invoice(session, who, invoice_id)


@router.get(
    "/invoices/{invoice_id}/supplier-contact",
    response_model=SupplierContactPublic,
    tags=["invoices"],
    summary="Where to reach an invoice's supplier",
)
def get_supplier_contact(invoice_id: str, who: CurrentPrincipal, session: SessionDep) -> SupplierContactPublic:
    """The supplier's e-mail address as the invoice gave it (null if none): staff and finance of the
    invoice's municipality, and notifications (role `service`) when it writes to the supplier."""
    return queries.supplier_contact(session, who, invoice_id)


@router.get(
    "/invoices/{invoice_id}/document",
    tags=["invoices"],
    response_class=Response,
    summary="Download an invoice's document",
)
def get_invoice_document(invoice_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    """The original document as it came in (UBL, PDF, photo or receipt), with its SHA-256."""
    document = queries.document_of(session, who, invoice_id)
    return Response(
        document.content,
        media_type=document.content_type,
        headers={"Content-Disposition": f'attachment; filename="{document.id}"', "X-Content-SHA256": document.sha256},
    )


@router.post("/invoices/approve", response_model=list[ItemResult], tags=["invoices"], summary="Approve many invoices")
def approve_invoices(cmd: BulkApprove, who: CurrentPrincipal, uow: Uow) -> list[ItemResult]:
    """Approve each of `invoice_ids`; each gets its own result, and a refused one leaves the others approved."""
    return commands.approve_invoices(uow, who, cmd.invoice_ids)


@router.post(
    "/invoices/{invoice_id}/confirm",
    response_model=InvoicePublic,
    tags=["invoices"],
    summary="Confirm an invoice (client)",
)
def confirm_invoice(invoice_id: str, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    """The client directs their budget: they confirm a provider's invoice before finance approves it."""
    return commands.confirm_invoice(uow, who, invoice_id)


@router.post(
    "/invoices/{invoice_id}/approve", response_model=InvoicePublic, tags=["invoices"], summary="Approve an invoice"
)
def approve_invoice(invoice_id: str, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    """Approve: the amount moves from remaining to approved on the line. Above the four-eyes
    threshold a second, different approver must approve too."""
    return commands.approve_invoice(uow, who, invoice_id)


@router.post(
    "/invoices/{invoice_id}/reject", response_model=InvoicePublic, tags=["invoices"], summary="Reject an invoice"
)
def reject_invoice(invoice_id: str, cmd: RejectInvoice, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    """Reject an invoice that waits for a decision, with the reason."""
    return commands.reject_invoice(uow, who, invoice_id, cmd)


@router.post(
    "/invoices/{invoice_id}/credit-notes",
    status_code=201,
    response_model=CreditNotePublic,
    tags=["invoices"],
    summary="Credit an invoice",
)
def credit_invoice(invoice_id: str, cmd: CreditNoteIn, who: CurrentPrincipal, uow: Uow) -> CreditNotePublic:
    """A credit note: before payment it lowers what will be paid, after payment it records money
    coming back; either way the amount returns to the budget line."""
    return commands.credit_invoice(uow, who, invoice_id, cmd)


@router.post(
    "/invoices/{invoice_id}/mark-paid", response_model=InvoicePublic, tags=["payments"], summary="Mark an invoice paid"
)
def mark_invoice_paid(invoice_id: str, cmd: MarkPaid, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    """Record a payment made outside a payment run, for an approved invoice not in a run."""
    return payments.mark_invoice_paid(uow, who, invoice_id, cmd)


# --- payment runs ---------------------------------------------------------------------------


@router.post(
    "/payment-runs", status_code=201, response_model=PaymentRunPublic, tags=["payments"], summary="Create a payment run"
)
def create_payment_run(cmd: PaymentRunCreate, who: CurrentPrincipal, uow: Uow) -> PaymentRunPublic:
    """Every approved, unpaid invoice part into one ISO 20022 pain.001 file; the execution date is
    today or later."""
    return payments.create_payment_run(uow, who, cmd)


@router.get(
    "/payment-runs",
    response_model=list[PaymentRunPublic],
    tags=["payments"],
    responses=PAGED,
    summary="List payment runs",
)
def list_payment_runs(
    who: CurrentPrincipal, session: SessionDep, page: PageDep, response: Response
) -> list[PaymentRunPublic]:
    """The municipality's payment runs, oldest first."""
    return page_answer(queries.list_payment_runs(session, who, page), response)


@router.get(
    "/payment-runs/{payment_run_id}", response_model=PaymentRunPublic, tags=["payments"], summary="Read a payment run"
)
def get_payment_run(payment_run_id: str, who: CurrentPrincipal, session: SessionDep) -> PaymentRunPublic:
    """One payment run: its state, execution date, count and total, and where to download its file."""
    return queries.get_payment_run(session, who, payment_run_id)


@router.get(
    "/payment-runs/{payment_run_id}/pain001.xml",
    tags=["payments"],
    response_class=Response,
    summary="Download a payment file",
)
def download_payment_file(payment_run_id: str, who: CurrentPrincipal, session: SessionDep) -> Response:
    """The run's pain.001 credit-transfer file, for the bank."""
    run = queries.payment_file_of(session, who, payment_run_id)
    return Response(
        run.xml,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{run.message_id}.xml"'},
    )


@router.post(
    "/payment-runs/{payment_run_id}/confirm",
    response_model=PaymentRunPublic,
    tags=["payments"],
    summary="Confirm a payment run",
)
def confirm_payment_run(payment_run_id: str, cmd: MarkPaid, who: CurrentPrincipal, uow: Uow) -> PaymentRunPublic:
    """The bank executed the run: every invoice part in it is marked paid, once."""
    return payments.confirm_payment_run(uow, who, payment_run_id, cmd)
