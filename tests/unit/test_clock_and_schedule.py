from datetime import UTC, date, datetime, timedelta

import pytest
from celery.schedules import crontab

from eigenregie.bootstrap import load_all_services
from shared.bus.celery_app import beat_schedule
from shared.clock import FrozenClock, SystemClock, add_months
from shared.config import Settings
from shared.runtime import Daily, Every, seconds_until_next


def test_today_is_the_dutch_date_even_when_utc_is_still_yesterday():
    # 23:30 UTC on 31 March is 01:30 on 1 April in Amsterdam (summer time).
    clock = FrozenClock(datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    assert clock.today() == date(2026, 4, 1)


def test_a_frozen_clock_stands_still_until_moved():
    clock = FrozenClock.on(date(2026, 6, 1))
    before = clock.now()
    assert clock.now() == before
    clock.advance(timedelta(days=2))
    assert clock.today() == date(2026, 6, 3)


def test_a_frozen_clock_needs_an_aware_instant():
    with pytest.raises(ValueError, match="aware"):
        FrozenClock(datetime(2026, 1, 1))


def test_the_system_clock_answers_in_utc():
    assert SystemClock().now().utcoffset() == timedelta(0)


@pytest.mark.parametrize("day,months,expected", [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),
    (date(2026, 11, 15), 3, date(2027, 2, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
])
def test_add_months_keeps_the_day_or_takes_the_last_of_the_month(day, months, expected):
    assert add_months(day, months) == expected


def test_a_daily_job_waits_until_the_configured_dutch_hour():
    # 05:00 in Amsterdam in winter is 04:00 UTC; the job at 06:00 is an hour away.
    now = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
    assert seconds_until_next(Daily(), now, default_hour=6) == 3600
    # Just after the hour: tomorrow.
    assert seconds_until_next(Daily(), now + timedelta(hours=1, seconds=1), default_hour=6) == 24 * 3600 - 1
    assert seconds_until_next(Daily(hour=5), now, default_hour=6) == 24 * 3600
    assert seconds_until_next(Every(90.0), now, default_hour=6) == 90.0


def test_beat_runs_daily_jobs_on_a_crontab_at_the_configured_hour_and_the_rest_by_interval():
    schedule = beat_schedule(load_all_services(), Settings(daily_jobs_hour=3))
    daily = [entry for entry in schedule.values() if isinstance(entry["schedule"], crontab)]
    assert daily, "the daily jobs are on a crontab"
    assert all(entry["schedule"].hour == {3} and entry["schedule"].minute == {0} for entry in daily)
    assert {name.split(".")[0] for name in schedule} == {"intake", "budget", "monitoring", "notifications"}
    assert all(entry["options"]["queue"] == name.split(".")[0] for name, entry in schedule.items())
    assert "budget.prune_bus_tables" in schedule and isinstance(schedule["budget.prune_bus_tables"]["schedule"],
                                                                 crontab)
