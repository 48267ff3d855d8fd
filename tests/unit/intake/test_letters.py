"""The decision letter: both languages, HTML and PDF, and the way to object."""

from dataclasses import replace
from datetime import date

import pytest

from services.intake.domain.errors import DomainError
from services.intake.domain.letters import (
    DecisionLetterData,
    LetterLine,
    SectionComment,
    easter_sunday,
    letter_data_from_review,
    next_working_day,
    render_decision_letter_html,
    render_decision_letter_pdf,
    to_latin1,
)
from services.intake.domain.policy import default_policy
from services.intake.domain.reintegration_plan import PlanSection
from services.intake.domain.review import (
    Approve,
    DecisionKind,
    LineRequest,
    Reject,
    ReturnForChanges,
    Reviewer,
    ReviewState,
)
from shared.money import Money

LETTER_DATE = date(2025, 3, 10)

APPROVAL = DecisionLetterData(
    municipality_name="Groningen",
    client_display_name="Anna de Vries",
    client_number="SOZAWE-1234",
    letter_date=LETTER_DATE,
    decision=DecisionKind.APPROVE_WITH_CONDITIONS,
    plan_submitted_on=date(2025, 3, 3),
    reasons=("Een goedkopere opleiding geeft hetzelfde diploma.",),
    lines=(
        LetterLine("Opleiding kok", "ROC Noorderpoort", Money.euros("4200"), Money.euros("3950.50")),
        LetterLine("Messenset", "Kookwinkel", Money.euros("250"), Money.euros("250")),
    ),
    conditions=("U stuurt elke 3 maanden een kort verslag.",),
    execution_deadline=date(2026, 3, 10),
    reference="PLAN-42",
    signed_by="J. Jansen, klantmanager",
)
REJECTION = DecisionLetterData(
    municipality_name="Groningen",
    client_display_name="Anna de Vries",
    client_number="SOZAWE-1234",
    letter_date=LETTER_DATE,
    decision=DecisionKind.REJECT,
    plan_submitted_on=date(2025, 3, 3),
    reasons=("Het plan leidt niet tot betaald werk.",),
)
RETURNED = DecisionLetterData(
    municipality_name="Groningen",
    client_display_name="Anna de Vries",
    client_number="SOZAWE-1234",
    letter_date=LETTER_DATE,
    decision=DecisionKind.RETURN_FOR_CHANGES,
    plan_submitted_on=date(2025, 3, 3),
    comments=(SectionComment(PlanSection.BUDGET, "Voeg een tweede offerte toe."),),
)


def test_the_dutch_approval_letter_says_how_to_object_within_six_weeks():
    html = render_decision_letter_html(APPROVAL, "nl")
    assert '<html lang="nl">' in html
    assert "bezwaar" in html and "binnen 6 weken na de datum van deze brief" in html
    # 10 March + 6 weeks is Easter Monday 21 April; the Algemene termijnenwet moves it on a day.
    assert "uiterlijk op 22 april 2025" in html
    assert "college van burgemeester en wethouders" in html


def test_the_dutch_approval_letter_lists_the_grant_in_dutch_notation():
    html = render_decision_letter_html(APPROVAL, "nl")
    assert "€ 3.950,50" in html and "€ 4.200,00" in html
    assert "U krijgt € 4.200,50. U vroeg € 4.450,00." in html
    assert "U stuurt elke 3 maanden een kort verslag." in html
    assert "uiterlijk op 10 maart 2026 klaar" in html
    assert "Alle bedragen zijn zonder btw." in html
    assert "Een goedkopere opleiding" in html


def test_the_english_approval_letter_says_how_to_object_within_six_weeks():
    html = render_decision_letter_html(APPROVAL, "en")
    assert '<html lang="en">' in html
    assert "objection" in html and "within six weeks of the date of this letter" in html
    assert "no later than 22 April 2025" in html
    assert "€3,950.50" in html and "completed by 10 March 2026" in html


def test_the_objection_term_is_six_weeks_from_the_date_of_the_letter():
    assert replace(REJECTION, letter_date=date(2025, 6, 3)).objection_deadline == date(2025, 7, 15)


@pytest.mark.parametrize(
    ("last_day", "moved_to"),
    [
        (date(2025, 4, 21), date(2025, 4, 22)),  # Easter Monday
        (date(2025, 4, 26), date(2025, 4, 28)),  # King's Day on Saturday (27 April is a Sunday), then Sunday
        (date(2025, 5, 5), date(2025, 5, 6)),  # Liberation Day
        (date(2025, 5, 29), date(2025, 5, 30)),  # Ascension Day
        (date(2025, 12, 25), date(2025, 12, 29)),  # Christmas, Boxing Day, weekend
        (date(2025, 7, 15), date(2025, 7, 15)),  # an ordinary Tuesday
    ],
)
def test_an_objection_term_ending_on_a_weekend_or_holiday_runs_on_to_the_next_working_day(last_day, moved_to):
    assert next_working_day(last_day) == moved_to


def test_easter_is_computed_for_any_year():
    assert [easter_sunday(y) for y in (2024, 2025, 2026, 2038)] == [
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2038, 4, 25),
    ]


def test_a_rejection_letter_gives_its_reasons_and_the_way_to_object():
    for language, phrase in (("nl", "Wij keuren uw plan niet goed"), ("en", "We do not approve your plan")):
        html = render_decision_letter_html(REJECTION, language)
        assert phrase in html and "Het plan leidt niet tot betaald werk." in html
    assert "bezwaar" in render_decision_letter_html(REJECTION, "nl")
    assert "six weeks" in render_decision_letter_html(REJECTION, "en")


