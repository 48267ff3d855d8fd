"""OrientationPhase.remind_if_ending: a running phase ending within the lead time (today
included), with no plan submitted, says OrientationEndingSoon once."""

from __future__ import annotations

from datetime import date

from contracts.events import OrientationEndingSoonV1
from services.intake.domain.client import OrientationPhase, OrientationStatus

ENDS_ON = date(2026, 6, 2)


def _phase(**kwargs) -> OrientationPhase:
    return OrientationPhase("o-1", "c-1", "prb", date(2026, 3, 2), ENDS_ON, 0, **kwargs)


def test_a_phase_ending_within_the_lead_time_is_reminded_of_once():
    phase = _phase()
    assert not phase.remind_if_ending(date(2026, 5, 18), 14, plan_submitted=False)  # fifteen days
    assert phase.remind_if_ending(date(2026, 5, 19), 14, plan_submitted=False)
    assert not phase.remind_if_ending(ENDS_ON, 14, plan_submitted=False)  # once
    assert phase.reminded
    assert phase.events == [OrientationEndingSoonV1(orientation_id="o-1", client_id="c-1", ends_on=ENDS_ON)]


def test_a_phase_with_a_submitted_plan_or_over_is_not_reminded_of():
    assert not _phase().remind_if_ending(date(2026, 5, 30), 14, plan_submitted=True)
    assert not _phase().remind_if_ending(date(2026, 6, 3), 14, plan_submitted=False)  # past its end
    assert not _phase(status=OrientationStatus.ENDED).remind_if_ending(date(2026, 5, 30), 14, plan_submitted=False)
    assert not _phase(reminded=True).remind_if_ending(date(2026, 5, 30), 14, plan_submitted=False)
