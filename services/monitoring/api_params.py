"""What every monitoring route module takes the same way: the unit of work and the ids in a path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from services.monitoring.models import NO_CONTROLS
from shared.deps import uow_dependency
from shared.uow import UnitOfWork

Uow = Annotated[UnitOfWork, Depends(uow_dependency("monitoring"))]
PlanId = Annotated[
    str,
    Path(
        max_length=36, pattern=NO_CONTROLS, description="The plan id, or the orientation id for an orientation phase."
    ),
]
# Any other record's id in a path (a report, a conversation, a milestone, ...).
Id = Annotated[str, Path(max_length=36, pattern=NO_CONTROLS)]
