"""Webhooks to partners end to end, on SQLite and PostgreSQL: a partner subscribes, events fan out,
a loopback receiver fails N times and then succeeds; the backoff schedule under a frozen clock, the
signature verified with the `standardwebhooks` package as a partner would, the attempt log, the
final alert, the pause, resume and replay; and the filters."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from contracts.events import InvoiceReceivedV1, PlanApprovedV1, PlanRejectedV1
from services.notifications.webhook_delivery import fan_out, ops_command, send_due
from shared.events import Envelope
from tests.integration.notifications.webhook_support import Receiver, receivers, say, webhook_world
from tests.support.auth import auth

BASE = "/notifications/v1/webhooks"
UWV = auth("partner", "0014", subject="partner-uwv")
OPS = auth("ops", "0014")
KM = auth("case_manager", "0014")


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request, tmp_path):
    with webhook_world(request, tmp_path, request.param) as made:
        yield made


def approved(plan_id: str | None = None, scheme: str = "ipb") -> PlanApprovedV1:
    return PlanApprovedV1(plan_id=plan_id or str(uuid.uuid4()), client_id=str(uuid.uuid4()), plan_version=1,
                          scheme=scheme, granted_cents=250000, lines=(), execution_deadline=date(2027, 6, 1))


def subscribe(http, headers, url, event_types=("PlanApproved", "PlanRejected"), **extra):
    r = http.post(f"{BASE}/subscriptions", headers=headers, json={"callback_url": url,
                                                                   "event_types": list(event_types), **extra})
    assert r.status_code == 201, r.text
    return r.json()


def send(runtime) -> int:
    with runtime.uow("notifications") as uow:
        return send_due(uow, runtime.settings)


def deliveries(http, subscription_id, headers=UWV):
    r = http.get(f"{BASE}/subscriptions/{subscription_id}/deliveries", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_retried_with_backoff_then_failed_alerted_paused_resumed_and_replayed(world):
    runtime, http, clock = world
    with receivers(Receiver(failures=10**6)) as (receiver,):
        sub = subscribe(http, UWV, receiver.url)
        secret = sub["secret"]
        assert secret.startswith("whsec_")
        assert "secret" not in http.get(f"{BASE}/subscriptions/{sub['id']}", headers=UWV).json()
        say(runtime, "intake", approved(), subject="p1")
        say(runtime, "intake", PlanRejectedV1(plan_id="p2", client_id=str(uuid.uuid4()), plan_version=1))

        # The first attempt, signed as Standard Webhooks says: a partner verifies it with the library.
        assert send(runtime) == 2
        first = receiver.requests[0]
        event = Webhook(secret).verify(first.body, first.headers)
        assert event["specversion"] == "1.0" and event["type"] in ("nl.eigenregie.PlanApproved",
                                                                   "nl.eigenregie.PlanRejected")
        assert event["source"] == "urn:eigenregie:intake" and event["municipality"] == "0014"
        assert "client_id" not in first.body.decode()
        assert first.headers["content-type"] == "application/cloudevents+json"
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(first.body.replace(b"0014", b"0363"), first.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43 + "=").verify(first.body, first.headers)

        # The schedule: base 60 s doubled per attempt, less up to 20 % jitter, until the fourth attempt.
        for attempt in range(1, 4):
            log = deliveries(http, sub["id"])
            assert [d["attempts"] for d in log] == [attempt, attempt]
            for d in log:
                wait = (at(d["next_attempt_at"]) - clock.now()).total_seconds()
                full = 60 * 2 ** (attempt - 1)
                assert 0.8 * full <= wait <= full, (attempt, wait)
            assert send(runtime) == 0  # nothing is due before its time
            clock.instant = max(at(d["next_attempt_at"]) for d in log)
            assert send(runtime) == 2
        log = deliveries(http, sub["id"])
        assert {d["status"] for d in log} == {"failed"} and all(d["next_attempt_at"] is None for d in log)
        attempts = log[0]["attempt_log"]
        assert [a["number"] for a in attempts] == [1, 2, 3, 4]
        assert {a["status_code"] for a in attempts} == {503}
        assert attempts[0]["response_excerpt"] == "busy, try later" and attempts[0]["latency_ms"] >= 0
        assert len(receiver.requests) == 8
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2  # the same id on every attempt

        # Two failed deliveries in a row: paused, and ops and the owner are told, in both languages.
        state = http.get(f"{BASE}/subscriptions/{sub['id']}", headers=UWV).json()
        assert state["status"] == "paused" and state["consecutive_failures"] == 2
        msgs = http.get("/notifications/v1/messages", headers=OPS, params={"lang": "en"}).json()
        alerts = [m for m in msgs if m["template"] == "webhook_delivery_failed"]
        assert len(alerts) == 2 and any("paused" in m["body"] for m in alerts)
        assert sub["id"] in alerts[0]["body"] and {m["recipient_kind"] for m in msgs} == {"ops"}
        owner = http.get("/notifications/v1/messages", headers=UWV, params={"lang": "nl"}).json()
        assert {m["template"] for m in owner} == {"webhook_delivery_failed_owner"} and len(owner) == 2
        assert any(m["subject"] == "Uw webhook kreeg een bericht niet" for m in owner)
        dutch = http.get("/notifications/v1/messages", headers=OPS, params={"lang": "nl"}).json()
        assert any(m["subject"] == "Webhook van een partner mislukt" for m in dutch)
        other_partner = auth("partner", "0014", subject="someone-else")
        assert http.get("/notifications/v1/messages", headers=other_partner).json() == []
        failing = http.get(f"{BASE}/subscriptions", headers=OPS, params={"failing": "true"}).json()
        assert [s["id"] for s in failing] == [sub["id"]]
        listed = ops_command_output(runtime, "failing")  # `prb webhooks failing`
        assert sub["id"] in listed and "paused" in listed

        # Paused: a new event queues and waits; resume sends it.
        receiver.failures = 0
        say(runtime, "intake", approved(), subject="p3")
        assert send(runtime) == 0
        r = http.post(f"{BASE}/subscriptions/{sub['id']}/resume", headers=OPS)
        assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["consecutive_failures"] == 0
        assert send(runtime) == 1
        assert len(receiver.requests) == 9

        # Replay: a failed delivery goes out again (a new round, the same webhook-id); a delivered one is a 409.
        failed = next(d for d in deliveries(http, sub["id"]) if d["status"] == "failed")
        r = http.post(f"{BASE}/deliveries/{failed['id']}/replay", headers=UWV)
        assert r.status_code == 202 and r.json()["status"] == "pending", r.text
        assert send(runtime) == 1
        replayed = next(d for d in deliveries(http, sub["id"]) if d["id"] == failed["id"])
        assert replayed["status"] == "delivered" and [a["number"] for a in replayed["attempt_log"]] == [1, 2, 3, 4, 5]
        assert receiver.requests[-1].headers["webhook-id"] == failed["id"]
        r = http.post(f"{BASE}/deliveries/{failed['id']}/replay", headers=UWV)
        assert r.status_code == 409 and r.json()["code"] == "webhook.replay_not_failed"

        # The ops CLI: `prb webhooks replay <delivery_id>` queues the other failed one again.
        other = next(d for d in deliveries(http, sub["id"]) if d["status"] == "failed")
        assert ops_command_output(runtime, "replay", other["id"]).startswith(f"replayed {other['id']}")
        assert send(runtime) == 1
        assert ops_command_output(runtime, "failing") == "no failing subscriptions"
        with pytest.raises(LookupError):
            ops_command_output(runtime, "replay", other["id"])  # delivered now: nothing to replay


def ops_command_output(runtime, command, target=None) -> str:
    with runtime.uow("notifications") as uow:
        return ops_command(uow, command, target)


def test_filters_keep_other_municipalities_providers_and_schemes_out(world):
    runtime, http, _clock = world
    with receivers(Receiver(), Receiver(), Receiver(), Receiver()) as (mine, other_town, provider, schemed):
        uwv = subscribe(http, UWV, mine.url, ["PlanApproved"])
        elsewhere = subscribe(http, auth("partner", "0363", subject="partner-uwv"), other_town.url, ["PlanApproved"])
        coach = subscribe(http, auth("provider", "0014", provider_id="coach-bv"), provider.url, ["InvoiceReceived"])
        assert coach["own_organisation_only"] and coach["provider_id"] == "coach-bv"
        only_other = subscribe(http, auth("partner", "0014", subject="school"), schemed.url, ["PlanApproved"],
                               scheme="other")
        say(runtime, "intake", approved(scheme="ipb"), tenant="0014")
        say(runtime, "budget", InvoiceReceivedV1(invoice_id="i1", budget_id="b1", budget_line_id="l1",
                                                 amount_cents=100), tenant="0014")
        assert send(runtime) == 1
        assert len(mine.requests) == 1 and not other_town.requests and not provider.requests and not schemed.requests
        for sub, headers in ((elsewhere, auth("partner", "0363", subject="partner-uwv")),
                             (coach, auth("provider", "0014", provider_id="coach-bv")),
                             (only_other, auth("partner", "0014", subject="school"))):
            assert deliveries(http, sub["id"], headers) == []
        # Another partner (or another municipality's ops) does not even see the subscription.
        assert http.get(f"{BASE}/subscriptions/{uwv['id']}", headers=auth("partner", "0014", subject="school")
                        ).status_code == 404
        assert http.get(f"{BASE}/subscriptions/{uwv['id']}/deliveries", headers=auth("ops", "0363")).status_code == 404
        assert [s["id"] for s in http.get(f"{BASE}/subscriptions", headers=UWV).json()] == [uwv["id"]]
        assert len(http.get(f"{BASE}/subscriptions", headers=OPS).json()) == 3


def test_a_redelivered_event_makes_no_second_delivery(world):
    runtime, http, _clock = world
    with receivers(Receiver()) as (receiver,):
        sub = subscribe(http, UWV, receiver.url, ["PlanApproved"])
        payload = approved()
        envelope = Envelope(type="PlanApproved", version=1, tenant="0014", subject="p", correlation_id="c",
                            producer="intake", payload=payload.model_dump(mode="json"))
        for expected in (1, 0):
            with runtime.uow("notifications") as uow:
                assert fan_out(uow, payload, envelope) == expected
                uow.commit()
        assert len(deliveries(http, sub["id"])) == 1


def test_ping_is_a_signed_test_delivery_and_delete_stops_deliveries(world):
    runtime, http, _clock = world
    with receivers(Receiver()) as (receiver,):
        sub = subscribe(http, UWV, receiver.url, ["PlanApproved"])
        r = http.post(f"{BASE}/subscriptions/{sub['id']}/ping", headers=UWV)
        assert r.status_code == 202 and r.json()["event_type"] == "Ping", r.text
        assert send(runtime) == 1
        ping = json.loads(Webhook(sub["secret"]).verify(receiver.requests[0].body, receiver.requests[0].headers)
                          and receiver.requests[0].body)
        assert ping["type"] == "nl.eigenregie.Ping" and ping["subject"] == sub["id"]
        assert deliveries(http, sub["id"])[0]["status"] == "delivered"
        assert http.delete(f"{BASE}/subscriptions/{sub['id']}", headers=UWV).status_code == 204
        say(runtime, "intake", approved())
        assert send(runtime) == 0 and len(receiver.requests) == 1
        assert http.get(f"{BASE}/subscriptions/{sub['id']}", headers=UWV).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"callback_url": "ftp://127.0.0.1/x", "event_types": ["PlanApproved"]}, "url"),
        ({"callback_url": "http://me:pw@127.0.0.1/x", "event_types": ["PlanApproved"]}, "url"),
        ({"callback_url": "http://127.0.0.1/x", "event_types": ["InvoicePaid"]}, "event_types"),
        ({"callback_url": "http://127.0.0.1/x", "event_types": ["ClientRegistered"]}, "event_types"),
        ({"callback_url": "http://127.0.0.1/x", "event_types": []}, "event_types"),
    ],
)
def test_bad_subscriptions_are_a_422_naming_the_field(world, body, field):
    _runtime, http, _clock = world
    r = http.post(f"{BASE}/subscriptions", headers=UWV, json=body)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    problem = r.json()
    assert field in json.dumps(problem), problem


def test_a_retried_subscribe_makes_no_second_subscription_but_a_different_one_is_fine(world):
    _runtime, http, _clock = world
    owner = auth("partner", "0014", subject="partner-retry")
    url = "http://127.0.0.1:9/retry"
    first = subscribe(http, owner, url, ["PlanApproved", "PlanRejected"])
    again = http.post(f"{BASE}/subscriptions", headers=owner,
                      json={"callback_url": url, "event_types": ["PlanRejected", "PlanApproved"]})
    assert again.status_code == 409 and again.json()["code"] == "webhook.duplicate" and first["id"] in again.text
    assert "secret" not in again.json()
    subscribe(http, owner, url, ["PlanApproved", "PlanRejected"], scheme="ipb")  # narrower: another one
    subscribe(http, auth("partner", "0014", subject="partner-other"), url, ["PlanApproved", "PlanRejected"])
    assert http.delete(f"{BASE}/subscriptions/{first['id']}", headers=owner).status_code == 204
    subscribe(http, owner, url, ["PlanApproved", "PlanRejected"])  # after deleting it: a new one, a new secret


def test_only_partner_applications_subscribe_and_only_they_and_ops_read(world):
    _runtime, http, _clock = world
    body = {"callback_url": "http://127.0.0.1:9/x", "event_types": ["PlanApproved"]}
    assert http.post(f"{BASE}/subscriptions", headers=KM, json=body).status_code == 403
    assert http.post(f"{BASE}/subscriptions", headers=OPS, json=body).status_code == 403
    assert http.get(f"{BASE}/subscriptions", headers=KM).status_code == 403
    assert http.get(f"{BASE}/subscriptions", headers=OPS).status_code == 200


def test_a_slow_partner_does_not_hold_up_the_others(request, tmp_path):
    with (
        webhook_world(request, tmp_path, "sqlite", webhook_timeout_seconds=0.3) as (runtime, http, _clock),
        receivers(Receiver(delay=3.0), Receiver()) as (slow, fast),
    ):
        slow_sub = subscribe(http, UWV, slow.url, ["PlanApproved"])
        fast_sub = subscribe(http, auth("partner", "0014", subject="school"), fast.url, ["PlanApproved"])
        for _ in range(3):
            say(runtime, "intake", approved())
        assert send(runtime) == 3 + 1  # after one timeout the slow one's others wait for the next pass
        assert {d["status"] for d in deliveries(http, fast_sub["id"], auth("partner", "0014", subject="school"))} == {
            "delivered"}
        waiting = deliveries(http, slow_sub["id"])
        assert {d["status"] for d in waiting} == {"pending"}
        tried = [d for d in waiting if d["attempt_log"]]
        assert len(tried) == 1 and "Timeout" in tried[0]["attempt_log"][0]["error"]
        assert timedelta(0) < at(tried[0]["next_attempt_at"]) - _clock.now()
        assert all(at(d["next_attempt_at"]) == _clock.now() for d in waiting if not d["attempt_log"])  # due again


def test_two_passes_at_once_send_each_delivery_once(world):
    """Two senders race (two threads, as two workers would): each delivery is claimed by one."""
    import threading

    runtime, http, _clock = world
    with receivers(Receiver(), Receiver()) as (one, two):
        subscribe(http, UWV, one.url, ["PlanApproved"])
        subscribe(http, auth("partner", "0014", subject="school"), two.url, ["PlanApproved"])
        for _ in range(4):
            say(runtime, "intake", approved())
        barrier = threading.Barrier(2)
        counts: list[int] = []

        def sender() -> None:
            barrier.wait()
            counts.append(send(runtime))

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ids = [r.headers["webhook-id"] for r in one.requests + two.requests]
        assert sum(counts) == len(ids) == len(set(ids)) == 8
