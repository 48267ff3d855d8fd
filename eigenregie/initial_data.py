"""Demo data for embedded mode: two municipalities, a few clients, plans in different states.

Not a service: a composition script that goes through the services' own handlers, so the
demo data is made by the same rules and events as real data. BSNs are in the 9999xxxxx
test range and pass the 11-test; names are invented.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from services.budget import commands as budget
from services.budget import invoices_in as budget_invoices
from services.budget import payments as budget_payments
from services.budget import queries as budget_queries
from services.budget.models import Budget, InvoiceIn, MarkPaid
from services.budget.submissions import submission_from_json
from services.intake import commands as intake
from services.intake import consents as intake_consents
from services.intake import decisions as intake_decisions
from services.intake import partners as intake_partners
from services.intake.domain.partners import ConsentPurpose, PartnerKind
from services.intake.models import Client
from services.intake.models_partners import ConsentCreate, PartnerAppCreate
from services.intake.schemas import (
    ClientCreate,
    ClientFactsIn,
    DecisionIn,
    PlanCreate,
    PlanVersionRef,
    RepresentativeCreate,
    SectionName,
)
from services.monitoring import progress as monitoring
from services.monitoring import registration
from services.monitoring.domain.registration import ContactHours, Relative
from services.monitoring.models_progress import ProgressReportCreate
from services.monitoring.models_registration import Provisions, RegistrationForm, SoftCharacteristics
from shared.access import Scope
from shared.auth import Principal, Role
from shared.identifiers import is_valid_bsn
from shared.runtime import Runtime

DEMO_UWV_KVK = "90000001"  # a made-up KvK number for the demo's UWV werkplein application

GRONINGEN, UTRECHT = "0014", "0344"


def test_bsn(seed: int) -> str:
    """The first BSN from 9999xxxxx + seed upwards that passes the 11-test."""
    n = 999900000 + seed * 10
    while not is_valid_bsn(f"{n:09d}"):
        n += 1
    return f"{n:09d}"


def example_plan(
    title: str, lines: list[tuple[str, str, str, str]], *, starts_on: date | None = None, months: int = 6
) -> dict[str, Any]:
    """A complete plan in the Groningen format: one activity per budget line (description,
    category, provider, amount excl. VAT). It passes the plan checks of the preset policies."""
    start = starts_on or date.today() + timedelta(days=14)
    end = start + timedelta(days=30 * months)
    return {
        "title": title,
        "foreword": {
            "situation": "Ik heb twee jaar een bijstandsuitkering en zoek werk.",
            "steps_so_far": "Ik heb gesolliciteerd en een werkervaringsplaats gedaan.",
            "why_this_budget": "Met een diploma maak ik een goede kans op werk.",
        },
        "introduction": {
            "work_goal": f"Binnen {months + 3} maanden betaald werk van minstens 24 uur per week.",
            "other_goals": "Meer zelfvertrouwen.",
            "what_is_needed": "Een opleiding en coaching.",
        },
        "labour_market": {
            "occupation": title,
            "regional_demand": "Het UWV meldt veel vacatures in de regio.",
            "why_suited": "Ik werk graag met mijn handen en ben betrouwbaar.",
        },
        "preconditions": {"to_arrange": "Kinderopvang op twee dagen per week.", "obstacles": "Geen."},
        "structure": {
            "activities": [
                {
                    "ref": f"A{i}",
                    "description": description,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "expected_result": f"Binnen {months} maanden het certificaat behaald.",
                }
                for i, (description, _category, _provider, _amount) in enumerate(lines, start=1)
            ]
        },
        "budget": {
            "lines": [
                {
                    "activity_ref": f"A{i}",
                    "description": description,
                    "category": category,
                    "provider_name": provider,
                    "amount": amount,
                    "vat_rate": "0",
                    **({"material_tied_to_course_or_job": True} if category in ("study_material", "computer") else {}),
                }
                for i, (description, category, provider, amount) in enumerate(lines, start=1)
            ]
        },
    }


# Facts that meet the hard criteria of the demo municipalities (Groningen and Utrecht).
ELIGIBLE_FACTS = {
    "months_unemployed": 24,
    "months_on_benefit": 24,
    "other_running_trajectory": False,
    "no_suitable_regular_offer": True,
    "fair_chance_of_outflow": True,
    "available_for_work": True,
}


def _drain(runtime: Runtime) -> None:
    """Deliver every pending event now, so later steps see their effects."""
    from shared.bus.embedded import InProcessPublisher
    from shared.bus.relay import OutboxRelay

    publisher = InProcessPublisher(runtime.engine, runtime.handlers_by_service(), clock=runtime.clock)
    relay = OutboxRelay(runtime.engine, runtime.service_names, publisher)
    while relay.run_once():
        pass


def _staff(role: Role, municipality: str, subject: str) -> Principal:
    return Principal(subject=subject, role=role, municipality=municipality)


# A content review (Utrecht reviews reciprocally) assesses every section.
_SECTIONS: tuple[SectionName, ...] = (
    "foreword",
    "introduction",
    "labour_market",
    "preconditions",
    "structure",
    "budget",
)
_ASSESSMENTS: dict[SectionName, str] = dict.fromkeys(_SECTIONS, "In orde.")


def load_demo_data(runtime: Runtime) -> str:
    with runtime.engine.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(Client)).scalar_one():
            return "demo data already present"

    plans = []
    # Gender, education and year of birth: the benchmark's Table 4.1 (monitoring sees categories only).
    profiles = {
        "Anna de Vries": ("female", "middle", 1988),
        "Mohamed El Amrani": ("male", "low", 1979),
        "Sanne Bakker": ("female", "high", 1995),
        "Pieter Jansen": ("male", "middle", 1969),
        "Fatma Yilmaz": ("female", "middle", 1983),
    }
    for municipality, people in (
        (GRONINGEN, ["Anna de Vries", "Mohamed El Amrani", "Sanne Bakker"]),
        (UTRECHT, ["Pieter Jansen", "Fatma Yilmaz"]),
    ):
        km = _staff(Role.CASE_MANAGER, municipality, f"km-{municipality}")
        for i, name in enumerate(people):
            with runtime.uow("intake") as uow:
                client = intake.register_client(
                    uow,
                    km,
                    ClientCreate(
                        bsn=test_bsn(int(municipality) * 10 + i),
                        client_number=f"K{municipality}-{i + 1:03d}",
                        name=name,
                        email=f"client{i + 1}.{municipality}@example.org",
                        language="en" if name == "Fatma Yilmaz" else "nl",
                        case_manager=km.subject,
                        date_of_birth=date(profiles[name][2], 5, 1),
                        facts=ClientFactsIn.model_validate(
                            {**ELIGIBLE_FACTS, "gender": profiles[name][0], "education": profiles[name][1]}
                        ),
                    ),
                )
            with runtime.uow("intake") as uow:
                plan = intake.create_plan(
                    uow,
                    km,
                    PlanCreate(
                        client_id=client.id,
                        **example_plan(
                            "Logistiek medewerker",
                            [
                                (
                                    "Cursus heftruckchauffeur met certificaat",
                                    "training_skills",
                                    "Opleidingscentrum Noord",
                                    "1450.00",
                                ),
                                ("Loopbaancoaching, 10 gesprekken", "coaching", "Coachpraktijk Werkwijzer", "1200.00"),
                            ],
                        ),
                    ),
                )
            plans.append((municipality, km, client, plan))
            if name == "Mohamed El Amrani":
                # His sister helps him with the paperwork, with a login of her own.
                with runtime.uow("intake") as uow:
                    intake.add_representative(
                        uow,
                        km,
                        client.id,
                        RepresentativeCreate(
                            subject="rep-karin",
                            name="Karin El Amrani",
                            relation="family",
                            email="karin@example.org",
                        ),
                    )
                # UWV's werkplein application, registered by Groningen's ops; he lets it see him.
                with runtime.uow("intake") as uow:
                    intake_partners.register_partner_app(
                        uow,
                        _staff(Role.OPS, municipality, f"ops-{municipality}"),
                        PartnerAppCreate(
                            name="UWV werkplein Groningen",
                            organisation_kvk=DEMO_UWV_KVK,
                            kind=PartnerKind.UWV,
                            allowed_scopes=[Scope.CLIENTS_READ_OWN, Scope.HANDOVERS_WRITE],
                        ),
                    )
                me = Principal(subject="client-demo", role=Role.CLIENT, municipality=municipality, client_id=client.id)
                with runtime.uow("intake") as uow:
                    consent = ConsentCreate(partner_kvk=DEMO_UWV_KVK, purpose=ConsentPurpose.PROGRESS_REPORTING)
                    intake_consents.grant_consent(uow, me, client.id, consent)

    # Leave the first plan in draft; submit the rest; decide some.
    for index, (_municipality, km, _client, plan) in enumerate(plans):
        if index == 0:
            continue
        with runtime.uow("intake") as uow:
            plan = intake.submit_plan(uow, km, plan.id, PlanVersionRef(plan_version=plan.version))
        if index in (1, 3):
            with runtime.uow("intake") as uow:
                intake_decisions.decide(
                    uow,
                    km,
                    plan.id,
                    DecisionIn(
                        plan_version=plan.version,
                        kind="approve",
                        note="Goed onderbouwd plan.",
                        assessments=_ASSESSMENTS,
                    ),
                )
        elif index == 4:
            with runtime.uow("intake") as uow:
                intake_decisions.decide(
                    uow,
                    km,
                    plan.id,
                    DecisionIn(
                        plan_version=plan.version,
                        kind="reject",
                        reasons=["Er is een passend regulier aanbod."],
                        assessments=_ASSESSMENTS,
                    ),
                )
    _drain(runtime)

    # One approved plan gets a paid invoice and a progress report.
    municipality, km, client, plan = plans[1]
    finance = _staff(Role.FINANCE, municipality, f"fin-{municipality}")
    with runtime.engine.connect() as conn:
        budget_row = conn.execute(sa.select(Budget).where(sa.column("plan_id") == plan.id)).first()
    if budget_row is not None:
        with runtime.uow("budget") as uow:
            view = budget_queries.get_budget(uow.session, finance, budget_row.id)
        with runtime.uow("budget") as uow:
            invoice = budget_invoices.submit_invoice(
                uow,
                finance,
                submission_from_json(
                    finance,
                    InvoiceIn(
                        budget_line_id=next(
                            line.id for line in view.lines if line.provider_name == "Opleidingscentrum Noord"
                        ),
                        invoice_number="2026-0042",
                        provider_id="opleidingscentrum-noord",
                        provider_name="Opleidingscentrum Noord",
                        provider_iban="NL91ABNA0417164300",
                        amount_excl_vat=Decimal("725.00"),
                        vat=Decimal("0.00"),
                    ),
                ),
            )
        client_token = Principal(
            subject=f"client-{client.id[:8]}", role=Role.CLIENT, municipality=municipality, client_id=client.id
        )
        if invoice.status == "awaiting_client":
            with runtime.uow("budget") as uow:
                budget.confirm_invoice(uow, client_token, invoice.id)
        with runtime.uow("budget") as uow:
            budget.approve_invoice(uow, finance, invoice.id)
        with runtime.uow("budget") as uow:
            budget_payments.mark_invoice_paid(
                uow, finance, invoice.id, MarkPaid(paid_on=runtime.clock.today() - timedelta(days=1))
            )
        _drain(runtime)
        with runtime.uow("monitoring") as uow:
            monitoring.file_progress_report(
                uow, km, plan.id, ProgressReportCreate(on_track=True, summary="Eerste lessen gevolgd; examen gepland.")
            )
        with runtime.uow("monitoring") as uow:
            registration.put_registration(
                uow,
                km,
                plan.id,
                RegistrationForm(
                    soft_characteristics=SoftCharacteristics(motivation=Relative.MORE, initiative=Relative.MORE),
                    provisions=Provisions(childcare=True),
                    contact_hours=ContactHours.MORE,
                ),
            )
        _drain(runtime)
    return f"demo data loaded: {len(plans)} clients in {GRONINGEN} (Groningen) and {UTRECHT} (Utrecht)"
