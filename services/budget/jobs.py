"""Scheduled work of the budget service. Every job is `(uow) -> int`: the number of things it did."""

from __future__ import annotations

from sqlmodel import select

from services.budget import invoices_in, repository
from services.budget.domain.invoice_checks import IncomingInvoice
from services.budget.models import PeriodicPayment
from services.budget.submissions import Submission
from shared.auth import Principal, Role
from shared.clock import add_months
from shared.contention import retry_on_contention
from shared.money import Money
from shared.uow import UnitOfWork

SYSTEM_FINANCE = "system:periodic-payments"


@retry_on_contention
def create_due_periodic_invoices(uow: UnitOfWork) -> int:
    """Daily: one invoice per periodic payment and month that has come due (today, on the
    unit of work's clock), into the approval queue."""
    today = uow.clock.today()
    created = 0
    schedules = uow.session.exec(
        select(PeriodicPayment)
        .where(PeriodicPayment.created_months < PeriodicPayment.months)
        .order_by(PeriodicPayment.budget_id)
    ).all()
    repository.lock_budgets(uow.session, (schedule.budget_id for schedule in schedules))
    for schedule in schedules:
        system = Principal(subject=SYSTEM_FINANCE, role=Role.FINANCE, municipality=schedule.municipality)
        while schedule.created_months < schedule.months:
            due = add_months(schedule.first_due, schedule.created_months)
            if due > today:
                break
            n = schedule.created_months + 1
            incoming = IncomingInvoice(
                invoice_number=f"{schedule.order_reference}-{n:02d}",
                provider_name=schedule.payee_name,
                provider_kvk=schedule.payee_kvk,
                provider_vat=None,
                currency="EUR",
                amount_excl_vat=Money(schedule.monthly_cents),
                vat=Money(0),
                service_from=due,
                service_to=due,
                flow="periodic",
                issue_date=due,
            )
            invoices_in.accept_invoice(
                uow,
                system,
                Submission(
                    budget_line_id=schedule.order_reference,
                    incoming=incoming,
                    provider_id=f"payee:{schedule.id}",
                    creditor_name=schedule.payee_name[:70],
                    creditor_iban=schedule.payee_iban,
                    issue_date=due,
                    source="json",
                    content_hash=f"periodic:{schedule.id}:{n}",
                ),
            )
            schedule.created_months = n
            uow.session.add(schedule)
            created += 1
    uow.commit()
    return created
