"""The statistical profile intake sends at the start of a trajectory: the report's Table 4.1 bands."""

from __future__ import annotations

from datetime import date

import pytest

from services.intake.domain.profile import age_band, benefit_duration, trajectory_profile


@pytest.mark.parametrize(
    "born,band",
    [
        (date(1991, 12, 3), "under_35"),  # 34 until tomorrow
        (date(1991, 12, 2), "35_44"),  # 35 today
        (date(1981, 12, 3), "35_44"),
        (date(1981, 12, 2), "45_plus"),
        (None, "unknown"),
    ],
)
def test_the_age_band_counts_birthdays_on_the_day(born, band):
    assert age_band(born, date(2026, 12, 2)) == band


@pytest.mark.parametrize(
    "benefit,months,band",
    [
        ("WWB", 11, "under_1y"),
        ("WWB", 12, "1_3y"),
        ("WWB", 36, "1_3y"),
        ("WWB", 37, "over_3y"),
        ("WWB", None, "unknown"),
        ("NUG", None, "none"),
    ],
)
def test_months_on_benefit_fall_in_the_reports_three_bands(benefit, months, band):
    assert benefit_duration(benefit, months) == band


def test_the_profile_carries_categories_only():
    profile = trajectory_profile(
        plan_id="p",
        client_id="c",
        benefit_type="WW",
        date_of_birth=date(1990, 1, 1),
        facts={"gender": "other", "months_on_benefit": 2, "bsn": "111222333"},
        on=date(2026, 12, 2),
    )
    assert profile.model_dump() == {
        "plan_id": "p",
        "client_id": "c",
        "benefit": "other",
        "gender": "other",
        "age_band": "35_44",
        "benefit_duration": "under_1y",
        "education": "unknown",
    }
