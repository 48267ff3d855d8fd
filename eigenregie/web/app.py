"""The web pages' router: log-in and log-out, the language switch, the home page per role, the
static files (our CSS and the NL Design System's, installed from npm), security headers on every
page and the answers for a missing session, a refused page or a form without its CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from eigenregie.web import demo, oidc_issuer, oidc_login, pages
from eigenregie.web import session as sessions
from eigenregie.web.api_client import ApiError
from eigenregie.web.i18n import language
from eigenregie.web.pages import LoginRequired, PageProblem, render, session_of
from shared.auth import Principal
from shared.config import Settings

HERE = Path(__file__).parent
VENDOR = HERE / "frontend" / "node_modules"
API_PREFIXES = (
    "/intake/",
    "/budget/",
    "/monitoring/",
    "/notifications/",
    "/ops/v1/",
    "/healthz",
    "/readyz",
    "/.well-known/",
    "/oidc/token",
)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

router = APIRouter(include_in_schema=False)


# Where each role starts its work (not the menu's first item: which area registers first is an import detail).
START_PAGES = {
    "client": "/client",
    "representative": "/client",
    "case_manager": "/caseload",
    "team_lead": "/caseload",
    "finance": "/finance/invoices",
    "policy": "/policy/benchmark",
    "ops": "/ops",
    "provider": "/provider",
    "partner": "/partner",
}


def start_page(role: str) -> str:
    """Where a role starts after logging in: its start page, else the first item of its menu."""
    items = pages.NAV.get(role)
    return START_PAGES.get(role) or (items[0][0] if items else "/")


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    who = session_of(request)
    if who is not None and pages.NAV.get(who.role):
        return RedirectResponse(start_page(who.role), status_code=303)
    return render(request, who, "home.html", title_key="app.name")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, expired: bool = False) -> Response:
    """The log-in page: the demo users (the local OpenID Connect issuer, dev and test), or the
    button to the configured issuer (DigiD, eHerkenning)."""
    settings = pages.settings_of(request)
    if not oidc_issuer.enabled(settings):
        return render(
            request,
            None,
            "login.html",
            title_key="login.title",
            demo=False,
            idp=bool(settings.oidc_issuer),
            expired=expired,
            staff=[],
            clients=[],
            partners=[],
        )
    return render(
        request,
        None,
        "login.html",
        title_key="login.title",
        demo=True,
        expired=expired,
        staff=demo.staff(),
        clients=await demo.clients(request),
        partners=await demo.partners(request),
    )


@router.post("/login")
async def login(request: Request, user: Annotated[str, Form(max_length=200)]) -> Response:
    """One click: a demo user of the list (nothing else), through the local issuer's code flow
    (eigenregie/web/oidc_login.demo_one_click), in embedded mode, dev and test only."""
    principal = await oidc_login.demo_one_click(request, user)
    return _logged_in(request, principal)


@router.get("/login/start")
async def login_start(request: Request) -> Response:
    """To the issuer's log-in (the authorization request with PKCE); back at /login/callback."""
    settings = pages.settings_of(request)
    issuer = await oidc_login.issuer_of(request)
    flow = oidc_login.Flow.new()
    answer = RedirectResponse(oidc_login.authorization_url(settings, issuer, flow), status_code=303)
    answer.set_cookie(
        oidc_login.FLOW_COOKIE,
        oidc_login.dump_flow(flow, settings),
        max_age=oidc_login.FLOW_MINUTES * 60,
        httponly=True,
        samesite="lax",
        secure=settings.environment in ("acceptance", "production"),
        path="/login",
    )
    return answer


