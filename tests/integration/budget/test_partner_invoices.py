"""A partner application sends invoices (issue 13): with the scope invoices:write it sends as the
provider its organisation's KvK number is, so a line that names that KvK takes its invoice and a line
naming another KvK refuses it, exactly as for a provider token; without the scope a 403 naming it;
without an organisation a 403; nothing written on a refusal."""

from __future__ import annotations

import pytest

from services.budget.models import Invoice
from shared.config import Settings
from tests.integration.budget.support import PROVIDER_KVK, budget_runtime, invoice_body, open_budget
from tests.support.auth import auth
from tests.support.world import api_client

UTRECHT = "0344"
COACH = auth("partner", UTRECHT, subject="app-coach", organisation_kvk=PROVIDER_KVK["Coach BV"],
             scopes=["invoices:write"])


@pytest.fixture
def env(tmp_path):
    runtime = budget_runtime(Settings(data_dir=tmp_path, environment="test"))
    return runtime, api_client(runtime)


def _invoices(runtime) -> int:
    from sqlmodel import Session, select

    with Session(runtime.engine) as session:
        return len(session.exec(select(Invoice.id)).all())


def test_a_partner_with_invoices_write_sends_as_the_provider_its_kvk_is(env):
    runtime, http = env
    b = open_budget(runtime)
    r = http.post("/budget/v1/invoices", headers=COACH, json=invoice_body(b["line_ids"][0], "P-1"))
    assert r.status_code == 201, r.text
    assert r.json()["provider_id"] == f"kvk:{PROVIDER_KVK['Coach BV']}"
    r = http.post(f"/budget/v1/budgets/{b['budget_id']}/invoices", headers=COACH,
                  json=invoice_body(b["line_ids"][0], "P-2"))
    assert r.status_code == 201, r.text


def test_a_partner_whose_kvk_the_line_does_not_name_is_refused(env):
    runtime, http = env
    b = open_budget(runtime)
    other = auth("partner", UTRECHT, subject="app-other", organisation_kvk=PROVIDER_KVK["SimplerInvoicing"],
                 scopes=["invoices:write"])
    r = http.post("/budget/v1/invoices", headers=other, json=invoice_body(b["line_ids"][0], "P-3"))
    assert r.status_code == 422 and r.json()["code"] == "invoice.provider_mismatch", r.text
    assert _invoices(runtime) == 0


def test_a_partner_without_the_scope_or_an_organisation_is_refused_naming_why(env):
    runtime, http = env
    b = open_budget(runtime)
    no_scope = auth("partner", UTRECHT, subject="app-coach", organisation_kvk=PROVIDER_KVK["Coach BV"],
                    scopes=["progress:write"])
    r = http.post("/budget/v1/invoices", headers=no_scope, json=invoice_body(b["line_ids"][0], "P-4"))
    assert r.status_code == 403 and r.json()["code"] == "auth.scope_missing" and "invoices:write" in r.json()["detail"]
    nameless = auth("partner", UTRECHT, subject="app-x", scopes=["invoices:write"])
    r = http.post("/budget/v1/invoices/bulk", headers=nameless, json=[invoice_body(b["line_ids"][0], "P-5")])
    assert r.status_code == 403 and r.json()["code"] == "auth.partner_without_organisation", r.text
    assert _invoices(runtime) == 0
    # Reading stays closed to a partner: it sends, the provider's and finance's pages read.
    assert http.get("/budget/v1/invoices", headers=COACH).status_code == 403
