"""The budget checks on a plan: every line (activity, provider, category, amount, VAT,
quotes), enough quotes per activity, the price catalogue and the quote a large line needs,
and the total against the scheme's maximum."""

from __future__ import annotations

from decimal import Decimal

from services.intake.domain.errors import DomainError
from services.intake.domain.findings import Finding, Severity
from services.intake.domain.policy import (
    MunicipalPolicy,
    PriceOverrun,
    QuoteShortfall,
    ReviewModel,
    Scheme,
    add_months,
)
from services.intake.domain.price_catalogue import UNIT_WORDS, quantity_words
from services.intake.domain.reintegration_plan import (
    CATEGORY_LABELS,
    MATERIAL_CATEGORIES,
    PGB_BW_CATEGORIES,
    Activity,
    BudgetLine,
    ReintegrationPlan,
)
from shared.identifiers import IdentifierError, validate_kvk
from shared.money import Money


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


def check_budget_lines(policy: MunicipalPolicy, plan: ReintegrationPlan) -> list[Finding]:
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


def check_quotes(policy: MunicipalPolicy, plan: ReintegrationPlan) -> list[Finding]:
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


def check_required_quotes(policy: MunicipalPolicy, plan: ReintegrationPlan) -> list[Finding]:
    """A line above the policy's `quote_required_above` needs at least one quote among the plan's
    attachments (a warning or a block, as the policy says); no threshold, no rule."""
    threshold = policy.quote_required_above
    if threshold is None:
        return []
    severity = Severity.BLOCK if policy.missing_required_quote is QuoteShortfall.BLOCK else Severity.WARNING
    attached = {a.id for a in plan.attachments}
    findings = []
    for i, line in enumerate(plan.budget_lines):
        asked = line.counted_amount(policy.amounts_excl_vat)
        if asked > threshold and not any(q in attached for q in line.quote_attachment_ids):
            findings.append(
                Finding(
                    "budget.quote_required",
                    severity,
                    f"budget.lines[{i}].quote_attachment_ids",
                    f"Voor kosten boven {threshold.format_nl()} vraagt de gemeente een offerte. Deze regel is "
                    f"{asked.format_nl()}. Voeg de offerte toe als bijlage.",
                    f"For costs above {threshold.format_en()} the municipality asks for a quote. This line is "
                    f"{asked.format_en()}. Please attach the quote.",
                )
            )
    return findings


def check_catalogue_prices(policy: MunicipalPolicy, plan: ReintegrationPlan) -> list[Finding]:
    """Lines that name a catalogue product: the product must exist, fit the line's category, and the
    line may cost at most the product's maximum price × quantity (a warning or a block, as the policy says)."""
    severity = Severity.BLOCK if policy.over_catalogue_price is PriceOverrun.BLOCK else Severity.WARNING
    findings = []
    for i, line in enumerate(plan.budget_lines):
        if line.product_code is None:
            continue
        path = f"budget.lines[{i}]"
        product = policy.catalogue_product(line.product_code)
        if product is None:
            findings.append(
                Finding(
                    "budget.unknown_product",
                    Severity.BLOCK,
                    f"{path}.product_code",
                    f"De gemeente {policy.municipality_name} kent geen product met de code {line.product_code!r}. "
                    "Kies een product uit de prijslijst van de gemeente, of laat de code leeg.",
                    f"The municipality of {policy.municipality_name} has no product with the code "
                    f"{line.product_code!r}. Choose a product from the municipality's price list, or leave it out.",
                )
            )
            continue
        if line.category is not None and line.category is not product.category:
            label_nl, label_en = CATEGORY_LABELS[product.category]
            findings.append(
                Finding(
                    "budget.product_category_mismatch",
                    Severity.BLOCK,
                    f"{path}.category",
                    f"Het product '{product.description}' hoort bij {label_nl}. Kies die soort kosten, of een "
                    "ander product.",
                    f"The product '{product.description}' belongs to {label_en}. Choose that kind of cost, or "
                    "another product.",
                )
            )
        quantity = line.counted_quantity
        if quantity <= 0:
            findings.append(
                Finding(
                    "budget.quantity_not_positive",
                    Severity.BLOCK,
                    f"{path}.quantity",
                    "Het aantal moet hoger zijn dan nul.",
                    "The quantity must be more than zero.",
                )
            )
            continue
        maximum = product.maximum_for(quantity)
        asked = line.counted_amount(policy.amounts_excl_vat)
        if asked > maximum:
            amount_nl, amount_en = quantity_words(quantity, product.unit)
            unit_nl, _, unit_en, _ = UNIT_WORDS[product.unit]
            findings.append(
                Finding(
                    "budget.over_catalogue_price",
                    severity,
                    f"{path}.amount",
                    f"Voor '{product.description}' betaalt de gemeente hoogstens "
                    f"{product.maximum_price.format_nl()} per {unit_nl}: voor {amount_nl} samen "
                    f"{maximum.format_nl()}. U vraagt {asked.format_nl()}. Vraag een goedkopere offerte, of "
                    "leg uit waarom het meer kost.",
                    f"For '{product.description}' the municipality pays at most "
                    f"{product.maximum_price.format_en()} per {unit_en}: for {amount_en} together "
                    f"{maximum.format_en()}. You ask {asked.format_en()}. Ask for a cheaper quote, or explain why "
                    "it costs more.",
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


def check_total(policy: MunicipalPolicy, plan: ReintegrationPlan, drafted_by_rib: bool) -> list[Finding]:
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