@router.get("/login/callback")
async def login_callback(
    request: Request,
    state: Annotated[str, Query(max_length=200)] = "",
    code: Annotated[str, Query(max_length=2000)] = "",
    error: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Back from the issuer: the code for the ID token, its identity into the session."""
    settings = pages.settings_of(request)
    flow = oidc_login.load_flow(request.cookies.get(oidc_login.FLOW_COOKIE), settings)
    if error or not code:
        raise PageProblem(403, "error.forbidden")
    principal = await oidc_login.finish(request, await oidc_login.issuer_of(request), flow, code, state)
    answer = _logged_in(request, principal)
    answer.delete_cookie(oidc_login.FLOW_COOKIE, path="/login")
    return answer


def _logged_in(request: Request, principal: Principal) -> Response:
    who = sessions.WebSession.start(principal, language(request.cookies.get("prb_lang")))
    answer = RedirectResponse(start_page(who.role), status_code=303)
    set_session(answer, who, request)
    return answer


@router.post("/logout")
async def logout(request: Request) -> Response:
    who = pages.logged_in(request)
    await pages.checked_form(request, who)
    answer = RedirectResponse("/", status_code=303)
    answer.delete_cookie(sessions.COOKIE, path="/")
    request.state.session_ended = True
    return answer


@router.get("/language/{lang}")
async def switch_language(request: Request, lang: str, next: str = "/") -> Response:
    """The language switch on every page: remembered in the session (and a cookie before log-in)."""
    chosen = language(lang)
    answer = RedirectResponse(pages.local_path(next), status_code=303)
    answer.set_cookie("prb_lang", chosen, max_age=365 * 24 * 3600, httponly=True, samesite="lax", path="/")
    who = session_of(request)
    if who is not None:
        set_session(answer, who.with_lang(chosen), request)
        request.state.session_set = True
    return answer


def set_session(answer: Response, who: sessions.WebSession, request: Request) -> None:
    _set_cookie(answer, who, pages.settings_of(request))
    request.state.session_set = True


def _set_cookie(answer: Response, who: sessions.WebSession, settings: Settings) -> None:
    answer.set_cookie(
        sessions.COOKIE,
        sessions.dump(who, settings),
        max_age=settings.web_session_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=settings.environment in ("acceptance", "production"),
        path="/",
    )


class WebPageMiddleware(BaseHTTPMiddleware):
    """On every page (not the APIs): security headers, and a session renewed by each request
    (it times out only after `web_session_minutes` without one)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path.startswith(API_PREFIXES):
            return await call_next(request)
        # Read before the call: a mounted app replaces request.app on the way in.
        settings = pages.settings_of(request)
        who = session_of(request)
        answer = await call_next(request)
        answer.headers.setdefault("Content-Security-Policy", CSP)
        answer.headers.setdefault("X-Frame-Options", "DENY")
        answer.headers.setdefault("Referrer-Policy", "same-origin")
        answer.headers.setdefault("X-Content-Type-Options", "nosniff")
        answer.headers.setdefault("Cache-Control", "no-store")
        if (
            who is not None
            and not getattr(request.state, "session_set", False)
            and not getattr(request.state, "session_ended", False)
        ):
            _set_cookie(answer, who, settings)
        return answer


def install(app: FastAPI) -> None:
    """Add the pages to the root app (after the services are mounted at /<name>)."""
    from eigenregie.web import areas

    app.include_router(router)
    app.include_router(oidc_issuer.router)
    for area_router in areas.ROUTERS:
        app.include_router(area_router)
    app.mount("/static/vendor", StaticFiles(directory=VENDOR, check_dir=False), name="vendor")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(WebPageMiddleware)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login" + ("?expired=true" if exc.expired else ""), status_code=303)

    @app.exception_handler(PageProblem)
    async def page_problem(request: Request, exc: PageProblem) -> Response:
        return render(
            request, session_of(request), "error.html", status=exc.status, title_key="error.title", message_key=exc.key
        )

    @app.exception_handler(ApiError)
    async def api_refused(request: Request, exc: ApiError) -> Response:
        key = {403: "error.forbidden", 404: "error.not_found"}.get(exc.status, "error.title")
        return render(
            request,
            session_of(request),
            "error.html",
            status=pages.api_problem_status(exc),
            title_key="error.title",
            message_key=key,
            detail=exc.detail,
        )
