"""The warm hand-over between UWV and the municipality (iro, issue 13), the rules.

The report (3.3) calls the chain between municipality and UWV on the werkplein the first joint
scheme: UWV's clients (WW, WIA, Wajong) choose their own reintegration company under the iro; when
such a client comes to the municipality (the benefit ends, they apply for social assistance) or a
municipal client goes to UWV, a *warm* hand-over passes on what was done so far, with the client's
consent, instead of starting again from nothing.

Two directions:
- `to_municipality`: a partner application (UWV) sends a hand-over; the municipality's case manager
  accepts it (links the client, or registers them, and records the consent the client gave at UWV
  for that partner with purpose `warm_handover`) or declines it with a reason code.
- `to_partner`: a case manager hands a client to a partner, only while the client has an active
  consent for that partner with purpose `warm_handover`; the partner reads it while that consent
  lasts (a withdrawal ends its access at once).

Plain Python: no session, no clock of its own.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from shared.errors import Conflict, RuleBroken


class HandoverDirection(StrEnum):
    TO_MUNICIPALITY = "to_municipality"  # UWV -> municipality
    TO_PARTNER = "to_partner"  # municipality -> UWV (or another partner)


class HandoverStatus(StrEnum):
    PENDING = "pending"  # sent by the partner, not yet decided by the municipality
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SENT = "sent"  # a municipality's hand-over to a partner: there to read while the consent lasts


class HandoverReason(StrEnum):
    """Why a client is handed over (a code, never free text about the person)."""

    UWV_BENEFIT_ENDING = "uwv_benefit_ending"  # WW/WIA/Wajong ends; social assistance is asked for
    JOB_SEEKER_WITHOUT_BENEFIT = "job_seeker_without_benefit"  # a NUG registered at UWV
    IRO_ENDED_WITHOUT_WORK = "iro_ended_without_work"  # the iro trajectory ended, no work yet
    UWV_BENEFIT_STARTING = "uwv_benefit_starting"  # a municipal client gets a UWV benefit
    EMPLOYER_SERVICES = "employer_services"  # the werkplein's joint employer services take over
    OTHER = "other"


class DeclineReason(StrEnum):
    NOT_RESIDENT = "not_resident"  # the person lives in another municipality
    NOT_ENTITLED = "not_entitled"  # no social assistance and no registration as a job seeker
    DUPLICATE = "duplicate"  # the same person handed over twice
    INCOMPLETE = "incomplete"  # too little to go on; UWV may send it again
    OTHER = "other"


class ActivityResult(StrEnum):
    COMPLETED = "completed"
    STOPPED = "stopped"
    RUNNING = "running"


def ensure_pending(status: str) -> None:
    """Only a pending hand-over can be accepted or declined, once."""
    if status != HandoverStatus.PENDING:
        raise Conflict(
            "handover.already_decided",
            f"This hand-over is {status} already; only a pending one can be accepted or declined.",
            message_nl="Over deze overdracht is al beslist; alleen een openstaande overdracht kan worden "
            "geaccepteerd of afgewezen.",
        )


def ensure_consent_date(given_on: date, today: date) -> None:
    if given_on > today:
        raise RuleBroken(
            "handover.consent_in_future",
            "The client's consent cannot be dated after today.",
            "consent.given_on",
            message_nl="De toestemming van de klant kan niet na vandaag gedateerd zijn.",
        )


def ensure_activity_dates(started_on: date, ended_on: date | None, today: date, index: int) -> None:
    if started_on > today:
        raise RuleBroken(
            "handover.activity_in_future",
            "An activity of the trajectory so far cannot start after today.",
            f"trajectory.activities[{index}].started_on",
            message_nl="Een activiteit van het traject tot nu toe kan niet na vandaag begonnen zijn.",
        )
    if ended_on is not None and ended_on < started_on:
        raise RuleBroken(
            "handover.activity_ends_before_start",
            "An activity cannot end before it started.",
            f"trajectory.activities[{index}].ended_on",
            message_nl="Een activiteit kan niet eindigen voordat hij begon.",
        )


def ensure_handover_consent(has_consent: bool) -> None:
    """A municipality hands a client to a partner only with the client's consent for exactly that."""
    if not has_consent:
        raise RuleBroken(
            "handover.no_consent",
            "The client has no active consent for this partner with purpose warm_handover.",
            "partner_kvk",
            message_nl="De klant heeft deze partner geen toestemming gegeven voor een warme overdracht "
            "(doel warm_handover).",
        )


def ensure_one_way_to_the_client(matched_client: str | None, named_client: str | None, registers: bool) -> None:
    """Accepting links the client the BSN already matched, or the one named, or registers a new one:
    exactly one of these."""
    if matched_client is not None and (registers or (named_client not in (None, matched_client))):
        raise RuleBroken(
            "handover.client_known",
            "This person is a client already (matched by BSN); accept without client_id or new_client.",
            "client_id" if named_client else "new_client",
            message_nl="Deze persoon is al klant (gevonden op BSN); accepteer zonder client_id of new_client.",
        )
    if named_client is not None and registers:
        raise RuleBroken(
            "handover.client_twice",
            "Name an existing client (client_id) or register a new one (new_client), not both.",
            "new_client",
            message_nl="Noem een bestaande klant (client_id) of schrijf een nieuwe in (new_client), niet allebei.",
        )
    if matched_client is None and named_client is None and not registers:
        raise RuleBroken(
            "handover.client_required",
            "This person is not a client yet: register them (new_client) or name their client (client_id).",
            "new_client",
            message_nl="Deze persoon is nog geen klant: schrijf hem of haar in (new_client) of noem de klant "
            "(client_id).",
        )


def ensure_same_person(matches: bool) -> None:
    if not matches:
        raise RuleBroken(
            "handover.bsn_mismatch",
            "This client's BSN is not the BSN in the hand-over.",
            "client_id",
            message_nl="Het BSN van deze klant is niet het BSN in de overdracht.",
        )
