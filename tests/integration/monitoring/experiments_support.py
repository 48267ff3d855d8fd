"""Trajectories written straight into monitoring's table, for the experiment and export tests: the
outcome state (outcome_category, outflow_on, ...) as the outcome commands would leave it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlmodel import Session

from services.monitoring.models import Trajectory
from shared.runtime import Runtime


def add_trajectory(runtime: Runtime, client_id: str, *, municipality: str = "0014", **fields: Any) -> str:
    plan_id = fields.pop("plan_id", None) or str(uuid.uuid4())
    values: dict[str, Any] = {
        "scheme": "prb",
        "started_on": date(2026, 3, 2),
        "execution_deadline": date(2027, 3, 2),
        **fields,
    }
    with Session(runtime.engine) as session:
        session.add(Trajectory(plan_id=plan_id, municipality=municipality, client_id=client_id, **values))
        session.commit()
    return plan_id


def set_outcome(runtime: Runtime, plan_id: str, category: str | None) -> None:
    with Session(runtime.engine) as session:
        row = session.get(Trajectory, plan_id)
        assert row is not None
        row.outcome_category = category
        session.add(row)
        session.commit()
