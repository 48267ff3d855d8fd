"""Experiments through the API: set up, drawn by a seeded lottery anyone can re-run, or chosen;
refusals name their field; results per group against control with a 95 % interval."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime

import pytest

from services.monitoring.domain.experiments import MAX_SEED, lottery
from tests.integration.monitoring.experiments_support import add_trajectory, set_outcome
from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth

BASE = "/monitoring/v1"
LEAD, KM, POLICY = auth("team_lead", "0014"), auth("case_manager", "0014"), auth("policy", "0014")
OTHER_LEAD = auth("team_lead", "0363")
GROUPS = [
    {"key": "control", "name": "Controle", "control": True},
    {"key": "freedom", "name": "Meer vrijheid"},
    {"key": "support", "name": "Meer steun"},
]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("experiments"), request.param) as (runtime, http, clock):
        yield runtime, http, clock


def _experiment(http, assignment="lottery", headers=LEAD, groups=GROUPS) -> dict:
    r = http.post(
        f"{BASE}/experiments",
        headers=headers,
        json={
            "name": "Proef Wageningen",
            "description": "Meer vrijheid of meer steun",
            "assignment": assignment,
            "groups": groups,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def _ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _field(r, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()["errors"][0]["field"]


def test_a_team_lead_or_policy_sets_up_an_experiment_and_staff_read_it(env):
    _runtime, http, _clock = env
    made = _experiment(http)
    assert [g["key"] for g in made["groups"]] == ["control", "freedom", "support"]
    assert made["municipality"] == "0014" and made["assignment"] == "lottery"
    assert _experiment(http, headers=POLICY)["assignment"] == "lottery"
    assert http.get(f"{BASE}/experiments/{made['id']}", headers=KM).json()["name"] == "Proef Wageningen"
    listed = http.get(f"{BASE}/experiments", headers=POLICY, params={"page_size": 1})
    assert listed.status_code == 200 and len(listed.json()) == 1 and int(listed.headers["X-Total-Count"]) >= 2


def test_a_case_manager_cannot_set_up_an_experiment_nor_the_client_read_one(env):
    _runtime, http, _clock = env
    r = http.post(f"{BASE}/experiments", headers=KM, json={"name": "x", "assignment": "lottery", "groups": GROUPS})
    assert r.status_code == 403
    made = _experiment(http)
    client = auth("client", "0014", client_id="c-1")
    assert http.get(f"{BASE}/experiments/{made['id']}", headers=client).status_code == 403


@pytest.mark.parametrize(
    "groups",
    [
        [{"key": "a", "name": "A"}, {"key": "b", "name": "B"}],  # no control
        [{"key": "a", "name": "A", "control": True}, {"key": "b", "name": "B", "control": True}],
        [{"key": "a", "name": "A", "control": True}],  # one group
        [{"key": f"g{i}", "name": "G", "control": i == 0} for i in range(7)],
        [{"key": "a", "name": "A", "control": True}, {"key": "a", "name": "B"}],
    ],
)
def test_groups_other_than_two_to_six_with_one_control_are_refused_naming_groups(env, groups):
    _runtime, http, _clock = env
    r = http.post(f"{BASE}/experiments", headers=LEAD, json={"name": "x", "assignment": "lottery", "groups": groups})
    assert _field(r, 422).startswith("groups")


def test_a_draw_is_balanced_recorded_and_re_runs_to_the_same_assignment(env):
    _runtime, http, clock = env
    made = _experiment(http)
    ids = _ids(31)
    r = http.post(f"{BASE}/experiments/{made['id']}/draws", headers=LEAD, json={"client_ids": ids, "seed": 1998})
    assert r.status_code == 201, r.text
    drawn = r.json()
    sizes = Counter(a["group"] for a in drawn["assignment"])
    assert sorted(sizes.values()) == [10, 10, 11] and {a["how"] for a in drawn["assignment"]} == {"lottery"}
    record = http.get(f"{BASE}/experiments/{made['id']}/draws/{drawn['id']}", headers=KM).json()
    assert record["seed"] == 1998 and record["seed_from"] == "caller" and record["client_ids"] == sorted(ids)
    # Anyone can re-run it from what the draw records.
    rerun = lottery(record["client_ids"], record["group_order"], record["seed"])
    assert rerun == [(a["client_id"], a["group"]) for a in record["assignment"]]
    assert {_at(a["assigned_at"]) for a in record["assignment"]} == {clock.now()} == {_at(record["drawn_at"])}
    # A second draw deals to the smaller groups first: the experiment stays within one.
    r = http.post(f"{BASE}/experiments/{made['id']}/draws", headers=LEAD, json={"client_ids": _ids(5)})
    assert r.status_code == 201 and r.json()["seed_from"] == "system" and 0 <= r.json()["seed"] <= MAX_SEED
    groups = http.get(f"{BASE}/experiments/{made['id']}", headers=KM).json()["groups"]
    assert sorted(g["participants"] for g in groups) == [12, 12, 12]
    draws = http.get(f"{BASE}/experiments/{made['id']}/draws", headers=KM)
    assert sorted(d["clients"] for d in draws.json()) == [5, 31] and draws.headers["X-Total-Count"] == "2"
    members = http.get(f"{BASE}/experiments/{made['id']}/assignments", headers=KM, params={"group": "freedom"})
    assert members.headers["X-Total-Count"] == "12"


def test_a_draw_over_nothing_twice_the_same_client_or_clients_already_assigned_is_refused(env):
    _runtime, http, _clock = env
    made = _experiment(http)
    url = f"{BASE}/experiments/{made['id']}/draws"
    assert _field(http.post(url, headers=LEAD, json={"client_ids": []}), 422) == "client_ids"
    twice = _ids(2)
    assert _field(http.post(url, headers=LEAD, json={"client_ids": [*twice, twice[0]]}), 422) == "client_ids"
    first = _ids(4)
    assert http.post(url, headers=LEAD, json={"client_ids": first}).status_code == 201
    r = http.post(url, headers=LEAD, json={"client_ids": [first[0], *_ids(3)]})
    assert _field(r, 409) == "client_ids" and r.json()["code"] == "experiment.already_assigned"
    assert _field(http.post(url, headers=LEAD, json={"client_ids": _ids(1), "seed": -1}), 422) == "seed"
    assert http.post(url, headers=KM, json={"client_ids": _ids(1)}).status_code == 403  # the team lead draws


def test_a_draw_in_an_experiment_where_clients_choose_is_refused_naming_assignment(env):
    _runtime, http, _clock = env
    made = _experiment(http, assignment="choice")
    r = http.post(f"{BASE}/experiments/{made['id']}/draws", headers=LEAD, json={"client_ids": _ids(3)})
    assert _field(r, 409) == "assignment" and r.json()["code"] == "experiment.not_a_lottery"


def test_a_client_s_choice_is_recorded_as_a_choice_once_and_only_in_a_choice_experiment(env):
    _runtime, http, clock = env
    made = _experiment(http, assignment="choice")
    url = f"{BASE}/experiments/{made['id']}/choices"
    r = http.post(url, headers=KM, json={"client_id": "c-choose", "group": "support"})
    assert r.status_code == 201, r.text
    assert r.json()["how"] == "choice" and r.json()["draw_id"] is None and r.json()["group"] == "support"
    assert _at(r.json()["assigned_at"]) == clock.now()
    assert _field(http.post(url, headers=KM, json={"client_id": "c-choose", "group": "control"}), 409) == "client_id"
    assert _field(http.post(url, headers=KM, json={"client_id": "c-2", "group": "nonsense"}), 422) == "group"
    lottery_url = f"{BASE}/experiments/{_experiment(http)['id']}/choices"
    r = http.post(lottery_url, headers=KM, json={"client_id": "c-3", "group": "support"})
    assert _field(r, 409) == "assignment"


def test_another_municipality_s_experiment_is_a_404_everywhere(env):
    _runtime, http, _clock = env
    made = _experiment(http)
    theirs = f"{BASE}/experiments/{made['id']}"
    for r in (
        http.get(theirs, headers=OTHER_LEAD),
        http.get(f"{theirs}/results", headers=OTHER_LEAD),
        http.get(f"{theirs}/draws", headers=OTHER_LEAD),
        http.get(f"{theirs}/assignments", headers=OTHER_LEAD),
        http.post(f"{theirs}/draws", headers=OTHER_LEAD, json={"client_ids": _ids(2)}),
    ):
        assert r.status_code == 404, r.text
    assert made["id"] not in {e["id"] for e in http.get(f"{BASE}/experiments", headers=OTHER_LEAD).json()}
    drawn = http.post(f"{theirs}/draws", headers=LEAD, json={"client_ids": _ids(2)}).json()
    assert http.get(f"{theirs}/draws/{drawn['id']}", headers=auth("case_manager", "0363")).status_code == 404
    other = _experiment(http)
    assert http.get(f"{BASE}/experiments/{other['id']}/draws/{drawn['id']}", headers=KM).status_code == 404


def test_results_count_outflow_per_group_and_give_newcombes_interval_against_control(env):
    runtime, http, _clock = env
    made = _experiment(http, assignment="choice", groups=GROUPS[:2])
    url = f"{BASE}/experiments/{made['id']}"
    # Newcombe (1998) example (a): 56 of 70 against 48 of 80; difference 0.2000, 95 % 0.0524 to 0.3339.
    plans: dict[str, list[str]] = {"freedom": [], "control": []}
    for group, n, worked, no_trajectory in (("freedom", 70, 56, 0), ("control", 80, 48, 10)):
        for i in range(n):
            client = f"{group}-{i}-{uuid.uuid4().hex[:8]}"
            r = http.post(f"{url}/choices", headers=KM, json={"client_id": client, "group": group})
            assert r.status_code == 201, r.text
            if i >= n - no_trajectory:
                # No trajectory here; work in another municipality or in an orientation phase does not count.
                add_trajectory(runtime, client, municipality="0363", outcome_category="work_during")
                add_trajectory(runtime, client, kind="orientation", outcome_category="work_after")
                continue
            category = ("work_during", "work_after", "work_ended")[i % 3] if i < worked else "no_work_ended"
            plans[group].append(add_trajectory(runtime, client, outcome_category=category))
            if i == 0:  # a second trajectory without work does not undo the first one's outflow
                add_trajectory(runtime, client, outcome_category=None)
    r = http.get(f"{url}/results", headers=POLICY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assignment"] == "choice" and "chosen" in body["warning"]
    control, freedom = body["groups"]
    assert (control["key"], control["n"], control["outflow"], control["without_trajectory"]) == ("control", 80, 48, 10)
    assert (freedom["n"], freedom["outflow"], freedom["proportion"]) == (70, 56, 0.8)
    assert control["difference"] is None
    assert freedom["difference"] == {
        "estimate": 0.2,
        "low": 0.0524,
        "high": 0.3339,
        "method": "newcomb",
        "confidence": 0.95,
    }
    wald = http.get(f"{url}/results", headers=KM, params={"interval": "wald"}).json()["groups"][1]["difference"]
    assert (wald["low"], wald["high"], wald["method"]) == (0.0575, 0.3425, "wald")
    # Updated as outcomes come in: one more control participant finds work.
    set_outcome(runtime, plans["control"][-1], "work_after")
    control = http.get(f"{url}/results", headers=KM).json()["groups"][0]
    assert (control["outflow"], control["proportion"]) == (49, 0.6125)
    assert _field(http.get(f"{url}/results", headers=KM, params={"interval": "bogus"}), 422) == "interval"


def test_results_of_a_drawn_experiment_carry_no_warning_and_empty_groups_no_interval(env):
    _runtime, http, _clock = env
    made = _experiment(http)
    body = http.get(f"{BASE}/experiments/{made['id']}/results", headers=KM).json()
    assert body["warning"] is None and body["computed_on"]
    assert [(g["n"], g["proportion"], g["difference"]) for g in body["groups"]] == [(0, None, None)] * 3


def test_policy_staff_do_not_see_a_group_small_enough_to_point_at_a_person(env):
    runtime, http, _clock = env
    made = _experiment(http, assignment="choice", groups=GROUPS)
    url = f"{BASE}/experiments/{made['id']}"
    # control: 10 of 20 found work; freedom: 3 of 20 (a cell of 3 under the minimum of 5); support: 9 of 12.
    for group, n, worked in (("control", 20, 10), ("freedom", 20, 3), ("support", 12, 9)):
        for i in range(n):
            client = f"{group}-small-{i}-{uuid.uuid4().hex[:8]}"
            assert http.post(f"{url}/choices", headers=KM, json={"client_id": client, "group": group}).status_code == 201
            add_trajectory(runtime, client, outcome_category="work_during" if i < worked else "no_work_running")
    as_policy = {g["key"]: g for g in http.get(f"{url}/results", headers=POLICY).json()["groups"]}
    assert as_policy["freedom"]["suppressed"] and as_policy["freedom"]["outflow"] is None
    assert as_policy["freedom"]["n"] is None and as_policy["freedom"]["difference"] is None
    assert as_policy["support"]["suppressed"]  # 12 - 9 = 3 without outflow: also too small
    control = as_policy["control"]
    assert not control["suppressed"] and (control["n"], control["outflow"]) == (20, 10)
    as_lead = {g["key"]: g for g in http.get(f"{url}/results", headers=LEAD).json()["groups"]}
    assert (as_lead["freedom"]["outflow"], as_lead["freedom"]["suppressed"]) == (3, False)
    assert as_lead["freedom"]["difference"]["estimate"] == -0.35
