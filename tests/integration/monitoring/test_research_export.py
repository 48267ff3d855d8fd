"""The research export through the API: pseudonymised rows of the period, no ids, months only, CSV
and typed Parquet, and a log of who exported what, when."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pyarrow.parquet as pq
import pytest

from services.monitoring.domain.research_export import NAMES
from services.monitoring.research_export import SCHEMA
from tests.integration.monitoring.experiments_support import add_trajectory
from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth

BASE = "/monitoring/v1"
POLICY, LEAD, KM = auth("policy", "0014"), auth("team_lead", "0014"), auth("case_manager", "0014")
PERIOD = {"from": "2026-01-01", "to": "2026-06-30"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("research"), request.param) as (runtime, http, clock):
        plans = {
            "worked": add_trajectory(
                runtime,
                "client-worked",
                started_on=date(2026, 2, 17),
                benefit="wwb",
                gender="female",
                age_band="35_44",
                motivation="more",
                provisions_recorded=True,
                debt_counselling=True,
                contact_hours="less",
                status="closed",
                closed_on=date(2026, 11, 3),
                outcome_category="work_after",
                kind_of_work="permanent_job",
                outflow_on=date(2026, 9, 14),
                durable=True,
                granted_cents=2500_50,
                spent_cents=1210_00,
                case_minutes=135,
            ),
            "running": add_trajectory(runtime, "client-running", started_on=date(2026, 6, 30)),
            "closed": add_trajectory(
                runtime, "client-closed", started_on=date(2026, 1, 1), status="closed", closed_on=date(2026, 5, 20)
            ),
            "before": add_trajectory(runtime, "client-before", started_on=date(2025, 12, 31)),
            "orientation": add_trajectory(runtime, "client-running", kind="orientation", started_on=date(2026, 3, 1)),
            "elsewhere": add_trajectory(runtime, "client-elsewhere", municipality="0363", started_on=date(2026, 3, 1)),
        }
        lead = auth("team_lead", "0014")
        r = http.post(
            f"{BASE}/experiments",
            headers=lead,
            json={
                "name": "Proef",
                "assignment": "choice",
                "groups": [
                    {"key": "control", "name": "Controle", "control": True},
                    {"key": "support", "name": "Meer steun"},
                ],
            },
        )
        experiment_id = r.json()["id"]
        r = http.post(
            f"{BASE}/experiments/{experiment_id}/choices",
            headers=lead,
            json={"client_id": "client-worked", "group": "support"},
        )
        assert r.status_code == 201, r.text
        yield runtime, http, plans, experiment_id, clock


def _csv(http, headers=LEAD, **params) -> list[dict[str, str]]:
    r = http.get(f"{BASE}/research-export", headers=headers, params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(r.text)))


def test_one_row_per_plan_trajectory_started_in_the_period_of_the_municipality(env):
    _runtime, http, _plans, _experiment_id, _clock = env
    rows = _csv(http)
    assert len(rows) == 3  # worked, running (30 June counts), closed; not before, the orientation or 0363
    assert {r["start_month"] for r in rows} == {"2026-02", "2026-06", "2026-01"}
    assert {r["municipality"] for r in rows} == {"0014"}


def test_a_row_carries_categories_months_euros_and_the_experiment_group(env):
    _runtime, http, _plans, _experiment_id, _clock = env
    rows = {r["start_month"]: r for r in _csv(http)}
    worked, running, closed = rows["2026-02"], rows["2026-06"], rows["2026-01"]
    assert (worked["benefit"], worked["gender"], worked["age_band"], worked["motivation"]) == (
        "wwb",
        "female",
        "35_44",
        "more",
    )
    assert (worked["provisions_recorded"], worked["debt_counselling"], worked["childcare"]) == ("true", "true", "false")
    assert (worked["close_month"], worked["outflow_month"], worked["kind_of_work"]) == (
        "2026-11",
        "2026-09",
        "permanent_job",
    )
    assert (worked["outcome_category"], worked["durable"], worked["experiment_group"]) == (
        "work_after",
        "true",
        "support",
    )
    assert (worked["granted_euros"], worked["paid_euros"], worked["case_minutes"]) == ("2500.50", "1210.00", "135")
    # Not recorded stays empty, not "false"; no outcome yet reads as the status implies.
    assert (running["debt_counselling"], running["motivation"], running["experiment_group"]) == ("", "", "")
    assert (running["outcome_category"], closed["outcome_category"]) == ("no_work_running", "unknown")


def test_the_export_holds_no_plan_or_client_id_and_no_exact_date(env):
    _runtime, http, plans, _experiment_id, _clock = env
    r = http.get(f"{BASE}/research-export", headers=LEAD, params=PERIOD)
    text = r.text
    assert list(csv.reader(io.StringIO(text)))[0] == list(NAMES)
    assert not any(plan_id in text for plan_id in plans.values())
    assert "client-" not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)  # months only
    assert "2026-02-17" not in text and "2026-09-14" not in text


def test_pseudonyms_hold_within_an_export_and_differ_between_two(env):
    _runtime, http, _plans, _experiment_id, _clock = env
    first, second = _csv(http), _csv(http)
    one = [r["pseudonym"] for r in first]
    assert len(set(one)) == len(one) == 3 and all(re.fullmatch(r"[0-9a-f]{16}", p) for p in one)
    assert not set(one) & {r["pseudonym"] for r in second}


def test_parquet_is_readable_by_pyarrow_with_the_typed_schema(env):
    _runtime, http, _plans, experiment_id, _clock = env
    r = http.get(
        f"{BASE}/research-export", headers=LEAD, params={**PERIOD, "format": "parquet", "experiment_id": experiment_id}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(r.content))
    assert table.schema.equals(SCHEMA, check_metadata=False) and table.num_rows == 3
    worked = next(row for row in table.to_pylist() if row["start_month"] == "2026-02")
    assert str(worked["granted_euros"]) == "2500.50" and worked["case_minutes"] == 135 and worked["durable"] is True
    assert worked["experiment_group"] == "support"


def test_every_export_is_logged_and_the_log_is_listed_for_the_municipality(env):
    _runtime, http, _plans, _experiment_id, clock = env
    clock.advance(timedelta(minutes=5))  # the newest first: this one after the other tests' exports
    http.get(f"{BASE}/research-export", headers=LEAD, params={**PERIOD, "format": "parquet", "scheme": "prb"})
    r = http.get(f"{BASE}/research-exports", headers=POLICY, params={"page_size": 1})
    assert r.status_code == 200 and int(r.headers["X-Total-Count"]) >= 1
    latest = r.json()[0]
    assert (latest["municipality"], latest["role"], latest["requested_by"], latest["format"]) == (
        "0014",
        "team_lead",
        "team_lead-0014",
        "parquet",
    )
    assert latest["filters"] == {"from": "2026-01-01", "to": "2026-06-30", "scheme": "prb", "experiment_id": None}
    assert latest["row_count"] == 3
    assert http.get(f"{BASE}/research-exports", headers=auth("policy", "0363")).json() == []


def test_an_end_before_the_start_is_a_422_naming_to(env):
    _runtime, http, _plans, _experiment_id, _clock = env
    r = http.get(f"{BASE}/research-export", headers=LEAD, params={"from": "2026-06-01", "to": "2026-05-31"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "to" and r.json()["code"] == "period.end_before_start"
    dutch = http.get(
        f"{BASE}/research-export",
        headers={**LEAD, "Accept-Language": "nl"},
        params={"from": "2026-06-01", "to": "2026-05-31"},
    )
    assert dutch.json()["errors"][0]["message"].startswith("Het einde van de periode")


def test_who_may_export_and_what_cannot_be_asked(env):
    _runtime, http, _plans, experiment_id, _clock = env
    assert http.get(f"{BASE}/research-export", headers=KM).status_code == 403
    assert http.get(f"{BASE}/research-exports", headers=KM).status_code == 403
    r = http.get(f"{BASE}/research-export", headers=LEAD, params={"municipality": "0363"})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "municipality"
    other = auth("team_lead", "0363")
    theirs = http.get(f"{BASE}/research-export", headers=other, params={"experiment_id": experiment_id})
    assert theirs.status_code == 404
    assert http.get(f"{BASE}/research-export", headers=LEAD, params={"format": "xlsx"}).status_code == 422


def test_policy_reads_the_export_log_but_gets_no_row_of_one_person(env):
    """Policy staff see aggregates only: a row per trajectory (with its health and debt provisions,
    pseudonymised or not) is not an aggregate. The team lead exports; policy reads who did."""
    _runtime, http, _plans, _experiment_id, _clock = env
    r = http.get(f"{BASE}/research-export", headers=POLICY, params=PERIOD)
    assert r.status_code == 403 and "pseudonym" not in r.text
    assert (
        http.get(f"{BASE}/research-export", headers=POLICY, params={**PERIOD, "format": "parquet"}).status_code == 403
    )
    assert http.get(f"{BASE}/research-exports", headers=POLICY).status_code == 200
