"""Who may do what in the budget service: one table, one check.

`authorize(who, action)` answers 403 naming the allowed roles (docs/api.md lists the same roles
per route). Which record a caller may see (their municipality, their own client or provider) is
checked where the record is read, with shared.access.ensure_visible: a 404, never a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.access import require_one_of
from shared.auth import STAFF_ROLES, Principal, Role
from shared.errors import Forbidden

# In a fixed order: a 403 names them (a frozenset's order changes from one process to the next).
STAFF = tuple(sorted(STAFF_ROLES))
CLIENT_SIDE = (Role.CLIENT, Role.REPRESENTATIVE)
READERS = (*STAFF, Role.FINANCE, *CLIENT_SIDE)
APPROVERS = (Role.FINANCE, Role.TEAM_LEAD)
INVOICE_SENDERS = (Role.FINANCE, Role.PROVIDER)
CLIENT_INVOICE_ROLES = (*CLIENT_SIDE, Role.CASE_MANAGER, Role.FINANCE)


class Action(StrEnum):
    READ_FINANCE_POLICY = "finance_policy.read"
    REPLACE_FINANCE_POLICY = "finance_policy.replace"
    READ_BUDGET = "budget.read"  # budgets, their ledger, statement and orders
    PLACE_ORDER = "order.place"
    SCHEDULE_PERIODIC_PAYMENT = "periodic_payment.schedule"
    READ_PERIODIC_PAYMENTS = "periodic_payment.read"
    SEND_INVOICE = "invoice.send"  # JSON or UBL, one or in bulk; and their batch results
    SEND_INVOICE_FOR_CLIENT = "invoice.send_for_client"  # forwarded invoices and declarations
    READ_INVOICE = "invoice.read"
    READ_SUPPLIER_CONTACT = "invoice.supplier_contact"  # the supplier's e-mail: where messages go
    CONFIRM_INVOICE = "invoice.confirm"
    DECIDE_INVOICE = "invoice.decide"  # approve, reject, the approval queue
    MARK_INVOICE_PAID = "invoice.mark_paid"
    CREDIT_INVOICE = "invoice.credit"
    BOOK_CREDIT_NOTE = "credit_note.book"  # a UBL CreditNote
    PAYMENT_RUNS = "payment_run.manage"  # create, read, download, confirm
    READ_PROVIDERS = "provider.read"  # the provider register
    MANAGE_PROVIDERS = "provider.manage"  # register a provider, change it or its contract status


@dataclass(frozen=True)
class Rule:
    roles: tuple[Role, ...]
    # A refusal of its own, where the docs name one (otherwise: "This needs one of the roles: ...").
    code: str | None = None
    message: str | None = None
    message_nl: str | None = None


PERMISSIONS: dict[Action, Rule] = {
    Action.READ_FINANCE_POLICY: Rule((Role.FINANCE, Role.POLICY, Role.TEAM_LEAD, Role.CASE_MANAGER)),
    Action.REPLACE_FINANCE_POLICY: Rule((Role.POLICY, Role.FINANCE)),
    Action.READ_BUDGET: Rule(READERS),
    Action.PLACE_ORDER: Rule((Role.FINANCE, *STAFF)),
    Action.SCHEDULE_PERIODIC_PAYMENT: Rule((Role.FINANCE,)),
    Action.READ_PERIODIC_PAYMENTS: Rule((Role.FINANCE, *STAFF)),
    Action.SEND_INVOICE: Rule(INVOICE_SENDERS),
    Action.SEND_INVOICE_FOR_CLIENT: Rule(CLIENT_INVOICE_ROLES),
    Action.READ_INVOICE: Rule((*READERS, Role.PROVIDER)),
    # service: notifications, when it writes to the supplier about its invoice.
    Action.READ_SUPPLIER_CONTACT: Rule((*STAFF, Role.FINANCE, Role.SERVICE)),
    Action.CONFIRM_INVOICE: Rule(
        CLIENT_SIDE,
        "invoice.confirm_by_client",
        "Only the client (or their representative) confirms.",
        "Alleen de klant (of de vertegenwoordiger) bevestigt een rekening.",
    ),
    Action.DECIDE_INVOICE: Rule(APPROVERS),
    Action.MARK_INVOICE_PAID: Rule((Role.FINANCE,)),
    Action.CREDIT_INVOICE: Rule((Role.FINANCE,)),
    Action.BOOK_CREDIT_NOTE: Rule(
        (Role.FINANCE,),
        "einvoice.credit_note_by_finance",
        "Credit notes are booked by finance: send the UBL credit note to the municipality's finance department.",
        "Creditnota's boekt de afdeling financiën: stuur de UBL-creditnota naar de gemeente.",
    ),
    Action.PAYMENT_RUNS: Rule((Role.FINANCE,)),
    # Finance owns who gets paid; staff read who is contracted (an IBAN they see masked).
    Action.READ_PROVIDERS: Rule((Role.FINANCE, *STAFF, Role.POLICY)),
    Action.MANAGE_PROVIDERS: Rule((Role.FINANCE,)),
}


def allowed_roles(action: Action) -> tuple[Role, ...]:
    return PERMISSIONS[action].roles


def authorize(who: Principal, action: Action) -> None:
    """403 unless `who`'s role may do `action`."""
    rule = PERMISSIONS[action]
    if who.role in rule.roles:
        return
    if rule.code and rule.message:
        raise Forbidden(rule.code, rule.message, message_nl=rule.message_nl)
    require_one_of(who, rule.roles)
