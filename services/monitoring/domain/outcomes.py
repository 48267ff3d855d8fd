"""Outcomes as the benchmark counts them (Table 4.7 of the Divosa report), the rules for recording
them, and the outcome state of a trajectory derived from what was recorded.

An outcome has a day, `on`: the day the situation was found; for work found (work_during,
work_after) the day the work started (`working_since`). Durability is a fact about time: a person
works durably once an observation says they still work on a day at least six full months after
the start (`six_months_after`). An observation is the registration of a work outcome itself (it
says "working" on the day it was registered) or a durability check that says still working. The
state is re-derived from all outcomes and checks on every change (`derive_state`), never frozen.

Final outcomes. One outcome says how the trajectory ended: `no_work_ended`, `unknown` dated on or
after the close, or `work_after` (work that started after the close). A trajectory has one; a
second is refused (`outcome.final_exists`), with one exception: work found after the end
(`work_after`) may follow a `no_work_ended` or `unknown`, once (the person found work later, which
Table 4.7 counts as work after the trajectory), starting after the day of that final outcome.
`work_ended` is never final: it follows work. A wrong final outcome cannot be withdrawn yet.

Plain Python: no session, no clock (the caller passes the day), no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from services.monitoring.domain.follow_up import FollowUpKind
from shared.clock import add_months
from shared.errors import Conflict, RuleBroken


class OutcomeKind(StrEnum):
    """The rows of Table 4.7: the first three count as outflow to work."""

    WORK_DURING = "work_during"
    WORK_AFTER = "work_after"
    WORK_ENDED = "work_ended"
    NO_WORK_RUNNING = "no_work_running"
    NO_WORK_ENDED = "no_work_ended"
    UNKNOWN = "unknown"


class KindOfWork(StrEnum):
    WORK_EXPERIENCE = "work_experience"
    SECONDMENT = "secondment"
    TRIAL_PLACEMENT = "trial_placement"
    PERMANENT_JOB = "permanent_job"
    TEMPORARY_JOB = "temporary_job"
    TEMP_AGENCY = "temp_agency"
    OWN_BUSINESS = "own_business"


WORKING = frozenset({OutcomeKind.WORK_DURING, OutcomeKind.WORK_AFTER})
# Outflow to work = the first three rows of Table 4.7.
OUTFLOW = frozenset({OutcomeKind.WORK_DURING, OutcomeKind.WORK_AFTER, OutcomeKind.WORK_ENDED})
NO_WORK = frozenset({OutcomeKind.NO_WORK_RUNNING, OutcomeKind.NO_WORK_ENDED})
# The kinds that may say how a trajectory ended (see "Final outcomes" above).
CLOSING = frozenset({OutcomeKind.WORK_AFTER, OutcomeKind.NO_WORK_ENDED, OutcomeKind.UNKNOWN})
DURABLE_MONTHS = 6
# Aftercare (nazorg) check-ins after a placement, months after the start of work.
AFTERCARE_MONTHS = (1, 3)


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end`: a month counts once its day is reached (31 January to
    28 February is 0, not 1 as `relativedelta` would say: the benchmark counts full months worked)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def is_durable(outcome: str, working_since: date | None, on: date) -> bool:
    """Durable outflow: still working, for at least six months."""
    return outcome in WORKING and working_since is not None and months_between(working_since, on) >= DURABLE_MONTHS


def six_months_after(working_since: date) -> date:
    """The first day on which work that started on `working_since` has lasted six full months
    (months_between ≥ 6): 15 August → 15 February, 31 August → 1 March (February has no 31st)."""
    same_day = add_months(working_since, DURABLE_MONTHS)
    if same_day.day == working_since.day:
        return same_day
    return same_day + timedelta(days=1)  # the month is too short: its last day + 1 is the 1st


# --- what is recorded ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    id: str
    plan_id: str
    client_id: str
    municipality: str
    outcome: OutcomeKind
    kind_of_work: KindOfWork | None
    working_since: date | None
    hours_per_week: int | None
    # At registration: whether that registration itself showed six months of work.
    durable: bool
    registered_by: str
    registered_at: datetime
    on: date  # the day the situation was found; for work found, working_since
    registered_on: date  # the Dutch calendar day of the registration (an observation of that day)


@dataclass(frozen=True)
class DurabilityCheck:
    """Whether the person still works, as asked on `checked_on` about a work outcome."""

    id: str
    plan_id: str
    outcome_id: str
    checked_on: date
    still_working: bool
    recorded_at: datetime


@dataclass(frozen=True)
class OutcomeState:
    """What the trajectory row keeps: the Table 4.7 row now (None: no outcome yet), the kind and
    start of the latest work, and whether any work was observed to last six months."""

    category: OutcomeKind | None = None
    kind_of_work: KindOfWork | None = None
    outflow_on: date | None = None
    durable: bool = False
    durable_outcomes: frozenset[str] = frozenset()  # ids of the work outcomes observed durable


def is_final(outcome: Outcome, closed_on: date | None) -> bool:
    """Whether the outcome says how the trajectory ended (see "Final outcomes")."""
    return closed_on is not None and outcome.outcome in CLOSING and outcome.on >= closed_on


def observed_durable(outcome: Outcome, checks: Iterable[DurabilityCheck]) -> bool:
    """Some observation says still working on a day at least six full months after the start."""
    if outcome.outcome not in WORKING or outcome.working_since is None:
        return False
    first_durable_day = six_months_after(outcome.working_since)
    days = [outcome.registered_on] + [c.checked_on for c in checks if c.outcome_id == outcome.id and c.still_working]
    return any(day >= first_durable_day for day in days)


def _by_day(outcome: Outcome) -> tuple[date, datetime, str]:
    return outcome.on, outcome.registered_at, outcome.id


def derive_state(outcomes: Sequence[Outcome], checks: Sequence[DurabilityCheck], *, closed: bool) -> OutcomeState:
    """The outcome state now, from every outcome and durability check of one trajectory:

    - category: the latest outcome by its day; work found (work_during/work_after) whose latest
      check says no longer working is `work_ended`; no work after earlier work is `work_ended`
      too (Table 4.7: "work during/after, no longer working"); `no_work_running` on a closed
      trajectory is `no_work_ended`. `unknown` stays unknown.
    - kind_of_work, outflow_on: of the latest outcome with a start of work (even if it ended).
    - durable: some work outcome observed durable (observed_durable): a later job loss does not
      undo it (Rotterdam counted durable reintegrations of people who no longer worked).
    """
    if not outcomes:
        return OutcomeState()
    ordered = sorted(outcomes, key=_by_day)
    latest = ordered[-1]
    category = latest.outcome
    if category in WORKING:
        own = [c for c in checks if c.outcome_id == latest.id]
        if own and not max(own, key=lambda c: (c.checked_on, c.recorded_at, c.id)).still_working:
            category = OutcomeKind.WORK_ENDED
    if category in NO_WORK and any(o.outcome in OUTFLOW for o in ordered[:-1]):
        category = OutcomeKind.WORK_ENDED
    if category == OutcomeKind.NO_WORK_RUNNING and closed:
        category = OutcomeKind.NO_WORK_ENDED
    started = [o for o in ordered if o.outcome in OUTFLOW and o.working_since is not None]
    durable = frozenset(o.id for o in ordered if observed_durable(o, checks))
    return OutcomeState(
        category=category,
        kind_of_work=started[-1].kind_of_work if started else None,
        outflow_on=started[-1].working_since if started else None,
        durable=bool(durable),
        durable_outcomes=durable,
    )


def category_on_close(category: str | None) -> str | None:
    """The row of a trajectory that closes: no work while it ran is no work after it ended."""
    return OutcomeKind.NO_WORK_ENDED.value if category == OutcomeKind.NO_WORK_RUNNING else category


# --- the rules -----------------------------------------------------------------------------------


def _refuse(code: str, field: str, en: str, nl: str) -> RuleBroken:
    return RuleBroken(f"outcome.{code}", en, field, message_nl=nl)


def _conflict(code: str, field: str, en: str, nl: str) -> Conflict:
    return Conflict(f"outcome.{code}", en, field, message_nl=nl)


def check_outcome(
    *,
    outcome: OutcomeKind,
    on: date | None,
    kind_of_work: KindOfWork | None,
    working_since: date | None,
    hours_per_week: int | None,
    started_on: date,
    closed_on: date | None,
    today: date,
    earlier: Sequence[Outcome],
) -> date:
    """Refuse an outcome that cannot be (naming the field, in English and Dutch); return its day."""
    if outcome not in OUTFLOW:
        for name, value in (("kind_of_work", kind_of_work), ("hours_per_week", hours_per_week)):
            if value is not None:
                raise _refuse(
                    "not_work",
                    name,
                    f"Only work has a {name.replace('_', ' ')}: leave it out for the outcome {outcome.value}.",
                    f"Alleen werk heeft een {'soort werk' if name == 'kind_of_work' else 'aantal uren per week'}:"
                    f" laat het weg bij de uitkomst {outcome.value}.",
                )
    if outcome in WORKING and working_since is None:
        raise _refuse(
            "working_since", "working_since", "Say since when the client works.", "Vul in sinds wanneer de klant werkt."
        )
    for name, day in (("working_since", working_since), ("on", on)):
        if day is not None and day > today:
            raise _refuse(
                "future",
                name,
                "The start of work cannot be in the future."
                if name == "working_since"
                else "The day of an outcome cannot be in the future.",
                "De start van het werk kan niet in de toekomst liggen."
                if name == "working_since"
                else "De datum van een uitkomst kan niet in de toekomst liggen.",
            )
        if day is not None and day < started_on:
            start = started_on.isoformat()
            raise _refuse(
                "before_trajectory",
                name,
                f"The start of work cannot lie before the trajectory started ({start})."
                if name == "working_since"
                else f"An outcome cannot be dated before the trajectory started ({start}).",
                f"Het werk kan niet zijn begonnen voor de start van het traject ({start})."
                if name == "working_since"
                else f"Een uitkomst kan niet van voor de start van het traject zijn ({start}).",
            )
    if outcome in WORKING and on is not None and on != working_since:
        raise _refuse(
            "on_is_working_since",
            "on",
            "For work found the day of the outcome is the day the work started: leave `on` out or make it"
            " working_since.",
            "Bij gevonden werk is de datum van de uitkomst de dag dat het werk begon: laat `on` weg of"
            " maak het gelijk aan working_since.",
        )
    day = working_since if outcome in WORKING and working_since is not None else (on or today)
    if outcome == OutcomeKind.WORK_ENDED and working_since is not None and working_since > day:
        raise _refuse(
            "ended_before_start",
            "working_since",
            "Work cannot have ended before it started.",
            "Werk kan niet zijn geëindigd voordat het begon.",
        )
    _check_against_close(outcome, day, working_since, closed_on)
    _check_one_final(outcome, day, closed_on, earlier)
    return day


def _check_against_close(outcome: OutcomeKind, day: date, working_since: date | None, closed_on: date | None) -> None:
    if outcome in (OutcomeKind.WORK_AFTER, OutcomeKind.NO_WORK_ENDED) and closed_on is None:
        raise _conflict(
            "trajectory_running",
            "outcome",
            f"The trajectory is still running: {outcome.value} is for after it ended.",
            f"Het traject loopt nog: {outcome.value} is voor na het einde ervan.",
        )
    if closed_on is None:
        return
    end = closed_on.isoformat()
    if outcome == OutcomeKind.WORK_AFTER and working_since is not None and working_since <= closed_on:
        raise _refuse(
            "work_after_before_close",
            "working_since",
            f"Work that started on or before the trajectory closed ({end}) is work during it (work_during).",
            f"Werk dat begon op of voor het einde van het traject ({end}) is werk tijdens het traject (work_during).",
        )
    if outcome == OutcomeKind.WORK_DURING and working_since is not None and working_since > closed_on:
        raise _refuse(
            "work_during_after_close",
            "working_since",
            f"Work that started after the trajectory closed ({end}) is work after it (work_after).",
            f"Werk dat begon na het einde van het traject ({end}) is werk na het traject (work_after).",
        )
    if outcome == OutcomeKind.NO_WORK_RUNNING and day > closed_on:
        raise _refuse(
            "running_after_close",
            "outcome",
            f"The trajectory closed on {end}: after that there is no work with the trajectory running;"
            " use no_work_ended.",
            f"Het traject is op {end} beëindigd: daarna is er geen 'geen werk, traject loopt nog';"
            " gebruik no_work_ended.",
        )
    if outcome == OutcomeKind.NO_WORK_ENDED and day < closed_on:
        raise _refuse(
            "ended_before_close",
            "on",
            f"No work after the trajectory ended is found on or after its close ({end}).",
            f"Geen werk na het traject stelt u vast op of na het einde ervan ({end}).",
        )


def _check_one_final(outcome: OutcomeKind, day: date, closed_on: date | None, earlier: Sequence[Outcome]) -> None:
    if closed_on is None or outcome not in CLOSING or day < closed_on:
        return
    finals = [o for o in earlier if is_final(o, closed_on)]
    later_work = outcome == OutcomeKind.WORK_AFTER and all(o.outcome != OutcomeKind.WORK_AFTER for o in finals)
    if finals and not later_work:
        raise _conflict(
            "final_exists",
            "outcome",
            f"This trajectory already has its final outcome ({finals[0].outcome.value} on"
            f" {finals[0].on.isoformat()}); a second one cannot be added.",
            f"Dit traject heeft al een einduitkomst ({finals[0].outcome.value} op {finals[0].on.isoformat()});"
            " een tweede kan er niet bij.",
        )
    if finals and day <= max(o.on for o in finals):
        said = max(o.on for o in finals).isoformat()
        raise _refuse(
            "work_before_final",
            "working_since",
            f"The final outcome says there was no (known) work on {said}: work found after the end starts"
            " after that day.",
            f"De einduitkomst zegt dat er op {said} geen (bekend) werk was: werk na het traject begint na die dag.",
        )


def check_durability_check(outcome: Outcome | None, *, checked_on: date, today: date) -> None:
    """A durability check is about work found on this trajectory, on a day from its start until today."""
    if outcome is None or outcome.outcome not in WORKING or outcome.working_since is None:
        raise RuleBroken(
            "durability_check.not_work",
            "Name an outcome of this trajectory that says the client found work (work_during or work_after).",
            "outcome_id",
            message_nl="Noem een uitkomst van dit traject waarin de klant werk vond (work_during of work_after).",
        )
    if checked_on > today:
        raise RuleBroken(
            "durability_check.future",
            "A check cannot be dated in the future.",
            "checked_on",
            message_nl="Een controle kan niet in de toekomst liggen.",
        )
    if checked_on < outcome.working_since:
        start = outcome.working_since.isoformat()
        raise RuleBroken(
            "durability_check.before_work",
            f"A check cannot be dated before the work started ({start}).",
            "checked_on",
            message_nl=f"Een controle kan niet van voor de start van het werk zijn ({start}).",
        )


def check_answers_the_question(outcome: Outcome, checked_on: date, still_working: bool) -> bool:
    """Whether a check settles the six-month question (its follow-up is done): the work ended, or
    it still goes on at six months or later. An earlier "still working" leaves the question open."""
    if outcome.working_since is None:
        return False
    return not still_working or checked_on >= six_months_after(outcome.working_since)


def follow_ups_for_work(outcome: Outcome, today: date) -> list[tuple[FollowUpKind, date]]:
    """When work starts: what to ask and when, as (kind, due_on): the durability check six months
    after the start (unless the registration already showed it), and aftercare check-ins 1 and 3
    months after it. Days already past are not planned (they would be overdue at once)."""
    if outcome.outcome not in WORKING or outcome.working_since is None:
        return []
    planned: list[tuple[FollowUpKind, date]] = []
    if not outcome.durable:
        planned.append((FollowUpKind.DURABILITY_CHECK, six_months_after(outcome.working_since)))
    for months in AFTERCARE_MONTHS:
        due = add_months(outcome.working_since, months)
        if due >= today:
            planned.append((FollowUpKind.AFTERCARE, due))
    return planned


def check_aftercare(*, on: date, started_on: date, today: date) -> None:
    """An aftercare check-in happened on a day from the trajectory's start until today."""
    if on > today:
        raise RuleBroken(
            "aftercare.future",
            "A check-in cannot be dated in the future.",
            "on",
            message_nl="Een nazorgcontact kan niet in de toekomst liggen.",
        )
    if on < started_on:
        raise RuleBroken(
            "aftercare.before_trajectory",
            f"A check-in cannot be dated before the trajectory started ({started_on.isoformat()}).",
            "on",
            message_nl=f"Een nazorgcontact kan niet van voor de start van het traject zijn ({started_on.isoformat()}).",
        )


def check_client_voice(*, step: str | None, plan_line_id: str | None, line_of_plan: bool) -> None:
    """The client's voice is about a step: named in words, or a line of this trajectory's plan."""
    if step is None and plan_line_id is None:
        raise RuleBroken(
            "client_voice.step",
            "Say which step this is about: in words (step) or as a line of the plan (plan_line_id).",
            "step",
            message_nl="Zeg over welke stap dit gaat: in woorden (step) of als regel van het plan (plan_line_id).",
        )
    if plan_line_id is not None and not line_of_plan:
        raise RuleBroken(
            "client_voice.plan_line",
            "This is not a line of this trajectory's plan.",
            "plan_line_id",
            message_nl="Dit is geen regel van het plan van dit traject.",
        )
