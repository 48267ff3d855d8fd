"""Provider register routes: parse, call services/budget/providers.py. No rules here."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.budget import providers
from services.budget.models_providers import ProviderIn, ProviderPatch, ProviderPublic
from shared.auth import CurrentPrincipal
from shared.deps import SessionDep, uow_dependency
from shared.pagination import PAGED, PageDep, page_answer
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("budget"))]
StatusFilter = Literal["contracted", "approved_for_plan", "suspended", "ended"]


@router.get(
    "/providers", response_model=list[ProviderPublic], tags=["providers"], responses=PAGED, summary="List providers"
)
def list_providers(
    who: CurrentPrincipal,
    session: SessionDep,
    page: PageDep,
    response: Response,
    status: StatusFilter | None = None,
    kvk: Annotated[str | None, Query(max_length=20)] = None,
) -> list[ProviderPublic]:
    """The municipality's provider register by name, paged; `status` and `kvk` narrow it. The IBAN
    is whole for finance, masked for everyone else."""
    return page_answer(providers.list_providers(session, who, page, status, kvk), response)


@router.get("/providers/{provider_id}", response_model=ProviderPublic, tags=["providers"], summary="Read a provider")
def get_provider(provider_id: str, who: CurrentPrincipal, session: SessionDep) -> ProviderPublic:
    """One registered provider with the history of its registration and changes (IBANs there masked)."""
    return providers.get_provider(session, who, provider_id)


@router.post(
    "/providers", status_code=201, response_model=ProviderPublic, tags=["providers"], summary="Register a provider"
)
def register_provider(data: ProviderIn, who: CurrentPrincipal, uow: Uow) -> ProviderPublic:
    """Register a provider by KvK number, with VAT number, the IBAN to pay to and its contract status."""
    return providers.register_provider(uow, who, data)


@router.patch(
    "/providers/{provider_id}", response_model=ProviderPublic, tags=["providers"], summary="Change a provider"
)
def change_provider(provider_id: str, data: ProviderPatch, who: CurrentPrincipal, uow: Uow) -> ProviderPublic:
    """Change a provider's name, VAT number, IBAN or contract status (with the version read)."""
    return providers.change_provider(uow, who, provider_id, data)
