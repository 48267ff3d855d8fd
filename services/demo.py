"""Demo data for embedded mode: two municipalities, a few clients, plans in different states.

Not a service: a composition script that goes through the services' own handlers, so the
demo data is made by the same rules and events as real data. BSNs are in the 9999xxxxx
test range and pass the 11-test; names are invented.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from services.budget import handlers as budget
from services.budget.models import Budget, InvoiceIn, MarkPaid
from services.intake import handlers as intake
from services.intake.models import ApprovePlan, Client, ClientCreate, PlanCreate, PlanLineCreate, PlanVersionRef, RejectPlan
from services.monitoring import handlers as monitoring
from services.monitoring.models import ProgressReportCreate
from shared.auth import Principal, Role
from shared.identifiers import is_valid_bsn
from shared.runtime import Runtime, load_all_services

GRONINGEN, UTRECHT = "0014", "0344"


def test_bsn(seed: int) -> str:
    """The first BSN from 9999xxxxx + seed upwards that passes the 11-test."""
    n = 999900000 + seed * 10
    while not is_valid_bsn(f"{n:09d}"):
        n += 1
    return f"{n:09d}"


def _drain(runtime: Runtime) -> None:
    """Deliver every pending event now, so later steps see their effects."""
    from shared.bus.embedded import InProcessPublisher
    from shared.bus.relay import OutboxRelay

    specs = load_all_services()
    publisher = InProcessPublisher(runtime.engine, {s.name: s.event_handlers for s in specs})
    relay = OutboxRelay(runtime.engine, [s.name for s in specs], publisher)
    while relay.run_once():
        pass


def _staff(role: Role, municipality: str, subject: str) -> Principal:
    return Principal(subject=subject, role=role, municipality=municipality)


def load_demo_data(runtime: Runtime) -> str:
    with runtime.engine.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(Client)).scalar_one():
            return "demo data already present"

    plans = []
    for municipality, people in ((GRONINGEN, ["Anna de Vries", "Mohamed El Amrani", "Sanne Bakker"]),
                                 (UTRECHT, ["Pieter Jansen", "Fatma Yilmaz"])):
        km = _staff(Role.CASE_MANAGER, municipality, f"km-{municipality}")
        for i, name in enumerate(people):
            with runtime.uow("intake") as uow:
                client = intake.register_client(uow, km, ClientCreate(
                    bsn=test_bsn(int(municipality) * 10 + i), client_number=f"K{municipality}-{i + 1:03d}",
                    name=name, email=f"client{i + 1}.{municipality}@example.org",
                    language="en" if name == "Fatma Yilmaz" else "nl", case_manager=km.subject))
            with runtime.uow("intake") as uow:
                plan = intake.create_plan(uow, km, PlanCreate(
                    client_id=client.id, title="Van bijstand naar werk als logistiek medewerker",
                    goal="Binnen 9 maanden een baan van minstens 24 uur per week in de logistiek.",
                    lines=[
                        PlanLineCreate(description="Cursus heftruckchauffeur met certificaat",
                                       category="training_skills", provider_name="Opleidingscentrum Noord",
                                       amount="1450.00"),
                        PlanLineCreate(description="Loopbaancoaching, 10 gesprekken", category="coaching",
                                       provider_name="Coachpraktijk Werkwijzer", amount="1200.00"),
                    ]))
            plans.append((municipality, km, client, plan))

    # Leave the first plan in draft; submit the rest; decide some.
    for index, (municipality, km, _client, plan) in enumerate(plans):
        if index == 0:
            continue
        with runtime.uow("intake") as uow:
            plan = intake.submit_plan(uow, km, plan.id, PlanVersionRef(plan_version=plan.version))
        if index in (1, 3):
            with runtime.uow("intake") as uow:
                intake.approve_plan(uow, km, plan.id, ApprovePlan(plan_version=plan.version,
                                                                  note="Goed onderbouwd plan."))
        elif index == 4:
            with runtime.uow("intake") as uow:
                intake.reject_plan(uow, km, plan.id, RejectPlan(
                    plan_version=plan.version, reason="Er is een passend regulier aanbod."))
    _drain(runtime)

    # One approved plan gets a paid invoice and a progress report.
    municipality, km, client, plan = plans[1]
    finance = _staff(Role.FINANCE, municipality, f"fin-{municipality}")
    with runtime.engine.connect() as conn:
        budget_row = conn.execute(sa.select(Budget).where(Budget.plan_id == plan.id)).first()
    if budget_row is not None:
        with runtime.uow("budget") as uow:
            view = budget.get_budget(uow.session, finance, budget_row.id)
        with runtime.uow("budget") as uow:
            invoice = budget.submit_invoice(uow, finance, budget.submission_from_json(finance, InvoiceIn(
                budget_line_id=view.lines[0].id, invoice_number="2026-0042", provider_id="opleidingscentrum-noord",
                provider_name="Opleidingscentrum Noord", provider_iban="NL91ABNA0417164300",
                amount_excl_vat="725.00", vat="0.00")))
        client_token = Principal(subject=f"client-{client.id[:8]}", role=Role.CLIENT, municipality=municipality,
                                 client_id=client.id)
        if invoice.status == "awaiting_client":
            with runtime.uow("budget") as uow:
                budget.confirm_invoice(uow, client_token, invoice.id)
        with runtime.uow("budget") as uow:
            budget.approve_invoice(uow, finance, invoice.id)
        with runtime.uow("budget") as uow:
            budget.mark_invoice_paid(uow, finance, invoice.id, MarkPaid(paid_on=date.today() - timedelta(days=1)))
        _drain(runtime)
        with runtime.uow("monitoring") as uow:
            monitoring.file_progress_report(uow, km, plan.id, ProgressReportCreate(
                on_track=True, summary="Eerste lessen gevolgd; examen gepland."))
        _drain(runtime)
    return f"demo data loaded: {len(plans)} clients in {GRONINGEN} (Groningen) and {UTRECHT} (Utrecht)"
