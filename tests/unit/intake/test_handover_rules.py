"""The warm hand-over's rules (domain/handovers.py): decided once, consent for exactly this, dates
that make sense, and exactly one way to say who the client is."""

from datetime import date

import pytest

from services.intake.domain.errors import DomainError
from services.intake.domain.handovers import (
    HandoverStatus,
    ensure_activity_dates,
    ensure_consent_date,
    ensure_handover_consent,
    ensure_one_way_to_the_client,
    ensure_pending,
    ensure_same_person,
)

TODAY = date(2026, 3, 2)


def refusal(call, *args) -> DomainError:
    with pytest.raises(DomainError) as refused:
        call(*args)
    return refused.value


def test_only_a_pending_handover_can_be_decided():
    ensure_pending(HandoverStatus.PENDING)
    for status in (HandoverStatus.ACCEPTED, HandoverStatus.DECLINED, HandoverStatus.SENT):
        error = refusal(ensure_pending, status.value)
        assert error.status == 409 and error.code == "handover.already_decided" and error.message_nl


def test_a_municipality_hands_over_only_with_the_clients_consent_for_it():
    ensure_handover_consent(True)
    error = refusal(ensure_handover_consent, False)
    assert (error.status, error.code, error.field) == (422, "handover.no_consent", "partner_kvk")


def test_a_consent_dated_after_today_is_refused_and_today_is_fine():
    ensure_consent_date(TODAY, TODAY)
    assert refusal(ensure_consent_date, date(2026, 3, 3), TODAY).field == "consent.given_on"


def test_an_activity_so_far_cannot_start_in_the_future_or_end_before_it_started():
    ensure_activity_dates(date(2025, 1, 1), None, TODAY, 0)
    ensure_activity_dates(date(2025, 1, 1), date(2025, 1, 1), TODAY, 0)
    assert refusal(ensure_activity_dates, date(2026, 4, 1), None, TODAY, 2).field == (
        "trajectory.activities[2].started_on"
    )
    assert refusal(ensure_activity_dates, date(2025, 2, 1), date(2025, 1, 1), TODAY, 1).field == (
        "trajectory.activities[1].ended_on"
    )


@pytest.mark.parametrize(
    ("matched", "named", "registers"),
    [("c1", None, False), ("c1", "c1", False), (None, "c2", False), (None, None, True)],
)
def test_one_way_to_the_client_is_accepted(matched, named, registers):
    ensure_one_way_to_the_client(matched, named, registers)


@pytest.mark.parametrize(
    ("matched", "named", "registers", "code", "field"),
    [
        ("c1", "c2", False, "handover.client_known", "client_id"),
        ("c1", None, True, "handover.client_known", "new_client"),
        (None, "c2", True, "handover.client_twice", "new_client"),
        (None, None, False, "handover.client_required", "new_client"),
    ],
)
def test_none_or_two_ways_to_the_client_are_refused_naming_the_field(matched, named, registers, code, field):
    error = refusal(ensure_one_way_to_the_client, matched, named, registers)
    assert (error.code, error.field) == (code, field) and error.message_nl


def test_linking_a_client_needs_the_same_person():
    ensure_same_person(True)
    assert refusal(ensure_same_person, False).code == "handover.bsn_mismatch"
