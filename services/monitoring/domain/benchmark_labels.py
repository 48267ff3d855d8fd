"""The benchmark's words, in English and Dutch (the report's own terms), for the API, CSV and charts."""

from __future__ import annotations

LANGUAGES = ("nl", "en")

# key: (English, Dutch)
_LABELS: dict[str, tuple[str, str]] = {
    # columns
    "wwb": ("WWB", "WWB"),
    "nug": ("NUG", "NUG"),
    "total": ("Total", "Totaal"),
    # tables
    "table.outcomes": ("Outflow to work (Table 4.7)", "Uitstroomresultaten naar werk (tabel 4.7)"),
    "table.profile": ("Who uses the budget (Table 4.1)", "Wie maken gebruik van het budget (tabel 4.1)"),
    "table.soft_characteristics": (
        "Soft characteristics relative to an average client (Table 4.2)",
        "Relatieve beoordeling van de zachte kenmerken (tabel 4.2)",
    ),
    "table.granted_budget": ("Average granted budget (Table 4.3)", "Gemiddeld toegekend budget (tabel 4.3)"),
    "table.spending": ("Spending by category (Table 4.4)", "Besteding van het budget (tabel 4.4)"),
    "table.provisions": (
        "Co-occurring municipal provisions (Table 4.5)",
        "Samenloop met andere gemeentelijke voorzieningen (tabel 4.5)",
    ),
    "table.contact_hours": (
        "Contact hours compared with a regular trajectory (Table 4.6)",
        "Contacturen vergeleken met reguliere trajecten (tabel 4.6)",
    ),
    "table.costs": ("Cost per placement and execution cost", "Kosten per plaatsing en uitvoeringskosten"),
    "table.reference": ("Compared with regular trajectories", "Vergeleken met reguliere trajecten"),
    # blocks
    "block.outcomes": ("Outcome", "Resultaat"),
    "block.gender": ("Gender", "Geslacht"),
    "block.age_band": ("Age", "Leeftijd"),
    "block.benefit_duration": ("Time on benefit at the start", "Duur uitkering bij aanvang"),
    "block.education": ("Education", "Opleidingsniveau"),
    "block.motivation": ("Motivation", "Motivatie"),
    "block.self_reliance": ("Self-reliance", "Zelfredzaamheid"),
    "block.self_awareness": ("Self-awareness, acting actively", "Zelfbewustheid/actief handelen"),
    "block.initiative": ("Initiative shown", "Getoond initiatief"),
    "block.social_skills": ("Social skills", "Sociale vaardigheden"),
    "block.realistic_self_image": ("Realistic self-image", "Realistisch zelfbeeld"),
    "block.spending": ("Budget", "Budget"),
    "block.municipalities": ("Per municipality", "Per gemeente"),
    "block.provisions": ("Co-occurrence", "Samenloop"),
    "block.contact_hours": ("Contact hours", "Contacturen"),
    "block.costs": ("Costs", "Kosten"),
    # rows
    "n": ("Trajectories (n)", "Trajecten (n)"),
    "recorded": ("Recorded (n)", "Geregistreerd (n)"),
    "work_during": ("Work during the trajectory, still working", "Werk tijdens traject en nog werkend"),
    "work_after": ("Work after the trajectory, still working", "Werk na traject en nog werkend"),
    "work_ended": ("Work during/after, no longer working", "Werk tijdens/na traject, niet meer werkend"),
    "no_work_running": ("No work, trajectory still running", "Geen werk, traject loopt nog"),
    "no_work_ended": ("No work after the trajectory ended", "Geen werk na afronding traject"),
    "unknown": ("Unknown", "Onbekend"),
    "outflow": ("Outflow to work (first three rows)", "Uitstroom naar werk (eerste drie rijen)"),
    "durable": ("Durable outflow (working six months or more)", "Duurzame uitstroom (zes maanden of langer werkend)"),
    "subsidised": (
        "of which work-experience place, secondment or trial placement",
        "waarvan werkervaringsplaats, detachering of proefplaatsing",
    ),
    "regular": (
        "of which regular job, temp-agency work or own business",
        "waarvan vast of tijdelijk dienstverband, uitzendwerk of eigen onderneming",
    ),
    "kind_not_recorded": ("of which kind of work not recorded", "waarvan soort werk niet geregistreerd"),
    "female": ("Female", "Vrouw"),
    "male": ("Male", "Man"),
    "other": ("Other", "Anders"),
    "under_35": ("Under 35", "Jonger dan 35"),
    "35_44": ("35 to 44", "35 tot 45"),
    "45_plus": ("45 or older", "45 of ouder"),
    "under_1y": ("Less than a year", "Korter dan een jaar"),
    "1_3y": ("One to three years", "Een tot drie jaar"),
    "over_3y": ("More than three years", "Langer dan drie jaar"),
    "none": ("No benefit", "Geen uitkering"),
    "low": ("Low", "Laag"),
    "middle": ("Middle", "Middel"),
    "high": ("High", "Hoog"),
    "more": ("More", "Meer"),
    "same": ("The same", "Evenveel"),
    "less": ("Less", "Minder"),
    "average": ("Average", "Gemiddeld"),
    "granted": ("Granted budget, average per trajectory", "Toegekend budget, gemiddeld per traject"),
    "co_occurrence": ("Co-occurrence", "Samenloop"),
    "no_co_occurrence": ("No co-occurrence", "Geen samenloop"),
    "debt_counselling": ("of which debt counselling", "waarvan schuldhulpverlening"),
    "special_assistance": ("of which special assistance", "waarvan bijzondere bijstand"),
    "childcare": ("of which childcare", "waarvan kinderopvang"),
    "victim_support": ("of which victim support", "waarvan slachtofferhulp"),
    "health_provisions": ("of which health provisions", "waarvan gezondheidsvoorzieningen"),
    "paid": ("Paid out incl. VAT, average per trajectory", "Uitbetaald incl. btw, gemiddeld per traject"),
    "case_minutes": ("Case-manager time, average per trajectory", "Tijd klantmanager, gemiddeld per traject"),
    "execution": (
        "Execution cost, average per trajectory (case-manager time, orientation, external)",
        "Uitvoeringskosten, gemiddeld per traject (tijd klantmanager, oriëntatie, extern)",
    ),
    "total_cost": ("Total cost, average per trajectory", "Totale kosten, gemiddeld per traject"),
    "cost_per_placement": ("Paid out per placement in work", "Uitbetaald per plaatsing in werk"),
    # spending categories (intake's SpendingCategory values)
    "coaching": ("Coaching", "Coaching"),
    "training_knowledge": ("Training (knowledge)", "Scholing/opleiding (kennis)"),
    "training_skills": ("Training (skills)", "Scholing/opleiding vaardigheden"),
    "study_material": ("(Study) material", "(Studie)materiaal"),
    "job_mediation": ("Job mediation", "Bemiddeling naar arbeid"),
    "driving_lessons": ("Driving lessons", "Rijlessen"),
    "computer": ("Computer", "Computers"),
    "business_start_support": ("Support starting a business", "Steun starten eigen bedrijf"),
    "wage_cost_subsidy": ("Wage-cost subsidy", "Loonkostensubsidie"),
    "job_coaching": ("Job coaching", "Jobcoaching"),
    "workplace_adaptation": ("Workplace adaptation", "Werkplekaanpassing"),
    # notes and captions
    "note.rest": (
        "The total column also counts {count} trajectories whose benefit is other or unknown; they have no "
        "column of their own.",
        "De kolom totaal telt ook {count} trajecten met een andere of onbekende uitkering mee; die hebben geen "
        "eigen kolom.",
    ),
    "note.rest_suppressed": (
        "The total column also counts trajectories whose benefit is other or unknown (how many is suppressed).",
        "De kolom totaal telt ook trajecten met een andere of onbekende uitkering mee (hoeveel is afgeschermd).",
    ),
    "note.suppressed": (
        "{count} cells with fewer than {minimum} trajectories (or from which such a cell could be recomputed) "
        "are suppressed.",
        "{count} cellen met minder dan {minimum} trajecten (of waaruit zo'n cel te herleiden is) zijn afgeschermd.",
    ),
    "note.none_suppressed": ("No cells are suppressed.", "Er zijn geen cellen afgeschermd."),
    "suppressed": ("suppressed", "afgeschermd"),
    "percent": ("Percentage", "Percentage"),
    "chart.outcomes": ("Outcomes per column (% of trajectories)", "Resultaten per kolom (% van de trajecten)"),
    "chart.spending": (
        "Share of clients with spending in a category (%)",
        "Aandeel klanten met besteding in een categorie (%)",
    ),
    "chart.costs": ("Average cost per trajectory (EUR)", "Gemiddelde kosten per traject (euro)"),
    "chart.profile": ("Profile at the start (% of trajectories)", "Kenmerken bij aanvang (% van de trajecten)"),
    "chart.soft_characteristics": (
        "Soft characteristics relative to an average client (%)",
        "Zachte kenmerken vergeleken met een gemiddelde klant (%)",
    ),
    "chart.contact_hours": ("Contact hours compared with a regular trajectory (%)", "Contacturen vergeleken (%)"),
    "chart.empty": ("No trajectories in this period.", "Geen trajecten in deze periode."),
    "reference": ("Regular trajectory (reference)", "Regulier traject (referentie)"),
}


def label(key: str, language: str = "en") -> str:
    """The label of a key; an unknown key (a new spending category) is shown as it is."""
    english, dutch = _LABELS.get(key, (key, key))
    return dutch if language == "nl" else english
