"""The policy staff's and ops' pages, in process on SQLite with the demo data: the benchmark dashboard
(filters, tables, reference, experiments, charts and CSV streamed from the API), the policy settings
(edit with a merge patch, errors by their field, the change log), and the ops overview (health,
outbox, dead letters with replay, failing webhooks with resume, failed and sent mail). Each page only
for its role; another municipality's id a 404; every form refused without its CSRF token."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import load_demo_data
from eigenregie.web.formats import money as euro
from services.notifications.models_webhooks import WebhookSubscription
from shared.bus.tables import bus_tables
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-policy-ops")
    runtime = migrated_runtime(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/prb.db", environment="test"))
    load_demo_data(runtime)
    return runtime


@pytest.fixture(scope="module")
def api(runtime) -> TestClient:
    return TestClient(create_app(runtime, embedded=True))


def logged_in(runtime, key: str) -> TestClient:
    http = TestClient(create_app(runtime, embedded=True), follow_redirects=False)
    assert http.post("/login", data={"user": key}).status_code == 303
    return http


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def headers(runtime, role: str, municipality: str = "0014", **kwargs: str) -> dict[str, str]:
    return auth(role, municipality, settings=runtime.settings, **kwargs)


# --- policy: the benchmark -------------------------------------------------------------------------


def test_the_benchmark_shows_the_tables_reference_experiments_charts_and_csv_for_policy_only(runtime, api):
    api.post(
        "/monitoring/v1/experiments",
        headers=headers(runtime, "policy"),
        json={
            "name": "Extra coaching",
            "description": "Does a coach help?",
            "assignment": "lottery",
            "groups": [{"key": "control", "name": "As usual", "control": True}, {"key": "coach", "name": "Coach"}],
        },
    ).raise_for_status()
    http = logged_in(runtime, "policy|0014|")
    start = http.get("/")
    assert start.headers["location"] == "/policy/benchmark"
    page = http.get("/policy/benchmark")
    assert page.status_code == 200, page.text
    text = page.text
    for table in ("4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7"):
        assert f"(tabel {table})" in text, table
    assert "verborgen" in text  # suppressed cells say so in words
    assert "Vergeleken met gewone trajecten" in text and "Extra coaching" in text and "controlegroep" in text
    assert '<th scope="col"' in text and '<th scope="row"' in text
    for chart in ("outcomes", "profile", "soft_characteristics", "spending", "contact_hours", "costs"):
        assert f'src="/policy/benchmark/charts/{chart}.svg?' in text
    svg = http.get("/policy/benchmark/charts/outcomes.svg", params={"scheme": "prb"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert http.get("/policy/benchmark/charts/nothing.svg").status_code == 404
    csv = http.get("/policy/benchmark.csv", params={"scheme": "prb"})
    assert csv.status_code == 200 and "text/csv" in csv.headers["content-type"]
    assert "attachment" in csv.headers["content-disposition"]
    # Another municipality and the national view: policy may (the API says so).
    assert http.get("/policy/benchmark", params={"municipality": "0344"}).status_code == 200
    national = http.get("/policy/benchmark", params={"municipality": "all"})
    assert national.status_code == 200 and "Heel Nederland" in national.text
    # Other roles: a 403 page.
    for key in ("case_manager|0014|", "ops|0014|", "finance|0014|"):
        assert logged_in(runtime, key).get("/policy/benchmark").status_code == 403, key
    assert (
        TestClient(create_app(runtime, embedded=True), follow_redirects=False)
        .get("/policy/benchmark")
        .headers["location"]
        .startswith("/login")
    )


def test_a_wrong_filter_is_an_error_next_to_its_field(runtime):
    http = logged_in(runtime, "policy|0014|")
    page = http.get("/policy/benchmark", params={"from": "2026-06-01", "to": "2026-01-01"})
    assert page.status_code == 422
    assert 'id="error-to"' in page.text and 'aria-describedby="' in page.text and 'aria-invalid="true"' in page.text
    bad = http.get("/policy/benchmark", params={"municipality": "abc"})
    assert bad.status_code == 422 and 'id="error-municipality"' in bad.text


def test_amounts_are_shown_the_dutch_or_the_english_way():
    assert euro("1234.5", "nl") == "€ 1.234,50" and euro("1234.5", "en") == "€ 1,234.50"
    assert euro("-3.00", "nl") == "− € 3,00" and euro(None, "nl") == ""


# --- policy: the settings --------------------------------------------------------------------------


def test_policy_staff_keep_the_price_catalogue_and_see_errors_at_the_products_field(runtime, api):
    http = logged_in(runtime, "policy|0344|")
    page = http.get("/policy/settings")
    assert "Er staan nog geen producten in de prijslijst." in page.text
    csrf = csrf_of(page.text)
    form = {"csrf_token": csrf, "product-count": "1", "product-0-code": "HEF-1",
            "product-0-description": "Cursus heftruck met certificaat", "product-0-category": "training_skills",
            "product-0-unit": "course", "product-0-maximum_price": "1.600,00", "quote_required_above": "1000",
            "over_catalogue_price": "block", "missing_required_quote": "warning"}
    bad = http.post("/policy/settings/catalogue", data={**form, "product-0-maximum_price": "0"})
    assert bad.status_code == 422 and 'id="error-product-0-maximum_price"' in bad.text
    assert 'value="Cursus heftruck met certificaat"' in bad.text  # what was typed stays
    done = http.post("/policy/settings/catalogue", data=form)
    assert done.status_code == 303 and done.headers["location"].startswith("/policy/settings?done=catalogue")
    policy = api.get("/intake/v1/policy", headers=auth("case_manager", "0344")).json()
    assert policy["price_catalogue"] == [{"code": "HEF-1", "description": "Cursus heftruck met certificaat",
                                          "category": "training_skills", "unit": "course", "maximum_price": "1600.00"}]
    assert policy["quote_required_above"] == "1000.00" and policy["over_catalogue_price"] == "block"
    shown = http.get("/policy/settings?done=catalogue").text
    assert "De prijslijst is opgeslagen." in shown and 'value="1600,00"' in shown and "Product 1" in shown
    assert "Prijslijst: van 0 producten naar 1 producten" in shown  # the change log, in words
    # Removing the product empties the catalogue again; Groningen's catalogue never changed.
    gone = http.post("/policy/settings/catalogue", data={**form, "product-0-remove": "1", "quote_required_above": ""})
    assert gone.status_code == 303
    policy = api.get("/intake/v1/policy", headers=auth("case_manager", "0344")).json()
    assert policy["price_catalogue"] == [] and policy["quote_required_above"] is None
    assert api.get("/intake/v1/policy", headers=auth("case_manager", "0014")).json()["price_catalogue"] == []
    assert logged_in(runtime, "team_lead|0344|").post("/policy/settings/catalogue", data=form).status_code == 403



def test_policy_staff_change_the_settings_and_see_who_changed_what_when(runtime, api):
    http = logged_in(runtime, "policy|0014|")
    page = http.get("/policy/settings")
    assert page.status_code == 200 and "Groningen" in page.text and "€ 5.000,00" in page.text
    assert "Er is nog niets veranderd" in page.text
    csrf = csrf_of(page.text)
    form = {
        "execution_months": "14",
        "decision_term_weeks": "8",
        "decision_warning_weeks": "2",
        "min_quotes_per_activity": "2",
        "four_eyes_threshold": "2900,00",
        "review_model": "marginal",
        "too_few_quotes": "warning",
        "client_confirms_invoices": "on",
        "amounts_excl_vat": "on",
        "enabled": "on",
        "months": "4",
        "budget": "0.00",
    }
    assert http.post("/policy/settings", data=form).status_code == 403  # no CSRF token
    assert http.post("/policy/settings", data={**form, "csrf_token": "wrong"}).status_code == 403
    bad = http.post("/policy/settings", data={**form, "execution_months": "99", "csrf_token": csrf})
    assert bad.status_code == 422
    assert 'id="error-execution_months"' in bad.text and 'aria-invalid="true"' in bad.text
    assert 'value="99"' in bad.text  # what was typed stays
    done = http.post("/policy/settings", data={**form, "csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/policy/settings?done=1"
    policy = api.get("/intake/v1/policy", headers=headers(runtime, "case_manager")).json()
    assert policy["execution_months"] == 14 and policy["orientation"]["months"] == 4
    changes = api.get("/intake/v1/policy/changes", headers=headers(runtime, "policy")).json()
    assert changes[0]["changed_by"] == "pol-0014"
    assert {"setting": "execution_months", "old": 12, "new": 14} in changes[0]["changes"]
    after = http.get("/policy/settings?done=1").text
    assert (
        "De regels zijn opgeslagen." in after
        and "pol-0014" in after
        and "Looptijd van het plan (maanden): van 12 naar 14" in after
    )
    assert "Oriëntatiefase (maanden): van 3 naar 4" in after and "Woont in de gemeente" in after
    # Utrecht's policy staff see Utrecht's policy and an empty log; other roles a 403.
    utrecht = logged_in(runtime, "policy|0344|").get("/policy/settings").text
    assert "Utrecht" in utrecht and "pol-0014" not in utrecht
    assert logged_in(runtime, "team_lead|0014|").get("/policy/settings").status_code == 403
    # The API: the log is for policy and staff; a change that changes nothing adds nothing.
    assert api.get("/intake/v1/policy/changes", headers=headers(runtime, "finance")).status_code == 403
    patch = {**headers(runtime, "policy"), "Content-Type": "application/merge-patch+json"}
    assert (
        api.patch("/intake/v1/policy", content=json.dumps({"execution_months": 14}), headers=patch).status_code == 200
    )
    assert len(api.get("/intake/v1/policy/changes", headers=headers(runtime, "policy")).json()) == len(changes)


# --- ops --------------------------------------------------------------------------------------------


def _dead_letter(runtime, municipality: str) -> str:
    """A dead letter in monitoring for a real intake event (monitoring's inbox has it: a replay is harmless)."""
    outbox = bus_tables("intake").outbox
    with runtime.engine.begin() as conn:
        row = conn.execute(sa.select(outbox).where(outbox.c.event_type == "PlanApproved")).first()
        assert row is not None
        envelope = json.loads(row.envelope)
        envelope["tenant"] = municipality
        letter_id = str(uuid.uuid4())
        conn.execute(
            bus_tables("monitoring")
            .dead_letter.insert()
            .values(
                id=letter_id,
                event_id=row.event_id if municipality == "0014" else str(uuid.uuid4()),
                event_type="PlanApproved",
                envelope=json.dumps(envelope),
                reason="RuntimeError: the test said so",
                attempts=5,
                created_at=datetime.now(UTC),
            )
        )
    return letter_id


def _paused_subscription(runtime, api, municipality: str) -> str:
    r = api.post(
        "/notifications/v1/webhooks/subscriptions",
        headers=headers(runtime, "partner", municipality, subject=f"partner-{municipality}"),
        json={
            "callback_url": f"http://127.0.0.1:9/hook-{municipality}-{uuid.uuid4().hex[:8]}",
            "event_types": ["PlanApproved"],
        },
    )
    assert r.status_code == 201, r.text
    with Session(runtime.engine) as session:
        session.execute(
            sa.update(WebhookSubscription)
            .where(WebhookSubscription.id == r.json()["id"])
            .values(status="paused", consecutive_failures=3, paused_at=datetime.now(UTC))
        )
        session.commit()
    return str(r.json()["id"])


def test_the_ops_page_shows_health_outbox_dead_letters_webhooks_and_mail_for_ops_only(runtime, api):
    own, theirs = _dead_letter(runtime, "0014"), _dead_letter(runtime, "0344")
    subscription = _paused_subscription(runtime, api, "0014")
    http = logged_in(runtime, "ops|0014|")
    assert http.get("/").headers["location"] == "/ops"
    page = http.get("/ops")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Alles werkt." in text and "werkt" in text
    for service in ("intake", "budget", "monitoring", "notifications"):
        assert f'<th scope="row" class="utrecht-table__header-cell">{service}</th>' in text
    assert f"/ops/dead-letters/{own}/replay" in text and theirs not in text  # only its own municipality's
    assert "the test said so" in text
    assert (
        "http://127.0.0.1:9/hook-0014-" in text
        and "gepauzeerd" in text
        and f"/ops/webhooks/{subscription}/resume" in text
    )
    assert "Verstuurde e-mail" in text and "Berichten die niet verstuurd zijn" in text
    for key in ("policy|0014|", "case_manager|0014|", "finance|0014|"):
        assert logged_in(runtime, key).get("/ops").status_code == 403, key


def test_ops_replays_a_dead_letter_and_resumes_a_webhook_and_not_another_municipalitys(runtime, api):
    own, theirs = _dead_letter(runtime, "0014"), _dead_letter(runtime, "0344")
    mine, utrecht = _paused_subscription(runtime, api, "0014"), _paused_subscription(runtime, api, "0344")
    http = logged_in(runtime, "ops|0014|")
    csrf = csrf_of(http.get("/ops").text)
    assert http.post(f"/ops/dead-letters/{own}/replay").status_code == 403  # no CSRF token
    assert http.post(f"/ops/webhooks/{mine}/resume", data={"csrf_token": "x"}).status_code == 403
    assert http.post(f"/ops/dead-letters/{theirs}/replay", data={"csrf_token": csrf}).status_code == 404
    assert http.post(f"/ops/webhooks/{utrecht}/resume", data={"csrf_token": csrf}).status_code == 404
    replayed = http.post(f"/ops/dead-letters/{own}/replay", data={"csrf_token": csrf})
    assert replayed.status_code == 303 and replayed.headers["location"] == "/ops?done=replayed"
    ops = headers(runtime, "ops")
    letters = api.get("/ops/v1/dead-letters", params={"include_replayed": "true"}, headers=ops).json()
    assert next(x for x in letters if x["id"] == own)["replayed_at"] is not None
    assert own not in [x["id"] for x in api.get("/ops/v1/dead-letters", headers=ops).json()]
    assert all("envelope" not in x for x in letters)
    assert "Het bericht is opnieuw verstuurd." in http.get("/ops?done=replayed").text
    again = http.post(f"/ops/dead-letters/{own}/replay", data={"csrf_token": csrf})  # already replayed: said in words
    assert again.status_code == 303 and "problem=" in again.headers["location"]
    assert "Dat kon niet" in http.get(again.headers["location"]).text
    resumed = http.post(f"/ops/webhooks/{mine}/resume", data={"csrf_token": csrf})
    assert resumed.status_code == 303
    status = api.get(f"/notifications/v1/webhooks/subscriptions/{mine}", headers=ops).json()["status"]
    assert status == "active"
    # The ops API itself: role ops only.
    for role in ("policy", "case_manager", "team_lead", "finance"):
        assert api.get("/ops/v1/outbox", headers=headers(runtime, role)).status_code == 403, role
        assert api.post(f"/ops/v1/dead-letters/{own}/replay", headers=headers(runtime, role)).status_code == 403
    utrecht_letters = [x["id"] for x in api.get("/ops/v1/dead-letters", headers=headers(runtime, "ops", "0344")).json()]
    assert theirs in utrecht_letters and own not in utrecht_letters
    assert api.get("/notifications/v1/deliveries", params={"status": "failed"}, headers=ops).status_code == 200
    assert api.get("/notifications/v1/mailbox", headers=ops).status_code == 200


def test_the_pages_are_in_english_too(runtime):
    policy = logged_in(runtime, "policy|0014|")
    benchmark = policy.get("/policy/benchmark", params={"lang": "en"})
    assert benchmark.status_code == 200 and "(Table 4.7)" in benchmark.text and "hidden" in benchmark.text
    assert "Compared with regular trajectories" in benchmark.text and "€ 75.00" in benchmark.text
    settings = policy.get("/policy/settings", params={"lang": "en"})
    assert settings.status_code == 200 and "Plan duration (months)" in settings.text and "€ 5,000.00" in settings.text
    ops = logged_in(runtime, "ops|0014|").get("/ops", params={"lang": "en"})
    assert ops.status_code == 200 and "Waiting events per service" in ops.text
