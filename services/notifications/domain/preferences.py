"""A person's wishes for messages: which channels, which language, and quiet hours. Plain Python:
the caller gives the moment (`uow.clock`), these rules say what may go out then.

Quiet hours are Dutch local time, from `quiet_from` to `quiet_until` (over midnight when from >
until). An SMS never goes out in them (and never at night, 21:00 to 08:00, whatever is set); a
mail waits until they end only when `hold_mail` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.notifications.domain.delivery import Channel

NETHERLANDS = ZoneInfo("Europe/Amsterdam")
NIGHT = (time(21, 0), time(8, 0))  # no SMS at night, for everyone


@dataclass(frozen=True)
class Preferences:
    email: bool = True
    sms: bool = False
    language: str | None = None  # None: the language intake knows
    quiet_from: time | None = None
    quiet_until: time | None = None
    hold_mail: bool = False

    def wants(self, channel: Channel) -> bool:
        return {Channel.IN_APP: True, Channel.EMAIL: self.email, Channel.SMS: self.sms}[channel]

    def send_at(self, channel: Channel, now: datetime) -> datetime:
        """The first moment from `now` this channel may deliver: `now` itself, or the end of the quiet time."""
        windows: list[tuple[time, time]] = []
        if channel == Channel.SMS:
            windows.append(NIGHT)
        held = channel == Channel.SMS or (channel == Channel.EMAIL and self.hold_mail)
        start, end = self.quiet_from, self.quiet_until
        if held and start is not None and end is not None and start != end:
            windows.append((start, end))
        at = now
        for _ in range(len(windows) + 1):  # a window may end inside another: move on until none holds
            ends = [until for window in windows if (until := _end_of(window, at)) is not None]
            if not ends:
                return at
            at = max(ends)
        return at


def _end_of(window: tuple[time, time], moment: datetime) -> datetime | None:
    """When the quiet window holding `moment` ends (aware, in the moment's zone), or None when outside it."""
    start, end = window
    local = moment.astimezone(NETHERLANDS)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if (start < end or clock < end) else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=NETHERLANDS).astimezone(moment.tzinfo)
