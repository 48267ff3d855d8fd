"""Preferences per client (the client side sets its own, staff read), quiet hours with the frozen
clock (no SMS at night, mail held until the morning where asked), and SMS: the local sink, and
MessageBird's API against a gateway on loopback that fails first. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.notifications.channels import MessageBirdSender, SmsSink
from services.notifications.delivery import send_due_mail
from shared.clock import NETHERLANDS, FrozenClock
from tests.integration.monitoring.support import frozen_world
from tests.integration.notifications.delivery_support import (
    FlakyGateway,
    LoopbackSmtp,
    deliveries_of_client,
    outlets,
)
from tests.support.auth import auth
from tests.support.runtime import drain
from tests.support.world import make_case

KM = auth("case_manager", "0014")
URL = "/notifications/v1/preferences"
QUIET = {
    "email": True,
    "sms": True,
    "language": "en",
    "quiet_from": "20:00:00",
    "quiet_until": "09:30:00",
    "hold_mail": True,
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("prefs"), request.param) as world:
        yield world


def test_the_client_side_sets_its_own_staff_read_them(env):
    runtime, http, _clock = env
    case = make_case(http, runtime, "0014", 501, approve=False)
    default = http.get(URL, headers=case.headers()).json()
    assert default == {
        "client_id": case.client_id,
        "email": True,
        "sms": False,
        "language": None,
        "quiet_from": None,
        "quiet_until": None,
        "hold_mail": False,
    }
    r = http.put(URL, headers=case.headers(), json=QUIET)
    assert r.status_code == 200 and r.json()["quiet_from"] == "20:00:00", r.text
    assert http.get(URL, headers=KM, params={"client_id": case.client_id}).json() == r.json()
    assert http.put(URL, headers=KM, json=QUIET).status_code == 403
    missing = http.get(URL, headers=KM)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "client_id"
    half = http.put(URL, headers=case.headers(), json={**QUIET, "quiet_until": None})
    assert half.status_code == 422 and half.json()["errors"][0]["field"] == "quiet_until", half.text
    bad = http.put(URL, headers=case.headers(), json={**QUIET, "language": "de"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "language"
    other = http.get(URL, headers=auth("case_manager", "0363"), params={"client_id": case.client_id}).json()
    assert other["language"] is None and other["sms"] is False  # another municipality sees the defaults only


def test_quiet_hours_hold_mail_and_sms_until_the_morning_then_they_go(env, tmp_path):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 502, email="klant502@example.nl", phone="0612345678", approve=False)
    assert http.put(URL, headers=case.headers(), json=QUIET).status_code == 200
    today = clock.now().astimezone(NETHERLANDS).date()
    evening = FrozenClock.on(today, 22).now()
    clock.instant = evening
    r = http.post(f"/intake/v1/plans/{case.plan_id}/submit", headers=KM, json={"plan_version": 1})
    assert r.status_code == 200, r.text
    r = http.post(
        f"/intake/v1/plans/{case.plan_id}/decisions",
        headers=KM,
        json={"plan_version": r.json()["version"], "kind": "return", "comments": {"budget": "Twee offertes graag."}},
    )
    assert r.status_code == 200, r.text
    drain(runtime)
    waiting = {
        d.channel: d
        for d in deliveries_of_client(runtime, case.client_id, template="plan_returned")
        if d.channel != "in_app"
    }
    morning = FrozenClock.on(today + timedelta(days=1), 9).now() + timedelta(minutes=30)
    assert set(waiting) == {"email", "sms"} and {d.next_attempt_at for d in waiting.values()} == {morning}
    sink = SmsSink(tmp_path / "sms.jsonl")
    smtp = LoopbackSmtp()
    smtp.start()
    try:
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, outlets(runtime, http, smtp, sink))
        assert not [m for m in smtp.catcher.mails() if m["To"] == "klant502@example.nl"]
        clock.instant = morning
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, outlets(runtime, http, smtp, sink))
    finally:
        smtp.stop()
    mails = [m for m in smtp.catcher.mails() if m["To"] == "klant502@example.nl"]
    # in the preferred language: the plan came in, then it was sent back
    assert sorted(m["Subject"] for m in mails) == ["We have received your plan", "Your plan has been sent back"]
    texts = [json.loads(line) for line in sink.path.read_text().splitlines()]
    assert [t["to"] for t in texts] == ["0612345678"] * 2
    assert sorted(t["text"].split(".")[0] for t in texts) == ["We have received your plan", "Your plan has been sent back"]
    sent = deliveries_of_client(runtime, case.client_id)
    assert {d.status for d in sent} == {"sent"} and {d.attempts for d in sent} == {1}


def test_messagebird_adapter_retries_a_failing_gateway_and_the_message_arrives_once(env):
    runtime, http, clock = env
    case = make_case(http, runtime, "0014", 503, phone="0687654321", approve=False)
    prefs = {"email": False, "sms": True, "language": None, "quiet_from": None, "quiet_until": None, "hold_mail": False}
    assert http.put(URL, headers=case.headers(), json=prefs).status_code == 200
    clock.instant = FrozenClock.on(clock.now().astimezone(NETHERLANDS).date(), 12).now()
    r = http.post(f"/intake/v1/plans/{case.plan_id}/submit", headers=KM, json={"plan_version": 1})
    r = http.post(
        f"/intake/v1/plans/{case.plan_id}/decisions",
        headers=KM,
        json={"plan_version": r.json()["version"], "kind": "return", "comments": {"budget": "Twee offertes graag."}},
    )
    assert r.status_code == 200, r.text
    drain(runtime)
    assert {d.channel for d in deliveries_of_client(runtime, case.client_id)} == {"in_app", "sms"}
    with FlakyGateway(failures=1) as gateway:
        sender = outlets(runtime, http, LoopbackSmtp(), MessageBirdSender(gateway.url, "test-key", "Gemeente"))
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, sender)
        tried = {d.status: d for d in deliveries_of_client(runtime, case.client_id, "sms")}
        assert set(tried) == {"deferred", "sent"}  # the first try met the 503, the second went out
        assert tried["deferred"].last_error == "SMS gateway answered 503"
        clock.instant = tried["deferred"].next_attempt_at
        with runtime.uow("notifications") as uow:
            send_due_mail(uow, sender)
    sent = {d.id: d for d in deliveries_of_client(runtime, case.client_id, "sms")}
    assert {d.status for d in sent.values()} == {"sent"} and sent[tried["deferred"].id].attempts == 2
    headers, body = gateway.requests[-1]
    assert headers["Authorization"] == "AccessKey test-key"
    assert body["recipients"] == ["0687654321"] and body["originator"] == "Gemeente"
    texts = sorted(b["body"].split(".")[0] for _h, b in gateway.requests)
    # which of the two met the 503 depends on their random ids: both arrived, one of them twice
    assert len(gateway.requests) == 3
    assert sorted(set(texts)) == ["Uw plan is teruggestuurd", "Wij hebben uw plan ontvangen"]
