"""Progress on a trajectory: reports (what was done, attendance, next steps, problems, attached
files), progress conversations (planned, held with the case manager's note and minutes, or
cancelled), milestones from the plan, and the case manager's time entries.

    conversation: planned ─(held: held_on, note, minutes)─> held
                  planned ─(cancel)─> cancelled
    milestone:    open ─(reached: reached_on)─> reached

Minutes held or entered add to the trajectory's `case_minutes`: the execution cost per
trajectory (the benchmark) is these minutes times an hourly rate.

Plain Python: no session, no clock (the caller passes the day), no HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from services.monitoring.domain.follow_up import Reporter
from shared.errors import Conflict, RuleBroken

MAX_NOTE = 2000
MIN_MINUTES, MAX_MINUTES = 1, 600
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # 10 MiB, as intake takes them
ALLOWED_ATTACHMENT_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
}
# What a file of each kind starts with: a file whose content is not what its type says is refused.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}
SIX_MONTH_PRESENTATION_TITLE = "Presentatie 'Mijn weg naar werk'"


class ConversationKind(StrEnum):
    PROGRESS = "progress"
    SIX_MONTH_PRESENTATION = "six_month_presentation"  # Almere: "Mijn weg naar werk" after six months
    CLOSING = "closing"
    OTHER = "other"


class ConversationStatus(StrEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class MilestoneStatus(StrEnum):
    OPEN = "open"
    REACHED = "reached"


class TimeActivity(StrEnum):
    REVIEW = "review"
    ORIENTATION = "orientation"
    COACHING = "coaching"
    ADMINISTRATION = "administration"
    OTHER = "other"


# --- the trajectory's state --------------------------------------------------------------------


def ensure_running(status: str, what: str = "report") -> None:
    """Nothing new is reported or planned on a closed trajectory (409 naming the trajectory)."""
    if status != "running":
        raise Conflict(
            "trajectory.closed",
            f"The trajectory is closed: no {what} can be added to it.",
            "plan_id",
            message_nl="Het traject is afgesloten. U kunt er niets meer aan toevoegen.",
        )


def provider_kvk(provider_id: str | None) -> str | None:
    """The KvK number a provider token carries as its id ("kvk:12345678", "kvk-12345678" or
    "12345678"), as the plan lines keep it; any other id names no provider on a plan."""
    value = (provider_id or "").strip()
    for prefix in ("kvk:", "kvk-"):
        if value.lower().startswith(prefix):
            value = value[len(prefix) :]
            break
    value = value.replace(" ", "")
    return value if len(value) == 8 and value.isdigit() else None


def reporter_for(role: str, asked: Reporter | None) -> Reporter:
    """Who a report is from: the client side reports as the client, a provider as the provider;
    staff file for someone (the coach unless they say otherwise)."""
    if role in ("client", "representative"):
        own = Reporter.CLIENT
    elif role in ("provider", "partner"):  # a partner application reports as the provider it is
        own = Reporter.PROVIDER
    else:
        return asked or Reporter.COACH
    if asked is not None and asked != own:
        raise RuleBroken(
            "progress_report.reporter",
            f"You report as the {own.value}.",
            "reporter",
            message_nl="U kunt alleen voor uzelf rapporteren.",
        )
    return own


def check_attendance(attended: int | None, planned: int | None) -> None:
    if attended is not None and planned is not None and attended > planned:
        raise RuleBroken(
            "progress_report.attendance",
            "More sessions attended than planned.",
            "attendance.sessions_attended",
            message_nl="Er zijn meer bijeenkomsten bijgewoond dan gepland. Controleer de aantallen.",
        )


# --- days and minutes ------------------------------------------------------------------------


def check_day(day: date, field: str, *, started_on: date | None, today: date | None) -> None:
    """A day that happened: not in the future (with `today`) and not before the start (with `started_on`)."""
    if today is not None and day > today:
        raise RuleBroken(
            f"{field}.future",
            "This day lies in the future.",
            field,
            message_nl="Deze datum ligt in de toekomst.",
        )
    if started_on is not None and day < started_on:
        raise RuleBroken(
            f"{field}.before_trajectory",
            f"This day lies before the trajectory started ({started_on.isoformat()}).",
            field,
            message_nl=f"Deze datum ligt voor de start van het traject ({started_on.isoformat()}).",
        )


def check_minutes(minutes: int, field: str = "minutes") -> int:
    if isinstance(minutes, bool) or not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise RuleBroken(
            "minutes.out_of_range",
            f"Minutes must lie between {MIN_MINUTES} and {MAX_MINUTES}.",
            field,
            message_nl=f"Het aantal minuten moet tussen {MIN_MINUTES} en {MAX_MINUTES} liggen.",
        )
    return minutes


# --- conversations and milestones ----------------------------------------------------------------


@dataclass
class Conversation:
    id: str
    plan_id: str
    kind: ConversationKind
    title: str
    planned_on: date
    status: ConversationStatus = ConversationStatus.PLANNED
    held_on: date | None = None
    note: str = ""
    minutes: int = 0

    @classmethod
    def plan(
        cls,
        *,
        conversation_id: str,
        plan_id: str,
        kind: ConversationKind,
        title: str,
        planned_on: date,
        started_on: date,
    ) -> Conversation:
        check_day(planned_on, "planned_on", started_on=started_on, today=None)
        return cls(id=conversation_id, plan_id=plan_id, kind=kind, title=title or _TITLES[kind], planned_on=planned_on)

    def hold(self, *, held_on: date, note: str, minutes: int, started_on: date, today: date) -> None:
        self._ensure_planned()
        check_day(held_on, "held_on", started_on=started_on, today=today)
        if len(note) > MAX_NOTE:
            raise RuleBroken(
                "conversation.note_too_long",
                f"The note may be at most {MAX_NOTE} characters.",
                "note",
                message_nl=f"De notitie mag hoogstens {MAX_NOTE} tekens lang zijn.",
            )
        self.minutes = check_minutes(minutes)
        self.status, self.held_on, self.note = ConversationStatus.HELD, held_on, note

    def cancel(self) -> None:
        self._ensure_planned()
        self.status = ConversationStatus.CANCELLED

    def _ensure_planned(self) -> None:
        if self.status != ConversationStatus.PLANNED:
            raise Conflict(
                "conversation.not_planned",
                f"This conversation is {self.status.value} already.",
                "status",
                message_nl=f"Dit gesprek is al {_CONVERSATION_STATUS_NL[self.status]}.",
            )


_TITLES = {
    ConversationKind.PROGRESS: "Voortgangsgesprek",
    ConversationKind.SIX_MONTH_PRESENTATION: SIX_MONTH_PRESENTATION_TITLE,
    ConversationKind.CLOSING: "Afsluitend gesprek",
    ConversationKind.OTHER: "Gesprek",
}
_CONVERSATION_STATUS_NL = {
    ConversationStatus.PLANNED: "gepland",
    ConversationStatus.HELD: "gehouden",
    ConversationStatus.CANCELLED: "geannuleerd",
}


def ensure_milestone_open(status: MilestoneStatus) -> None:
    if status != MilestoneStatus.OPEN:
        raise Conflict(
            "milestone.reached",
            "This milestone has been reached already.",
            "status",
            message_nl="Deze mijlpaal is al bereikt.",
        )


# --- attachments -----------------------------------------------------------------------------


class AttachmentRefused(RuleBroken):
    """An upload refused, every problem listed: 413 too large, 415 a type we do not take, else 422."""

    def __init__(self, problems: Sequence[dict[str, Any]]) -> None:
        first = problems[0]
        super().__init__(
            first["code"], first["message"], first["field"], message_nl=first["message_nl"], errors=problems
        )
        self.status = (
            413
            if first["code"] == "attachment.too_large"
            else 415
            if first["code"]
            in ("attachment.type_not_allowed", "attachment.extension_mismatch", "attachment.content_mismatch")
            else 422
        )


def _problem(code: str, field: str, message: str, message_nl: str) -> dict[str, Any]:
    return {"field": field, "code": code, "message": message, "message_nl": message_nl}


def check_attachment(filename: str, content_type: str, size: int, head: bytes | None = None) -> None:
    """A PDF, PNG or JPEG with a plain name matching its type, not empty, at most 10 MiB, and (given
    its first bytes) whose content is what its type says."""
    problems = []
    name = filename or ""
    if (
        not name.strip()
        or len(name) > 200
        or any(c in name for c in "/\\")
        or name.startswith(".")
        or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name)
    ):
        problems.append(
            _problem(
                "attachment.bad_filename",
                "file.filename",
                "The file name is not valid. Give the file a plain name, such as report.pdf.",
                "De bestandsnaam is niet goed. Geef het bestand een gewone naam, zoals rapportage.pdf.",
            )
        )
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    endings = ALLOWED_ATTACHMENT_TYPES.get(kind)
    if endings is None:
        problems.append(
            _problem(
                "attachment.type_not_allowed",
                "file.content_type",
                "We cannot accept this kind of file. Send a PDF, PNG or JPEG.",
                "Dit soort bestand kunnen we niet aannemen. Stuur een PDF, PNG of JPEG.",
            )
        )
    elif not name.lower().endswith(endings):
        problems.append(
            _problem(
                "attachment.extension_mismatch",
                "file.filename",
                f"The file name does not match the kind of file. Expected: {' or '.join(endings)}.",
                f"De naam van het bestand past niet bij het soort bestand. Verwacht: {' of '.join(endings)}.",
            )
        )
    if size <= 0:
        problems.append(
            _problem(
                "attachment.empty",
                "file.size",
                "The file is empty. Please choose the file again.",
                "Het bestand is leeg. Kies het bestand opnieuw.",
            )
        )
    elif size > MAX_ATTACHMENT_BYTES:
        limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
        problems.append(
            _problem(
                "attachment.too_large",
                "file.size",
                f"The file is too large. A file may be at most {limit} MB.",
                f"Het bestand is te groot. Een bestand mag hoogstens {limit} MB zijn.",
            )
        )
    if not problems and head is not None and not head.startswith(SIGNATURES[kind]):
        problems.append(
            _problem(
                "attachment.content_mismatch",
                "file.content_type",
                "The content of the file is not what its kind says. Send a real PDF, PNG or JPEG.",
                "De inhoud van het bestand past niet bij het soort bestand. Stuur een echte PDF, PNG of JPEG.",
            )
        )
    if problems:
        # The size first: a huge file of the wrong type is refused for its size (413).
        problems.sort(key=lambda p: p["code"] != "attachment.too_large")
        raise AttachmentRefused(problems)
