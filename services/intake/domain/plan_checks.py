"""The checks run on a reintegration plan (the plan itself is in reintegration_plan.py).

`check_plan` returns findings, never raises for a content problem: the client sees all of
them at once. A finding is a `block` (the plan cannot be approved like this), a `warning`
(the reviewer should look) or a `signal` (worth knowing, not wrong in itself).
Codes are stable strings for programs; messages are for the client, in plain Dutch (B1)
and English. Field paths follow the plan's shape, e.g. "budget.lines[2].amount".
"""

from __future__ import annotations

from datetime import date

# Re-exported: tests/integration/test_found_in_review.py reads the upload limit from here.
from services.intake.domain.attachment_checks import MAX_ATTACHMENT_BYTES as MAX_ATTACHMENT_BYTES
from services.intake.domain.attachment_checks import check_plan_attachments
from services.intake.domain.budget_checks import (
    check_budget_lines,
    check_catalogue_prices,
    check_quotes,
    check_required_quotes,
    check_total,
)
from services.intake.domain.findings import Finding, Severity
from services.intake.domain.policy import MunicipalPolicy, PlanElement, Scheme, format_date_en, format_date_nl
from services.intake.domain.reintegration_plan import ReintegrationPlan, SpendingCategory

# --- SMART hints -----------------------------------------------------------------------------

# A concrete, countable result: a diploma, a contract, hours, applications...
_MEASURABLE_WORDS = (
    "diploma",
    "certificaat",
    "certificate",
    "getuigschrift",
    "rijbewijs",
    "licence",
    "license",
    "examen",
    "exam",
    "geslaagd",
    "passed",
    "behaald",
    "behalen",
    "obtain",
    "contract",
    "arbeidsovereenkomst",
    "dienstverband",
    "employment",
    "uur",
    "uren",
    "hour",
    "procent",
    "percent",
    "%",
    "sollicit",
    "application",
    "vacature",
    "vacanc",
    "stage",
    "internship",
    "werkervaringsplaats",
    "proefplaats",
    "trial placement",
    "betaald werk",
    "paid work",
    "baan",
    "job",
)
# Bound in time: a date, a month, "within a year".
_TIME_WORDS = (
    "binnen",
    "within",
    "uiterlijk",
    "voor het einde",
    "by the end",
    "before",
    "deadline",
    "week",
    "maand",
    "month",
    "jaar",
    "year",
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
    "january",
    "february",
    "march",
    "may",
    "june",
    "july",
    "august",
    "october",
)


def smart_gaps(text: str) -> tuple[bool, bool]:
    """(is it measurable, is it time-bound) by simple signs: a number, a concrete result, a time word."""
    lowered = text.casefold()
    has_number = any(ch.isdigit() for ch in lowered)
    measurable = has_number or any(word in lowered for word in _MEASURABLE_WORDS)
    time_bound = has_number or any(word in lowered for word in _TIME_WORDS)
    return measurable, time_bound


def _smart_finding(code: str, field: str, text: str, what_nl: str, what_en: str) -> Finding | None:
    measurable, time_bound = smart_gaps(text)
    if measurable and time_bound:
        return None
    missing_nl, missing_en = [], []
    if not measurable:
        missing_nl.append("wat u precies wilt bereiken (bijvoorbeeld een diploma, een contract, aantal uren)")
        missing_en.append("what exactly you want to achieve (for example a diploma, a contract, a number of hours)")
    if not time_bound:
        missing_nl.append("wanneer u dat wilt bereiken (een datum of 'binnen 6 maanden')")
        missing_en.append("when you want to achieve it (a date, or 'within 6 months')")
    return Finding(
        code,
        Severity.WARNING,
        field,
        f"Maak {what_nl} concreter. Schrijf op: " + "; en ".join(missing_nl) + ".",
        f"Make {what_en} more concrete. Write down: " + "; and ".join(missing_en) + ".",
    )


# --- the plan checks -------------------------------------------------------------------------

