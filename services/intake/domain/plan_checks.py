"""The reintegration plan (Groningen format, Doe-deel 4) and the checks run on it.

`check_plan` returns findings, never raises for a content problem: the client sees all of
them at once. A finding is a `block` (the plan cannot be approved like this), a `warning`
(the reviewer should look) or a `signal` (worth knowing, not wrong in itself).
Codes are stable strings for programs; messages are for the client, in plain Dutch (B1)
and English. Field paths follow the plan's shape, e.g. "budget.lines[2].amount".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from services.intake.domain.errors import AttachmentRejected, DomainError, RuleBroken
from services.intake.domain.policy import (
    MunicipalPolicy,
    PlanElement,
    QuoteShortfall,
    ReviewModel,
    Scheme,
    add_months,
    format_date_en,
    format_date_nl,
    has_control_characters,
)
from shared.identifiers import IdentifierError, validate_kvk
from shared.money import Money


class Severity(StrEnum):
    BLOCK = "block"
    WARNING = "warning"
    SIGNAL = "signal"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    field: str
    message_nl: str
    message_en: str


def has_blocks(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.BLOCK for f in findings)


class SpendingCategory(StrEnum):
    """What the budget is spent on: Table 4.4 and the extra products listed under it (4.2)."""

    COACHING = "coaching"
    TRAINING_KNOWLEDGE = "training_knowledge"  # scholing/opleiding (kennis)
    TRAINING_SKILLS = "training_skills"  # scholing/opleiding vaardigheden
    STUDY_MATERIAL = "study_material"  # (studie)materiaal
    JOB_MEDIATION = "job_mediation"  # bemiddeling naar arbeid
    DRIVING_LESSONS = "driving_lessons"  # rijlessen
    COMPUTER = "computer"
    BUSINESS_START_SUPPORT = "business_start_support"  # steun starten eigen bedrijf (advice, not investment)
    OTHER = "other"  # "overig, nl" on the registration form, e.g. aftercare
    # pgb bw pays for other things (2.2, 3.2): the employer's wage-cost subsidy, the
    # supervising organisation, one-off workplace adaptations.
    WAGE_COST_SUBSIDY = "wage_cost_subsidy"
    JOB_COACHING = "job_coaching"
    WORKPLACE_ADAPTATION = "workplace_adaptation"


CATEGORY_LABELS: dict[SpendingCategory, tuple[str, str]] = {
    SpendingCategory.COACHING: ("coaching", "coaching"),
    SpendingCategory.TRAINING_KNOWLEDGE: ("opleiding (kennis)", "training (knowledge)"),
    SpendingCategory.TRAINING_SKILLS: ("training (vaardigheden)", "training (skills)"),
    SpendingCategory.STUDY_MATERIAL: ("studiemateriaal", "study material"),
    SpendingCategory.JOB_MEDIATION: ("bemiddeling naar werk", "job mediation"),
    SpendingCategory.DRIVING_LESSONS: ("rijlessen", "driving lessons"),
    SpendingCategory.COMPUTER: ("computer", "computer"),
    SpendingCategory.BUSINESS_START_SUPPORT: (
        "hulp bij het starten van een eigen bedrijf",
        "support for starting a business",
    ),
    SpendingCategory.OTHER: ("overig", "other"),
    SpendingCategory.WAGE_COST_SUBSIDY: ("loonkostensubsidie voor de werkgever", "wage-cost subsidy for the employer"),
    SpendingCategory.JOB_COACHING: ("begeleiding op het werk (jobcoach)", "supervision at work (job coach)"),
    SpendingCategory.WORKPLACE_ADAPTATION: ("aanpassing van de werkplek", "workplace adaptation"),
}

PGB_BW_CATEGORIES = frozenset(
    {SpendingCategory.WAGE_COST_SUBSIDY, SpendingCategory.JOB_COACHING, SpendingCategory.WORKPLACE_ADAPTATION}
)
# "dergelijke uitgaven mogen alleen bekostigd uit het budget als het aantoonbaar gerelateerd is
# aan de opleiding of de kans op werk" (4.2): things, as opposed to services.
MATERIAL_CATEGORIES = frozenset({SpendingCategory.STUDY_MATERIAL, SpendingCategory.COMPUTER})


class PlanSection(StrEnum):
    """The chapters of the Groningen plan format."""

    FOREWORD = "foreword"
    INTRODUCTION = "introduction"
    LABOUR_MARKET = "labour_market"
    PRECONDITIONS = "preconditions"
    STRUCTURE = "structure"
    BUDGET = "budget"
    ATTACHMENTS = "attachments"


SECTION_LABELS: dict[PlanSection, tuple[str, str]] = {
    PlanSection.FOREWORD: ("Voorwoord", "Foreword"),
    PlanSection.INTRODUCTION: ("Inleiding", "Introduction"),
    PlanSection.LABOUR_MARKET: ("Arbeidsmarktperspectief", "Labour-market perspective"),
    PlanSection.PRECONDITIONS: ("Randvoorwaarden", "Preconditions"),
    PlanSection.STRUCTURE: ("Opbouw van het traject", "Structure of the trajectory"),
    PlanSection.BUDGET: ("Begroting", "Budget"),
    PlanSection.ATTACHMENTS: ("Bijlagen", "Attachments"),
}


# --- the plan ------------------------------------------------------------------------------


def _enum(enum: type[StrEnum], value: object, field: str) -> StrEnum:
    try:
        return enum(str(value))
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum)
        raise RuleBroken(f"plan.invalid_{field}", f"{value!r} is not one of: {allowed}.", field) from exc


@dataclass(frozen=True)
class Foreword:
    situation: str = ""  # Hoe is uw situatie momenteel?
    steps_so_far: str = ""  # De stappen die u tot nu toe hebt ondernomen
    why_this_budget: str = ""  # Waarom de keuze voor een prb?


@dataclass(frozen=True)
class Introduction:
    work_goal: str = ""  # Het doel van het prb is dat u werk vindt
    other_goals: str = ""
    what_is_needed: str = ""


@dataclass(frozen=True)
class LabourMarketPerspective:
    occupation: str = ""  # het gekozen beroep, de gekozen richting
    regional_demand: str = ""  # is er voldoende werk in de regio? (vacatures, branchecijfers)
    why_suited: str = ""  # wat maakt dat u geschikt bent?


@dataclass(frozen=True)
class Preconditions:
    to_arrange: str = ""  # wat moet ten minste door u geregeld worden?
    obstacles: str = ""  # zijn er belemmeringen (childcare, debts, health)?


@dataclass(frozen=True)
class Activity:
    ref: str
    description: str
    start: date
    end: date
    expected_result: str = ""
    # Which required plan elements this activity covers (Breda: self-awareness, mediation, aftercare).
    elements: frozenset[PlanElement] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "elements", frozenset(_enum(PlanElement, e, "elements") for e in self.elements))


@dataclass(frozen=True)
class BudgetLine:
    activity_ref: str
    provider_name: str
    category: SpendingCategory | None
    amount_excl_vat: Money
    vat_rate: Decimal = Decimal("21")  # percent; many courses are VAT-exempt (0)
    quote_attachment_ids: tuple[str, ...] = ()
    provider_kvk: str | None = None
    business_investment: bool = False
    material_tied_to_course_or_job: bool | None = None  # asked for study material and computers
    description: str = ""
    line_id: str | None = None  # the stored line's id, when there is one

    def __post_init__(self) -> None:
        if isinstance(self.vat_rate, float):
            raise RuleBroken(
                "plan.vat_rate", "A VAT rate must be exact (a Decimal, int or string), not a float.", "vat_rate"
            )
        try:
            object.__setattr__(self, "vat_rate", Decimal(str(self.vat_rate)))
        except InvalidOperation as exc:
            raise RuleBroken("plan.vat_rate", f"Not a VAT rate: {self.vat_rate!r}.", "vat_rate") from exc
        if self.category is not None:
            object.__setattr__(self, "category", _enum(SpendingCategory, self.category, "category"))
        object.__setattr__(self, "quote_attachment_ids", tuple(self.quote_attachment_ids))

    @property
    def vat(self) -> Money:
        return self.amount_excl_vat.percent(self.vat_rate)

    @property
    def amount_incl_vat(self) -> Money:
        return self.amount_excl_vat + self.vat

    def counted_amount(self, excl_vat: bool) -> Money:
        """The amount that counts against the maximum under the policy's VAT setting."""
        return self.amount_excl_vat if excl_vat else self.amount_incl_vat


