"""The benchmark through the API reproduces figures worked out by hand from raw registrations: Table 4.7
of the report (146 trajectories), costs to the cent, small cells suppressed in JSON, CSV and charts."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from datetime import date, timedelta

import pytest
from sqlmodel import Session

from services.monitoring.models import Trajectory, TrajectoryLine
from tests.integration.monitoring.support import frozen_world
from tests.support.auth import auth

PERIOD = {"from": "2026-01-01", "to": "2026-06-30"}
POLICY, LEAD = auth("policy", "0014"), auth("team_lead", "0014")
_days = itertools.cycle(range(170))


def _trajectory(municipality: str, benefit: str, *, outcome: str | None = None, closed: bool = False,
                kind_of_work: str | None = None, durable: bool = False, client: str | None = None,
                started_on: date | None = None, kind: str = "plan", scheme: str = "prb",
                lines: tuple[tuple[str, int], ...] = (), **columns) -> tuple[Trajectory, list[TrajectoryLine]]:
    plan_id = str(uuid.uuid4())
    started = started_on or date(2026, 1, 5) + timedelta(days=next(_days))
    row = Trajectory(plan_id=plan_id, kind=kind, municipality=municipality, client_id=client or str(uuid.uuid4()),
                     scheme=scheme, started_on=started, execution_deadline=started + timedelta(days=365),
                     status="closed" if closed else "running", closed_on=started + timedelta(days=100) if closed
                     else None, benefit=benefit, outcome_category=outcome, kind_of_work=kind_of_work,
                     durable=durable, **columns)
    # The lines carry their trajectory's start, scheme and benefit, as the handlers keep them.
    return row, [TrajectoryLine(plan_line_id=str(uuid.uuid4()), plan_id=plan_id, municipality=municipality,
                                category=category, granted_cents=cents, started_on=started, scheme=scheme,
                                benefit=benefit, first_of_category=category not in (c for c, _ in lines[:i]))
                 for i, (category, cents) in enumerate(lines)]


def _many(count: int, municipality: str, benefit: str, **kwargs):
    return [_trajectory(municipality, benefit, **kwargs) for _ in range(count)]


def _table_4_7() -> list:
    """The report's 146: WWB 22, 4, 4, 43, 10, 14 and NUG 25, 1, 0, 17, 1, 5; 'no outcome yet' rows
    derived (running: no work, running; closed: unknown)."""
    m, rows = "0014", []
    rows += _many(6, m, "wwb", outcome="work_during", kind_of_work="work_experience", durable=True, gender="female")
    rows += _many(4, m, "wwb", outcome="work_during", kind_of_work="secondment", durable=True, gender="female")
    rows += _many(2, m, "wwb", outcome="work_during", kind_of_work="trial_placement", gender="female")
    for kind in ("permanent_job",) * 4 + ("temporary_job",) * 3 + ("temp_agency",) * 2 + ("own_business",):
        rows += _many(1, m, "wwb", outcome="work_during", kind_of_work=kind, gender="female")
    rows += _many(4, m, "wwb", outcome="work_after", kind_of_work="permanent_job", closed=True, gender="female")
    rows += _many(4, m, "wwb", outcome="work_ended", closed=True, gender="female")
    rows += _many(30, m, "wwb", gender="male")  # no outcome yet, running
    rows += _many(13, m, "wwb", outcome="no_work_running", gender="male")
    rows += _many(10, m, "wwb", outcome="no_work_ended", closed=True, gender="male")
    rows += _many(8, m, "wwb", closed=True, gender="male")  # no outcome, closed: unknown
    rows += _many(2, m, "wwb", outcome="unknown", closed=True, gender="male")
    rows += _many(2, m, "wwb", outcome="unknown", closed=True)  # gender unknown
    rows += _many(2, m, "wwb", outcome="unknown", closed=True, gender="female")
    rows += _many(15, m, "nug", outcome="work_during", kind_of_work="work_experience", durable=True, gender="female")
    rows += _many(10, m, "nug", outcome="work_during", kind_of_work="permanent_job", gender="female")
    rows += _many(1, m, "nug", outcome="work_after", closed=True, gender="female")
    rows += _many(17, m, "nug", gender="female")
    rows += _many(1, m, "nug", outcome="no_work_ended", closed=True, gender="male")
    rows += _many(5, m, "nug", closed=True, gender="male", durable=False)
    # Not in the report: before the period, another scheme, an orientation phase.
    rows += _many(5, m, "wwb", outcome="work_during", started_on=date(2025, 12, 31))
    rows += _many(3, m, "wwb", outcome="work_during", scheme="pgb_bw")
    rows += _many(2, m, "nug", kind="orientation")
    return rows


def _costs() -> list:
    """0344: seven trajectories whose costs are worked out by hand in the test below."""
    m, a, d = "0344", "client-a", "client-d"
    return [
        _trajectory(m, "wwb", client=a, started_on=date(2026, 2, 1), outcome="work_during",
                    kind_of_work="permanent_job", granted_cents=4000_00, spent_cents=3000_00, case_minutes=120,
                    external_cost_cents=500_00, motivation="more", contact_hours="more", provisions_recorded=True,
                    debt_counselling=True, lines=(("coaching", 1500_00), ("training_knowledge", 2500_00))),
        _trajectory(m, "wwb", granted_cents=5000_00, spent_cents=1000_00, case_minutes=60, motivation="same",
                    contact_hours="average", provisions_recorded=True, lines=(("coaching", 5000_00),)),
        _trajectory(m, "wwb", closed=True, granted_cents=2000_00, spent_cents=2000_00,
                    lines=(("training_skills", 2000_00),)),
        # Client A's second plan (first_plan as its start handler keeps it): A's orientation counts once.
        _trajectory(m, "wwb", client=a, started_on=date(2026, 5, 1), granted_cents=1000_00, case_minutes=30,
                    first_plan=False, lines=(("coaching", 1000_00),)),
        _trajectory(m, "nug", client=d, outcome="work_after", kind_of_work="secondment", closed=True,
                    granted_cents=3000_00, spent_cents=2500_00, case_minutes=90, lines=(("job_mediation", 3000_00),)),
        _trajectory(m, "nug", granted_cents=6000_00,  # two coaching lines (two coaches): one client
                    lines=(("coaching", 2500_00), ("computer", 3000_00), ("coaching", 500_00))),
        _trajectory(m, "other", granted_cents=1000_00, spent_cents=500_00, case_minutes=60,
                    lines=(("coaching", 1000_00),)),
        _trajectory(m, "unknown", kind="orientation", client=a, started_on=date(2025, 11, 1), spent_cents=200_00,
                    case_minutes=600),
        _trajectory(m, "unknown", kind="orientation", client=d, started_on=date(2025, 11, 1), case_minutes=120),
        _trajectory(m, "unknown", kind="orientation", client="client-z", spent_cents=999_00, case_minutes=999),
    ]


def _rectangle() -> list:
    """0363, default settings: one small cell (WWB, no work after the end: 2)."""
    m, rows = "0363", []
    for benefit, counts in (("wwb", (10, 10, 0, 12, 2, 6)), ("nug", (10, 10, 0, 12, 5, 6))):
        for outcome, count in zip(("work_during", "work_after", "work_ended", "no_work_running", "no_work_ended",
                                   "unknown"), counts, strict=True):
            rows += _many(count, m, benefit, outcome=outcome, closed=outcome in ("no_work_ended", "unknown"))
    return rows


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request, tmp_path_factory):
    with frozen_world(request, tmp_path_factory.mktemp("monbench"), request.param) as (runtime, http, _clock):
        with Session(runtime.engine) as session:
            for trajectory, lines in _table_4_7() + _costs() + _rectangle():
                session.add(trajectory)
                session.add_all(lines)
            session.commit()
        for municipality, rate in (("0014", "75.00"), ("0344", "60.00")):
            r = http.put("/monitoring/v1/benchmark/settings", headers=auth("team_lead", municipality), json={
                "hourly_rate": rate, "min_cell_size": 1, "reference_outflow_wwb": "19",
                "reference_outflow_nug": "61", "reference_trajectory_cost": "2900.00"})
            assert r.status_code == 200, r.text
        yield runtime, http


def _report(http, municipality="0014", headers=None, **params):
    r = http.get("/monitoring/v1/benchmark", headers=headers or auth("policy", municipality),
                 params={**PERIOD, "municipality": municipality, **params})
    assert r.status_code == 200, r.text
    return r.json()


def _rows(report, table):
    t = next(t for t in report["tables"] if t["key"] == table)
    return {(row["block"], row["row"]): row["cells"] for row in t["rows"]}


def _counts_and_percents(cells):
    return tuple((cells[c]["count"], cells[c]["percent"]) for c in ("wwb", "nug", "total"))


# Worked out by hand from the fixture above: (count, percent) for WWB, NUG and total.
TABLE_4_7 = {
    "work_during": ((22, 23), (25, 51), (47, 32)),
    "work_after": ((4, 4), (1, 2), (5, 3)),
    "work_ended": ((4, 4), (0, 0), (4, 3)),
    "no_work_running": ((43, 44), (17, 35), (60, 41)),
    "no_work_ended": ((10, 10), (1, 2), (11, 8)),
    "unknown": ((14, 14), (5, 10), (19, 13)),
    "outflow": ((30, 31), (26, 53), (56, 38)),
    "durable": ((10, 10), (15, 31), (25, 17)),
    "subsidised": ((12, 40), (15, 58), (27, 48)),  # of the outflow
    "regular": ((14, 47), (10, 38), (24, 43)),
    "kind_not_recorded": ((4, 13), (1, 4), (5, 9)),
}


def test_table_4_7_comes_out_as_the_report_prints_it(env):
    _runtime, http = env
    rows = _rows(_report(http), "outcomes")
    assert _counts_and_percents(rows[("outcomes", "n")]) == ((97, None), (49, None), (146, None))
    for row, expected in TABLE_4_7.items():
        assert _counts_and_percents(rows[("outcomes", row)]) == expected, row


def test_the_profile_splits_by_gender_per_column(env):
    _runtime, http = env
    rows = _rows(_report(http, lang="nl"), "profile")
    # WWB 32 women, 63 men, 2 unknown; NUG 43 women, 6 men.
    assert _counts_and_percents(rows[("gender", "female")]) == ((32, 33), (43, 88), (75, 51))
    assert _counts_and_percents(rows[("gender", "male")]) == ((63, 65), (6, 12), (69, 47))
    assert _counts_and_percents(rows[("gender", "unknown")]) == ((2, 2), (0, 0), (2, 1))


def test_costs_and_the_other_tables_come_out_as_worked_out_by_hand(env):
    _runtime, http = env
    report = _report(http, "0344")
    costs = _rows(report, "costs")
    avg = lambda row: tuple(costs[("costs", row)][c]["average"] for c in ("wwb", "nug", "total"))  # noqa: E731
    assert avg("paid") == ("1500.00", "1250.00", "1285.71")  # 6000/4, 2500/2, 9000/7
    # WWB: (210 min + A's orientation 600 min) = 13.5 h x EUR 60 = 810 + orientation 200 + external 500 = 1510 / 4.
    # NUG: (90 + D's orientation 120 min) = 3.5 h x 60 = 210 / 2. Total: 1510 + 210 + 60 (other) = 1780 / 7.
    assert avg("execution") == ("377.50", "105.00", "254.29")
    assert avg("total_cost") == ("1877.50", "1355.00", "1540.00")
    assert avg("cost_per_placement") == ("6000.00", "2500.00", "4500.00")  # paid / outflow (1, 1, 2)
    assert [c["average_minutes"] for c in costs[("costs", "case_minutes")].values()] == [53, 45, 51]
    granted = _rows(report, "granted_budget")[("spending", "granted")]
    assert [granted[c]["average"] for c in ("wwb", "nug", "total")] == ["3000.00", "4500.00", "3142.86"]
    spending = _rows(report, "spending")
    assert _counts_and_percents(spending[("spending", "coaching")]) == ((3, 75), (1, 50), (5, 71))
    assert spending[("spending", "coaching")]["total"]["amount"] == "11500.00"
    assert spending[("spending", "coaching")]["nug"]["average"] == "3000.00"  # 2500 + 500 for one client
    assert _counts_and_percents(spending[("spending", "computer")]) == ((0, 0), (1, 50), (1, 14))
    soft = _rows(report, "soft_characteristics")
    assert _counts_and_percents(soft[("motivation", "more")]) == ((1, 50), (0, None), (1, 50))
    provisions = _rows(report, "provisions")
    assert _counts_and_percents(provisions[("provisions", "co_occurrence")]) == ((1, 50), (0, None), (1, 50))
    assert provisions[("provisions", "debt_counselling")]["wwb"]["count"] == 1
    contact = _rows(report, "contact_hours")
    assert _counts_and_percents(contact[("contact_hours", "average")]) == ((1, 50), (0, None), (1, 50))
    outflow = {c["column"]: c for c in report["reference"]["outflow"]}
    assert (outflow["wwb"]["actual"], outflow["wwb"]["difference"]) == ("25", "6")
    assert (outflow["nug"]["actual"], outflow["nug"]["difference"]) == ("50", "-11")
    total_cost = {c["column"]: c for c in report["reference"]["total_cost"]}["wwb"]
    assert (total_cost["actual"], total_cost["difference"], total_cost["ratio"]) == ("1877.50", "-1022.50", "0.65")
    assert report["other_or_unknown_benefit"] == 1 and report["settings"]["hourly_rate"] == "60.00"


def test_a_small_cell_is_suppressed_with_partners_so_it_cannot_be_recomputed(env):
    _runtime, http = env
    report = _report(http, "0363", headers=auth("case_manager", "0363"))
    rows = _rows(report, "outcomes")
    hidden = {(row, c) for (_b, row), cells in rows.items() for c, cell in cells.items() if cell["suppressed"]}
    # The 2, the smallest cell beside it in its row (NUG 5), and a second row's cells (6 and 6): of the
    # rectangle only the sums are shown (totals 7 and 12, the column totals), never a single cell.
    assert hidden == {("no_work_ended", "wwb"), ("no_work_ended", "nug"), ("unknown", "wwb"), ("unknown", "nug")}
    for row, column in hidden:
        assert rows[("outcomes", row)][column] == {"count": None, "percent": None, "amount": None, "average": None,
                                                   "average_minutes": None, "suppressed": True}
    assert _counts_and_percents(rows[("outcomes", "no_work_ended")])[2] == (7, 8)
    assert report["min_cell_size"] == 5 and any("5" in note for note in report["notes"])
    text = http.get("/monitoring/v1/benchmark", headers=auth("case_manager", "0363"),
                    params={**PERIOD, "format": "csv"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    cells = {(r["row"], r["column"]): r for r in csv.DictReader(io.StringIO(text.text)) if r["table"] == "outcomes"}
    assert cells[("no_work_ended", "wwb")]["count"] == "" and cells[("no_work_ended", "wwb")]["suppressed"] == "true"
    assert cells[("no_work_ended", "total")]["count"] == "7"


def test_a_chart_leaves_suppressed_cells_out_and_says_so(env):
    _runtime, http = env
    r = http.get("/monitoring/v1/benchmark/charts/outcomes.svg", headers=auth("policy", "0363"), params=PERIOD)
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert "suppressed" in r.text and "No work after the trajectory ended" in r.text
    png = http.get("/monitoring/v1/benchmark/charts/spending.png", headers=POLICY, params=PERIOD)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    nl = http.get("/monitoring/v1/benchmark/charts/costs.svg", headers=POLICY, params={**PERIOD, "lang": "nl"})
    assert nl.status_code == 200 and "Regulier traject" in nl.text


def test_the_national_view_is_for_policy_and_only_aggregates(env):
    _runtime, http = env
    report = _report(http, "all", headers=POLICY)
    assert _counts_and_percents(_rows(report, "outcomes")[("outcomes", "n")])[2] == (146 + 7 + 83, None)
    per_municipality = {row["row"]: row["cells"]["total"] for row in
                        next(t for t in report["tables"] if t["key"] == "granted_budget")["rows"]
                        if row["block"] == "municipalities"}
    assert per_municipality["0344"]["count"] == 7 and per_municipality["0344"]["average"] == "3142.86"
    assert report["min_cell_size"] == 5  # the national view uses the default
    r = http.get("/monitoring/v1/benchmark", headers=LEAD, params={**PERIOD, "municipality": "all"})
    assert r.status_code == 403


@pytest.mark.parametrize("role", ["client", "provider", "finance"])
def test_clients_providers_and_others_get_403(env, role):
    _runtime, http = env
    extra = {"client_id": "c-1"} if role == "client" else {"provider_id": "p-1"} if role == "provider" else {}
    r = http.get("/monitoring/v1/benchmark", headers=auth(role, "0014", **extra), params=PERIOD)
    assert r.status_code == 403, r.text


def test_staff_ask_their_own_municipality_only(env):
    _runtime, http = env
    r = http.get("/monitoring/v1/benchmark", headers=auth("case_manager", "0014"),
                 params={**PERIOD, "municipality": "0344"})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "municipality"


def test_policy_staff_compare_another_municipality_under_its_own_suppression(env):
    _runtime, http = env
    own = http.get("/monitoring/v1/benchmark", headers=POLICY, params={**PERIOD, "municipality": "0344"})
    assert own.status_code == 200, own.text
    other = own.json()
    assert other["municipality"] == "0344" and other["settings"]["municipality"] == "0344"
    assert _counts_and_percents(_rows(other, "outcomes")[("outcomes", "n")])[2] == (7, None)


@pytest.mark.parametrize(
    "params,field",
    [
        ({"from": "2026-06-30", "to": "2026-01-01"}, "to"),
        ({"scheme": "bogus"}, "scheme"),
        ({"municipality": "14"}, "municipality"),
        ({"from": "2026-13-01"}, "from"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(env, params, field):
    _runtime, http = env
    r = http.get("/monitoring/v1/benchmark", headers=POLICY, params={**PERIOD, **params})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]


def test_an_unknown_chart_or_image_type_is_a_422(env):
    _runtime, http = env
    assert http.get("/monitoring/v1/benchmark/charts/pie.svg", headers=POLICY).status_code == 422
    assert http.get("/monitoring/v1/benchmark/charts/outcomes.gif", headers=POLICY).status_code == 422


def test_settings_are_read_by_staff_changed_by_team_lead_or_policy_and_validated(env):
    _runtime, http = env
    r = http.get("/monitoring/v1/benchmark/settings", headers=auth("case_manager", "0599"))
    assert r.status_code == 200 and r.json()["is_default"] and r.json()["min_cell_size"] == 5
    assert r.json()["reference_trajectory_cost"] == "2900.00" and r.json()["reference_outflow_wwb"] == "19"
    body = {"hourly_rate": "70.00", "min_cell_size": 0, "reference_outflow_wwb": "19.5",
            "reference_outflow_nug": "61", "reference_trajectory_cost": "2900.00"}
    assert http.put("/monitoring/v1/benchmark/settings", headers=auth("case_manager", "0599"),
                    json=body).status_code == 403
    refused = http.put("/monitoring/v1/benchmark/settings", headers={**auth("policy", "0599"),
                                                                       "Accept-Language": "nl"}, json=body)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "min_cell_size"
    assert "celgrootte" in refused.json()["detail"]
    stored = http.put("/monitoring/v1/benchmark/settings", headers=auth("policy", "0599"),
                      json={**body, "min_cell_size": 10})
    assert stored.status_code == 200, stored.text
    again = http.get("/monitoring/v1/benchmark/settings", headers=auth("team_lead", "0599")).json()
    assert (again["min_cell_size"], again["reference_outflow_wwb"], again["is_default"]) == (10, "19.5", False)
