"""What every page shares: the logged-in person (or a redirect to log in), role checks, CSRF on
every form, rendering with the layout, the menu per role and the API client. Area modules
(client.py, case_manager.py, finance.py, policy.py, ops.py) only add routes and templates."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import FormData

from eigenregie.web import formats
from eigenregie.web import session as sessions
from eigenregie.web.api_client import ApiClient, ApiError
from eigenregie.web.i18n import language, text
from eigenregie.web.session import WebSession
from shared.config import Settings

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# The menu per role: (path, text key), in order; each area adds its own.
NAV: dict[str, list[tuple[str, str]]] = {}


def add_nav(roles: Iterable[str], path: str, key: str) -> None:
    for role in roles:
        NAV.setdefault(role, []).append((path, key))


class LoginRequired(Exception):
    """No (valid) session: the answer is a redirect to the log-in page."""

    def __init__(self, expired: bool = False) -> None:
        self.expired = expired


class PageProblem(Exception):
    """A page that cannot be shown: 403, 404, or a form without its CSRF token."""

    def __init__(self, status: int, key: str) -> None:
        self.status, self.key = status, key


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.runtime.settings
    return settings


def session_of(request: Request) -> WebSession | None:
    return sessions.load(request.cookies.get(sessions.COOKIE), settings_of(request))


def logged_in(request: Request) -> WebSession:
    found = session_of(request)
    if found is None:
        raise LoginRequired(expired=sessions.COOKIE in request.cookies)
    return found


Current = Annotated[WebSession, Depends(logged_in)]


def role_in(*roles: str) -> Callable[[Request], WebSession]:
    """A dependency: the logged-in person, who must have one of these roles (else 403)."""

    def check(request: Request) -> WebSession:
        who = logged_in(request)
        if who.role not in roles:
            raise PageProblem(403, "error.forbidden")
        return who

    return check


def api(request: Request, who: WebSession) -> ApiClient:
    return ApiClient(request, who.principal, who.lang)


async def checked_form(request: Request, who: WebSession) -> FormData:
    """The posted form, refused (403) unless it carries this session's CSRF token."""
    form = await request.form()
    token = form.get("csrf_token")
    if not who.csrf_matches(token if isinstance(token, str) else None):
        raise PageProblem(403, "error.csrf")
    return form


def lang_of(request: Request, who: WebSession | None) -> str:
    return language(request.query_params.get("lang") or (who.lang if who else request.cookies.get("prb_lang")))


def render(
    request: Request, who: WebSession | None, template: str, *, status: int = 200, title_key: str, **context: Any
) -> HTMLResponse:
    """A page in the layout, in the person's language; `title_key` names the page (never a BSN)."""
    lang = lang_of(request, who)

    def t(key: str, **values: Any) -> str:
        words = text(key, lang)
        return words.format(**values) if values else words

    shown = {
        "money": lambda value: formats.money(value, lang),
        "day": lambda value: formats.day(value, lang),
        "number": lambda value: formats.number(value, lang),
    }
    page = env.get_template(template).render(
        request=request,
        who=who,
        lang=lang,
        t=t,
        title=t(title_key),
        nav=NAV.get(who.role, []) if who else [],
        csrf=who.csrf if who else "",
        path=request.url.path,
        switch_url="/language/" + ("en" if lang == "nl" else "nl") + "?" + urlencode({"next": _here(request)}),
        **{**shown, **context},
    )
    return HTMLResponse(page, status_code=status)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def redirect(path: str) -> RedirectResponse:
    """After a form: see the result (303, so a reload does not post again)."""
    return RedirectResponse(path, status_code=303)


def local_path(value: str | None, default: str = "/") -> str:
    """Only a path on this site (no scheme, no //host): an open redirect is refused."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


Handler = Callable[..., Coroutine[Any, Any, Response]]


def api_problem_status(exc: ApiError) -> int:
    """How a page answers an API's refusal it does not handle itself: the same 404 or 403."""
    return exc.status if exc.status in (401, 403, 404, 409) else 502
