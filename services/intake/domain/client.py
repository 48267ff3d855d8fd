"""Clients and their orientation phase: what registering and starting an orientation decide,
and the events they cause. Plain Python; the caller passes today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from contracts.events import ClientRegisteredV1, OrientationEndingSoonV1, OrientationStartedV1, Payload
from services.intake.domain.errors import Conflict, RuleBroken
from services.intake.domain.policy import MunicipalPolicy
from shared.clock import add_months


class OrientationStatus(StrEnum):
    RUNNING = "running"
    ENDED = "ended"


def ensure_scheme_offered(policy: MunicipalPolicy, scheme: str) -> None:
    if not policy.offers(scheme):
        offered = ", ".join(s.scheme.value for s in policy.schemes)
        raise RuleBroken(
            "client.scheme_not_offered",
            f"{policy.municipality_name} does not offer the scheme {scheme}; it offers: {offered}.",
            "scheme",
            message_nl=f"{policy.municipality_name} biedt de regeling {scheme} niet aan; wel: {offered}.",
        )


# Nobody on the caseload was born before this day; an earlier one is a typing error.
EARLIEST_BIRTH = date(1900, 1, 1)


def ensure_plausible_birth(date_of_birth: date | None, today: date) -> None:
    """A date of birth lies in the past, not before 1900 (the benchmark's age band comes from it)."""
    if date_of_birth is not None and not EARLIEST_BIRTH <= date_of_birth < today:
        raise RuleBroken(
            "client.date_of_birth",
            "A date of birth lies in the past, and not before 1900.",
            "date_of_birth",
            message_nl="Een geboortedatum ligt in het verleden, en niet voor 1900.",
        )


def ensure_contact_happened(contacted_on: date, today: date) -> None:
    if contacted_on > today:
        raise RuleBroken(
            "contact.in_future",
            "A contact cannot be recorded before it happened.",
            "contacted_on",
            message_nl="U kunt een contact pas vastleggen als het geweest is.",
        )


def ensure_objection_date(lodged_on: date, decided_on: date, today: date) -> None:
    if lodged_on < decided_on or lodged_on > today:
        raise RuleBroken(
            "objection.lodged_on",
            "The objection date lies between the decision and today.",
            "lodged_on",
            message_nl="De datum van het bezwaar ligt tussen het besluit en vandaag.",
        )


@dataclass
class ClientRegistration:
    """A new client of the municipality, in a scheme it offers."""

    id: str
    municipality: str
    scheme: str
    events: list[Payload] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def register(cls, client_id: str, municipality: str, scheme: str, policy: MunicipalPolicy) -> ClientRegistration:
        ensure_scheme_offered(policy, scheme)
        client = cls(client_id, municipality, scheme)
        client.events.append(ClientRegisteredV1(client_id=client_id))
        return client


@dataclass
class OrientationPhase:
    """The orientation phase before a plan: the policy's length, and its orientation budget if any."""

    id: str
    client_id: str
    scheme: str
    starts_on: date
    ends_on: date
    budget_cents: int
    status: str = OrientationStatus.RUNNING
    # Told once that it ends soon (OrientationEndingSoon), by the daily scan.
    reminded: bool = False
    events: list[Payload] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def start(
        cls,
        orientation_id: str,
        client_id: str,
        scheme: str,
        policy: MunicipalPolicy,
        starts_on: date,
        *,
        already_running: bool,
    ) -> OrientationPhase:
        if not policy.orientation.enabled or policy.orientation.months == 0:
            raise Conflict(
                "orientation.not_offered",
                f"{policy.municipality_name} has no orientation phase.",
                "orientation",
                message_nl=f"{policy.municipality_name} heeft geen oriëntatiefase.",
            )
        ensure_scheme_offered(policy, scheme)
        if already_running:
            raise Conflict(
                "orientation.already_running",
                "This client's orientation phase is already running.",
                "client_id",
                message_nl="De oriëntatiefase van deze klant loopt al.",
            )
        phase = cls(
            orientation_id,
            client_id,
            scheme,
            starts_on,
            add_months(starts_on, policy.orientation.months),
            policy.orientation.budget.cents,
        )
        phase.events.append(
            OrientationStartedV1(
                orientation_id=orientation_id,
                client_id=client_id,
                scheme=scheme,
                ends_on=phase.ends_on,
                budget_cents=phase.budget_cents,
            )
        )
        return phase

    def remind_if_ending(self, today: date, lead_days: int, *, plan_submitted: bool) -> bool:
        """The daily scan: a running phase that ends within `lead_days` (today included), with no
        plan submitted for the client since it started, says OrientationEndingSoon once."""
        if self.reminded or self.status != OrientationStatus.RUNNING or plan_submitted:
            return False
        if not today <= self.ends_on <= today + timedelta(days=lead_days):
            return False
        self.reminded = True
        self.events.append(
            OrientationEndingSoonV1(orientation_id=self.id, client_id=self.client_id, ends_on=self.ends_on)
        )
        return True

    def end_if_over(self, today: date) -> bool:
        """The daily job: a running phase past its last day ends."""
        if self.status != OrientationStatus.RUNNING or self.ends_on >= today:
            return False
        self.status = OrientationStatus.ENDED
        return True
