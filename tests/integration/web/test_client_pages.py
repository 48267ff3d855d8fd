"""The client's pages, in process on SQLite with the demo data: each page renders for the client
(in Dutch and English), is 403 for staff and sends you to log in without a session; another
client's invoice or message is a 404 as in the API; every form refuses a missing CSRF token; a 422
shows its error next to its field; and the work is really done (checked through the APIs): a plan
written step by step, a quote attached, submitted, returned with comments, changed and resubmitted;
an invoice confirmed; a receipt declared; a progress report filed; a message read; preferences
saved; the decision letter shown."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from eigenregie import initial_data
from eigenregie.entrypoints.web import create_app
from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan, load_demo_data
from shared.config import Settings
from tests.support.auth import auth
from tests.support.runtime import drain, migrated_runtime

PAGES = (
    "/client",
    "/client/plan",
    "/client/decision",
    "/client/invoices",
    "/client/receipts",
    "/client/progress",
    "/client/inbox",
    "/client/preferences",
)
KM = auth("case_manager", "0014", subject="km-0014")
FIN = auth("finance", "0014", subject="fin-0014")
SECTIONS = ("foreword", "introduction", "labour_market", "preconditions", "structure", "budget")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web-client")
    runtime = migrated_runtime(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/prb.db", environment="test"))
    load_demo_data(runtime)
    return runtime


@pytest.fixture(scope="module")
def app(runtime):
    return create_app(runtime, embedded=True)


@pytest.fixture(scope="module")
def api(app) -> TestClient:
    return TestClient(app)


def key_of(app, name: str) -> str:
    page = TestClient(app).get("/login").text
    found = re.search(r'name="user" value="([^"]+)">\s*<button[^>]*>\s*[^<]*' + re.escape(name), page)
    assert found, name
    return found.group(1)


def browser(app, name: str) -> TestClient:
    http = TestClient(app, follow_redirects=False)
    r = http.post("/login", data={"user": key_of(app, name) if "|" not in name else name})
    assert r.status_code == 303
    return http


def client_id(app, name: str) -> str:
    return key_of(app, name).split("|")[2]


def as_client(app, name: str) -> dict[str, str]:
    """The API as the client of the demo log-in (the same subject: read state is per person)."""
    found = client_id(app, name)
    return auth("client", "0014", client_id=found, subject=f"client-{found[:8]}")


def approved_case(api: TestClient, runtime, name: str, seed: int) -> dict:
    """A new Groningen client whose approved plan started a month ago (so a receipt of last week fits)."""
    r = api.post(
        "/intake/v1/clients",
        headers=KM,
        json={"bsn": initial_data.test_bsn(seed), "client_number": f"K-{seed}", "name": name, "facts": ELIGIBLE_FACTS},
    )
    assert r.status_code == 201, r.text
    started = date.today() - timedelta(days=30)
    plan = api.post(
        "/intake/v1/plans",
        headers=KM,
        json={
            "client_id": r.json()["id"],
            **example_plan("Kok", [("Koksopleiding", "training_skills", "Koksschool", "900.00")], starts_on=started),
        },
    ).json()
    plan = api.post(f"/intake/v1/plans/{plan['id']}/submit", headers=KM, json={"plan_version": plan["version"]})
    assert plan.status_code == 200, plan.text
    decided = api.post(
        f"/intake/v1/plans/{plan.json()['id']}/decisions",
        headers=KM,
        json={
            "plan_version": plan.json()["version"],
            "kind": "approve",
            "assessments": dict.fromkeys(SECTIONS, "In orde."),
        },
    )
    assert decided.status_code == 200, decided.text
    drain(runtime)
    return decided.json()


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_every_page_renders_for_the_client_in_dutch_and_english_without_a_bsn(app, api):
    http = browser(app, "Mohamed El Amrani")
    bsns = {c["bsn"] for c in api.get("/intake/v1/clients", headers=KM).json()}
    for path in PAGES:
        for lang in ("nl", "en"):
            r = http.get(path, params={"lang": lang})
            assert r.status_code == 200, (path, lang, r.text[-500:])
            assert f'<html lang="{lang}">' in r.text
            assert not any(bsn in r.text for bsn in bsns), path
    overview = http.get("/client").text
    assert "Uw budget" in overview and "€ 1.200,00" in overview and "€ 725,00" in overview  # granted, left
    assert "€ 1,200.00" in http.get("/client", params={"lang": "en"}).text
    assert "Opleidingscentrum Noord" in http.get("/client/invoices").text
    assert "betaald" in http.get("/client/invoices").text  # the status in words
    assert "Wij keuren uw plan goed" in http.get("/client/decision").text
    assert "We approve your plan" in http.get("/client/decision", params={"lang": "en"}).text or "approve" in (
        http.get("/client/decision", params={"lang": "en"}).text
    )
    # The start page after logging in is the overview.
    r = TestClient(app, follow_redirects=False).post("/login", data={"user": key_of(app, "Mohamed El Amrani")})
    assert r.headers["location"] == "/client"


def test_staff_get_403_and_without_a_session_you_log_in(app):
    km = browser(app, "case_manager|0014|")
    for path in PAGES:
        assert km.get(path).status_code == 403, path
    anonymous = TestClient(app, follow_redirects=False)
    for path in PAGES:
        r = anonymous.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path


def test_forms_refuse_a_missing_csrf_token(app):
    http = browser(app, "Anna de Vries")
    for path in (
        "/client/plan",
        "/client/plan/step/1",
        "/client/plan/submit",
        "/client/plan/attachments",
        "/client/invoices/x/confirm",
        "/client/receipts",
        "/client/progress",
        "/client/inbox/x/read",
        "/client/preferences",
    ):
        assert http.post(path, data={"title": "x"}).status_code == 403, path
        assert http.post(path, data={"csrf_token": "wrong"}).status_code == 403, path


def test_another_clients_invoice_or_message_is_a_404(app, api, runtime):
    # An invoice on Utrecht's approved plan (Pieter Jansen) and a message of Sanne's.
    fin_u = auth("finance", "0344", subject="fin-0344")
    km_u = auth("case_manager", "0344", subject="km-0344")
    budget = next(b for b in api.get("/budget/v1/budgets", headers=fin_u).json() if b["kind"] == "plan")
    invoice = api.post(
        "/budget/v1/invoices",
        headers=fin_u,
        json={
            "budget_line_id": budget["lines"][0]["id"],
            "invoice_number": "UTRECHT-404",
            "provider_id": "x",
            "provider_name": budget["lines"][0]["provider_name"],
            "provider_iban": "NL91ABNA0417164300",
            "amount_excl_vat": "10.00",
            "vat": "0.00",
        },
    )
    assert invoice.status_code == 201, invoice.text
    drain(runtime)
    sanne_messages = api.get("/notifications/v1/messages", headers=as_client(app, "Sanne Bakker")).json()
    assert sanne_messages and api.get("/notifications/v1/messages", headers=km_u).status_code == 200
    http = browser(app, "Mohamed El Amrani")
    token = csrf(http.get("/client/invoices").text)
    r = http.post(f"/client/invoices/{invoice.json()['id']}/confirm", data={"csrf_token": token})
    assert r.status_code == 404
    assert "UTRECHT-404" not in http.get("/client/invoices").text
    r = http.post(f"/client/inbox/{sanne_messages[0]['id']}/read", data={"csrf_token": token})
    assert r.status_code == 404
    sanne = api.get("/notifications/v1/messages", headers=as_client(app, "Sanne Bakker")).json()
    assert not sanne[0]["read"] and sanne_messages[0]["id"] not in http.get("/client/inbox").text


def test_a_client_writes_attaches_submits_then_changes_a_returned_plan_and_resubmits(app, api, runtime):
    http = browser(app, "Anna de Vries")
    me = as_client(app, "Anna de Vries")
    plan_page = http.get("/client/plan").text
    assert "concept" in plan_page and "Let op" in plan_page and "offerte" in plan_page  # warnings in words
    token = csrf(plan_page)

    # Step 1: about you (title, foreword, introduction).
    page = http.get("/client/plan/step/1").text
    assert 'for="field-situation"' in page and 'id="field-work_goal"' in page
    form = {
        "csrf_token": token,
        "title": "Heftruckchauffeur in Groningen",
        "situation": "Ik zoek werk.",
        "steps_so_far": "Gesolliciteerd.",
        "why_this_budget": "Een certificaat helpt.",
        "work_goal": "Werk binnen 9 maanden.",
        "other_goals": "",
        "what_is_needed": "Een cursus.",
    }
    r = http.post("/client/plan/step/1", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith("/client/plan/step/2")
    plan = api.get("/intake/v1/plans", headers=me).json()[0]
    assert plan["title"] == "Heftruckchauffeur in Groningen" and plan["content"]["foreword"]["situation"] == (
        "Ik zoek werk."
    )
    for n, fields in ((2, ("occupation", "regional_demand", "why_suited")), (3, ("to_arrange", "obstacles"))):
        assert http.get(f"/client/plan/step/{n}").status_code == 200
        r = http.post(f"/client/plan/step/{n}", data={"csrf_token": token, **{f: f"{f} tekst" for f in fields}})
        assert r.status_code == 303
    plan = api.get("/intake/v1/plans", headers=me).json()[0]
    assert plan["content"]["labour_market"]["occupation"] == "occupation tekst"
    assert plan["content"]["preconditions"]["obstacles"] == "obstacles tekst"

    # Step 4: a new activity whose end is before its start: the error is next to that field.
    page = http.get("/client/plan/step/4").text
    assert 'name="act-2-ref"' in page  # two activities and a new, empty row
    activities = {
        "csrf_token": token,
        "act-count": "2",
        **{
            f"act-{i}-{k}": a[k]
            for i, a in enumerate(plan["content"]["structure"]["activities"])
            for k in ("ref", "description", "start", "end", "expected_result")
        },
        "act-2-ref": "A3",
        "act-2-description": "Sollicitatietraining",
        "act-2-start": "2027-03-01",
        "act-2-end": "2027-01-01",
    }
    r = http.post("/client/plan/step/4", data=activities)
    assert r.status_code == 422
    assert 'id="error-act-2-end"' in r.text and 'aria-describedby=" error-act-2-end"' in r.text
    assert 'href="#field-act-2-end"' in r.text and 'value="Sollicitatietraining"' not in r.text  # a textarea
    assert ">Sollicitatietraining</textarea>" in r.text  # what was typed is kept
    activities["act-2-end"] = "2027-04-01"
    r = http.post("/client/plan/step/4", data=activities)
    assert r.status_code == 303, r.text[-800:]
    plan = api.get("/intake/v1/plans", headers=me).json()[0]
    assert [a["ref"] for a in plan["content"]["structure"]["activities"]] == ["A1", "A2", "A3"]

    # A quote, then step 5: a new budget line for A3 with that quote, the amount typed the Dutch way.
    r = http.post(
        "/client/plan/attachments",
        data={"csrf_token": token},
        files={"file": ("offerte.pdf", b"%PDF-1.4\n% quote\n", "application/pdf")},
    )
    assert r.status_code == 303, r.text[-500:]
    attachments = api.get(f"/intake/v1/plans/{plan['id']}/attachments", headers=me).json()
    assert [a["filename"] for a in attachments] == ["offerte.pdf"]
    r = http.post(
        "/client/plan/attachments",
        data={"csrf_token": token},
        files={"file": ("virus.exe", b"MZ\x90\x00", "application/octet-stream")},
    )
    assert r.status_code == 422 and 'id="error-file"' in r.text
    page = http.get("/client/plan/step/5").text
    assert "offerte.pdf" in page and 'name="line-2-amount"' in page
    lines = plan["content"]["budget"]["lines"]
    form5 = {"csrf_token": token, "line-count": "2"}
    for i, line in enumerate(lines):
        form5 |= {
            f"line-{i}-id": line["id"],
            f"line-{i}-activity_ref": line["activity_ref"],
            f"line-{i}-description": line["description"],
            f"line-{i}-provider_name": line["provider_name"],
            f"line-{i}-category": line["category"],
            f"line-{i}-amount": line["amount"].replace(".", ","),
            f"line-{i}-vat_rate": "0",
        }
    form5 |= {
        "line-2-activity_ref": "A3",
        "line-2-description": "Training",
        "line-2-provider_name": "Trainingsbureau Stad",
        "line-2-category": "training_skills",
        "line-2-amount": "1.250,50",
        "line-2-vat_rate": "21",
        "line-2-quotes": attachments[0]["id"],
    }
    r = http.post("/client/plan/step/5", data={**form5, "line-2-amount": "veel"})
    assert r.status_code == 422 and 'id="error-line-2-amount"' in r.text
    r = http.post("/client/plan/step/5", data=form5)
    assert r.status_code == 303 and r.headers["location"] == "/client/plan?done=saved"
    plan = api.get("/intake/v1/plans", headers=me).json()[0]
    new_line = plan["content"]["budget"]["lines"][2]
    assert new_line["amount"] == "1250.50" and new_line["quote_attachment_ids"] == [attachments[0]["id"]]
    assert [line["id"] for line in plan["content"]["budget"]["lines"][:2]] == [line["id"] for line in lines]

    # Submit.
    # A blocking check (A3 says nothing about its result) is told in words, with a link to its step.
    r = http.post("/client/plan/submit", data={"csrf_token": token})
    assert r.status_code == 422 and 'id="error-submit"' in r.text
    assert "Moet anders" in r.text and 'href="/client/plan/step/4"' in r.text
    assert api.get("/intake/v1/plans", headers=me).json()[0]["status"] == "draft"
    activities["act-2-expected_result"] = "Ik kan beter solliciteren."
    assert http.post("/client/plan/step/4", data=activities).status_code == 303
    r = http.post("/client/plan/submit", data={"csrf_token": token})
    assert r.status_code == 303
    plan = api.get("/intake/v1/plans", headers=me).json()[0]
    assert plan["status"] == "submitted"
    assert "ingediend" in http.get("/client/plan").text
    assert http.get("/client/plan/step/1").status_code == 303  # nothing to write now
    assert http.post("/client/plan/step/1", data={"csrf_token": token}).status_code == 409

    # The case manager returns it with a comment on the foreword; the client sees it and changes the plan.
    r = api.post(
        f"/intake/v1/plans/{plan['id']}/decisions",
        headers=KM,
        json={
            "plan_version": plan["version"],
            "kind": "return",
            "comments": {"foreword": "Vertel meer over uw ervaring."},
            "assessments": dict.fromkeys(SECTIONS, "In orde."),
        },
    )
    assert r.status_code in (200, 201), r.text
    drain(runtime)
    page = http.get("/client/plan").text
    assert "terug voor aanpassing" in page and "Vertel meer over uw ervaring." in page and "Voorwoord" in page
    step1 = http.get("/client/plan/step/1").text
    assert "Vertel meer over uw ervaring." in step1
    assert "Vertel meer over uw ervaring." not in http.get("/client/plan/step/2").text
    r = http.post("/client/plan/step/1", data={**form, "steps_so_far": "Ik werkte 3 jaar in een magazijn."})
    assert r.status_code == 303
    assert http.post("/client/plan/submit", data={"csrf_token": token}).status_code == 303
    plan = api.get("/intake/v1/plans", headers=me).json()[0]
    assert plan["status"] == "submitted"
    assert plan["content"]["foreword"]["steps_so_far"] == "Ik werkte 3 jaar in een magazijn."


def test_a_client_confirms_an_invoice_and_sees_every_status_in_words(app, api, runtime):
    me = as_client(app, "Mohamed El Amrani")
    budget = api.get("/budget/v1/budgets", headers=me).json()[0]
    line = next(x for x in budget["lines"] if x["category"] == "coaching")
    r = api.post(
        "/budget/v1/invoices",
        headers=FIN,
        json={
            "budget_line_id": line["id"],
            "invoice_number": "WW-7",
            "provider_id": "coachpraktijk",
            "provider_name": "Coachpraktijk Werkwijzer",
            "provider_iban": "NL91ABNA0417164300",
            "amount_excl_vat": "300.00",
            "vat": "0.00",
        },
    )
    assert r.status_code == 201 and r.json()["status"] == "awaiting_client", r.text
    invoice = r.json()
    drain(runtime)
    http = browser(app, "Mohamed El Amrani")
    overview = http.get("/client").text
    assert "WW-7" in overview and "€ 300,00" in overview and "Nieuwe berichten" in overview
    page = http.get("/client/invoices").text
    assert "wacht op uw bevestiging" in page and f"/client/invoices/{invoice['id']}/confirm" in page
    assert "waiting for your confirmation" in http.get("/client/invoices", params={"lang": "en"}).text
    r = http.post(f"/client/invoices/{invoice['id']}/confirm", data={"csrf_token": csrf(page)})
    assert r.status_code == 303
    after = api.get(f"/budget/v1/invoices/{invoice['id']}", headers=me).json()
    assert after["client_confirmed_at"] is not None and after["status"] != "awaiting_client"
    assert f"/client/invoices/{invoice['id']}/confirm" not in http.get("/client/invoices").text
    # Rejected: the reason is shown.
    r = api.post(f"/budget/v1/invoices/{invoice['id']}/reject", headers=FIN, json={"reason": "Dubbel ingediend."})
    assert r.status_code == 200, r.text
    page = http.get("/client/invoices").text
    assert "afgewezen" in page and "Dubbel ingediend." in page


def test_a_client_declares_a_receipt_and_a_wrong_field_is_shown_next_to_it(app, api, runtime):
    approved_case(api, runtime, "Kees Kok", 9101)
    http = browser(app, "Kees Kok")
    page = http.get("/client/receipts").text
    assert 'for="field-line"' in page and 'for="field-paid_on"' in page and 'inputmode="decimal"' in page
    budget = api.get("/budget/v1/budgets", headers=as_client(app, "Kees Kok")).json()[0]
    line = budget["lines"][0]
    form = {
        "csrf_token": csrf(page),
        "line": f"{budget['id']}|{line['id']}",
        "description": "Koksmessen",
        "provider_name": "Winkel Centrum",
        "amount": "34,95",
        "client_iban": "NL91 ABNA 0417 1643 00",
        "account_holder": "K. Kok",
        "paid_on": (date.today() + timedelta(days=3)).isoformat(),
    }
    receipt = {"receipt": ("bon.pdf", b"%PDF-1.4\n% receipt\n", "application/pdf")}
    r = http.post("/client/receipts", data=form, files=receipt)
    assert r.status_code == 422
    assert 'id="error-paid_on"' in r.text and 'aria-describedby=" error-paid_on"' in r.text
    assert 'value="Koksmessen"' in r.text  # what was typed is kept
    form["paid_on"] = (date.today() - timedelta(days=7)).isoformat()
    r = http.post("/client/receipts", data=form, files=receipt)
    assert r.status_code == 303, re.findall(r'error-message" id="([^"]+)">([^<]+)', r.text)
    declared = [
        i
        for i in api.get("/budget/v1/invoices", headers=as_client(app, "Kees Kok")).json()
        if i["flow"] == "declaration"
    ]
    assert len(declared) == 1 and declared[0]["total"] == "34.95"
    assert "Winkel Centrum" in http.get("/client/receipts").text
    r = http.post("/client/receipts", data=form)  # no file
    assert r.status_code == 422 and 'id="error-receipt"' in r.text


def test_a_client_files_a_progress_report(app, api):
    http = browser(app, "Mohamed El Amrani")
    page = http.get("/client/progress").text
    assert "Eerste lessen gevolgd" in page  # the earlier report
    plan_id = re.search(r'name="plan_id">\s*<option value="([^"]+)"', page).group(1)
    r = http.post("/client/progress", data={"csrf_token": csrf(page), "plan_id": plan_id, "summary": "Goed."})
    assert r.status_code == 422 and 'id="error-on_track"' in r.text
    r = http.post(
        "/client/progress",
        data={
            "csrf_token": csrf(page),
            "plan_id": plan_id,
            "on_track": "no",
            "summary": "Ik was ziek.",
            "problems": "Twee lessen gemist.",
        },
    )
    assert r.status_code == 303
    reports = api.get(
        f"/monitoring/v1/trajectories/{plan_id}/progress-reports", headers=as_client(app, "Mohamed El Amrani")
    ).json()
    mine = [x for x in reports if x["summary"] == "Ik was ziek."]
    assert mine and mine[0]["on_track"] is False and mine[0]["reporter"] == "client"
    assert mine[0]["problems"] == "Twee lessen gemist."
    assert "Ik was ziek." in http.get("/client/progress").text
    assert "geen lopend plan" in browser(app, "Anna de Vries").get("/client/progress").text


def test_a_client_reads_a_message_and_saves_preferences(app, api):
    me = as_client(app, "Sanne Bakker")
    http = browser(app, "Sanne Bakker")
    messages = api.get("/notifications/v1/messages", headers=me).json()
    assert messages and not messages[0]["read"]
    page = http.get("/client/inbox").text
    assert messages[0]["subject"] in page and "Nieuw" in page
    r = http.post(f"/client/inbox/{messages[0]['id']}/read", data={"csrf_token": csrf(page)})
    assert r.status_code == 303
    assert api.get("/notifications/v1/messages", headers=me).json()[0]["read"] is True

    page = http.get("/client/preferences").text
    assert 'for="field-sms"' in page and 'for="field-quiet_from"' in page
    r = http.post("/client/preferences", data={"csrf_token": csrf(page), "email": "1", "quiet_from": "22:00"})
    assert r.status_code == 422 and 'id="error-quiet_until"' in r.text
    r = http.post(
        "/client/preferences",
        data={"csrf_token": csrf(page), "sms": "1", "language": "en", "quiet_from": "12:00", "quiet_until": "13:30"},
    )
    assert r.status_code == 303
    prefs = api.get("/notifications/v1/preferences", headers=me).json()
    assert prefs["email"] is False and prefs["sms"] is True and prefs["language"] == "en"
    assert prefs["quiet_from"].startswith("12:00") and prefs["quiet_until"].startswith("13:30")
    assert 'value="13:30"' in http.get("/client/preferences").text


def test_the_decision_letter_and_its_pdf(app):
    http = browser(app, "Mohamed El Amrani")
    page = http.get("/client/decision").text
    assert "<style" not in page and "Bent u het niet eens met dit besluit?" in page
    assert page.count("<h1") == 1 and "/client/decision.pdf" in page
    pdf = http.get("/client/decision.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    anna = browser(app, "Anna de Vries")
    assert "nog geen besluit" in anna.get("/client/decision").text
    assert anna.get("/client/decision.pdf").status_code == 404
    rejected = browser(app, "Fatma Yilmaz").get("/client/decision").text
    assert "reguli" in rejected  # the reason: a suitable regular offer
