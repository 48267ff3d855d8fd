"""The rules of progress: who a report is from, attendance, conversations held once with a note
and minutes, days that happened, and which files a report takes."""

from __future__ import annotations

from datetime import date

import pytest

from services.monitoring.domain.follow_up import Reporter
from services.monitoring.domain.progress import (
    MAX_ATTACHMENT_BYTES,
    AttachmentRefused,
    Conversation,
    ConversationKind,
    ConversationStatus,
    check_attachment,
    check_attendance,
    check_day,
    check_minutes,
    ensure_running,
    reporter_for,
)
from shared.errors import Conflict, RuleBroken

START, TODAY = date(2026, 3, 2), date(2026, 6, 1)


def _conversation() -> Conversation:
    return Conversation.plan(
        conversation_id="c-1",
        plan_id="p-1",
        kind=ConversationKind.PROGRESS,
        title="",
        planned_on=date(2026, 5, 1),
        started_on=START,
    )


def test_a_closed_trajectory_takes_no_report_naming_the_trajectory():
    ensure_running("running")
    with pytest.raises(Conflict) as refused:
        ensure_running("closed")
    assert refused.value.code == "trajectory.closed" and refused.value.field == "plan_id"


def test_the_client_side_and_a_provider_report_as_themselves_staff_for_someone():
    assert reporter_for("client", None) == Reporter.CLIENT
    assert reporter_for("representative", Reporter.CLIENT) == Reporter.CLIENT
    assert reporter_for("provider", None) == Reporter.PROVIDER
    assert reporter_for("case_manager", None) == Reporter.COACH
    assert reporter_for("case_manager", Reporter.CLIENT) == Reporter.CLIENT
    with pytest.raises(RuleBroken) as refused:
        reporter_for("provider", Reporter.COACH)
    assert refused.value.field == "reporter"


def test_more_sessions_attended_than_planned_is_refused():
    check_attendance(3, 4)
    check_attendance(None, 4)
    with pytest.raises(RuleBroken) as refused:
        check_attendance(5, 4)
    assert refused.value.field == "attendance.sessions_attended"


def test_a_conversation_is_held_once_with_its_note_and_minutes():
    conversation = _conversation()
    assert conversation.title == "Voortgangsgesprek"
    conversation.hold(held_on=date(2026, 5, 2), note="Goed gesprek.", minutes=45, started_on=START, today=TODAY)
    assert conversation.status == ConversationStatus.HELD and conversation.minutes == 45
    with pytest.raises(Conflict) as refused:
        conversation.hold(held_on=date(2026, 5, 3), note="", minutes=10, started_on=START, today=TODAY)
    assert refused.value.code == "conversation.not_planned"
    with pytest.raises(Conflict):
        conversation.cancel()


@pytest.mark.parametrize(
    "held_on,minutes,note,field",
    [
        (date(2026, 6, 2), 30, "", "held_on"),  # tomorrow
        (date(2026, 3, 1), 30, "", "held_on"),  # before the start
        (date(2026, 5, 2), 0, "", "minutes"),
        (date(2026, 5, 2), 601, "", "minutes"),
        (date(2026, 5, 2), 30, "x" * 2001, "note"),
    ],
)
def test_holding_refuses_a_day_that_did_not_happen_or_minutes_out_of_range(held_on, minutes, note, field):
    conversation = _conversation()
    with pytest.raises(RuleBroken) as refused:
        conversation.hold(held_on=held_on, note=note, minutes=minutes, started_on=START, today=TODAY)
    assert refused.value.field == field
    assert conversation.status == ConversationStatus.PLANNED


def test_a_conversation_cannot_be_planned_before_the_start():
    with pytest.raises(RuleBroken) as refused:
        Conversation.plan(
            conversation_id="c-2",
            plan_id="p-1",
            kind=ConversationKind.OTHER,
            title="Kennismaking",
            planned_on=date(2026, 3, 1),
            started_on=START,
        )
    assert refused.value.field == "planned_on"


def test_days_and_minutes():
    check_day(TODAY, "on", started_on=None, today=TODAY)
    with pytest.raises(RuleBroken):
        check_day(date(2026, 6, 2), "on", started_on=None, today=TODAY)
    assert check_minutes(600) == 600
    with pytest.raises(RuleBroken):
        check_minutes(True)  # type: ignore[arg-type]


def test_a_pdf_png_or_jpeg_up_to_ten_mib_is_taken():
    check_attachment("presentielijst.pdf", "application/pdf", 1000)
    check_attachment("foto.JPG", "image/jpeg", 1000)
    check_attachment("scan.png", "image/png; charset=binary", MAX_ATTACHMENT_BYTES)


@pytest.mark.parametrize(
    "filename,content_type,size,status,code",
    [
        ("groot.pdf", "application/pdf", MAX_ATTACHMENT_BYTES + 1, 413, "attachment.too_large"),
        (
            "doc.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            10,
            415,
            "attachment.type_not_allowed",
        ),
        ("rapport.png", "application/pdf", 10, 415, "attachment.extension_mismatch"),
        ("leeg.pdf", "application/pdf", 0, 422, "attachment.empty"),
        ("../etc.pdf", "application/pdf", 10, 422, "attachment.bad_filename"),
    ],
)
def test_other_files_are_refused_with_every_problem_listed(filename, content_type, size, status, code):
    with pytest.raises(AttachmentRefused) as refused:
        check_attachment(filename, content_type, size)
    assert refused.value.status == status and refused.value.code == code
    assert all({"field", "code", "message", "message_nl"} <= set(e) for e in refused.value.errors)