@dataclass(frozen=True)
class Attachment:
    id: str
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ReintegrationPlan:
    scheme: Scheme = Scheme.PRB
    foreword: Foreword = Foreword()
    introduction: Introduction = Introduction()
    labour_market: LabourMarketPerspective = LabourMarketPerspective()
    preconditions: Preconditions = Preconditions()
    activities: tuple[Activity, ...] = ()
    budget_lines: tuple[BudgetLine, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    indication: str | None = None  # pgb bw: the Wsw indication that sets the yearly amount

    def __post_init__(self) -> None:
        object.__setattr__(self, "scheme", _enum(Scheme, self.scheme, "scheme"))
        for name in ("activities", "budget_lines", "attachments"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def total(self, excl_vat: bool = True) -> Money:
        return Money.total(line.counted_amount(excl_vat) for line in self.budget_lines)


# --- attachments -----------------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # 10 MiB
# Content type -> the file name endings that may carry it.
ALLOWED_ATTACHMENT_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "application/xml": (".xml",),  # UBL e-invoices and quotes
    "text/xml": (".xml",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_attachment(filename: str, content_type: str, size: int, *, field: str = "attachment") -> list[Finding]:
    """Every reason to refuse this file; an empty list means it may be stored."""
    findings: list[Finding] = []
    name = filename or ""
    if not name.strip() or "/" in name or "\\" in name or name.startswith(".") or has_control_characters(name):
        findings.append(
            Finding(
                "attachment.bad_filename",
                Severity.BLOCK,
                f"{field}.filename",
                "De bestandsnaam is niet goed. Geef het bestand een gewone naam, zoals offerte.pdf.",
                "The file name is not valid. Give the file a plain name, such as quote.pdf.",
            )
        )
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    allowed_endings = ALLOWED_ATTACHMENT_TYPES.get(kind)
    if allowed_endings is None:
        findings.append(
            Finding(
                "attachment.type_not_allowed",
                Severity.BLOCK,
                f"{field}.content_type",
                "Dit soort bestand kunnen we niet aannemen. Stuur een PDF, PNG, JPEG, Word-bestand (.docx) of "
                "UBL-factuur (XML).",
                "We cannot accept this kind of file. Send a PDF, PNG, JPEG, Word file (.docx) or UBL invoice (XML).",
            )
        )
    elif not name.lower().endswith(allowed_endings):
        findings.append(
            Finding(
                "attachment.extension_mismatch",
                Severity.BLOCK,
                f"{field}.filename",
                f"De naam van het bestand past niet bij het soort bestand. Verwacht: {' of '.join(allowed_endings)}.",
                f"The file name does not match the kind of file. Expected: {' or '.join(allowed_endings)}.",
            )
        )
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        findings.append(
            Finding(
                "attachment.empty",
                Severity.BLOCK,
                f"{field}.size",
                "Het bestand is leeg. Kies het bestand opnieuw.",
                "The file is empty. Please choose the file again.",
            )
        )
    elif size > MAX_ATTACHMENT_BYTES:
        limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
        findings.append(
            Finding(
                "attachment.too_large",
                Severity.BLOCK,
                f"{field}.size",
                f"Het bestand is te groot. Een bestand mag hoogstens {limit} MB zijn.",
                f"The file is too large. A file may be at most {limit} MB.",
            )
        )
    return findings


def ensure_attachment_allowed(filename: str, content_type: str, size: int) -> None:
    """For an upload endpoint: raise `AttachmentRejected` with the first reason, if any."""
    findings = check_attachment(filename, content_type, size)
    if findings:
        first = findings[0]
        raise AttachmentRejected(first.code, first.message_en, first.field)


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
}


def _attr(plan: ReintegrationPlan, dotted: str) -> str:
    section, name = dotted.split(".")
    return getattr(getattr(plan, section), name)


def _years_covered(activities: tuple[Activity, ...]) -> int:
    """For yearly budgets (pgb bw): how many budget years the plan spans, at least one."""
    valid = [a for a in activities if a.start <= a.end]
    if not valid:
        return 1
    first, last = min(a.start for a in valid), max(a.end for a in valid)
    years = 1
    while add_months(first, 12 * years) <= last:
        years += 1
    return years


def check_plan(
    policy: MunicipalPolicy, plan: ReintegrationPlan, submitted_on: date, drafted_by_reintegration_company: bool
) -> list[Finding]:
    """Every finding for this plan under this policy, in a stable order."""
    findings: list[Finding] = []
    findings += _check_sections(plan)
    findings += _check_activities(policy, plan, submitted_on)
    findings += _check_lines(policy, plan)
    findings += _check_quotes(policy, plan)
    findings += _check_total(policy, plan, drafted_by_reintegration_company)
    findings += _check_required_elements(policy, plan)
    findings += _check_attachments(plan)
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


def _check_lines(policy: MunicipalPolicy, plan: ReintegrationPlan) -> list[Finding]:
    if not plan.budget_lines:
        return [
            Finding(
                "budget.no_lines",
                Severity.BLOCK,
                "budget.lines",
                "Uw begroting is leeg. Schrijf op wat elke activiteit kost.",
                "Your budget is empty. Write down what each activity costs.",
            )
        ]
    findings = []
    refs = {a.ref for a in plan.activities}
    attachment_ids = {a.id for a in plan.attachments}
    demand_oriented = policy.review_model is ReviewModel.DEMAND_ORIENTED
    if demand_oriented and not policy.contracted_providers:
        findings.append(
            Finding(
                "policy.no_contracted_providers",
                Severity.BLOCK,
                "budget.lines",
                "De gemeente werkt alleen met aanbieders met een contract, maar de lijst met aanbieders is nog leeg. "
                "Neem contact op met uw klantmanager.",
                "The municipality only works with contracted providers, but its list of providers is still empty. "
                "Please contact your case manager.",
            )
        )
    for i, line in enumerate(plan.budget_lines):
        path = f"budget.lines[{i}]"
        if line.activity_ref not in refs:
            findings.append(
                Finding(
                    "budget.unknown_activity",
                    Severity.BLOCK,
                    f"{path}.activity_ref",
                    "Deze kosten horen niet bij een activiteit uit uw plan.",
                    "These costs do not belong to an activity in your plan.",
                )
            )
        if not line.provider_name.strip():
            findings.append(
                Finding(
                    "budget.provider_missing",
                    Severity.BLOCK,
                    f"{path}.provider_name",
                    "Schrijf op welke organisatie dit levert.",
                    "Write down which organisation provides this.",
                )
            )
        elif (
            demand_oriented
            and policy.contracted_providers
            and not policy.is_contracted(line.provider_name, line.provider_kvk)
        ):
            findings.append(
                Finding(
                    "budget.provider_not_contracted",
                    Severity.BLOCK,
                    f"{path}.provider_name",
                    f"{line.provider_name} heeft geen contract met de gemeente. Kies een aanbieder van de lijst.",
                    f"{line.provider_name} has no contract with the municipality. Choose a provider from the list.",
                )
            )
        if line.provider_kvk is not None:
            try:
                validate_kvk(line.provider_kvk)
            except IdentifierError:
                findings.append(
                    Finding(
                        "budget.provider_kvk_invalid",
                        Severity.BLOCK,
                        f"{path}.provider_kvk",
                        "Het KvK-nummer klopt niet. Een KvK-nummer heeft 8 cijfers.",
                        "The KvK number is not valid. A KvK number has 8 digits.",
                    )
                )
        if line.category is None:
            findings.append(
                Finding(
                    "budget.category_missing",
                    Severity.BLOCK,
                    f"{path}.category",
                    "Kies waar deze kosten voor zijn, bijvoorbeeld coaching of een opleiding.",
                    "Choose what these costs are for, for example coaching or a course.",
                )
            )
        else:
            findings += _check_category(plan.scheme, line, path)
        if line.amount_excl_vat.cents <= 0:
            findings.append(
                Finding(
                    "budget.amount_not_positive",
                    Severity.BLOCK,
                    f"{path}.amount",
                    "Het bedrag moet hoger zijn dan nul.",
                    "The amount must be more than zero.",
                )
            )
        if not Decimal(0) <= line.vat_rate <= Decimal(100):
            findings.append(
                Finding(
                    "budget.vat_rate_invalid",
                    Severity.BLOCK,
                    f"{path}.vat_rate",
                    "Het btw-percentage klopt niet (0, 9 of 21).",
                    "The VAT rate is not valid (0, 9 or 21).",
                )
            )
        missing = [q for q in line.quote_attachment_ids if q not in attachment_ids]
        if missing:
            findings.append(
                Finding(
                    "budget.quote_not_attached",
                    Severity.BLOCK,
                    f"{path}.quote_attachment_ids",
                    "U noemt een offerte die niet bij de bijlagen zit. Voeg de offerte toe.",
                    "You refer to a quote that is not among the attachments. Please attach it.",
                )
            )
        if line.business_investment:
            # 3.2: "Bekostigen van investeringen in een eigen, te starten, onderneming is bij alle
            # gemeenten uitgesloten vanwege de strijdigheid met het Besluit Bijstandverlening zelfstandigen."
            findings.append(
                Finding(
                    "budget.business_investment",
                    Severity.BLOCK,
                    f"{path}.business_investment",
                    "Dit is een investering in uw eigen bedrijf. Dat betalen we niet uit dit budget, omdat het botst "
                    "met de regels voor zelfstandigen in de bijstand (Bbz). Vraag uw klantmanager naar de Bbz.",
                    "This is an investment in your own business. This budget cannot pay for it, because that conflicts "
                    "with the rules for self-employed people on assistance (Bbz). Ask your case manager about the Bbz.",
                )
            )
    return findings


def _check_category(scheme: Scheme, line: BudgetLine, path: str) -> list[Finding]:
    category = line.category
    assert category is not None
    label_nl, label_en = CATEGORY_LABELS[category]
    if (scheme is Scheme.PGB_BW) != (category in PGB_BW_CATEGORIES):
        if scheme is Scheme.PGB_BW:
            message_nl = (
                "Een pgb begeleid werken betaalt alleen loonkostensubsidie, begeleiding op het werk en "
                f"aanpassing van de werkplek, niet: {label_nl}."
            )
            message_en = (
                "A pgb for supported employment pays only for a wage-cost subsidy, supervision at work "
                f"and workplace adaptation, not: {label_en}."
            )
        else:
            message_nl = f"Dit budget betaalt geen {label_nl}. Dat hoort bij een pgb begeleid werken."
            message_en = f"This budget does not pay for {label_en}. That belongs to a pgb for supported employment."
        return [Finding("budget.category_not_in_scheme", Severity.BLOCK, f"{path}.category", message_nl, message_en)]
    if category in MATERIAL_CATEGORIES:
        if line.material_tied_to_course_or_job is False:
            return [
                Finding(
                    "budget.material_not_tied",
                    Severity.BLOCK,
                    f"{path}.material_tied_to_course_or_job",
                    f"U vraagt geld voor {label_nl}. Dat kan alleen als u het echt nodig heeft voor uw opleiding of "
                    "voor werk. Dat is hier niet zo.",
                    f"You ask for money for {label_en}. That is only possible if you really need it for your course "
                    "or for work. That is not the case here.",
                )
            ]
        if line.material_tied_to_course_or_job is None:
            return [
                Finding(
                    "budget.material_tie_unknown",
                    Severity.BLOCK,
                    f"{path}.material_tied_to_course_or_job",
                    f"U vraagt geld voor {label_nl}. Schrijf op waarom u dit nodig heeft voor uw opleiding of voor "
                    "werk. Bijvoorbeeld: een messenset voor een koksopleiding.",
                    f"You ask for money for {label_en}. Explain why you need it for your course or for work. For "
                    "example: a set of knives for a cooking course.",
                )
            ]
    return []


def _check_quotes(policy: MunicipalPolicy, plan: ReintegrationPlan) -> list[Finding]:
    needed = policy.min_quotes_per_activity
    if needed == 0:
        return []
    severity = Severity.BLOCK if policy.too_few_quotes is QuoteShortfall.BLOCK else Severity.WARNING
    findings = []
    for _i, activity in enumerate(plan.activities):
        lines = [(j, line) for j, line in enumerate(plan.budget_lines) if line.activity_ref == activity.ref]
        if not lines:
            continue  # an activity that costs nothing needs no quotes
        quotes = {q for _, line in lines for q in line.quote_attachment_ids}
        if len(quotes) < needed:
            first_line = lines[0][0]
            findings.append(
                Finding(
                    "budget.too_few_quotes",
                    severity,
                    f"budget.lines[{first_line}].quote_attachment_ids",
                    f"Voor '{activity.description}' heeft u {len(quotes)} offerte(s). Lever {needed} offertes van "
                    f"{needed} verschillende organisaties, dan kunnen we de prijs vergelijken.",
                    f"For '{activity.description}' you have {len(quotes)} quote(s). Please provide {needed} quotes "
                    f"from {needed} different organisations, so the price can be compared.",
                )
            )
    return findings


def maximum_for_plan(policy: MunicipalPolicy, plan: ReintegrationPlan) -> Money:
    """The most this plan may cost: the scheme's maximum (per indication), per year for pgb bw.

    Raises DomainError "plan.scheme_not_offered" or "plan.unknown_indication".
    """
    offer = policy.offer_for(plan.scheme)
    maximum = offer.maximum_for(plan.indication)
    if offer.per_year:
        maximum = Money(maximum.cents * _years_covered(plan.activities))
    return maximum


def _check_total(policy: MunicipalPolicy, plan: ReintegrationPlan, drafted_by_rib: bool) -> list[Finding]:
    if not policy.offers(plan.scheme):
        return [
            Finding(
                "plan.scheme_not_offered",
                Severity.BLOCK,
                "scheme",
                f"De gemeente {policy.municipality_name} biedt deze regeling niet aan.",
                f"The municipality of {policy.municipality_name} does not offer this scheme.",
            )
        ]
    try:
        maximum = maximum_for_plan(policy, plan)
    except DomainError:
        return [
            Finding(
                "plan.unknown_indication",
                Severity.BLOCK,
                "indication",
                "Wij kennen deze indicatie niet. Vraag uw klantmanager welke indicatie u heeft.",
                "We do not know this indication. Ask your case manager which indication you have.",
            )
        ]
    total = plan.total(excl_vat=policy.amounts_excl_vat)
    vat_nl, vat_en = ("zonder btw", "excluding VAT") if policy.amounts_excl_vat else ("met btw", "including VAT")
    if total > maximum:
        return [
            Finding(
                "budget.over_maximum",
                Severity.BLOCK,
                "budget.total",
                f"Uw begroting is samen {total.format_nl()} ({vat_nl}). Dat is meer dan het maximum van "
                f"{maximum.format_nl()}. Maak de begroting kleiner.",
                f"Your budget adds up to {total.format_en()} ({vat_en}). That is more than the maximum of "
                f"{maximum.format_en()}. Please make it smaller.",
            )
        ]
    if drafted_by_rib and total == maximum:
        # 4.2: plans a reintegration company drafts "precies op het maximumbedrag van € 5.000 uitkomen".
        return [
            Finding(
                "budget.exactly_at_maximum",
                Severity.SIGNAL,
                "budget.total",
                "Een re-integratiebedrijf schreef dit plan en het komt precies uit op het maximum. "
                "Kijk of de prijzen passen bij wat er geleverd wordt.",
                "A reintegration company drafted this plan and it lands exactly on the maximum. "
                "Check that the prices fit what is delivered.",
            )
        ]
    return []


def _check_required_elements(policy: MunicipalPolicy, plan: ReintegrationPlan) -> list[Finding]:
    findings = []
    for element in policy.required_plan_elements:
        present = any(element in a.elements for a in plan.activities) or (
            element is PlanElement.JOB_MEDIATION
            and any(line.category is SpendingCategory.JOB_MEDIATION for line in plan.budget_lines)
        )
        if not present:
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


def _check_attachments(plan: ReintegrationPlan) -> list[Finding]:
    findings = []
    seen: set[str] = set()
    for i, attachment in enumerate(plan.attachments):
        path = f"attachments[{i}]"
        if attachment.id in seen:
            findings.append(
                Finding(
                    "attachment.duplicate_id",
                    Severity.BLOCK,
                    f"{path}.id",
                    "Deze bijlage staat er twee keer in.",
                    "This attachment is listed twice.",
                )
            )
        seen.add(attachment.id)
        findings += check_attachment(attachment.filename, attachment.content_type, attachment.size, field=path)
        if not _SHA256.match(attachment.sha256 or ""):
            findings.append(
                Finding(
                    "attachment.checksum_invalid",
                    Severity.BLOCK,
                    f"{path}.sha256",
                    "Er ging iets mis met deze bijlage. Voeg het bestand opnieuw toe.",
                    "Something went wrong with this attachment. Please add the file again.",
                )
            )
    return findings
