"""What a research export may hold: one row per plan trajectory, no one named.

- No client id, no plan id, no BSN, no name, no exact date. A trajectory is known by a pseudonym:
  HMAC-SHA256 of its plan id under a random key made for this one export and never kept
  (`Pseudonyms`), truncated to 16 hex characters (64 bits). Within one export the same plan has
  the same pseudonym; two exports cannot be linked to each other or back to the plan.
- Dates are coarsened to the month (`month`, "YYYY-MM").
- The columns are fixed here (`COLUMNS`, name and kind); the writer (research_export.py) turns
  the kinds into CSV text and typed Parquet columns.

Plain Python: no session, no clock; the key comes from the caller (secrets in the command, a
fixed key in a test).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.monitoring.domain.outcomes import OutcomeKind

PSEUDONYM_LENGTH = 16  # hex characters: 64 bits, no collision to expect in a municipality's trajectories
KEY_BYTES = 32


class Kind(StrEnum):
    TEXT = "text"  # a category or a code; empty when not recorded
    MONTH = "month"  # "YYYY-MM"
    FLAG = "flag"  # true/false
    FLAG_OR_NONE = "flag_or_none"  # true/false, empty when not recorded
    COUNT = "count"  # a whole number
    EUROS = "euros"  # an amount in euros with two decimals (from integer cents)


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    description: str


SOFT = ("motivation", "self_reliance", "self_awareness", "initiative", "social_skills", "realistic_self_image")
PROVISIONS = ("debt_counselling", "special_assistance", "childcare", "victim_support", "health_provisions")

COLUMNS: tuple[Column, ...] = (
    Column("pseudonym", Kind.TEXT, "This trajectory within this export only (HMAC of the plan id, key not kept)."),
    Column("municipality", Kind.TEXT, "CBS municipality code."),
    Column("scheme", Kind.TEXT, "The scheme of the plan."),
    Column("benefit", Kind.TEXT, "wwb | nug | other | unknown, at the start."),
    Column("gender", Kind.TEXT, "female | male | other | unknown."),
    Column("age_band", Kind.TEXT, "under_35 | 35_44 | 45_plus | unknown, at the start."),
    Column("benefit_duration", Kind.TEXT, "under_1y | 1_3y | over_3y | none | unknown, at the start."),
    Column("education", Kind.TEXT, "low | middle | high | unknown."),
    *(Column(name, Kind.TEXT, "more | same | less than an average client; empty: not recorded.") for name in SOFT),
    Column("provisions_recorded", Kind.FLAG, "Whether the case manager recorded the co-occurring provisions."),
    *(Column(name, Kind.FLAG_OR_NONE, "A co-occurring provision; empty: not recorded.") for name in PROVISIONS),
    Column("contact_hours", Kind.TEXT, "more | average | less than a regular trajectory; empty: not recorded."),
    Column("start_month", Kind.MONTH, "The month the trajectory started."),
    Column("close_month", Kind.MONTH, "The month it closed; empty while running."),
    Column("status", Kind.TEXT, "running | closed."),
    Column("outcome_category", Kind.TEXT, "The row of Table 4.7."),
    Column("kind_of_work", Kind.TEXT, "The kind of work found; empty without work."),
    Column("outflow_month", Kind.MONTH, "The month the work started; empty without work."),
    Column("durable", Kind.FLAG, "Durable outflow: working six months or more, as last checked."),
    Column("granted_euros", Kind.EUROS, "The granted budget."),
    Column("paid_euros", Kind.EUROS, "Paid out, incl. VAT."),
    Column("case_minutes", Kind.COUNT, "Case-manager minutes on this trajectory."),
    Column("experiment_group", Kind.TEXT, "The client's group in the experiment; empty: not a participant."),
)
NAMES = tuple(c.name for c in COLUMNS)
# What an export must never hold, whatever a later column is called (checked by the tests too).
FORBIDDEN = frozenset({"plan_id", "client_id", "bsn", "name", "started_on", "closed_on", "outflow_on", "budget_id"})


class Pseudonyms:
    """The pseudonym of a plan id under one export's key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a pseudonym key has at least {KEY_BYTES} bytes")
        self._key = key

    def __call__(self, plan_id: str) -> str:
        return hmac.new(self._key, plan_id.encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]

    def __repr__(self) -> str:  # the key never reaches a log
        return "Pseudonyms(<key>)"


def month(day: date | None) -> str | None:
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


def outcome_row(outcome_category: str | None, status: str) -> str:
    """The Table 4.7 row: as derived, or for a trajectory without an outcome yet: no work (running)
    while it runs, unknown once it closed."""
    if outcome_category:
        return outcome_category
    return OutcomeKind.NO_WORK_RUNNING if status == "running" else OutcomeKind.UNKNOWN
