"""Notifications' scheduled work. Every job has one signature, `(uow) -> int` (how many it
handled), and takes time from `uow.clock`; service.py schedules them.

None of its own yet (the bus tables are pruned by shared.bus.maintenance.prune_job). Issue 11
puts reminders at a due hour and the quiet-hours delivery here.
"""

from __future__ import annotations
