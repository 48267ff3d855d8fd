"""Delivery rules without a database: backoff with jitter, the mail and SMS texts (both languages,
Dutch for an unknown one, a missing variable fails), and nothing personal leaves."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from jinja2 import UndefinedError, meta

from services.notifications.domain import channels, templates
from services.notifications.domain.delivery import (
    Backoff,
    Channel,
    DeliveryStatus,
    cause_key,
    recipient_key,
    truncate_error,
)
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.templates import TEMPLATES
from shared.clock import FrozenClock

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LOGIN = "https://eigenregie.example.nl/"


def test_backoff_doubles_up_to_the_cap_and_jitter_takes_between_half_and_all():
    backoff = Backoff(base_seconds=60, cap_seconds=600, max_attempts=10)
    assert [backoff.delay(n, 0.999999).total_seconds() // 1 for n in (1, 2, 3, 4, 5, 6)] == [
        59,
        119,
        239,
        479,
        599,
        599,
    ]
    assert [backoff.delay(n, 0.0).total_seconds() for n in (1, 2, 3, 5)] == [30, 60, 120, 300]


@pytest.mark.parametrize("attempts, jitter", [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_backoff_refuses_what_cannot_be(attempts, jitter):
    with pytest.raises(ValueError):
        Backoff().delay(attempts, jitter)


def test_a_temporary_failure_is_deferred_until_the_last_try_then_failed():
    backoff = Backoff(base_seconds=60, cap_seconds=3600, max_attempts=3)
    assert backoff.after_failure(1, NOW, 0.5) == (DeliveryStatus.DEFERRED, NOW + timedelta(seconds=45))
    assert backoff.after_failure(2, NOW, 0.5) == (DeliveryStatus.DEFERRED, NOW + timedelta(seconds=90))
    assert backoff.after_failure(3, NOW, 0.5) == (DeliveryStatus.FAILED, None)


def test_keys_and_errors_hold_ids_only_in_one_short_line():
    assert recipient_key("client", "c1") == "client:c1" and cause_key("e1", "plan_approved") == "e1:plan_approved"
    assert truncate_error("a\n  b") == "a b" and len(truncate_error("x" * 900)) == 500


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_makes_a_mail_in_both_languages_with_a_login_link(template):
    params = _params_for(template)
    for lang, other in (("nl", "en"), ("en", "nl")):
        mail = channels.email(template, params, lang, LOGIN)
        assert mail.language == lang and mail.subject and mail.text.count("\n") > 3
        assert LOGIN in mail.text and f'href="{LOGIN}"' in mail.html and f'lang="{lang}"' in mail.html
        assert mail.subject != channels.email(template, params, other, LOGIN).subject
        assert not channels.looks_personal(mail.subject, mail.text, mail.html)


def test_an_unknown_language_falls_back_to_dutch():
    mail = channels.email("plan_returned", {}, "de", LOGIN)
    assert mail.language == "nl" and mail.subject == "Uw plan is teruggestuurd"
    assert channels.email("plan_returned", {}, None, LOGIN).language == "nl"
    assert channels.sms("plan_returned", {}, "fr", LOGIN).text.startswith("Uw plan is teruggestuurd.")


def test_a_missing_variable_fails_instead_of_sending_a_broken_mail():
    with pytest.raises(UndefinedError):
        channels.email("decision_due_soon", {}, "nl", LOGIN)


def test_amounts_stay_in_the_app_a_mail_asks_to_log_in():
    mail = channels.email("invoice_paid", {"amount_cents": 123456, "paid_on": "2026-12-01"}, "nl", LOGIN)
    assert "1.234,56" not in mail.text and "1234" not in mail.html
    assert "De details staan in de app" in mail.text
    budget = channels.email(
        "budget_threshold", {"percent": 80, "used_cents": 80000, "granted_cents": 100000}, "en", LOGIN
    )
    assert budget.subject == "You have used 80% of your budget" and "800" not in budget.text


@pytest.mark.parametrize(
    "text", ["BSN 123456782", "nummer 1234.56.782", "1234 56 782", "Medische keuring", "the diagnosis"]
)
def test_something_like_a_bsn_or_health_words_is_held_back(text):
    assert channels.looks_personal("Onderwerp", text)


def test_dates_and_links_are_not_mistaken_for_a_bsn():
    assert not channels.looks_personal("Uiterlijk 2026-12-31", "http://127.0.0.1:8000/", "traject 12345678")


def _params_for(template: str) -> dict[str, object]:
    """A value for every variable the template uses (amounts in cents, a yes/no, else a day)."""
    env = templates._env  # the service's environment: its filters
    names: set[str] = set()
    for subject, body in TEMPLATES[template].values():
        names |= meta.find_undeclared_variables(env.parse(subject + body))
    return {
        n: 10000 if n.endswith("_cents") or n == "percent" else False if n == "on_track" else "2026-12-01"
        for n in names
    }


# Preferences and quiet hours, with the frozen clock.


def _local(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return FrozenClock.on(date(2026, 12, day), hour).now() + timedelta(minutes=minute)


def test_no_sms_at_night_for_anyone_it_waits_until_eight():
    prefs = Preferences(sms=True)
    assert prefs.send_at(Channel.SMS, _local(23)) == _local(8, day=3)
    assert prefs.send_at(Channel.SMS, _local(6)) == _local(8)
    assert prefs.send_at(Channel.SMS, _local(12)) == _local(12)
    assert prefs.send_at(Channel.EMAIL, _local(23)) == _local(23)  # mail is not held without hold_mail


def test_quiet_hours_hold_mail_until_the_morning_only_where_configured():
    quiet = Preferences(quiet_from=time(20, 0), quiet_until=time(9, 30), hold_mail=True, sms=True)
    assert quiet.send_at(Channel.EMAIL, _local(22)) == _local(9, 30, day=3)
    assert quiet.send_at(Channel.EMAIL, _local(7)) == _local(9, 30)
    assert quiet.send_at(Channel.EMAIL, _local(10)) == _local(10)
    assert quiet.send_at(Channel.SMS, _local(8, 15)) == _local(9, 30)  # the later of night and quiet
    assert quiet.send_at(Channel.IN_APP, _local(23)) == _local(23)  # the inbox is always there
    daytime = Preferences(quiet_from=time(12, 0), quiet_until=time(13, 0), hold_mail=True)
    assert daytime.send_at(Channel.EMAIL, _local(12, 30)) == _local(13)


def test_channels_on_and_off():
    assert Preferences().wants(Channel.EMAIL) and not Preferences().wants(Channel.SMS)
    assert not Preferences(email=False).wants(Channel.EMAIL) and Preferences(email=False).wants(Channel.IN_APP)
