"""Monitoring's scheduled work. Every job has one signature, `(uow) -> int` (how many it
handled), and takes time from `uow.clock`; service.py schedules them."""

from __future__ import annotations

from services.monitoring import repository
from shared.uow import UnitOfWork


def flag_overdue_reports(uow: UnitOfWork) -> int:
    """Daily: flag running plan trajectories whose last progress report (or start) is too long
    ago (domain/trajectory.py REPORT_INTERVAL), so the case manager sees them (`?overdue=true`)."""
    now, today = uow.clock.now(), uow.clock.today()
    flagged = 0
    for trajectory in repository.running_plans(uow.session):
        if trajectory.report_is_overdue(now, today):
            trajectory.flag_report_overdue()
            repository.save(uow.session, trajectory)
            flagged += 1
    uow.commit()
    return flagged
