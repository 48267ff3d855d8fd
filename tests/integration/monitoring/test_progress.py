"""Progress reports through the API on SQLite and PostgreSQL: the details they carry, the files
attached to them, the report schedule they answer, who may file them (a provider only where the
plan names it), and the refusal on a closed trajectory."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from tests.integration.monitoring.progress_support import (
    KM,
    KVK,
    OTHER_KVK,
    START,
    change_deadline,
    close_plan,
    fixed_world,
    on_day,
    start_plan,
)
from tests.support.auth import auth

PROVIDER, OTHER_PROVIDER = (
    auth("provider", "0014", provider_id=f"kvk:{KVK}"),
    auth("provider", "0014", provider_id=OTHER_KVK),
)
REPORT = {"on_track": True, "summary": "Gaat goed"}
PDF = b"%PDF-1.4\n% presentielijst\n"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with fixed_world(request, tmp_path_factory.mktemp("progress"), request.param) as world:
        yield world


@pytest.fixture(autouse=True)
def _on_the_start(env):
    _runtime, _http, clock = env
    on_day(clock, START)


def _open_reports(http, plan) -> list[str]:
    r = http.get("/monitoring/v1/follow-ups", headers=KM, params={"plan_id": plan.plan_id, "kind": "progress_report"})
    assert r.status_code == 200, r.text
    return [f["due_on"] for f in r.json()]


def test_a_report_carries_what_was_done_attendance_next_steps_and_problems(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    body = {
        **REPORT,
        "on_track": False,
        "done": "Drie lessen gevolgd.",
        "attendance": {"sessions_attended": 3, "sessions_planned": 4},
        "next_steps": "Examen plannen.",
        "problems": "Eén les gemist door ziekte van een kind.",
    }
    r = http.post(plan.url("/progress-reports"), headers=plan.client(), json=body)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["reporter"] == "client" and report["reported_by_role"] == "client"
    assert report["attendance"] == {"sessions_attended": 3, "sessions_planned": 4}
    assert {report[k] for k in ("id", "plan_id", "client_id", "on_track", "summary", "created_at")}
    [listed] = http.get(plan.url("/progress-reports"), headers=KM).json()
    assert listed["done"] == "Drie lessen gevolgd." and listed["problems"].startswith("Eén les")


def test_a_report_completes_the_earliest_open_progress_report_follow_up(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, deadline=date(2026, 11, 2))
    assert _open_reports(http, plan) == ["2026-05-02", "2026-07-02", "2026-09-02", "2026-11-02"]
    on_day(clock, date(2026, 4, 20))
    assert http.post(plan.url("/progress-reports"), headers=KM, json=REPORT).status_code == 201
    assert _open_reports(http, plan) == ["2026-07-02", "2026-09-02", "2026-11-02"]
    done = http.get("/monitoring/v1/follow-ups", headers=KM, params={"plan_id": plan.plan_id, "status": "done"}).json()
    assert [(f["due_on"], f["done_on"]) for f in done] == [("2026-05-02", "2026-04-20")]


def test_more_sessions_attended_than_planned_is_a_422_naming_the_field(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    body = {**REPORT, "attendance": {"sessions_attended": 5, "sessions_planned": 4}}
    r = http.post(plan.url("/progress-reports"), headers=KM, json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "attendance.sessions_attended"


def test_a_report_on_a_closed_trajectory_is_refused_naming_the_trajectory(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    close_plan(runtime, clock, plan)
    r = http.post(plan.url("/progress-reports"), headers=KM, json=REPORT)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "trajectory.closed" and r.json()["errors"][0]["field"] == "plan_id"
    dutch = http.post(plan.url("/progress-reports"), headers={**KM, "Accept-Language": "nl"}, json=REPORT)
    assert "afgesloten" in dutch.json()["detail"]
    assert http.get(plan.url("/progress-reports"), headers=KM).json() == []


def test_closing_cancels_the_open_follow_ups(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    assert _open_reports(http, plan)
    close_plan(runtime, clock, plan)
    assert _open_reports(http, plan) == []
    cancelled = http.get(
        "/monitoring/v1/follow-ups", headers=KM, params={"plan_id": plan.plan_id, "status": "cancelled"}
    ).json()
    assert {f["kind"] for f in cancelled} == {"progress_report", "conversation"}  # the six-month presentation too


def test_a_provider_the_plan_names_files_and_reads_only_its_own_reports(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, provider_kvk=KVK)
    assert http.post(plan.url("/progress-reports"), headers=KM, json={**REPORT, "summary": "Door de klantmanager"})
    r = http.post(plan.url("/progress-reports"), headers=PROVIDER, json={**REPORT, "done": "Twee coachgesprekken."})
    assert r.status_code == 201, r.text
    assert r.json()["reporter"] == "provider" and r.json()["reported_by_role"] == "provider"
    own = http.get(plan.url("/progress-reports"), headers=PROVIDER)
    assert own.status_code == 200 and [p["done"] for p in own.json()] == ["Twee coachgesprekken."]
    assert len(http.get(plan.url("/progress-reports"), headers=KM).json()) == 2
    assert http.get(plan.url("/report-schedule"), headers=PROVIDER).status_code == 200


def test_a_provider_the_plan_does_not_name_gets_a_404_for_reading_and_filing(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, provider_kvk=KVK)
    for headers in (OTHER_PROVIDER, auth("provider", "0014", provider_id="Coach BV")):
        assert http.post(plan.url("/progress-reports"), headers=headers, json=REPORT).status_code == 404
        assert http.get(plan.url("/progress-reports"), headers=headers).status_code == 404
    assert http.get(plan.url("/progress-reports"), headers=KM).json() == []
    # A plan line without a KvK number names no provider at all.
    unnamed = start_plan(runtime, clock, provider_kvk=None)
    assert http.post(unnamed.url("/progress-reports"), headers=PROVIDER, json=REPORT).status_code == 404


def test_another_municipality_gets_a_404_even_with_the_right_kvk_number(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, provider_kvk=KVK)
    elsewhere = auth("provider", "0344", provider_id=KVK)
    assert http.post(plan.url("/progress-reports"), headers=elsewhere, json=REPORT).status_code == 404
    assert (
        http.post(plan.url("/progress-reports"), headers=auth("case_manager", "0344"), json=REPORT).status_code == 404
    )
    assert http.get(plan.url("/report-schedule"), headers=auth("case_manager", "0344")).status_code == 404


def test_policy_sees_no_single_trajectorys_reports(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    assert http.get(plan.url("/progress-reports"), headers=auth("policy", "0014")).status_code == 403


def test_a_file_is_attached_to_a_report_and_downloaded_with_its_checksum(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    report = http.post(plan.url("/progress-reports"), headers=plan.client(), json=REPORT).json()
    files = {"file": ("presentielijst.pdf", PDF, "application/pdf")}
    r = http.post(plan.url(f"/progress-reports/{report['id']}/attachments"), headers=plan.client(), files=files)
    assert r.status_code == 201, r.text
    attachment = r.json()
    assert attachment["sha256"] == hashlib.sha256(PDF).hexdigest() and attachment["size"] == len(PDF)
    again = http.post(plan.url(f"/progress-reports/{report['id']}/attachments"), headers=KM, files=files)
    assert again.status_code == 409 and again.json()["code"] == "attachment.duplicate"
    download = http.get(plan.url(f"/progress-reports/{report['id']}/attachments/{attachment['id']}"), headers=KM)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["X-Content-SHA256"] == attachment["sha256"]
    [listed] = http.get(plan.url("/progress-reports"), headers=plan.client()).json()
    assert [a["filename"] for a in listed["attachments"]] == ["presentielijst.pdf"]


@pytest.mark.parametrize(
    "name,content,content_type,status,code",
    [
        (
            "notities.docx",
            b"PK",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            415,
            "attachment.type_not_allowed",
        ),
        ("foto.pdf", b"\x89PNG", "image/png", 415, "attachment.extension_mismatch"),
        ("rapport.pdf", b"<html><script>alert(1)</script>", "application/pdf", 415, "attachment.content_mismatch"),
        ("foto.png", b"%PDF-1.4", "image/png", 415, "attachment.content_mismatch"),
        ("leeg.pdf", b"", "application/pdf", 422, "attachment.empty"),
        ("groot.pdf", b"x" * (10 * 1024 * 1024 + 1), "application/pdf", 413, "attachment.too_large"),
    ],
)
def test_a_file_of_another_kind_empty_or_too_large_is_refused_naming_it(env, name, content, content_type, status, code):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    report = http.post(plan.url("/progress-reports"), headers=KM, json=REPORT).json()
    files = {"file": (name, content, content_type)}
    r = http.post(plan.url(f"/progress-reports/{report['id']}/attachments"), headers=KM, files=files)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and r.json()["errors"][0]["field"].startswith("file.")


def test_the_client_attaches_only_to_its_own_reports_and_a_provider_downloads_only_its_own(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    by_km = http.post(plan.url("/progress-reports"), headers=KM, json=REPORT).json()
    files = {"file": ("scan.png", b"\x89PNG\r\n\x1a\n", "image/png")}
    r = http.post(plan.url(f"/progress-reports/{by_km['id']}/attachments"), headers=plan.client(), files=files)
    assert r.status_code == 404
    attachment = http.post(plan.url(f"/progress-reports/{by_km['id']}/attachments"), headers=KM, files=files).json()
    url = plan.url(f"/progress-reports/{by_km['id']}/attachments/{attachment['id']}")
    assert http.get(url, headers=plan.client()).status_code == 200
    assert http.get(url, headers=PROVIDER).status_code == 404  # not a report the provider filed


def test_the_default_schedule_and_almere_s_coach_reporting_three_times_in_fifteen_months(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, deadline=date(2027, 6, 2))
    default = http.get(plan.url("/report-schedule"), headers=plan.client()).json()
    assert default["default"] is True and default["reporter"] == "client"
    assert default["segments"] == [{"every_months": 2, "times": None}] and len(default["due_dates"]) == 7
    on_day(clock, date(2026, 3, 10))
    body = {"reporter": "coach", "segments": [{"every_months": 5, "times": 3}]}
    r = http.put(plan.url("/report-schedule"), headers=KM, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["due_dates"] == ["2026-08-02", "2027-01-02", "2027-06-02"] and r.json()["default"] is False
    assert _open_reports(http, plan) == ["2026-08-02", "2027-01-02", "2027-06-02"]
    assert http.get(plan.url("/report-schedule"), headers=KM).json()["reporter"] == "coach"


def test_a_new_schedule_replaces_the_open_reports_from_today_on(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, deadline=date(2026, 12, 1))
    on_day(clock, date(2026, 5, 15))
    body = {"reporter": "client", "segments": [{"every_months": 1, "times": 3}, {"every_months": 2}]}
    r = http.put(plan.url("/report-schedule"), headers=KM, json=body)
    assert r.status_code == 200, r.text
    # 2 April and 2 May lay before today: not asked again.
    assert _open_reports(http, plan) == ["2026-06-02", "2026-08-02", "2026-10-02"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"reporter": "coach", "segments": [{"every_months": 1}, {"every_months": 2, "times": 2}]}, "segments.0.times"),
        ({"reporter": "coach", "segments": []}, "segments"),
        ({"reporter": "coach", "segments": [{"every_months": 0, "times": 1}]}, "segments.0.every_months"),
        ({"reporter": "nobody", "segments": [{"every_months": 1}]}, "reporter"),
    ],
)
def test_a_schedule_that_cannot_be_followed_is_a_422_naming_the_field(env, body, field):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    r = http.put(plan.url("/report-schedule"), headers=KM, json=body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


def test_only_staff_set_the_schedule(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock)
    body = {"reporter": "client", "segments": [{"every_months": 1}]}
    assert http.put(plan.url("/report-schedule"), headers=plan.client(), json=body).status_code == 403
    assert http.put(plan.url("/report-schedule"), headers=PROVIDER, json=body).status_code == 403


def test_a_moved_deadline_moves_the_reports_still_to_come_and_keeps_the_overdue_ones(env):
    runtime, http, clock = env
    plan = start_plan(runtime, clock, deadline=date(2026, 9, 2))
    on_day(clock, date(2026, 7, 10))  # 2 May and 2 July are past; 2 September is still to come
    change_deadline(runtime, clock, plan, date(2027, 1, 2))
    assert _open_reports(http, plan) == ["2026-05-02", "2026-07-02", "2026-09-02", "2026-11-02", "2027-01-02"]
    change_deadline(runtime, clock, plan, date(2026, 10, 1))
    assert _open_reports(http, plan) == ["2026-05-02", "2026-07-02", "2026-09-02"]
