"""Webhooks to partners, the rules: the callback URL check (production mode resolves and refuses
non-public addresses), the allow-list, the filters, the CloudEvent without personal data, the retry
schedule and the sealed secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from standardwebhooks import Webhook

from services.notifications.domain.webhooks import (
    Filter,
    RetryPolicy,
    check_event_types,
    check_url,
    checked_addresses,
    cloud_event,
    is_public,
    new_secret,
    pinned,
    seal,
    sealing_key,
    unseal,
)
from services.notifications.webhook_delivery import _Job, _post
from shared.auth import Role
from shared.errors import RuleBroken


def resolver(*addresses: str):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "172.16.3.4", "192.168.1.1", "127.0.0.1", "169.254.169.254", "::1", "fe80::1", "224.0.0.1",
     "ff02::1", "0.0.0.0", "100.64.0.1", "::ffff:127.0.0.1", "fc00::1"],
)
def test_production_refuses_a_callback_that_resolves_to_a_non_public_address(address):
    with pytest.raises(RuleBroken) as refused:
        check_url("https://partner.example/hook", "production", resolver("93.184.216.34", address))
    assert refused.value.field == "url" and refused.value.code == "webhook.url_not_public"
    assert "privé" in refused.value.message_nl
    assert not is_public(address)


def test_production_takes_https_on_a_public_address_and_refuses_http_and_unresolvable_hosts():
    assert check_url("https://partner.example/hook", "acceptance", resolver("93.184.216.34", "2606:2800:220:1::1"))
    with pytest.raises(RuleBroken, match="https") as refused:
        check_url("http://partner.example/hook", "production", resolver("93.184.216.34"))
    assert refused.value.field == "url"
    with pytest.raises(RuleBroken) as refused:
        check_url("https://nowhere.invalid/hook", "production", resolver())
    assert refused.value.code == "webhook.url_unresolvable"


@pytest.mark.parametrize("url", ["ftp://partner.example/x", "https://user:pw@partner.example/x", "/relative",
                                 "https://partner.example/x#frag", "https://" + "a" * 2001])
def test_a_malformed_callback_url_is_refused_in_every_environment(url):
    with pytest.raises(RuleBroken) as refused:
        check_url(url, "test", resolver("127.0.0.1"))
    assert refused.value.field == "url"


def test_dev_and_test_take_plain_http_on_loopback():
    assert check_url("http://127.0.0.1:8123/hook", "test") == "http://127.0.0.1:8123/hook"
    assert check_url("http://localhost/hook", "dev")


def test_the_address_is_checked_again_at_send_time_in_production():
    job = _Job("d1", "s1", "https://partner.example/hook", new_secret(), "{}")
    with httpx.Client() as client:  # never used: refused before any request
        sent = _post(client, job, "production", resolver("10.1.2.3"), datetime.now(UTC))
    assert not sent.ok and sent.status_code is None and sent.error and sent.error.startswith("refused")


def test_each_role_subscribes_only_to_its_allow_list():
    assert check_event_types(Role.PROVIDER, ["nl.eigenregie.InvoicePaid", "InvoicePaid"]) == ["InvoicePaid"]
    with pytest.raises(RuleBroken) as refused:
        check_event_types(Role.PARTNER, ["InvoicePaid"])
    assert refused.value.field == "event_types"
    with pytest.raises(RuleBroken):
        check_event_types(Role.CASE_MANAGER, ["PlanApproved"])
    with pytest.raises(RuleBroken):
        check_event_types(Role.PARTNER, ["ClientRegistered"])  # never offered to anyone


def test_filters_municipality_scheme_and_own_organisation():
    partner = Filter("0014", ("PlanApproved",), scheme=None, provider_id=None, own_organisation_only=False)
    assert partner.matches("PlanApproved", "0014", {"scheme": "ipb"})
    assert not partner.matches("PlanApproved", "0363", {"scheme": "ipb"})
    assert not partner.matches("PlanRejected", "0014", {})
    one_scheme = Filter("0014", ("PlanApproved", "PlanRejected"), "ipb", None, False)
    assert one_scheme.matches("PlanApproved", "0014", {"scheme": "ipb"})
    assert not one_scheme.matches("PlanApproved", "0014", {"scheme": "other"})
    assert not one_scheme.matches("PlanRejected", "0014", {})  # names no scheme: not delivered
    provider = Filter("0014", ("InvoicePaid",), None, "coach-bv", own_organisation_only=True)
    assert provider.matches("InvoicePaid", "0014", {"provider_id": "coach-bv"})
    assert not provider.matches("InvoicePaid", "0014", {"provider_id": "other-bv"})
    assert not provider.matches("InvoicePaid", "0014", {})  # an event that names no provider: fail closed


def test_the_cloud_event_carries_ids_and_codes_never_the_client():
    at = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    payload = {"plan_id": "p1", "client_id": "c1", "plan_version": 2, "scheme": "ipb", "granted_cents": 100000,
               "lines": [{"provider_name": "Coach BV"}], "execution_deadline": "2027-06-01"}
    event = cloud_event(event_id="e1", event_type="PlanApproved", tenant="0014", occurred_at=at, payload=payload)
    assert event == {
        "specversion": "1.0", "id": "e1", "type": "nl.eigenregie.PlanApproved", "source": "urn:eigenregie:intake",
        "subject": "p1", "time": "2026-12-02T10:00:00Z", "datacontenttype": "application/json",
        "municipality": "0014",
        "data": {"plan_id": "p1", "plan_version": 2, "scheme": "ipb", "execution_deadline": "2027-06-01"},
    }


def test_backoff_doubles_with_jitter_and_stops_at_the_last_attempt_or_the_horizon():
    policy = RetryPolicy(max_attempts=5, base_seconds=60, horizon_seconds=3600)
    start = datetime(2026, 12, 2, tzinfo=UTC)
    assert policy.delay(1, 0.0) == timedelta(seconds=60)
    assert policy.delay(3, 0.0) == timedelta(seconds=240)
    assert policy.delay(3, 0.999) > timedelta(seconds=240 * 0.8)
    assert policy.next_attempt(1, 0.0, start, start) == start + timedelta(seconds=60)
    assert policy.next_attempt(5, 0.0, start, start) is None  # the last attempt
    assert policy.next_attempt(2, 0.0, start, start + timedelta(seconds=3500)) is None  # past the horizon


def test_the_secret_is_sealed_at_rest_and_signs_as_standard_webhooks_verifies():
    secret, key = new_secret(), sealing_key("a-master-secret-of-enough-length-0123456789")
    sealed = seal(secret, key)
    assert secret not in sealed and secret.removeprefix("whsec_") not in sealed
    assert unseal(sealed, key) == secret
    with pytest.raises(ValueError):
        unseal(sealed, sealing_key("another-master-secret-0123456789abcdef"))
    now = datetime.now(UTC)
    signature = Webhook(secret).sign("msg_1", now, '{"a":1}')
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}
    assert Webhook(secret).verify('{"a":1}', headers) == {"a": 1}


def test_a_send_in_production_goes_to_the_address_that_was_checked():
    assert pinned("https://partner.example:8443/hook?x=1", "93.184.216.34") == (
        "https://93.184.216.34:8443/hook?x=1", "partner.example:8443")
    assert pinned("https://partner.example/hook", "2606:2800:220:1::1") == (
        "https://[2606:2800:220:1::1]/hook", "partner.example")
    assert checked_addresses("https://partner.example/hook", "production", resolver("93.184.216.34")) == [
        "93.184.216.34"]
    assert checked_addresses("http://127.0.0.1/hook", "test") == []
