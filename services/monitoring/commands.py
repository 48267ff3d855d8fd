"""Monitoring's commands, one function each: authorise, load the trajectory, ask it, store it,
emit the events it recorded, commit."""

from __future__ import annotations

import uuid

from services.monitoring import repository
from services.monitoring.domain.trajectory import Trajectory
from services.monitoring.models import OutcomeCreate, OutcomePublic, ProgressReportCreate, ProgressReportPublic
from services.monitoring.permissions import Action, authorize
from shared.auth import Principal
from shared.uow import UnitOfWork


def _emit_recorded(uow: UnitOfWork, trajectory: Trajectory) -> None:
    for payload in trajectory.events:
        uow.emit(payload=payload, tenant=trajectory.municipality, subject=trajectory.plan_id)
    trajectory.events.clear()


def file_progress_report(
    uow: UnitOfWork, who: Principal, plan_id: str, data: ProgressReportCreate
) -> ProgressReportPublic:
    authorize(who, Action.FILE_PROGRESS_REPORT)
    trajectory = repository.visible_trajectory(uow.session, who, plan_id, lock=True)
    report = trajectory.report_progress(
        report_id=str(uuid.uuid4()),
        by=who.subject,
        by_role=who.role.value,
        on_track=data.on_track,
        summary=data.summary,
        at=uow.clock.now(),
    )
    row = repository.add_progress_report(uow.session, report)
    repository.save(uow.session, trajectory)
    _emit_recorded(uow, trajectory)
    uow.commit()
    return ProgressReportPublic.model_validate(row, from_attributes=True)


def register_outcome(uow: UnitOfWork, who: Principal, plan_id: str, data: OutcomeCreate) -> OutcomePublic:
    authorize(who, Action.REGISTER_OUTCOME)
    trajectory = repository.visible_trajectory(uow.session, who, plan_id)
    outcome = trajectory.register_outcome(
        outcome_id=str(uuid.uuid4()),
        outcome=data.outcome,
        kind_of_work=data.kind_of_work,
        working_since=data.working_since,
        hours_per_week=data.hours_per_week,
        by=who.subject,
        at=uow.clock.now(),
        today=uow.clock.today(),
    )
    row = repository.add_outcome(uow.session, outcome)
    _emit_recorded(uow, trajectory)
    uow.commit()
    return OutcomePublic.model_validate(row, from_attributes=True)
