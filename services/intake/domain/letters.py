"""The decision letter (beschikking) to the client, in plain Dutch (B1) and English.

The text lives in the Jinja2 templates under `templates/`; Python only prepares the values
(dates and amounts already formatted). The PDF is made from the same template, rendered
without the page shell, through fpdf2's HTML support, so the HTML and the PDF say the
same thing.

The PDF uses DejaVu Sans when the system has it (so "€" and every name print as written).
Without it fpdf2's core fonts only know Latin-1: then "€" becomes "EUR" and other
characters are simplified.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from fpdf import FPDF
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from services.intake.domain.errors import RuleBroken
from services.intake.domain.policy import Scheme, format_date_en, format_date_nl
from services.intake.domain.reintegration_plan import SECTION_LABELS, PlanSection, SpendingCategory
from services.intake.domain.review import (
    Approve,
    DecisionKind,
    Reject,
    ReturnForChanges,
    ReviewState,
)
from shared.money import Money

OBJECTION_TERM = timedelta(weeks=6)  # Awb 6:7: six weeks
LANGUAGES = ("nl", "en")
TEMPLATE_DIR = Path(__file__).parent / "templates"
UNICODE_FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)

_SCHEME_NAMES = {
    Scheme.PRB: ("persoonsgebonden re-integratiebudget (prb)", "personal reintegration budget (prb)"),
    Scheme.PGB_BW: (
        "persoonsgebonden budget begeleid werken (pgb bw)",
        "personal budget for supported employment (pgb bw)",
    ),
    Scheme.PIB: ("persoonlijk inburgeringsbudget (pib)", "personal civic integration budget (pib)"),
    Scheme.RIO_IRO: ("individuele re-integratieovereenkomst (rio)", "individual reintegration agreement (rio)"),
}

_TITLES = {
    "nl": {DecisionKind.RETURN_FOR_CHANGES: "Uw re-integratieplan: aanpassen en opnieuw indienen"},
    "en": {DecisionKind.RETURN_FOR_CHANGES: "Your reintegration plan: please change and resubmit"},
}
_DEFAULT_TITLE = {"nl": "Besluit over uw re-integratieplan", "en": "Decision on your reintegration plan"}


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


def public_holidays(year: int) -> frozenset[date]:
    """The holidays of the Algemene termijnenwet (art. 3): a term ending on one runs on to the next working day."""
    easter = easter_sunday(year)
    kings_day = date(year, 4, 27) if date(year, 4, 27).weekday() != 6 else date(year, 4, 26)
    return frozenset(
        {
            date(year, 1, 1),
            easter + timedelta(days=1),
            easter + timedelta(days=39),
            easter + timedelta(days=50),
            kings_day,
            date(year, 5, 5),
            date(year, 12, 25),
            date(year, 12, 26),
        }
    )


def next_working_day(day: date) -> date:
    """`day` itself, or the first day after it that is no Saturday, Sunday or public holiday."""
    while day.weekday() >= 5 or day in public_holidays(day.year):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class LetterLine:
    description: str
    provider_name: str
    asked: Money
    granted: Money
    category: SpendingCategory | None = None


@dataclass(frozen=True)
class SectionComment:
    section: PlanSection
    comment: str


@dataclass(frozen=True)
class DecisionLetterData:
    municipality_name: str
    client_display_name: str
    client_number: str
    letter_date: date
    decision: DecisionKind
    plan_submitted_on: date
    scheme: Scheme = Scheme.PRB
    reasons: tuple[str, ...] = ()
    lines: tuple[LetterLine, ...] = ()
    conditions: tuple[str, ...] = ()
    comments: tuple[SectionComment, ...] = ()  # return for changes: what to change, per section
    execution_deadline: date | None = None
    reference: str = ""
    amounts_excl_vat: bool = True
    signed_by: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "decision", DecisionKind(self.decision))
        object.__setattr__(self, "scheme", Scheme(self.scheme))
        for name in ("reasons", "lines", "conditions", "comments"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        approving = self.decision in (DecisionKind.APPROVE, DecisionKind.APPROVE_WITH_CONDITIONS)
        if approving and (not self.lines or self.execution_deadline is None):
            raise RuleBroken(
                "letter.incomplete", "An approval letter needs the granted lines and the execution deadline.", "lines"
            )
        if self.decision is DecisionKind.APPROVE_WITH_CONDITIONS and not self.conditions:
            raise RuleBroken("letter.incomplete", "An approval with conditions needs the conditions.", "conditions")
        if self.decision is DecisionKind.REJECT and not self.reasons:
            raise RuleBroken("letter.incomplete", "A rejection letter needs its reasons.", "reasons")
        if self.decision is DecisionKind.RETURN_FOR_CHANGES and not self.comments:
            raise RuleBroken(
                "letter.incomplete", "A letter returning the plan needs the comments per section.", "comments"
            )

    @property
    def total_asked(self) -> Money:
        return Money.total(line.asked for line in self.lines)

    @property
    def total_granted(self) -> Money:
        return Money.total(line.granted for line in self.lines)

    @property
    def objection_deadline(self) -> date:
        """Six weeks after the date of the letter, moved past a weekend or holiday (Algemene termijnenwet)."""
        return next_working_day(self.letter_date + OBJECTION_TERM)

    @property
    def open_to_objection(self) -> bool:
        # Returning a plan for changes decides nothing yet, so there is nothing to object to.
        return self.decision is not DecisionKind.RETURN_FOR_CHANGES


def letter_data_from_review(
    state: ReviewState,
    *,
    client_display_name: str,
    client_number: str,
    letter_date: date,
    reference: str = "",
    signed_by: str = "",
) -> DecisionLetterData:
    """The letter for a review that reached its outcome (approved, rejected or returned)."""
    kind = state.decision_kind
    final = state.final_decision
    if kind is None or final is None:
        raise RuleBroken("letter.no_decision", "There is no decision to write a letter about yet.", "status")
    common: dict[str, Any] = {
        "municipality_name": state.policy.municipality_name,
        "client_display_name": client_display_name,
        "client_number": client_number,
        "letter_date": letter_date,
        "decision": kind,
        "plan_submitted_on": state.submitted_on,
        "scheme": state.scheme,
        "reference": reference,
        "amounts_excl_vat": state.policy.amounts_excl_vat,
        "signed_by": signed_by,
    }
    if kind in (DecisionKind.APPROVE, DecisionKind.APPROVE_WITH_CONDITIONS):
        approval = state.approval
        assert isinstance(approval, Approve)
        by_id = {line.line_id: line for line in state.lines}
        lines = tuple(
            LetterLine(
                by_id[g.line_id].description or by_id[g.line_id].provider_name,
                by_id[g.line_id].provider_name,
                g.asked,
                g.granted,
                by_id[g.line_id].category,
            )
            for g in state.grants
        )
        return DecisionLetterData(
            **common,
            reasons=approval.reasons,
            lines=lines,
            conditions=approval.conditions,
            execution_deadline=state.execution_deadline,
        )
    if isinstance(final, Reject):
        return DecisionLetterData(**common, reasons=final.reasons)
    assert isinstance(final, ReturnForChanges)
    comments = tuple(
        SectionComment(section, text) for section in PlanSection if (text := final.comments.get(section, "")).strip()
    )
    return DecisionLetterData(**common, comments=comments)


# --- rendering -------------------------------------------------------------------------------

_environment = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise RuleBroken(
            "letter.language", f"Letters are written in {' or '.join(LANGUAGES)}, not {language!r}.", "language"
        )
    return language


def _context(data: DecisionLetterData, language: str) -> dict[str, Any]:
    dutch = language == "nl"
    money = Money.format_nl if dutch else Money.format_en
    day = format_date_nl if dutch else format_date_en
    pick = 0 if dutch else 1
    if data.amounts_excl_vat:
        vat_note = "Alle bedragen zijn zonder btw." if dutch else "All amounts exclude VAT."
    else:
        vat_note = "Alle bedragen zijn met btw." if dutch else "All amounts include VAT."
    return {
        "lang": language,
        "title": _TITLES[language].get(data.decision, _DEFAULT_TITLE[language]),
        "municipality": data.municipality_name,
        "client_name": data.client_display_name,
        "client_number": data.client_number,
        "reference": data.reference,
        "letter_date": day(data.letter_date),
        "submitted_on": day(data.plan_submitted_on),
        "scheme_name": _SCHEME_NAMES[data.scheme][pick],
        "decision": data.decision.value,
        "partial": data.total_granted < data.total_asked,
        "reasons": [r for r in data.reasons if r.strip()],
        "lines": [
            {
                "description": line.description,
                "provider": line.provider_name,
                "asked": money(line.asked),
                "granted": money(line.granted),
            }
            for line in data.lines
        ],
        "total_asked": money(data.total_asked),
        "total_granted": money(data.total_granted),
        "vat_note": vat_note,
        "conditions": [c for c in data.conditions if c.strip()],
        "comments": [{"section": SECTION_LABELS[c.section][pick], "comment": c.comment} for c in data.comments],
        "execution_deadline": day(data.execution_deadline) if data.execution_deadline else "",
        "objection": data.open_to_objection,
        "objection_deadline": day(data.objection_deadline),
        "signed_by": data.signed_by,
    }


def _render(data: DecisionLetterData, language: str, layout: str) -> str:
    template = _environment.get_template(f"decision_letter.{_check_language(language)}.html.j2")
    return template.render(layout=layout, **_context(data, language))


def render_decision_letter_html(letter_data: DecisionLetterData, language: str) -> str:
    """A complete HTML page (autoescaped: names and reasons cannot inject markup)."""
    return _render(letter_data, language, "_letter_page.html.j2")


def _unicode_font_files() -> dict[str, Path] | None:
    """DejaVu Sans regular and bold, if this system has them."""
    for folder in UNICODE_FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            return {"": regular, "B": bold if bold.is_file() else regular}
    return None


_LATIN1_REPLACEMENTS = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    "•": "-",
    # letters that do not decompose into a Latin-1 letter plus an accent
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "ı": "i",
    "Œ": "OE",
    "œ": "oe",
    "ŉ": "'n",
}


def to_latin1(text: str) -> str:
    """What the core PDF fonts can print: "€" as "EUR", quotes straightened, accents kept if Latin-1."""
    text = re.sub(r"€\s?", "EUR ", text)
    for char, plain in _LATIN1_REPLACEMENTS.items():
        text = text.replace(char, plain)
    out = []
    for char in text:
        if ord(char) < 256:
            out.append(char)
            continue
        simplified = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(simplified or "?")
    return "".join(out)


def render_decision_letter_pdf(
    letter_data: DecisionLetterData, language: str, *, use_unicode_font: bool = True
) -> bytes:
    """The same letter as a PDF (A4). Pass `use_unicode_font=False` to force the core fonts."""
    html = _render(letter_data, language, "_letter_pdf.html.j2")
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_title(to_latin1(_context(letter_data, language)["title"]))
    pdf.set_author(to_latin1(f"{letter_data.municipality_name}"))
    pdf.set_lang(language)
    # A fixed creation date makes the same letter give the same bytes.
    pdf.set_creation_date(datetime.combine(letter_data.letter_date, time(), tzinfo=UTC))
    fonts = _unicode_font_files() if use_unicode_font else None
    if fonts:
        for style, path in fonts.items():
            pdf.add_font("DejaVu", style, str(path))
        family = "DejaVu"
    else:
        family = "helvetica"
        html = to_latin1(html)
    pdf.add_page()
    pdf.set_font(family, size=10.5)
    pdf.write_html(html, font_family=family)
    return bytes(pdf.output())
