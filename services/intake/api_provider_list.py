"""Importing UWV's list of contracted reintegration companies (rio/iro) into the policy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from services.intake import commands
from services.intake.domain.provider_list import parse_provider_list
from shared.auth import CurrentPrincipal
from shared.deps import uow_dependency
from shared.uow import UnitOfWork

router = APIRouter()
Uow = Annotated[UnitOfWork, Depends(uow_dependency("intake"))]
CSV = "text/csv"


@router.post(
    "/policy/contracted-providers",
    tags=["policy"],
    summary="Import the list of contracted reintegration companies",
    openapi_extra={"requestBody": {"required": True, "content": {CSV: {"schema": {"type": "string"}}}}},
)
def import_contracted_providers(
    who: CurrentPrincipal, uow: Uow, raw: Annotated[bytes, Body(media_type=CSV)] = b""
) -> dict[str, Any]:
    """UWV's list of contracted reintegration companies (rio/iro) as CSV (a header row with `kvk`
    and `naam`/`name`; semicolons or commas): it replaces the policy's `contracted_providers`, in the
    change log like any policy change. One bad row refuses the whole file (422 naming the row)."""
    document = commands.patch_policy(uow, who, {"contracted_providers": parse_provider_list(raw)})
    return {"contracted_providers": document["contracted_providers"]}
