"""Plan checks: each test fails if its rule is removed."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain.attachment_checks import MAX_ATTACHMENT_BYTES, check_attachment, ensure_attachment_allowed
from services.intake.domain.budget_checks import maximum_for_plan
from services.intake.domain.errors import AttachmentRejected, DomainError
from services.intake.domain.findings import Severity, has_blocks
from services.intake.domain.plan_checks import check_plan, smart_gaps
from services.intake.domain.policy import (
    ContractedProvider,
    PlanElement,
    QuoteShortfall,
    ReviewModel,
    Scheme,
    default_policy,
)
from services.intake.domain.policy_presets import PRESETS
from services.intake.domain.reintegration_plan import (
    Activity,
    Attachment,
    BudgetLine,
    Foreword,
    Introduction,
    LabourMarketPerspective,
    Preconditions,
    ReintegrationPlan,
    SpendingCategory,
)
from shared.money import Money

SUBMITTED = date(2025, 3, 1)
POLICY = default_policy("0014", "Groningen")
SHA = "a" * 64


def pdf(id_: str) -> Attachment:
    return Attachment(id_, f"{id_}.pdf", "application/pdf", 120_000, SHA)


def line(activity_ref="course", amount="3000", **changes) -> BudgetLine:
    base = BudgetLine(
        activity_ref=activity_ref,
        provider_name="ROC Noorderpoort",
        category=SpendingCategory.TRAINING_KNOWLEDGE,
        amount_excl_vat=Money.euros(amount),
        vat_rate=Decimal("0"),
        quote_attachment_ids=(f"{activity_ref}-q1", f"{activity_ref}-q2"),
        provider_kvk="12345678",
        description="Opleiding zelfstandig werkend kok",
    )
    return replace(base, **changes)


def good_plan(**changes) -> ReintegrationPlan:
    plan = ReintegrationPlan(
        scheme=Scheme.PRB,
        foreword=Foreword(
            situation="Ik zit 2 jaar thuis na een reorganisatie.",
            steps_so_far="Gesolliciteerd.",
            why_this_budget="Met een diploma kom ik weer aan de slag.",
        ),
        introduction=Introduction(
            work_goal="Binnen 12 maanden werk als kok, minstens 24 uur per week.", other_goals="Meer zelfvertrouwen."
        ),
        labour_market=LabourMarketPerspective(
            occupation="Kok",
            regional_demand="120 vacatures in de regio.",
            why_suited="Ik kook graag en werkte in een kantine.",
        ),
        preconditions=Preconditions(to_arrange="Kinderopvang op dinsdag.", obstacles="Geen."),
        activities=(
            Activity(
                "course",
                "Opleiding kok",
                date(2025, 4, 1),
                date(2025, 12, 31),
                "Diploma zelfstandig werkend kok behaald in december 2025.",
            ),
            Activity(
                "coach",
                "Coaching naar werk",
                date(2025, 4, 1),
                date(2026, 2, 28),
                "Elke maand 4 sollicitaties; een contract voor maart 2026.",
            ),
        ),
        budget_lines=(
            line("course", "3000"),
            line(
                "coach",
                "1500",
                category=SpendingCategory.COACHING,
                provider_name="Coach & Co",
                provider_kvk="87654321",
                vat_rate=Decimal("21"),
            ),
        ),
        attachments=(pdf("course-q1"), pdf("course-q2"), pdf("coach-q1"), pdf("coach-q2")),
    )
    return replace(plan, **changes)


def codes(findings, severity=None):
    return [f.code for f in findings if severity is None or f.severity is severity]


def check(plan, policy=POLICY, by_rib=False):
    return check_plan(policy, plan, SUBMITTED, by_rib)


def test_a_complete_plan_has_no_findings():
    assert check(good_plan()) == []


def test_every_finding_explains_itself_in_dutch_and_english():
    findings = check(ReintegrationPlan())
    assert findings and all(f.message_nl and f.message_en and f.field for f in findings)


# --- the sections of the Groningen format ---------------------------------------------------


def test_a_plan_without_a_labour_market_perspective_is_blocked():
    findings = check(good_plan(labour_market=LabourMarketPerspective()))
    assert [(f.code, f.field) for f in findings] == [
        ("plan.section_missing", "labour_market.occupation"),
        ("plan.section_missing", "labour_market.regional_demand"),
        ("plan.section_missing", "labour_market.why_suited"),
    ]
    assert has_blocks(findings)


def test_a_plan_without_activities_is_blocked():
    findings = check(good_plan(activities=()))
    assert "structure.no_activities" in codes(findings, Severity.BLOCK)


# --- total within the scheme maximum --------------------------------------------------------


def test_a_budget_over_the_maximum_is_blocked():
    plan = good_plan(
        budget_lines=(line("course", "3500.01"), line("coach", "1500", category=SpendingCategory.COACHING))
    )
    findings = check(plan)
    assert codes(findings) == ["budget.over_maximum"]
    assert findings[0].field == "budget.total" and "€ 5.000,00" in findings[0].message_nl


def test_a_budget_exactly_on_the_maximum_is_allowed():
    plan = good_plan(budget_lines=(line("course", "3500"), line("coach", "1500", category=SpendingCategory.COACHING)))
    assert check(plan) == []


def test_vat_counts_against_the_maximum_when_the_policy_budgets_include_vat():
    plan = good_plan(
        budget_lines=(
            line("course", "3000", vat_rate=Decimal("21")),
            line("coach", "1500", category=SpendingCategory.COACHING, vat_rate=Decimal("21")),
        )
    )
    assert check(plan) == []  # 4,500 excluding VAT
    assert codes(check(plan, replace(POLICY, amounts_excl_vat=False))) == ["budget.over_maximum"]  # 5,445 incl.


def test_a_plan_drafted_by_a_reintegration_company_landing_exactly_on_the_maximum_is_signalled():
    plan = good_plan(budget_lines=(line("course", "3500"), line("coach", "1500", category=SpendingCategory.COACHING)))
    findings = check(plan, by_rib=True)
    assert [(f.code, f.severity) for f in findings] == [("budget.exactly_at_maximum", Severity.SIGNAL)]
    assert not has_blocks(findings)


def test_a_plan_by_a_reintegration_company_below_the_maximum_is_not_signalled():
    assert check(good_plan(), by_rib=True) == []


def test_a_scheme_the_municipality_does_not_offer_is_blocked():
    assert "plan.scheme_not_offered" in codes(check(good_plan(scheme=Scheme.PIB)))


def test_pgb_bw_maximum_is_per_year_and_per_indication():
    policy = replace(PRESETS["0014"], execution_months=24)
    year = (date(2025, 4, 1), date(2026, 3, 31))
    two_years = (date(2025, 4, 1), date(2027, 2, 28))
    pgb = good_plan(
        scheme=Scheme.PGB_BW,
        indication="severe",
        activities=(Activity("job", "Werken bij de bakker", *year, "Vast contract van 32 uur per week."),),
        budget_lines=(
            BudgetLine(
                "job",
                "Bakkerij Bol",
                SpendingCategory.WAGE_COST_SUBSIDY,
                Money.euros("33850"),
                Decimal("0"),
                ("q1", "q2"),
            ),
        ),
        attachments=(pdf("q1"), pdf("q2")),
    )
    assert maximum_for_plan(policy, pgb) == Money.euros("33850")
    assert check(pgb, policy) == []
    assert codes(check(replace(pgb, indication="moderate"), policy)) == ["budget.over_maximum"]
    longer = replace(pgb, activities=(replace(pgb.activities[0], end=two_years[1]),))
    assert maximum_for_plan(policy, longer) == Money.euros("67700")


# --- dates ---------------------------------------------------------------------------------


def test_an_activity_ending_after_the_execution_deadline_is_blocked():
    late = replace(good_plan().activities[1], end=date(2026, 3, 2))  # deadline: 1 March 2026
    findings = check(good_plan(activities=(good_plan().activities[0], late)))
    assert [(f.code, f.field) for f in findings] == [
        ("structure.after_execution_deadline", "structure.activities[1].end")
    ]
    assert "1 maart 2026" in findings[0].message_nl


def test_an_activity_ending_on_the_execution_deadline_is_allowed():
    on_time = replace(good_plan().activities[1], end=date(2026, 3, 1))
    assert check(good_plan(activities=(good_plan().activities[0], on_time))) == []


def test_an_activity_that_ends_before_it_starts_is_blocked():
    backwards = replace(good_plan().activities[0], start=date(2025, 12, 31), end=date(2025, 4, 1))
    findings = check(good_plan(activities=(backwards, good_plan().activities[1])))
    assert ("structure.start_after_end", "structure.activities[0].end") in [(f.code, f.field) for f in findings]


def test_an_activity_starting_before_submission_gets_a_warning():
    early = replace(good_plan().activities[0], start=date(2025, 2, 1))
    findings = check(good_plan(activities=(early, good_plan().activities[1])))
    assert [(f.code, f.severity) for f in findings] == [("structure.starts_before_submission", Severity.WARNING)]


def test_two_activities_with_the_same_reference_are_blocked():
    twin = replace(good_plan().activities[1], ref="course")
    assert "structure.duplicate_ref" in codes(check(good_plan(activities=(good_plan().activities[0], twin))))


# --- budget lines --------------------------------------------------------------------------


def test_a_budget_line_without_provider_is_blocked_at_its_field():
    plan = good_plan(budget_lines=(line("course"), line("coach", "1500", provider_name=" ")))
    findings = check(plan)
    assert [(f.code, f.field) for f in findings] == [("budget.provider_missing", "budget.lines[1].provider_name")]


def test_a_budget_line_without_category_is_blocked():
    plan = good_plan(budget_lines=(line("course", category=None), line("coach", "1500")))
    assert [(f.code, f.field) for f in check(plan)] == [("budget.category_missing", "budget.lines[0].category")]


def test_a_budget_line_for_an_unknown_activity_is_blocked():
    plan = good_plan(
        budget_lines=(line("course"), line("coach", "1500"), line("holiday", "100", quote_attachment_ids=()))
    )
    assert "budget.unknown_activity" in codes(check(plan), Severity.BLOCK)


def test_a_wrong_kvk_number_is_blocked():
    plan = good_plan(budget_lines=(line("course", provider_kvk="1234"), line("coach", "1500")))
    assert codes(check(plan)) == ["budget.provider_kvk_invalid"]


def test_a_zero_amount_is_blocked():
    plan = good_plan(budget_lines=(line("course", "0"), line("coach", "1500")))
    assert codes(check(plan)) == ["budget.amount_not_positive"]


def test_a_vat_rate_above_a_hundred_percent_is_blocked():
    plan = good_plan(budget_lines=(line("course", vat_rate=Decimal("121")), line("coach", "1500")))
    assert "budget.vat_rate_invalid" in codes(check(plan))


# --- quotes ----------------------------------------------------------------------------------


def one_quote_plan():
    return good_plan(budget_lines=(line("course", quote_attachment_ids=("course-q1",)), line("coach", "1500")))


def test_fewer_than_two_quotes_per_activity_is_a_warning_by_default():
    findings = check(one_quote_plan())
    assert [(f.code, f.severity, f.field) for f in findings] == [
        ("budget.too_few_quotes", Severity.WARNING, "budget.lines[0].quote_attachment_ids")
    ]


def test_fewer_than_two_quotes_blocks_when_the_policy_says_so():
    strict = replace(POLICY, too_few_quotes=QuoteShortfall.BLOCK)
    assert [(f.code, f.severity) for f in check(one_quote_plan(), strict)] == [
        ("budget.too_few_quotes", Severity.BLOCK)
    ]


def test_quotes_on_two_lines_of_the_same_activity_count_together():
    plan = good_plan(
        budget_lines=(
            line("course", "2000", quote_attachment_ids=("course-q1",)),
            line("course", "500", quote_attachment_ids=("course-q2",)),
            line("coach", "1500"),
        )
    )
    assert check(plan) == []


def test_a_quote_that_is_not_attached_is_blocked():
    plan = good_plan(attachments=good_plan().attachments[1:])
    assert "budget.quote_not_attached" in codes(check(plan), Severity.BLOCK)


# --- SMART ---------------------------------------------------------------------------------


def test_a_vague_goal_gets_a_smart_warning():
    findings = check(good_plan(introduction=Introduction(work_goal="Ik wil graag iets in de zorg doen.")))
    assert [(f.code, f.severity, f.field) for f in findings] == [
        ("plan.goal_not_smart", Severity.WARNING, "introduction.work_goal")
    ]
    assert "wanneer" in findings[0].message_nl and "diploma" in findings[0].message_nl


def test_a_goal_with_a_result_but_no_time_asks_only_for_the_time():
    findings = check(good_plan(introduction=Introduction(work_goal="Een vast contract als kok.")))
    assert codes(findings) == ["plan.goal_not_smart"]
    assert "wanneer" in findings[0].message_nl and "diploma" not in findings[0].message_nl


def test_an_activity_without_expected_result_is_blocked_and_a_vague_one_warned():
    vague = replace(good_plan().activities[0], expected_result="Leren koken.")
    empty = replace(good_plan().activities[1], expected_result="")
    findings = check(good_plan(activities=(vague, empty)))
    assert [(f.code, f.field) for f in findings] == [
        ("structure.result_not_smart", "structure.activities[0].expected_result"),
        ("structure.result_missing", "structure.activities[1].expected_result"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Binnen 6 maanden een baan", (True, True)),
        ("Diploma kok", (True, False)),
        ("Voor het einde van het jaar werk vinden als kok", (False, True)),
        ("Iets in de zorg", (False, False)),
        ("A permanent contract within a year", (True, True)),
    ],
)
def test_smart_hints_look_for_a_concrete_result_and_a_time(text, expected):
    assert smart_gaps(text) == expected


# --- forbidden spending ----------------------------------------------------------------------


def test_an_investment_in_the_clients_own_business_is_blocked_because_of_the_bbz():
    plan = good_plan(
        budget_lines=(line("course"), line("coach", "1500", category=SpendingCategory.OTHER, business_investment=True))
    )
    findings = check(plan)
    assert [(f.code, f.field) for f in findings] == [
        ("budget.business_investment", "budget.lines[1].business_investment")
    ]
    assert "Bbz" in findings[0].message_nl and "Bbz" in findings[0].message_en


def test_support_for_starting_a_business_is_not_an_investment():
    plan = good_plan(
        budget_lines=(line("course"), line("coach", "1500", category=SpendingCategory.BUSINESS_START_SUPPORT))
    )
    assert check(plan) == []


@pytest.mark.parametrize("category", [SpendingCategory.STUDY_MATERIAL, SpendingCategory.COMPUTER])
def test_material_not_tied_to_the_course_or_work_is_blocked(category):
    plan = good_plan(
        budget_lines=(line("course"), line("coach", "300", category=category, material_tied_to_course_or_job=False))
    )
    assert codes(check(plan)) == ["budget.material_not_tied"]


@pytest.mark.parametrize("category", [SpendingCategory.STUDY_MATERIAL, SpendingCategory.COMPUTER])
def test_material_without_saying_how_it_is_tied_is_blocked(category):
    plan = good_plan(budget_lines=(line("course"), line("coach", "300", category=category)))
    assert codes(check(plan)) == ["budget.material_tie_unknown"]


def test_a_set_of_knives_for_a_cooking_course_is_allowed():
    plan = good_plan(
        budget_lines=(
            line("course"),
            line("coach", "250", category=SpendingCategory.STUDY_MATERIAL, material_tied_to_course_or_job=True),
        )
    )
    assert check(plan) == []


def test_a_wage_cost_subsidy_does_not_belong_in_a_prb():
    plan = good_plan(budget_lines=(line("course"), line("coach", "1500", category=SpendingCategory.WAGE_COST_SUBSIDY)))
    assert codes(check(plan)) == ["budget.category_not_in_scheme"]


def test_coaching_is_not_something_a_pgb_bw_pays_for():
    policy = PRESETS["0014"]
    plan = good_plan(scheme=Scheme.PGB_BW, indication="moderate")
    assert set(codes(check(plan, policy))) == {"budget.category_not_in_scheme"}


# --- required plan elements (Breda) ------------------------------------------------------------

BREDA = PRESETS["0758"]


def breda_plan(elements_course=frozenset(), elements_coach=frozenset()):
    plan = good_plan()
    course, coach = plan.activities
    return replace(
        plan, activities=(replace(course, elements=elements_course), replace(coach, elements=elements_coach))
    )


def test_breda_blocks_a_plan_without_self_awareness_mediation_and_aftercare():
    findings = check(breda_plan(), BREDA)
    assert codes(findings) == ["plan.required_element_missing"] * 3
    assert "zelfbewustwording" in findings[0].message_nl and "nazorg" in findings[2].message_nl


def test_breda_accepts_a_plan_covering_all_three_elements():
    plan = breda_plan({PlanElement.SELF_AWARENESS}, {PlanElement.JOB_MEDIATION, PlanElement.AFTERCARE})
    assert check(plan, BREDA) == []


def test_a_job_mediation_budget_line_counts_as_the_mediation_element():
    plan = breda_plan({PlanElement.SELF_AWARENESS}, {PlanElement.AFTERCARE})
    plan = replace(
        plan,
        budget_lines=(plan.budget_lines[0], replace(plan.budget_lines[1], category=SpendingCategory.JOB_MEDIATION)),
    )
    assert check(plan, BREDA) == []


# --- demand-oriented: contracted providers only ------------------------------------------------


def test_demand_oriented_policy_blocks_a_provider_without_contract():
    policy = replace(
        POLICY,
        review_model=ReviewModel.DEMAND_ORIENTED,
        contracted_providers=(ContractedProvider("ROC Noorderpoort", "12345678"),),
    )
    findings = check(good_plan(), policy)
    assert [(f.code, f.field) for f in findings] == [
        ("budget.provider_not_contracted", "budget.lines[1].provider_name")
    ]


def test_demand_oriented_policy_without_a_provider_list_says_so_once():
    policy = replace(POLICY, review_model=ReviewModel.DEMAND_ORIENTED)
    assert codes(check(good_plan(), policy)) == ["policy.no_contracted_providers"]


# --- attachments --------------------------------------------------------------------------------


def test_a_pdf_quote_is_accepted():
    assert check_attachment("offerte.pdf", "application/pdf", 200_000) == []


@pytest.mark.parametrize(
    ("filename", "content_type"),
    [
        ("factuur.xml", "application/xml; charset=utf-8"),
        ("scan.JPG", "image/jpeg"),
        ("cv.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("foto.png", "image/png"),
    ],
)
def test_the_allowed_kinds_of_files_are_accepted(filename, content_type):
    assert check_attachment(filename, content_type, 1000) == []


@pytest.mark.parametrize(
    ("filename", "content_type", "size", "code"),
    [
        ("offerte.pdf", "application/pdf", MAX_ATTACHMENT_BYTES + 1, "attachment.too_large"),
        ("offerte.pdf", "application/pdf", 0, "attachment.empty"),
        ("programma.exe", "application/x-msdownload", 1000, "attachment.type_not_allowed"),
        ("offerte.exe", "application/pdf", 1000, "attachment.extension_mismatch"),
        ("../../etc/passwd.pdf", "application/pdf", 1000, "attachment.bad_filename"),
    ],
)
def test_a_file_that_breaks_a_limit_is_refused_with_its_reason(filename, content_type, size, code):
    assert [f.code for f in check_attachment(filename, content_type, size)] == [code]


def test_a_file_of_exactly_ten_mib_is_accepted():
    assert check_attachment("offerte.pdf", "application/pdf", MAX_ATTACHMENT_BYTES) == []


def test_an_upload_endpoint_can_have_the_refusal_raised():
    with pytest.raises(AttachmentRejected) as err:
        ensure_attachment_allowed("offerte.pdf", "application/pdf", MAX_ATTACHMENT_BYTES + 1)
    assert err.value.code == "attachment.too_large" and err.value.field == "attachment.size"


def test_attachments_in_a_plan_are_checked_with_their_position():
    bad = Attachment("extra", "film.mp4", "video/mp4", 1000, "not-a-hash")
    findings = check(good_plan(attachments=(*good_plan().attachments, bad)))
    assert [(f.code, f.field) for f in findings] == [
        ("attachment.type_not_allowed", "attachments[4].content_type"),
        ("attachment.checksum_invalid", "attachments[4].sha256"),
    ]


# --- a property --------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=400_000), min_size=1, max_size=4))
def test_over_maximum_is_reported_exactly_when_the_total_exceeds_the_maximum(amounts_in_cents):
    lines = tuple(line("course", amount_excl_vat=Money(cents)) for cents in amounts_in_cents)
    plan = good_plan(activities=good_plan().activities[:1], budget_lines=lines, attachments=good_plan().attachments[:2])
    over = sum(amounts_in_cents) > 500_000
    assert ("budget.over_maximum" in codes(check(plan))) is over


def test_an_unknown_spending_category_is_refused_with_the_allowed_ones():
    with pytest.raises(DomainError) as err:
        line("course", category="holiday")
    assert err.value.code == "plan.invalid_category" and "driving_lessons" in err.value.message