def test_a_returned_plan_is_not_yet_a_decision_so_the_letter_has_no_objection_section():
    nl = render_decision_letter_html(RETURNED, "nl")
    en = render_decision_letter_html(RETURNED, "en")
    assert "Dit is nog geen besluit" in nl and "bezwaar maken" not in nl
    assert "Begroting:" in nl and "Voeg een tweede offerte toe." in nl
    assert "This is not a decision yet" in en and "Budget:" in en and "objection" not in en


def test_names_and_reasons_cannot_inject_markup():
    letter = replace(REJECTION, client_display_name="<script>alert(1)</script>", reasons=("<b>x</b> & y",))
    html = render_decision_letter_html(letter, "nl")
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;x&lt;/b&gt; &amp; y" in html


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("letter", [APPROVAL, REJECTION, RETURNED], ids=["approval", "rejection", "returned"])
def test_the_pdf_letter_is_a_pdf(letter, language):
    assert render_decision_letter_pdf(letter, language).startswith(b"%PDF")


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_pdf_letter_also_renders_with_the_core_fonts_only(language):
    letter = replace(APPROVAL, client_display_name="Łukasz Żółć “de kok”")
    assert render_decision_letter_pdf(letter, language, use_unicode_font=False).startswith(b"%PDF")


def test_the_same_letter_gives_the_same_pdf():
    assert render_decision_letter_pdf(APPROVAL, "nl") == render_decision_letter_pdf(APPROVAL, "nl")


def test_the_pdf_text_carries_the_objection_paragraph():
    pypdf = pytest.importorskip("pypdf")
    import io

    def text(data: bytes) -> str:
        return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)

    dutch = text(render_decision_letter_pdf(APPROVAL, "nl"))
    assert "bezwaar" in dutch and "6 weken" in dutch
    english = text(render_decision_letter_pdf(APPROVAL, "en", use_unicode_font=False))
    assert "six weeks" in english and "EUR 3,950.50" in english


def test_core_fonts_get_eur_instead_of_the_euro_sign():
    assert to_latin1("€ 1.234,56 en €5") == "EUR 1.234,56 en EUR 5"
    assert to_latin1("‘t Hoekje – café") == "'t Hoekje - café"
    assert to_latin1("Łukasz") == "Lukasz"


def test_a_letter_in_another_language_is_refused():
    with pytest.raises(DomainError) as err:
        render_decision_letter_html(APPROVAL, "de")
    assert err.value.code == "letter.language"


@pytest.mark.parametrize(
    ("letter", "changes", "field"),
    [
        (REJECTION, {"reasons": ()}, "reasons"),
        (RETURNED, {"comments": ()}, "comments"),
        (APPROVAL, {"conditions": ()}, "conditions"),
        (APPROVAL, {"execution_deadline": None}, "lines"),
    ],
    ids=["rejection_without_reasons", "return_without_comments", "conditions_missing", "deadline_missing"],
)
def test_an_incomplete_letter_is_refused(letter, changes, field):
    with pytest.raises(DomainError) as err:
        replace(letter, **changes)
    assert err.value.code == "letter.incomplete" and err.value.field == field


# --- from a review -----------------------------------------------------------------------------

POLICY = default_policy("0014", "Groningen")
ANNA = Reviewer("anna", "case_manager")


def started():
    lines = [
        LineRequest("l0", Money.euros("1500"), "Coach & Co", description="Coaching"),
        LineRequest("l1", Money.euros("1000"), "ROC", description="Cursus Excel"),
    ]
    return ReviewState.start(POLICY, lines, date(2025, 3, 3))


def test_an_approved_review_becomes_an_approval_letter():
    state = started().decide(
        Approve(
            ANNA,
            date(2025, 3, 10),
            granted={"l0": Money.euros("1200"), "l1": Money.euros("1000")},
            reasons=("Twaalf uur coaching is genoeg.",),
            conditions=("Maandelijks contact.",),
            assessments=dict.fromkeys(PlanSection, "ok"),
        )
    )
    letter = letter_data_from_review(state, client_display_name="Anna", client_number="1", letter_date=LETTER_DATE)
    assert letter.decision is DecisionKind.APPROVE_WITH_CONDITIONS
    assert [(line.description, line.granted) for line in letter.lines] == [
        ("Coaching", Money.euros("1200")),
        ("Cursus Excel", Money.euros("1000")),
    ]
    assert letter.execution_deadline == date(2026, 3, 10)
    assert "Twaalf uur coaching is genoeg." in render_decision_letter_html(letter, "nl")


def test_a_rejected_and_a_returned_review_become_their_letters():
    rejected = started().decide(
        Reject(
            ANNA, date(2025, 3, 10), reasons=("Geen werk in dit beroep.",), assessments=dict.fromkeys(PlanSection, "ok")
        )
    )
    assert letter_data_from_review(
        rejected, client_display_name="A", client_number="1", letter_date=LETTER_DATE
    ).reasons == ("Geen werk in dit beroep.",)
    returned = started().decide(
        ReturnForChanges(
            ANNA,
            date(2025, 3, 10),
            comments={"budget": "Tweede offerte."},
            assessments=dict.fromkeys(PlanSection, "ok"),
        )
    )
    letter = letter_data_from_review(returned, client_display_name="A", client_number="1", letter_date=LETTER_DATE)
    assert letter.comments == (SectionComment(PlanSection.BUDGET, "Tweede offerte."),)


def test_a_review_without_a_decision_has_no_letter():
    with pytest.raises(DomainError) as err:
        letter_data_from_review(started(), client_display_name="A", client_number="1", letter_date=LETTER_DATE)
    assert err.value.code == "letter.no_decision"
