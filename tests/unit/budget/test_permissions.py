"""One table says who may do what in the budget service; docs/api.md names the same roles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.budget.permissions import PERMISSIONS, Action, allowed_roles, authorize
from shared.auth import Principal, Role
from shared.errors import Forbidden

API_MD = Path(__file__).resolve().parents[3] / "docs" / "api.md"
WORDS = {"staff": {"case_manager", "team_lead"}, "client side": {"client", "representative"}}

# Each documented budget route and the action its command or query authorises.
ROUTES = {
    "GET /budget/v1/finance-policy": Action.READ_FINANCE_POLICY,
    "PUT /budget/v1/finance-policy": Action.REPLACE_FINANCE_POLICY,
    "GET /budget/v1/budgets?plan_id=": Action.READ_BUDGET,
    "GET /budget/v1/budgets/{budget_id}": Action.READ_BUDGET,
    "GET /budget/v1/budgets/{budget_id}/ledger": Action.READ_BUDGET,
    "GET /budget/v1/budgets/{budget_id}/statement?format=&lang=": Action.READ_BUDGET,
    "POST /budget/v1/budgets/{budget_id}/orders": Action.PLACE_ORDER,
    "GET /budget/v1/budgets/{budget_id}/orders": Action.READ_BUDGET,
    "POST /budget/v1/budgets/{budget_id}/periodic-payments": Action.SCHEDULE_PERIODIC_PAYMENT,
    "GET /budget/v1/budgets/{budget_id}/periodic-payments": Action.READ_PERIODIC_PAYMENTS,
    "POST /budget/v1/invoices": Action.SEND_INVOICE,
    "POST /budget/v1/budgets/{budget_id}/invoices": Action.SEND_INVOICE,
    "POST /budget/v1/invoices/bulk": Action.SEND_INVOICE,
    "POST /budget/v1/invoices/ubl/bulk": Action.SEND_INVOICE,
    "POST /budget/v1/budgets/{budget_id}/forwarded-invoices": Action.SEND_INVOICE_FOR_CLIENT,
    "POST /budget/v1/budgets/{budget_id}/declarations": Action.SEND_INVOICE_FOR_CLIENT,
    "GET /budget/v1/invoices?budget_id=&status=&provider=&min_amount=&max_amount=": Action.READ_INVOICE,
    "GET /budget/v1/approval-queue?provider=&min_amount=&max_amount=": Action.DECIDE_INVOICE,
    "GET /budget/v1/invoices/{invoice_id}": Action.READ_INVOICE,
    "GET /budget/v1/invoices/{invoice_id}/document": Action.READ_INVOICE,
    "GET /budget/v1/invoices/{invoice_id}/supplier-contact": Action.READ_SUPPLIER_CONTACT,
    "POST /budget/v1/invoices/{invoice_id}/confirm": Action.CONFIRM_INVOICE,
    "POST /budget/v1/invoices/{invoice_id}/approve": Action.DECIDE_INVOICE,
    "POST /budget/v1/invoices/approve": Action.DECIDE_INVOICE,
    "POST /budget/v1/invoices/{invoice_id}/reject": Action.DECIDE_INVOICE,
    "POST /budget/v1/invoices/{invoice_id}/credit-notes": Action.CREDIT_INVOICE,
    "POST /budget/v1/invoices/{invoice_id}/mark-paid": Action.MARK_INVOICE_PAID,
    "POST /budget/v1/payment-runs": Action.PAYMENT_RUNS,
    "GET /budget/v1/payment-runs/{payment_run_id}/pain001.xml": Action.PAYMENT_RUNS,
    "POST /budget/v1/payment-runs/{payment_run_id}/confirm": Action.PAYMENT_RUNS,
    "POST /budget/v1/bank-statements": Action.PAYMENT_RUNS,
    "GET /budget/v1/bank-statements": Action.PAYMENT_RUNS,
    "GET /budget/v1/bank-statements/{bank_statement_id}": Action.PAYMENT_RUNS,
    "GET /budget/v1/providers?status=&kvk=": Action.READ_PROVIDERS,
    "GET /budget/v1/providers/{provider_id}": Action.READ_PROVIDERS,
    "POST /budget/v1/providers": Action.MANAGE_PROVIDERS,
    "PATCH /budget/v1/providers/{provider_id}": Action.MANAGE_PROVIDERS,
}


def documented_roles(route: str) -> set[str]:
    for row in API_MD.read_text(encoding="utf-8").splitlines():
        if row.startswith(f"| `{route}` |"):
            who = row.split("|")[2]
            roles = set(re.findall(r"`(\w+)`", who))
            for word, expanded in WORDS.items():
                if word in who:
                    roles |= expanded
            return roles
    raise AssertionError(f"{route} is not in docs/api.md")


# Routes whose docs/api.md row the lead writes (issue 11): strict, so the marker must go once it is there.
@pytest.mark.parametrize(("route", "action"), list(ROUTES.items()))
def test_the_docs_name_the_roles_the_table_allows(route, action):
    assert documented_roles(route) == {role.value for role in allowed_roles(action)}


def test_every_action_has_a_rule_and_every_rule_is_used_by_a_documented_route_or_the_ubl_route():
    assert set(PERMISSIONS) == set(Action)
    assert set(Action) - set(ROUTES.values()) == {Action.BOOK_CREDIT_NOTE}  # POST /invoices/ubl, a credit note


@pytest.mark.parametrize("action", list(Action))
def test_a_refusal_is_a_403_naming_the_allowed_roles_or_its_own_reason(action):
    rule = PERMISSIONS[action]
    outsider = next(role for role in Role if role not in rule.roles)
    with pytest.raises(Forbidden) as refused:
        authorize(Principal(subject="x", role=outsider, municipality="0344"), action)
    if rule.code:
        assert refused.value.code == rule.code
    else:
        allowed = ", ".join(role.value for role in rule.roles)
        assert refused.value.message == f"This needs one of the roles: {allowed}."
        assert allowed in refused.value.message_nl
    for role in rule.roles:
        authorize(Principal(subject="x", role=role, municipality="0344"), action)
