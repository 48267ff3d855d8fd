"""Time as a dependency: services ask the clock of their unit of work, never the system.

The composition root wires in `SystemClock`; tests freeze time with `FrozenClock`. The
municipality's calendar day is the day in the Netherlands, whatever the host's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

NETHERLANDS = ZoneInfo("Europe/Amsterdam")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...

    def today(self) -> date:
        """Today's date in the Netherlands."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().astimezone(NETHERLANDS).date()


@dataclass
class FrozenClock:
    """A clock that stands still until a test moves it. With a `tick`, every `now()` is that much
    after the last, so rows written one after the other keep their order by time."""

    instant: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    tick: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("a frozen clock needs an aware instant")

    @classmethod
    def on(cls, day: date, hour: int = 9, *, tick: timedelta = timedelta(0)) -> FrozenClock:
        return cls(datetime(day.year, day.month, day.day, hour, tzinfo=NETHERLANDS).astimezone(UTC), tick)

    def now(self) -> datetime:
        self.instant += self.tick
        return self.instant

    def today(self) -> date:
        return self.instant.astimezone(NETHERLANDS).date()

    def advance(self, delta: timedelta | relativedelta) -> None:
        self.instant = self.instant + delta


SYSTEM_CLOCK: Clock = SystemClock()


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 January + 1 month = 28/29 February)."""
    return day + relativedelta(months=months)
