"""Budget HTTP routes: parse, authorise, call a handler. No rules here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.budget import handlers
from services.budget.models import BudgetPublic, InvoiceCreate, InvoicePublic, MarkPaid
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("budget"))]


@router.get("/budgets", response_model=list[BudgetPublic], tags=["budgets"])
def list_budgets(who: CurrentPrincipal, session: SessionDep, plan_id: str | None = None) -> list[BudgetPublic]:
    return handlers.list_budgets(session, who, plan_id)


@router.get("/budgets/{budget_id}", response_model=BudgetPublic, tags=["budgets"])
def get_budget(budget_id: str, who: CurrentPrincipal, session: SessionDep) -> BudgetPublic:
    return handlers.get_budget(session, who, budget_id)


@router.post("/budgets/{budget_id}/invoices", status_code=201, response_model=InvoicePublic, tags=["invoices"])
def receive_invoice(budget_id: str, data: InvoiceCreate, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    return handlers.receive_invoice(uow, who, budget_id, data)


@router.get("/invoices", response_model=list[InvoicePublic], tags=["invoices"])
def list_invoices(who: CurrentPrincipal, session: SessionDep, budget_id: str | None = None,
                  status: str | None = None) -> list[InvoicePublic]:
    return handlers.list_invoices(session, who, budget_id=budget_id, status=status)


@router.get("/invoices/{invoice_id}", response_model=InvoicePublic, tags=["invoices"])
def get_invoice(invoice_id: str, who: CurrentPrincipal, session: SessionDep) -> InvoicePublic:
    return handlers.get_invoice(session, who, invoice_id)


@router.post("/invoices/{invoice_id}/approve", response_model=InvoicePublic, tags=["invoices"])
def approve_invoice(invoice_id: str, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    return handlers.approve_invoice(uow, who, invoice_id)


@router.post("/invoices/{invoice_id}/mark-paid", response_model=InvoicePublic, tags=["invoices"])
def mark_invoice_paid(invoice_id: str, cmd: MarkPaid, who: CurrentPrincipal, uow: Uow) -> InvoicePublic:
    return handlers.mark_invoice_paid(uow, who, invoice_id, cmd)