_REQUIRED_TEXTS: tuple[tuple[str, str, str, str], ...] = (
    # (field path, attribute path, Dutch name, English name)
    ("foreword.situation", "foreword.situation", "uw situatie nu (voorwoord)", "your current situation (foreword)"),
    (
        "foreword.why_this_budget",
        "foreword.why_this_budget",
        "waarom u dit budget vraagt (voorwoord)",
        "why you ask for this budget (foreword)",
    ),
    (
        "introduction.work_goal",
        "introduction.work_goal",
        "uw doel: welk werk u zoekt (inleiding)",
        "your goal: the work you aim for (introduction)",
    ),
    (
        "labour_market.occupation",
        "labour_market.occupation",
        "het beroep dat u kiest (arbeidsmarktperspectief)",
        "the occupation you choose (labour-market perspective)",
    ),
    (
        "labour_market.regional_demand",
        "labour_market.regional_demand",
        "of er genoeg werk is in de regio (arbeidsmarktperspectief)",
        "whether there is enough work in the region (labour-market perspective)",
    ),
    (
        "labour_market.why_suited",
        "labour_market.why_suited",
        "waarom u geschikt bent (arbeidsmarktperspectief)",
        "why you are suited (labour-market perspective)",
    ),
    (
        "preconditions.to_arrange",
        "preconditions.to_arrange",
        "wat u zelf moet regelen (randvoorwaarden)",
        "what you must arrange yourself (preconditions)",
    ),
)

_ELEMENT_LABELS = {
    PlanElement.SELF_AWARENESS: ("zelfbewustwording (uzelf beter leren kennen)", "self-awareness"),
    PlanElement.JOB_MEDIATION: ("bemiddeling naar werk", "job mediation"),
    PlanElement.AFTERCARE: ("nazorg (steun als u eenmaal werkt)", "aftercare (support once you work)"),
    PlanElement.CIVIC_INTEGRATION: (
        "inburgering (bijvoorbeeld een taalcursus of het inburgeringsexamen)",
        "civic integration (for example a language course or the civic integration exam)",
    ),
    PlanElement.REINTEGRATION: (
        "werk zoeken (bijvoorbeeld een opleiding of solliciteren)",
        "finding work (for example training or applying for jobs)",
    ),
}

_DUAAL_PARTS = frozenset({PlanElement.CIVIC_INTEGRATION, PlanElement.REINTEGRATION})


def _attr(plan: ReintegrationPlan, dotted: str) -> str:
    section, name = dotted.split(".")
    return getattr(getattr(plan, section), name)


def check_plan(
    policy: MunicipalPolicy, plan: ReintegrationPlan, submitted_on: date, drafted_by_reintegration_company: bool
) -> list[Finding]:
    """Every finding for this plan under this policy, in a stable order."""
    findings: list[Finding] = []
    findings += _check_sections(plan)
    findings += _check_activities(policy, plan, submitted_on)
    findings += check_budget_lines(policy, plan)
    findings += check_quotes(policy, plan)
    findings += check_required_quotes(policy, plan)
    findings += check_catalogue_prices(policy, plan)
    findings += check_total(policy, plan, drafted_by_reintegration_company)
    findings += _check_required_elements(policy, plan)
    findings += check_plan_attachments(plan)
    return findings


def _check_sections(plan: ReintegrationPlan) -> list[Finding]:
    findings = []
    for field, attribute, name_nl, name_en in _REQUIRED_TEXTS:
        if not _attr(plan, attribute).strip():
            findings.append(
                Finding(
                    "plan.section_missing",
                    Severity.BLOCK,
                    field,
                    f"Dit ontbreekt nog in uw plan: {name_nl}.",
                    f"This is still missing from your plan: {name_en}.",
                )
            )
    goal = plan.introduction.work_goal
    if goal.strip():
        hint = _smart_finding("plan.goal_not_smart", "introduction.work_goal", goal, "uw doel", "your goal")
        if hint:
            findings.append(hint)
    return findings


