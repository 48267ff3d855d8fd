"""The case manager's and the team lead's pages, in process on SQLite with the demo data: the
caseload puts a plan awaiting review first with its deadline; the client's file masks the BSN;
the review shows the versions side by side and returns, approves (with the team lead's second
approval above the threshold); conversations with minutes, outcomes and progress reports are
recorded; candidates; the four-eyes queue. Each page is for its roles only (403), another
municipality's ids are a 404 as in the API, every form needs its CSRF token and a refusal shows
next to its field."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient

from eigenregie import initial_data
from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan, load_demo_data
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime

KM = auth("case_manager", "0014", subject="km-0014")
FIN = auth("finance", "0014", subject="fin-0014")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-case-manager")
    runtime = migrated_runtime(
        Settings(data_dir=folder, database_url=f"sqlite:///{folder}/prb.db", environment="test")
    )
    load_demo_data(runtime)
    return runtime


@pytest.fixture(scope="module")
def api(runtime) -> TestClient:
    return TestClient(create_app(runtime, embedded=True))


def logged_in(runtime, key: str) -> TestClient:
    http = TestClient(create_app(runtime, embedded=True), follow_redirects=False)
    assert http.post("/login", data={"user": key}).status_code == 303
    return http


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.S)
    assert match is not None, pattern
    return match.group(1)


def csrf_of(page: str) -> str:
    return found(r'name="csrf_token" value="([^"]+)"', page)


def new_case(api: TestClient, seed: int, amount: str = "1000.00", *, submit: bool = True,
             case_manager: str = "km-0014") -> tuple[str, str]:
    """A Groningen client of km-0014 with a plan (submitted unless told otherwise): (client id, plan id)."""
    r = api.post("/intake/v1/clients", headers=KM, json={
        "bsn": initial_data.test_bsn(seed), "client_number": f"W2-{seed}", "name": f"Klant {seed}",
        "facts": ELIGIBLE_FACTS, "case_manager": case_manager})
    assert r.status_code == 201, r.text
    client_id = r.json()["id"]
    r = api.post("/intake/v1/plans", headers=KM, json={
        "client_id": client_id, **example_plan(f"Plan {seed}", [("Coaching", "coaching", "Coach BV", amount)])})
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]
    if submit:
        r = api.post(f"/intake/v1/plans/{plan_id}/submit", headers=KM, json={"plan_version": r.json()["version"]})
        assert r.status_code == 200, r.text
    return client_id, plan_id


def plan_of(api: TestClient, plan_id: str) -> dict:
    return api.get(f"/intake/v1/plans/{plan_id}", headers=KM).json()


def test_the_caseload_puts_a_plan_awaiting_review_first_with_its_deadline(runtime, api):
    client_id, plan_id = new_case(api, 801)
    km = logged_in(runtime, "case_manager|0014|")
    r = km.get("/")
    assert r.status_code == 303 and r.headers["location"] == "/caseload"  # the first menu item
    page = km.get("/caseload")
    assert page.status_code == 200
    rows = re.findall(r"<tr class=\"utrecht-table__row\">(.*?)</tr>", page.text, re.S)
    assert "Plan wacht op uw besluit" in rows[1]  # the first row after the header
    assert f"/caseload/plans/{plan_id}/review" in page.text and "Klant 801" in page.text
    review = api.get("/intake/v1/reviews", headers=KM).json()
    due = date.fromisoformat(next(r for r in review if r["plan_id"] == plan_id)["due_on"])
    assert f"{due.day} " in page.text  # the deadline in words
    assert km.get("/caseload", params={"lang": "en"}).status_code == 200
    # Another case manager's client is not in this caseload; the team lead sees the whole municipality.
    _, theirs = new_case(api, 811, case_manager="km-other")
    assert "Klant 811" not in km.get("/caseload").text
    tl = logged_in(runtime, "team_lead|0014|")
    page = tl.get("/caseload")
    assert page.status_code == 200 and "Klant 811" in page.text and f"/caseload/plans/{theirs}/review" in page.text


def test_the_pages_are_for_staff_only_and_the_four_eyes_queue_for_team_leads(runtime, api):
    client_id, plan_id = new_case(api, 802, submit=False)
    finance = logged_in(runtime, "finance|0014|")
    for path in ("/caseload", f"/caseload/clients/{client_id}", f"/caseload/plans/{plan_id}/review",
                 "/caseload/candidates", "/team/four-eyes"):
        assert finance.get(path).status_code == 403, path
    assert logged_in(runtime, "case_manager|0014|").get("/team/four-eyes").status_code == 403
    assert logged_in(runtime, "team_lead|0014|").get("/team/four-eyes").status_code == 200
    anonymous = TestClient(create_app(runtime, embedded=True), follow_redirects=False)
    assert anonymous.get("/caseload").status_code == 303  # to the log-in page


def test_another_municipalitys_client_and_plan_are_a_404(runtime, api):
    client_id, plan_id = new_case(api, 803)
    utrecht = logged_in(runtime, "case_manager|0344|")
    assert utrecht.get(f"/caseload/clients/{client_id}").status_code == 404
    assert utrecht.get(f"/caseload/plans/{plan_id}/review").status_code == 404
    assert utrecht.get("/caseload/clients/00000000-0000-0000-0000-000000000000").status_code == 404
    page = utrecht.get("/caseload")
    r = utrecht.post(f"/caseload/plans/{plan_id}/decision",
                     data={"csrf_token": csrf_of(page.text), "kind": "approve", "plan_version": "2"})
    assert r.status_code == 404 and plan_of(api, plan_id)["status"] == "submitted"


def test_the_file_shows_the_client_with_a_masked_bsn_and_never_in_the_title(runtime, api):
    client_id, _ = new_case(api, 804)
    bsn = initial_data.test_bsn(804)
    page = logged_in(runtime, "case_manager|0014|").get(f"/caseload/clients/{client_id}")
    assert page.status_code == 200
    assert "Klant 804" in page.text and bsn not in page.text and "•••••" + bsn[-3:] in page.text
    title = found(r"<title>(.*?)</title>", page.text)
    assert bsn not in title and "Klant 804" not in title  # the title names the page, not the person


def test_return_with_a_comment_then_the_changed_version_side_by_side_then_approve(runtime, api):
    client_id, plan_id = new_case(api, 805)
    km = logged_in(runtime, "case_manager|0014|")
    page = km.get(f"/caseload/plans/{plan_id}/review")
    assert page.status_code == 200 and "Voorwoord" in page.text and "Controles" in page.text
    token = csrf_of(page.text)
    version = str(plan_of(api, plan_id)["version"])
    # Without the CSRF token: refused, nothing decided.
    r = km.post(f"/caseload/plans/{plan_id}/decision", data={"kind": "return", "plan_version": version})
    assert r.status_code == 403 and plan_of(api, plan_id)["status"] == "submitted"
    # A refusal of the API (an unknown kind) is shown next to its field.
    r = km.post(f"/caseload/plans/{plan_id}/decision",
                data={"csrf_token": token, "kind": "maybe", "plan_version": version})
    assert r.status_code == 422 and 'id="decision-kind-error"' in r.text
    assert 'aria-describedby="decision-kind-error"' in r.text
    r = km.post(f"/caseload/plans/{plan_id}/decision", data={
        "csrf_token": token, "kind": "return", "plan_version": version,
        "comment_labour_market": "Noem twee vacatures."})
    assert r.status_code == 303 and r.headers["location"].endswith("?done=return")
    assert plan_of(api, plan_id)["status"] == "returned"
    decisions = api.get(f"/intake/v1/plans/{plan_id}/decisions", headers=KM).json()
    assert decisions[-1]["kind"] == "return"
    assert "Noem twee vacatures." in str(decisions[-1]["details"])
    # The client changes the labour market section and submits again.
    plan = plan_of(api, plan_id)
    content = dict(plan["content"])
    content["labour_market"] = {**content["labour_market"], "regional_demand": "Twee vacatures bij DHL."}
    r = api.put(f"/intake/v1/plans/{plan_id}", headers=KM, json={"plan_version": plan["version"], **content})
    assert r.status_code == 200, r.text
    r = api.post(f"/intake/v1/plans/{plan_id}/submit", headers=KM, json={"plan_version": r.json()["version"]})
    assert r.status_code == 200, r.text
    page = km.get(f"/caseload/plans/{plan_id}/review")
    assert "<del>Vraag in de regio: Het UWV meldt veel vacatures in de regio.</del>" in page.text
    assert "<ins>Vraag in de regio: Twee vacatures bij DHL.</ins>" in page.text
    assert "<strong>gewijzigd</strong>" in page.text  # told in words, not by colour
    assert "Noem twee vacatures." in page.text  # the earlier comment per section
    r = km.post(f"/caseload/plans/{plan_id}/decision", data={
        "csrf_token": token, "kind": "approve", "plan_version": str(plan_of(api, plan_id)["version"])})
    assert r.status_code == 303 and plan_of(api, plan_id)["status"] == "approved"
    assert "Uw besluit is opgeslagen: goedgekeurd." in km.get(r.headers["location"]).text


def test_above_the_threshold_the_team_lead_gives_the_second_approval(runtime, api):
    client_id, plan_id = new_case(api, 806, amount="3500.00")
    km = logged_in(runtime, "case_manager|0014|")
    page = km.get(f"/caseload/plans/{plan_id}/review")
    assert "moet ook een teamleider" in page.text and "2.900,00" in page.text
    r = km.post(f"/caseload/plans/{plan_id}/decision", data={
        "csrf_token": csrf_of(page.text), "kind": "approve", "plan_version": str(plan_of(api, plan_id)["version"])})
    assert r.status_code == 303 and plan_of(api, plan_id)["status"] == "awaiting_second_approval"
    tl = logged_in(runtime, "team_lead|0014|")
    queue = tl.get("/team/four-eyes")
    assert f"/team/four-eyes/plans/{plan_id}/confirm" in queue.text and "€ 3.500,00" in queue.text
    assert tl.post(f"/team/four-eyes/plans/{plan_id}/confirm").status_code == 403  # no CSRF token
    r = tl.post(f"/team/four-eyes/plans/{plan_id}/confirm", data={"csrf_token": csrf_of(queue.text)})
    assert r.status_code == 303 and plan_of(api, plan_id)["status"] == "approved"
    assert f"/team/four-eyes/plans/{plan_id}/confirm" not in tl.get("/team/four-eyes").text


def test_the_team_lead_approves_an_invoice_above_the_threshold_second(runtime, api):
    client_id, plan_id = new_case(api, 807, amount="4000.00")
    decided = api.post(f"/intake/v1/plans/{plan_id}/decisions", headers=KM,
                       json={"kind": "approve", "plan_version": plan_of(api, plan_id)["version"]})
    assert decided.status_code == 200, decided.text
    tl_api = auth("team_lead", "0014", subject="tl-other")
    r = api.post(f"/intake/v1/plans/{plan_id}/decisions", headers=tl_api,
                 json={"kind": "confirm", "plan_version": plan_of(api, plan_id)["version"]})
    assert r.status_code == 200, r.text
    drain(runtime)
    budget = api.get("/budget/v1/budgets", headers=FIN, params={"plan_id": plan_id}).json()[0]
    r = api.post(f"/budget/v1/budgets/{budget['id']}/invoices", headers=FIN, json={
        "budget_line_id": budget["lines"][0]["id"], "invoice_number": "W2-807", "provider_id": "coach-bv",
        "provider_name": "Coach BV", "provider_iban": "NL91ABNA0417164300", "amount": "3000.00"})
    assert r.status_code == 201, r.text
    invoice_id = r.json()["id"]
    api.post(f"/budget/v1/invoices/{invoice_id}/confirm", headers=auth(
        "client", "0014", subject=f"client-{client_id[:8]}", client_id=client_id))
    r = api.post(f"/budget/v1/invoices/{invoice_id}/approve", headers=FIN)
    assert r.status_code == 200 and r.json()["status"] == "awaiting_second_approval", r.text
    tl = logged_in(runtime, "team_lead|0014|")
    queue = tl.get("/team/four-eyes")
    assert "W2-807" in queue.text and "wacht op tweede akkoord" in queue.text
    r = tl.post(f"/team/four-eyes/invoices/{invoice_id}/approve", data={"csrf_token": csrf_of(queue.text)})
    assert r.status_code == 303
    assert api.get(f"/budget/v1/invoices/{invoice_id}", headers=FIN).json()["status"] == "approved"


@pytest.fixture(scope="module")
def running(runtime, api) -> tuple[str, str]:
    """A client with an approved plan: its trajectory runs."""
    client_id, plan_id = new_case(api, 808)
    r = api.post(f"/intake/v1/plans/{plan_id}/decisions", headers=KM,
                 json={"kind": "approve", "plan_version": plan_of(api, plan_id)["version"]})
    assert r.status_code == 200, r.text
    drain(runtime)
    return client_id, plan_id


def test_a_conversation_with_minutes_is_recorded_as_held_and_a_refusal_sits_by_its_field(runtime, api, running):
    client_id, plan_id = running
    km = logged_in(runtime, "case_manager|0014|")
    page = km.get(f"/caseload/clients/{client_id}")
    assert page.status_code == 200 and "Gesprek plannen of vastleggen" in page.text
    token = csrf_of(page.text)
    path = f"/caseload/trajectories/{plan_id}/conversations"
    today = date.today().isoformat()
    assert km.post(path, data={"planned_on": today, "kind": "progress", "minutes": "45"}).status_code == 403
    r = km.post(path, data={"csrf_token": token, "planned_on": today, "kind": "progress", "title": "Kennismaking",
                            "minutes": "0"})
    assert r.status_code == 422
    prefix = f"conv-{plan_id[:8]}"
    assert f'id="{prefix}-minutes-error"' in r.text and f'aria-describedby=" {prefix}-minutes-error"' in r.text
    r = km.post(path, data={"csrf_token": token, "planned_on": today, "kind": "progress", "title": "Kennismaking",
                            "minutes": "45", "note": "Goed gesprek."})
    assert r.status_code == 303 and "done=conversation" in r.headers["location"]
    held = api.get(f"/monitoring/v1/trajectories/{plan_id}/conversations", headers=KM,
                   params={"status": "held"}).json()
    assert [(c["title"], c["minutes"]) for c in held if c["title"] == "Kennismaking"] == [("Kennismaking", 45)]
    page = km.get(f"/caseload/clients/{client_id}")
    assert "Totaal aan gesprekken: 45 minuten." in page.text


def test_a_planned_conversation_is_held_later_with_its_minutes(runtime, api, running):
    client_id, plan_id = running
    km = logged_in(runtime, "case_manager|0014|")
    token = csrf_of(km.get(f"/caseload/clients/{client_id}").text)
    today = date.today().isoformat()
    r = km.post(f"/caseload/trajectories/{plan_id}/conversations",
                data={"csrf_token": token, "planned_on": today, "kind": "other", "title": "Later"})
    assert r.status_code == 303
    (planned,) = [c for c in api.get(f"/monitoring/v1/trajectories/{plan_id}/conversations", headers=KM).json()
                  if c["title"] == "Later"]
    assert planned["status"] == "planned"
    page = km.get(f"/caseload/clients/{client_id}")
    assert f"/conversations/{planned['id']}/held" in page.text
    r = km.post(f"/caseload/trajectories/{plan_id}/conversations/{planned['id']}/held",
                data={"csrf_token": token, "held_on": today, "minutes": "30"})
    assert r.status_code == 303
    conversations = api.get(f"/monitoring/v1/trajectories/{plan_id}/conversations", headers=KM).json()
    assert next(c for c in conversations if c["id"] == planned["id"])["minutes"] == 30


def test_an_outcome_and_a_progress_report_are_recorded(runtime, api, running):
    client_id, plan_id = running
    km = logged_in(runtime, "case_manager|0014|")
    token = csrf_of(km.get(f"/caseload/clients/{client_id}").text)
    path = f"/caseload/trajectories/{plan_id}/outcomes"
    r = km.post(path, data={"csrf_token": token, "outcome": "work_during", "working_since": "2000-01-01",
                            "kind_of_work": "permanent_job", "hours_per_week": "32"})
    assert r.status_code == 422 and f'id="outcome-{plan_id[:8]}-working_since-error"' in r.text
    r = km.post(path, data={"csrf_token": token, "outcome": "work_during", "working_since": date.today().isoformat(),
                            "kind_of_work": "permanent_job", "hours_per_week": "32"})
    assert r.status_code == 303, r.text
    outcomes = api.get(f"/monitoring/v1/trajectories/{plan_id}/outcomes", headers=KM).json()
    assert [(o["outcome"], o["kind_of_work"], o["hours_per_week"]) for o in outcomes] == [
        ("work_during", "permanent_job", 32)]
    r = km.post(f"/caseload/trajectories/{plan_id}/progress-reports",
                data={"csrf_token": token, "on_track": "true", "reporter": "coach", "summary": "Loopt goed."})
    assert r.status_code == 303
    reports = api.get(f"/monitoring/v1/trajectories/{plan_id}/progress-reports", headers=KM).json()
    assert [(r["summary"], r["reporter"]) for r in reports] == [("Loopt goed.", "coach")]
    page = km.get(f"/caseload/clients/{client_id}")
    assert "werk gevonden tijdens het traject" in page.text and "Loopt goed." in page.text
    assert "/caseload/trajectories/00000000-0000-0000-0000-000000000000/outcomes" not in page.text
    r = logged_in(runtime, "case_manager|0344|").post(path, data={"csrf_token": "x", "outcome": "unknown"})
    assert r.status_code == 403  # another session's form is refused before anything else


def test_a_trajectory_of_another_municipality_is_a_404_for_a_form(runtime, api, running):
    _, plan_id = running
    utrecht = logged_in(runtime, "case_manager|0344|")
    token = csrf_of(utrecht.get("/caseload").text)
    r = utrecht.post(f"/caseload/trajectories/{plan_id}/progress-reports",
                     data={"csrf_token": token, "on_track": "true", "summary": "Nep."})
    assert r.status_code == 404


def test_candidates_are_the_clients_who_meet_the_hard_criteria(runtime, api):
    new_case(api, 810, submit=False)
    page = logged_in(runtime, "case_manager|0014|").get("/caseload/candidates")
    assert page.status_code == 200 and "Klant 810" in page.text and "W2-810" in page.text
    candidates = api.get("/intake/v1/candidates", headers=KM, params={"eligible_only": "true"}).json()
    assert all(c["client_number"] in page.text for c in candidates)
    everyone = logged_in(runtime, "case_manager|0014|").get("/caseload/candidates", params={"all": "true"})
    assert everyone.status_code == 200 and "Voldoet niet aan" in everyone.text
