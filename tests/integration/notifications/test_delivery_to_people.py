"""Delivery to people on SQLite and PostgreSQL: a message gets its deliveries (in the app at once,
e-mail queued), the inbox's read state per person, real SMTP (aiosmtpd on loopback) that is down
and then back, addresses from intake's contact route at send time, a permanent failure visible to
staff, and the case team's mailbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eigenregie.initial_data import test_bsn as bsn_of
from services.notifications.delivery import send_due_mail
from tests.integration.monitoring.support import frozen_world
from tests.integration.notifications.delivery_support import LOGIN, LoopbackSmtp, deliveries_of_client, outlets
from tests.support.auth import auth
from tests.support.world import make_case

KM, LEAD = auth("case_manager", "0014"), auth("team_lead", "0014")
URL = "/notifications/v1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("delivery"), request.param) as world:
        yield world


def test_a_message_is_in_the_app_at_once_and_its_mail_waits_for_the_sender(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 301, email="klant301@example.nl")
    deliveries = deliveries_of_client(runtime, case.client_id)
    by_channel = {(d.channel, d.recipient.split(":")[0]) for d in deliveries}
    assert ("in_app", "client") in by_channel and ("email", "client") in by_channel and ("in_app", "team") in by_channel
    assert ("email", "team") not in by_channel  # no team mailbox configured
    assert {d.status for d in deliveries if d.channel == "in_app"} == {"sent"}
    assert {d.status for d in deliveries if d.channel == "email"} == {"queued"}
    mine = http.get(f"{URL}/messages", headers=case.headers()).json()
    assert mine and all({x["channel"] for x in m["deliveries"]} == {"in_app", "email"} for m in mine)
    assert {m["status"] for m in mine} == {"sent"}


def test_read_and_unread_per_person_and_only_ones_own(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 302)
    other = make_case(http, runtime, "0014", 303)
    unread = http.get(f"{URL}/messages", headers=case.headers(), params={"unread": "true"}).json()
    assert unread and not any(m["read"] for m in unread)
    first = unread[0]["id"]
    r = http.post(f"{URL}/messages/{first}/read", headers=case.headers())
    assert r.status_code == 200 and r.json()["message_id"] == first, r.text
    again = http.post(f"{URL}/messages/{first}/read", headers=case.headers())
    assert again.json()["read_at"] == r.json()["read_at"]
    still = http.get(f"{URL}/messages", headers=case.headers(), params={"unread": "true"}).json()
    assert first not in {m["id"] for m in still} and len(still) == len(unread) - 1
    read = http.get(f"{URL}/messages", headers=case.headers(), params={"unread": "false"}).json()
    assert [m["id"] for m in read] == [first] and read[0]["read"] is True
    # Another client cannot mark it (the same 404 as no such message); staff read state is their own.
    assert http.post(f"{URL}/messages/{first}/read", headers=other.headers()).status_code == 404
    staff = http.get(f"{URL}/messages", headers=KM, params={"client_id": case.client_id, "unread": "true"}).json()
    assert first in {m["id"] for m in staff}
    assert http.post(f"{URL}/messages/nope/read", headers=case.headers()).status_code == 404
    assert http.post(f"{URL}/messages/{first}/read", headers=auth("case_manager", "0363")).status_code == 404


def test_smtp_down_the_mail_waits_and_goes_out_when_it_is_back_without_personal_data(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 304, email="klant304@example.nl", language="en")
    r = http.post(
        f"/intake/v1/clients/{case.client_id}/representatives",
        headers=KM,
        json={"subject": "rep-304", "name": "Voogd", "relation": "guardian", "email": "voogd304@example.nl"},
    )
    assert r.status_code == 201, r.text
    smtp = LoopbackSmtp()  # not started: connection refused
    sender = outlets(runtime, http, smtp)
    mine = {d.id for d in deliveries_of_client(runtime, case.client_id, "email")}
    with runtime.uow("notifications") as uow:
        send_due_mail(uow, sender)
    waiting = deliveries_of_client(runtime, case.client_id, "email")
    assert {d.status for d in waiting} == {"deferred"} and {d.attempts for d in waiting} == {1}
    assert all("not reachable" in (d.last_error or "") for d in waiting)
    assert {d.next_attempt_at - clock.now() for d in waiting} == {timedelta(seconds=45)}  # 60 s x (0.5 + 0.5/2)
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, sender)  # not due yet: nothing tried
        assert smtp.catcher.raw == []
        clock.instant += timedelta(seconds=46)
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, sender)
    finally:
        smtp.stop()
    done = deliveries_of_client(runtime, case.client_id, "email")
    assert {d.id for d in done} == mine and {d.status for d in done} == {"sent"} and {d.attempts for d in done} == {2}
    ours = [m for m in smtp.catcher.mails() if m["To"] == "klant304@example.nl"]
    assert len(ours) == len(mine) >= 1
    subjects = {m["Subject"] for m in ours}
    assert "Your plan has been approved" in subjects  # the client's language
    for mail in ours:
        assert mail["Cc"] == "voogd304@example.nl" and mail["Content-Language"] == "en"
        assert mail.get_content_type() == "multipart/alternative"
        plain, page = mail.get_body(("plain",)), mail.get_body(("html",))
        assert plain is not None and page is not None and LOGIN in plain.get_content()
        assert f'href="{LOGIN}"' in page.get_content()
    everything = b"".join(smtp.catcher.raw)
    for seed in (301, 302, 303, 304):
        assert bsn_of(seed).encode() not in everything
    assert b"1.000,00" not in everything and b"1,000.00" not in everything  # the budget stays in the app


def test_no_address_is_a_permanent_failure_staff_see_it_in_the_log_and_the_message(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 305)  # no e-mail address
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, outlets(runtime, http, smtp))
    finally:
        smtp.stop()
    failed = http.get(f"{URL}/deliveries", headers=KM, params={"status": "failed", "channel": "email"})
    assert failed.status_code == 200, failed.text
    mine = {d.id for d in deliveries_of_client(runtime, case.client_id, "email")}
    listed = {d["id"]: d for d in failed.json()}
    assert mine and mine <= set(listed) and listed[next(iter(mine))]["last_error"].startswith("no e-mail address")
    message = http.get(
        f"{URL}/messages", headers=KM, params={"client_id": case.client_id, "recipient_kind": "client"}
    ).json()[0]
    assert {d["status"] for d in message["deliveries"] if d["channel"] == "email"} == {"failed"}
    assert "@" not in failed.text  # the log never holds an address
    assert http.get(f"{URL}/deliveries", headers=case.headers()).status_code == 403
    assert http.get(f"{URL}/deliveries", headers=KM, params={"status": "lost"}).status_code == 422


def test_the_case_team_mailbox_is_the_team_leads_setting_and_gets_the_teams_mail(env):
    runtime, http, clock = env
    assert http.get(f"{URL}/settings", headers=LEAD).json() == {
        "municipality": "0014",
        "team_mailbox": None,
        "finance_mailbox": None,
        "ops_mailbox": None,
    }
    assert http.put(f"{URL}/settings", headers=KM, json={"team_mailbox": "team@gemeente.nl"}).status_code == 403
    bad = http.put(f"{URL}/settings", headers=LEAD, json={"team_mailbox": "not an address"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "team_mailbox", bad.text
    r = http.put(f"{URL}/settings", headers=LEAD, json={"team_mailbox": "team0014@gemeente.nl"})
    assert r.status_code == 200 and r.json()["team_mailbox"] == "team0014@gemeente.nl"
    case = make_case(http, runtime, "0014", 306)
    team = [d for d in deliveries_of_client(runtime, case.client_id, "email") if d.recipient == "team:0014"]
    assert team and {d.status for d in team} == {"queued"}
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, outlets(runtime, http, smtp))
    finally:
        smtp.stop()
    assert any(
        m["To"] == "team0014@gemeente.nl" and m["Subject"] == "Nieuwe voortgangsrapportage"
        for m in smtp.catcher.mails()
    )
    assert http.put(f"{URL}/settings", headers=LEAD, json={"team_mailbox": None}).json()["team_mailbox"] is None


def test_intake_gives_addresses_to_staff_and_the_service_role_only(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 307, email="klant307@example.nl", approve=False)
    url = f"/intake/v1/clients/{case.client_id}/contact"
    service = auth("service", "0014", subject="notifications")
    r = http.get(url, headers=service)
    assert r.status_code == 200 and r.json()["email"] == "klant307@example.nl", r.text
    assert r.json()["language"] == "nl" and r.json()["representative_emails"] == []
    assert http.get(url, headers=KM).status_code == 200
    assert http.get(url, headers=case.headers()).status_code == 403
    assert http.get(url, headers=auth("service", "0363", subject="notifications")).status_code == 404
