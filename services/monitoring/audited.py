"""What monitoring's audit trail records of a trajectory's changes (shared.audit.record_change
masks personal fields and free text by name: a report's summary, a note, what a step brought).

Commands record in their own unit of work, as `who` did it; the event handlers that start, change
and close a trajectory record as the service itself (shared.audit.system_principal), in the
consumer's unit of work: one insert more in a transaction that is written anyway.
"""

from __future__ import annotations

from typing import Any

from services.monitoring.domain.trajectory import Trajectory
from shared import audit
from shared.auth import Principal
from shared.uow import UnitOfWork

# The trajectory's fields a record compares: its state, money and dates, the outcome state.
_TRAJECTORY_FIELDS = (
    "kind",
    "status",
    "scheme",
    "started_on",
    "execution_deadline",
    "granted_cents",
    "closed_on",
    "close_reason",
    "outcome_category",
    "kind_of_work",
    "outflow_on",
    "durable",
)
# The registration form: the provisions say what help the person gets (debt counselling, health
# care, victim support): masked, so the record shows that they changed, not to what.
REGISTRATION_SECRET = audit.MASKED_FIELDS | {"provisions"}


def audited_trajectory(trajectory: Trajectory) -> dict[str, Any]:
    fields = {f"trajectory.{name}": getattr(trajectory, name) for name in _TRAJECTORY_FIELDS}
    return {"plan_id": trajectory.plan_id, **fields}


def record(
    uow: UnitOfWork,
    who: Principal | None,
    trajectory: Trajectory,
    action: audit.AuditAction,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    secret: frozenset[str] = audit.MASKED_FIELDS,
) -> None:
    """One record of a change to the trajectory's client's data; `who` None: the service itself."""
    actor = who or audit.system_principal("monitoring", trajectory.municipality)
    audit.record_change(uow, actor, trajectory.client_id, action, old=old, new=new, secret=secret)
