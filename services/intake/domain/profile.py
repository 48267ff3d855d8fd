"""The coarse statistical profile of a client at the start of a trajectory (the benchmark's Table
4.1): categories only, so that monitoring never needs a birth date or an exact duration."""

from __future__ import annotations

from datetime import date
from typing import Any

from contracts.events import TrajectoryProfiledV1

BENEFITS = {"WWB": "wwb", "NUG": "nug"}


def age_band(date_of_birth: date | None, on: date) -> str:
    if date_of_birth is None:
        return "unknown"
    age = on.year - date_of_birth.year - ((on.month, on.day) < (date_of_birth.month, date_of_birth.day))
    return "under_35" if age < 35 else "35_44" if age < 45 else "45_plus"


def benefit_duration(benefit_type: str, months_on_benefit: int | None) -> str:
    """Months on benefit at the start: under one year, one to three years, over three years; a job
    seeker without benefit (NUG) has none."""
    if benefit_type == "NUG":
        return "none"
    if months_on_benefit is None:
        return "unknown"
    return "under_1y" if months_on_benefit < 12 else "1_3y" if months_on_benefit <= 36 else "over_3y"


def trajectory_profile(
    *, plan_id: str, client_id: str, benefit_type: str, date_of_birth: date | None, facts: dict[str, Any], on: date
) -> TrajectoryProfiledV1:
    return TrajectoryProfiledV1(
        plan_id=plan_id,
        client_id=client_id,
        benefit=BENEFITS.get(benefit_type, "other"),
        gender=facts.get("gender") or "unknown",
        age_band=age_band(date_of_birth, on),
        benefit_duration=benefit_duration(benefit_type, facts.get("months_on_benefit")),
        education=facts.get("education") or "unknown",
    )