def _check_activities(policy: MunicipalPolicy, plan: ReintegrationPlan, submitted_on: date) -> list[Finding]:
    if not plan.activities:
        return [
            Finding(
                "structure.no_activities",
                Severity.BLOCK,
                "structure.activities",
                "Uw plan heeft nog geen activiteiten. Schrijf op wat u gaat doen, en wanneer.",
                "Your plan has no activities yet. Write down what you will do, and when.",
            )
        ]
    findings = []
    deadline = policy.execution_deadline(submitted_on)
    seen: set[str] = set()
    for i, activity in enumerate(plan.activities):
        path = f"structure.activities[{i}]"
        if activity.ref in seen:
            findings.append(
                Finding(
                    "structure.duplicate_ref",
                    Severity.BLOCK,
                    f"{path}.ref",
                    "Twee activiteiten hebben dezelfde code. Geef elke activiteit een eigen code.",
                    "Two activities have the same reference. Give each activity its own.",
                )
            )
        seen.add(activity.ref)
        if activity.start > activity.end:
            findings.append(
                Finding(
                    "structure.start_after_end",
                    Severity.BLOCK,
                    f"{path}.end",
                    "Deze activiteit eindigt voordat hij begint. Kijk de datums na.",
                    "This activity ends before it starts. Please check the dates.",
                )
            )
        if activity.end > deadline or activity.start > deadline:
            findings.append(
                Finding(
                    "structure.after_execution_deadline",
                    Severity.BLOCK,
                    f"{path}.end",
                    f"Uw plan moet binnen {policy.execution_months} maanden klaar zijn, uiterlijk "
                    f"{format_date_nl(deadline)}. Deze activiteit duurt langer.",
                    f"Your plan must be completed within {policy.execution_months} months, by "
                    f"{format_date_en(deadline)}. This activity runs longer.",
                )
            )
        if activity.start < submitted_on:
            findings.append(
                Finding(
                    "structure.starts_before_submission",
                    Severity.WARNING,
                    f"{path}.start",
                    "Deze activiteit begint voordat u het plan indient. Kosten van vóór het besluit worden "
                    "meestal niet betaald.",
                    "This activity starts before you submit the plan. Costs made before the decision are usually "
                    "not paid.",
                )
            )
        if not activity.expected_result.strip():
            findings.append(
                Finding(
                    "structure.result_missing",
                    Severity.BLOCK,
                    f"{path}.expected_result",
                    "Schrijf op wat u van deze activiteit verwacht: wat is het resultaat?",
                    "Write down what you expect from this activity: what is the result?",
                )
            )
        else:
            hint = _smart_finding(
                "structure.result_not_smart",
                f"{path}.expected_result",
                activity.expected_result,
                "het resultaat van deze activiteit",
                "the result of this activity",
            )
            if hint:
                findings.append(hint)
    return findings


def _check_required_elements(policy: MunicipalPolicy, plan: ReintegrationPlan) -> list[Finding]:
    findings = []
    for element in policy.required_elements_for(plan.scheme):
        present = any(element in a.elements for a in plan.activities) or (
            element is PlanElement.JOB_MEDIATION
            and any(line.category is SpendingCategory.JOB_MEDIATION for line in plan.budget_lines)
        )
        if not present and plan.scheme is Scheme.PIB and element in _DUAAL_PARTS:
            # The duaal traject (2.2): both parts must be visible in the plan's activities.
            label_nl, label_en = _ELEMENT_LABELS[element]
            findings.append(
                Finding(
                    "plan.required_element_missing",
                    Severity.BLOCK,
                    "structure.activities",
                    f"Een pib is een traject met twee delen: inburgering en werk. Dit deel ontbreekt nog: {label_nl}. "
                    "Voeg een activiteit toe en zeg bij die activiteit bij welk deel hij hoort.",
                    f"A pib is a programme in two parts: civic integration and work. This part is still missing: "
                    f"{label_en}. Please add an activity and say which part it belongs to.",
                )
            )
        elif not present:
            label_nl, label_en = _ELEMENT_LABELS[element]
            findings.append(
                Finding(
                    "plan.required_element_missing",
                    Severity.BLOCK,
                    "structure.activities",
                    f"De gemeente {policy.municipality_name} vraagt dat elk plan dit onderdeel heeft: {label_nl}. "
                    "Voeg een activiteit toe.",
                    f"The municipality of {policy.municipality_name} asks every plan to include: {label_en}. "
                    "Please add an activity for it.",
                )
            )
    return findings
