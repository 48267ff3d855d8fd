"""Monitoring's commands, one function each: authorise, load the trajectory, ask it, store it,
emit the events it recorded, commit. Each area keeps its own: progress.py and
progress_planning.py (reports, schedules, conversations, milestones, time), outcomes.py, ..."""

from __future__ import annotations

from services.monitoring.domain.trajectory import Trajectory
from shared.uow import UnitOfWork


def _emit_recorded(uow: UnitOfWork, trajectory: Trajectory) -> None:
    for payload in trajectory.events:
        uow.emit(payload=payload, tenant=trajectory.municipality, subject=trajectory.plan_id)
    trajectory.events.clear()
