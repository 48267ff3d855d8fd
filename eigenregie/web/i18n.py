"""The words on the pages, in plain Dutch (B1) and English. Each area registers its own texts;
`text(key, lang)` raises on an unknown key, so a missing text fails a test instead of showing a key."""

from __future__ import annotations

LANGUAGES = ("nl", "en")
TEXTS: dict[str, dict[str, str]] = {}


def register(texts: dict[str, dict[str, str]]) -> None:
    for key, by_lang in texts.items():
        if set(by_lang) != set(LANGUAGES):
            raise ValueError(f"text {key!r} needs exactly {LANGUAGES}")
        if key in TEXTS and TEXTS[key] != by_lang:
            raise ValueError(f"text {key!r} is registered twice with different words")
        TEXTS[key] = by_lang


def text(key: str, lang: str) -> str:
    return TEXTS[key][lang if lang in LANGUAGES else "nl"]


def language(value: str | None) -> str:
    return value if value in LANGUAGES else "nl"


register(
    {
        "app.name": {"nl": "Eigen Regie", "en": "Eigen Regie"},
        "app.tagline": {
            "nl": "Persoonlijk re-integratiebudget: u maakt zelf een plan naar werk. De gemeente beheert het budget"
            " en betaalt de rekeningen.",
            "en": "Your own plan back to work. The municipality keeps the budget and pays the invoices.",
        },
        "nav.skip": {"nl": "Naar de inhoud", "en": "Skip to content"},
        "nav.home": {"nl": "Start", "en": "Home"},
        "nav.logout": {"nl": "Uitloggen", "en": "Log out"},
        "nav.login": {"nl": "Inloggen", "en": "Log in"},
        "nav.main": {"nl": "Hoofdmenu", "en": "Main menu"},
        "nav.language": {"nl": "Taal", "en": "Language"},
        "nav.switch_to": {"nl": "English", "en": "Nederlands"},
        "nav.logged_in_as": {"nl": "Ingelogd als", "en": "Logged in as"},
        "login.title": {"nl": "Inloggen", "en": "Log in"},
        "login.demo_intro": {
            "nl": "Dit is de demo. Kies met wie u wilt inloggen. Eén klik is genoeg.",
            "en": "This is the demo. Choose who you want to log in as. One click is enough.",
        },
        "login.not_here": {
            "nl": "Inloggen met DigiD of eHerkenning komt hier. In deze omgeving is er geen demo-login.",
            "en": "Log-in with DigiD or eHerkenning comes here. This environment has no demo log-in.",
        },
        "login.with_idp": {"nl": "Inloggen met DigiD of eHerkenning", "en": "Log in with DigiD or eHerkenning"},
        "login.staff": {"nl": "Medewerkers", "en": "Staff"},
        "login.clients": {"nl": "Klanten", "en": "Clients"},
        "login.partners": {"nl": "Aanbieders en partners", "en": "Providers and partners"},
        "login.as": {"nl": "Inloggen als", "en": "Log in as"},
        "login.expired": {
            "nl": "U bent uitgelogd omdat u een tijd niets deed. Log opnieuw in.",
            "en": "You were logged out because you were inactive for a while. Please log in again.",
        },
        "role.client": {"nl": "Klant", "en": "Client"},
        "role.representative": {"nl": "Vertegenwoordiger", "en": "Representative"},
        "role.case_manager": {"nl": "Klantmanager", "en": "Case manager"},
        "role.team_lead": {"nl": "Teamleider", "en": "Team lead"},
        "role.finance": {"nl": "Financiën", "en": "Finance"},
        "role.policy": {"nl": "Beleid", "en": "Policy"},
        "role.ops": {"nl": "Beheer", "en": "Operations"},
        "role.provider": {"nl": "Aanbieder", "en": "Provider"},
        "role.partner": {"nl": "Ketenpartner", "en": "Chain partner"},
        "role.service": {"nl": "Systeem", "en": "System"},
        "municipality.0014": {"nl": "Groningen", "en": "Groningen"},
        "municipality.0344": {"nl": "Utrecht", "en": "Utrecht"},
        "error.title": {"nl": "Er ging iets mis", "en": "Something went wrong"},
        "error.not_found": {
            "nl": "Deze pagina bestaat niet, of u mag haar niet zien.",
            "en": "This page does not exist, or you may not see it.",
        },
        "error.forbidden": {"nl": "Dit mag u niet doen met uw rol.", "en": "Your role may not do this."},
        "error.csrf": {
            "nl": "Het formulier was verlopen. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
            "en": "The form had expired. Go back, reload the page and try again.",
        },
        "error.back": {"nl": "Terug naar start", "en": "Back to home"},
        "form.errors": {"nl": "Er zijn fouten in het formulier:", "en": "The form has errors:"},
        "form.required": {"nl": "verplicht", "en": "required"},
        "form.save": {"nl": "Opslaan", "en": "Save"},
        "form.send": {"nl": "Versturen", "en": "Send"},
        "form.done": {"nl": "Gelukt.", "en": "Done."},
        "list.empty": {"nl": "Er is niets om te tonen.", "en": "There is nothing to show."},
        "list.previous": {"nl": "Vorige", "en": "Previous"},
        "list.next": {"nl": "Volgende", "en": "Next"},
        "home.welcome": {"nl": "Welkom", "en": "Welcome"},
        "home.choose": {"nl": "Waar wilt u mee verder?", "en": "What would you like to do?"},
        "home.api": {"nl": "Voor ontwikkelaars: de API's", "en": "For developers: the APIs"},
    }
)
