"""Notifications' message list: one language parameter (`lang`, Accept-Language as the fallback),
paged, filters validated, roles from its one table; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth
from tests.support.world import make_case

KM = auth("case_manager", "0014")
URL = "/notifications/v1/messages"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("notif"), request.param) as (runtime, http, _clock):
        yield runtime, http, make_case(http, runtime, "0014", 81)


def _subjects(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [m["subject"] for m in r.json()]


def test_lang_picks_the_language_and_wins_over_accept_language(env):
    _runtime, http, case = env
    english = http.get(URL, headers={**case.headers(), "Accept-Language": "nl"}, params={"lang": "en"})
    assert "Your plan has been approved" in _subjects(english)
    assert {m["language"] for m in english.json()} == {"en"}
    dutch = http.get(URL, headers={**case.headers(), "Accept-Language": "en"}, params={"lang": "nl"})
    assert "Uw plan is goedgekeurd" in _subjects(dutch)


def test_without_lang_accept_language_decides_and_dutch_is_the_default(env):
    _runtime, http, case = env
    assert "Your plan has been approved" in _subjects(
        http.get(URL, headers={**case.headers(), "Accept-Language": "en-GB"})
    )
    assert "Uw plan is goedgekeurd" in _subjects(http.get(URL, headers=case.headers()))


@pytest.mark.parametrize("params", [{"lang": "de"}, {"recipient_kind": "everyone"}, {"page_size": 0}])
def test_an_unknown_filter_value_is_a_422_naming_it(env, params):
    _runtime, http, case = env
    r = http.get(URL, headers=KM, params=params)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] in params, r.text


def test_messages_are_paged_and_filtered_by_recipient(env):
    _runtime, http, case = env
    everything = http.get(URL, headers=KM, params={"client_id": case.client_id})
    total = int(everything.headers["X-Total-Count"])
    assert total == len(everything.json()) >= 2  # plan approved (client), progress reported (team)
    first = http.get(URL, headers=KM, params={"client_id": case.client_id, "page_size": 1, "lang": "en"})
    assert len(first.json()) == 1 and first.headers["X-Total-Count"] == str(total)
    assert 'rel="next"' in first.headers["Link"] and "lang=en" in first.headers["Link"]
    team = http.get(URL, headers=KM, params={"client_id": case.client_id, "recipient_kind": "case_team"}).json()
    assert team and {m["recipient_kind"] for m in team} == {"case_team"}


def test_the_client_side_sees_only_its_own_messages_to_the_client(env):
    _runtime, http, case = env
    mine = http.get(URL, headers=case.headers()).json()
    assert mine and {(m["client_id"], m["recipient_kind"]) for m in mine} == {(case.client_id, "client")}
    # Asking for the case team's messages gives none, not someone else's.
    assert http.get(URL, headers=case.headers(), params={"recipient_kind": "case_team"}).json() == []


def test_a_role_outside_the_table_gets_a_403_naming_the_allowed_roles(env):
    _runtime, http, _case = env
    r = http.get(URL, headers=auth("policy", "0014"))
    assert r.status_code == 403
    assert r.json()["detail"] == (
        "This needs one of the roles: case_manager, team_lead, client, representative, finance, ops, provider, partner."
    )
    dutch = http.get(URL, headers={**auth("policy", "0014"), "Accept-Language": "nl"})
    assert dutch.json()["detail"].startswith("Hiervoor is een van deze rollen nodig")
