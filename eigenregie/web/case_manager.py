"""The case manager's and the team lead's pages (issue 12): the caseload ordered by what needs
attention first, a client's file, the plan review with the versions side by side, candidates who
meet the hard criteria, and the team lead's four-eyes queue. Every page calls the public APIs
with the person's own token (pages.api); the rules and the refusals are the APIs'."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from eigenregie.web import formats, i18n, pages
from eigenregie.web.api_client import ApiClient, ApiError
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)

STAFF = ("case_manager", "team_lead")
Staff = Annotated[WebSession, Depends(pages.role_in(*STAFF))]
TeamLead = Annotated[WebSession, Depends(pages.role_in("team_lead"))]
ALL = 500  # the APIs' largest page
CLIENTS_PER_CALL = 100  # the most client ids a list route takes
SECTIONS = ("foreword", "introduction", "labour_market", "preconditions", "structure", "budget", "attachments")
ENDING_WITHIN_DAYS = 60
CONVERSATION_KINDS = ("progress", "six_month_presentation", "closing", "other")
OUTCOMES = ("work_during", "work_after", "work_ended", "no_work_running", "no_work_ended", "unknown")
KINDS_OF_WORK = (
    "permanent_job",
    "temporary_job",
    "temp_agency",
    "own_business",
    "work_experience",
    "secondment",
    "trial_placement",
)

pages.add_nav(STAFF, "/caseload", "case_manager.nav.caseload")
pages.add_nav(STAFF, "/caseload/candidates", "case_manager.nav.candidates")
pages.add_nav(("team_lead",), "/team/four-eyes", "case_manager.nav.four_eyes")


def money(value: Any, lang: str) -> str:
    return formats.money(value, lang, empty="-")


def day(value: Any, lang: str) -> str:
    return formats.day(value, lang, empty="-", with_time=False)


def masked_bsn(bsn: Any) -> str:
    """A BSN shown only by its last three digits (never in full, never in a URL or a title)."""
    text = str(bsn or "")
    return "•••••" + text[-3:] if len(text) >= 3 else "•••"


def word(prefix: str, value: Any, lang: str) -> str:
    """A value the API names (a status, a kind) in words; an unknown one as it is."""
    key = f"case_manager.{prefix}.{value}"
    return i18n.text(key, lang) if key in i18n.TEXTS else str(value or "-")


def render(request: Request, who: WebSession, template: str, title_key: str, **context: Any) -> HTMLResponse:
    lang = pages.lang_of(request, who)
    return pages.render(
        request,
        who,
        f"case_manager/{template}",
        title_key=f"case_manager.title.{title_key}",
        money=lambda v: money(v, lang),
        day=lambda v: day(v, lang),
        word=lambda prefix, v: word(prefix, v, lang),
        known=lambda key: key in i18n.TEXTS,
        **context,
    )


async def get_all(client: ApiClient, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await client.get(path, page_size=ALL, **params)
    return rows


async def together(*calls: Awaitable[Any]) -> list[Any]:
    """API calls side by side; every one has finished before the first error is raised (none is left
    running, cancelled half-way, after the page answered)."""
    found = await asyncio.gather(*calls, return_exceptions=True)
    for result in found:
        if isinstance(result, BaseException):
            raise result
    return list(found)


async def of_clients(client: ApiClient, ids: list[str] | None, path: str, **params: Any) -> list[dict[str, Any]]:
    """The rows of these clients (None: of everyone in reach), asked in batches the APIs take."""
    if ids is None:
        return await get_all(client, path, **params)
    batches = [ids[i : i + CLIENTS_PER_CALL] for i in range(0, len(ids), CLIENTS_PER_CALL)]
    found = await together(*(get_all(client, path, client_id=batch, **params) for batch in batches))
    return [row for rows in found for row in rows]


async def maybe(client: ApiClient, path: str, **params: Any) -> Any:
    """A read that may be missing for this plan (no trajectory yet): None instead of a 404 page."""
    try:
        return await client.get(path, **params)
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


def today_of(request: Request) -> date:
    found: date = request.app.state.runtime.clock.today()
    return found


# --- The caseload -------------------------------------------------------------------------------


@dataclass
class Attention:
    client_id: str
    rank: int  # lower first: 0 overdue, 1 deadline near, 2 waiting for a decision, 3 budget, 4 ending
    on: str  # the date that matters (ISO)
    why: str  # a text key
    values: dict[str, str]
    link: str
    link_key: str


@router.get("/caseload", response_class=HTMLResponse)
async def caseload(request: Request, who: Staff) -> Response:
    """What needs attention first: overdue items, plans awaiting a decision, budgets near their limit,
    trajectories ending."""
    client = pages.api(request, who)
    lang = pages.lang_of(request, who)
    lead = who.role == "team_lead"
    # A case manager's caseload: their own clients (and those without one); a team lead's: everyone.
    # Asked of the APIs by client, not the whole municipality's first pages filtered here.
    mine = None if lead else [who.subject, ""]
    everyone = await get_all(client, "/intake/v1/clients", case_manager=mine)
    names = {c["id"]: c for c in everyone if lead or c.get("case_manager") in (None, "", who.subject)}
    ids = None if lead else list(names)
    reviews, overdue, trajectories, budgets, finance = await together(
        get_all(client, "/intake/v1/reviews", mine="false" if lead else "true"),
        of_clients(client, ids, "/monitoring/v1/follow-ups", overdue="true"),
        of_clients(client, ids, "/monitoring/v1/trajectories", status="running", kind="plan"),
        of_clients(client, ids, "/budget/v1/budgets", status="open"),
        client.get("/budget/v1/finance-policy"),
    )
    near = min(finance.get("thresholds") or [80])
    items: list[Attention] = []
    for r in reviews:
        rank = 0 if r["overdue"] else 1 if r["warning"] else 2
        key = "overdue" if r["overdue"] else "due"
        items.append(
            Attention(
                r["client_id"],
                rank,
                str(r["due_on"]),
                f"case_manager.why.review_{key}",
                {"on": day(r["due_on"], lang)},
                f"/caseload/plans/{r['plan_id']}/review",
                "case_manager.action.review",
            )
        )
    for f in overdue:
        kind = f["kind"] if f["kind"] in ("progress_report", "conversation") else "other"
        items.append(
            Attention(
                f["client_id"],
                0,
                str(f["due_on"]),
                f"case_manager.why.overdue_{kind}",
                {"title": f["title"], "on": day(f["due_on"], lang)},
                f"/caseload/clients/{f['client_id']}",
                "case_manager.action.file",
            )
        )
    for b in budgets:
        granted = Decimal(b["granted"] or "0")
        if b["status"] != "open" or granted <= 0:
            continue
        used = granted - Decimal(b["remaining"])
        percent = int(used * 100 / granted)
        if percent >= near:
            items.append(
                Attention(
                    b["client_id"],
                    3,
                    str(b.get("execution_deadline") or ""),
                    "case_manager.why.budget",
                    {"percent": str(percent), "remaining": money(b["remaining"], lang)},
                    f"/caseload/clients/{b['client_id']}",
                    "case_manager.action.file",
                )
            )
    horizon = today_of(request) + timedelta(days=ENDING_WITHIN_DAYS)
    for t in trajectories:
        deadline = t.get("execution_deadline")
        if deadline and date.fromisoformat(str(deadline)) <= horizon:
            items.append(
                Attention(
                    t["client_id"],
                    4,
                    str(deadline),
                    "case_manager.why.ending",
                    {"on": day(deadline, lang)},
                    f"/caseload/clients/{t['client_id']}",
                    "case_manager.action.file",
                )
            )
    items = [a for a in items if a.client_id in names]
    items.sort(key=lambda a: (a.rank, a.on or "9999", a.client_id))
    return render(request, who, "caseload.html", "caseload", items=items, names=names)


# --- A client's file --------------------------------------------------------------------------


async def file_context(client: ApiClient, client_id: str) -> dict[str, Any]:
    # The client's budgets and trajectories in one call each, and each plan's reads side by side:
    # not one call after another per plan.
    person, plans, budgets, trajectories = await together(
        client.get(f"/intake/v1/clients/{client_id}"),
        get_all(client, "/intake/v1/plans", client_id=client_id),
        get_all(client, "/budget/v1/budgets", client_id=[client_id]),
        get_all(client, "/monitoring/v1/trajectories", client_id=[client_id], kind="plan"),
    )
    by_plan = {t["plan_id"]: t for t in trajectories}
    files = await together(
        *(
            plan_file(client, plan, [b for b in budgets if b["plan_id"] == plan["id"]], by_plan.get(plan["id"]))
            for plan in plans
        )
    )
    return {"person": person, "files": list(files), "bsn": masked_bsn(person.get("bsn"))}


async def plan_file(
    client: ApiClient, plan: dict[str, Any], budgets: list[dict[str, Any]], trajectory: dict[str, Any] | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"plan": plan, "budgets": budgets, "trajectory": trajectory}
    versions = get_all(client, f"/intake/v1/plans/{plan['id']}/versions")
    if trajectory is None:
        entry["versions"] = await versions
        return entry
    base = f"/monitoring/v1/trajectories/{plan['id']}"
    found = await together(
        versions,
        get_all(client, f"{base}/progress-reports"),
        get_all(client, f"{base}/conversations"),
        get_all(client, f"{base}/outcomes"),
        maybe(client, f"{base}/outcome-state"),
    )
    entry.update(zip(("versions", "reports", "conversations", "outcomes", "outcome_state"), found, strict=True))
    entry["minutes"] = sum(int(c.get("minutes") or 0) for c in entry["conversations"])
    return entry


def form_context(form_id: str = "", errors: dict[str, str] | None = None, values: FormData | None = None) -> Any:
    return {
        "form_id": form_id,
        "errors": errors or {},
        "values": {k: v for k, v in (values or {}).items() if isinstance(v, str) and k != "csrf_token"},
    }


async def show_file(
    request: Request, who: WebSession, client_id: str, *, status: int = 200, problem: str = "", **form: Any
) -> HTMLResponse:
    context = await file_context(pages.api(request, who), client_id)
    page = render(
        request,
        who,
        "file.html",
        "file",
        done=request.query_params.get("done", ""),
        problem=problem,
        today=today_of(request).isoformat(),
        conversation_kinds=CONVERSATION_KINDS,
        outcomes=OUTCOMES,
        kinds_of_work=KINDS_OF_WORK,
        **{**form_context(), **form},
        **context,
    )
    page.status_code = status
    return page


@router.get("/caseload/clients/{client_id}", response_class=HTMLResponse)
async def client_file(request: Request, client_id: str, who: Staff) -> Response:
    """The client's file: details (BSN masked), plan versions, budget, progress, conversations, outcomes."""
    return await show_file(request, who, client_id)


def clean(form: FormData, *names: str) -> dict[str, Any]:
    """The named fields as the API takes them: empty ones left out (the API says what is missing)."""
    found: dict[str, Any] = {}
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            found[name] = value.strip()
    return found


async def trajectory_post(
    request: Request, who: WebSession, plan_id: str, form_id: str, path: str, body: dict[str, Any], form: FormData
) -> Response:
    client = pages.api(request, who)
    trajectory = await client.get(f"/monitoring/v1/trajectories/{plan_id}")  # 404 when out of reach
    try:
        await client.post(path, body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = exc.field_errors() or {"_": exc.detail}
        return await show_file(
            request,
            who,
            trajectory["client_id"],
            status=exc.status,
            problem=exc.detail,
            **form_context(form_id, errors, form),
        )
    return pages.redirect(f"/caseload/clients/{trajectory['client_id']}?done={form_id}#trajectory-{plan_id}")


@router.post("/caseload/trajectories/{plan_id}/conversations")
async def plan_conversation(request: Request, plan_id: str, who: Staff) -> Response:
    """Plan a conversation; with minutes given, it is recorded as held on its day at once."""
    form = await pages.checked_form(request, who)
    body = clean(form, "planned_on", "kind", "title")
    held = clean(form, "minutes", "note")
    client = pages.api(request, who)
    if not held:
        return await trajectory_post(
            request, who, plan_id, "conversation", f"/monitoring/v1/trajectories/{plan_id}/conversations", body, form
        )
    trajectory = await client.get(f"/monitoring/v1/trajectories/{plan_id}")
    try:
        made = await client.post(f"/monitoring/v1/trajectories/{plan_id}/conversations", body)
        await client.post(
            f"/monitoring/v1/trajectories/{plan_id}/conversations/{made['id']}/held",
            {"held_on": body.get("planned_on"), **held},
        )
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = exc.field_errors() or {"_": exc.detail}
        if "held_on" in errors:
            errors.setdefault("planned_on", errors.pop("held_on"))
        return await show_file(
            request,
            who,
            trajectory["client_id"],
            status=exc.status,
            problem=exc.detail,
            **form_context("conversation", errors, form),
        )
    return pages.redirect(f"/caseload/clients/{trajectory['client_id']}?done=conversation#trajectory-{plan_id}")


@router.post("/caseload/trajectories/{plan_id}/conversations/{conversation_id}/held")
async def conversation_held(request: Request, plan_id: str, conversation_id: str, who: Staff) -> Response:
    """A planned conversation was held: the day, the minutes spent and a short note."""
    form = await pages.checked_form(request, who)
    path = f"/monitoring/v1/trajectories/{plan_id}/conversations/{conversation_id}/held"
    return await trajectory_post(
        request, who, plan_id, f"held-{conversation_id}", path, clean(form, "held_on", "minutes", "note"), form
    )


@router.post("/caseload/trajectories/{plan_id}/outcomes")
async def register_outcome(request: Request, plan_id: str, who: Staff) -> Response:
    """Register an outcome (Table 4.7); work needs the day it started."""
    form = await pages.checked_form(request, who)
    body = clean(form, "outcome", "on", "kind_of_work", "working_since", "hours_per_week")
    if body.get("outcome") in ("work_during", "work_after"):
        body.pop("on", None)
    else:
        for name in ("kind_of_work", "working_since", "hours_per_week"):
            body.pop(name, None)
    path = f"/monitoring/v1/trajectories/{plan_id}/outcomes"
    return await trajectory_post(request, who, plan_id, "outcome", path, body, form)


@router.post("/caseload/trajectories/{plan_id}/progress-reports")
async def file_progress_report(request: Request, plan_id: str, who: Staff) -> Response:
    """File a progress report for the trajectory (staff report for the coach unless they say otherwise)."""
    form = await pages.checked_form(request, who)
    body: dict[str, Any] = clean(form, "summary", "reporter", "done", "next_steps", "problems")
    on_track = form.get("on_track")
    if on_track in ("true", "false"):
        body["on_track"] = on_track == "true"
    path = f"/monitoring/v1/trajectories/{plan_id}/progress-reports"
    return await trajectory_post(request, who, plan_id, "report", path, body, form)


# --- The plan review ----------------------------------------------------------------------------


def field_name(key: Any, lang: str) -> str:
    words = f"case_manager.field.{key}"
    return i18n.text(words, lang) if words in i18n.TEXTS else str(key).replace("_", " ")


def flatten(value: Any, lang: str, prefix: str = "") -> list[str]:
    """A plan section as readable lines ("Activiteiten 1 · Omschrijving: ..."), for a line-by-line diff."""
    if isinstance(value, dict):
        lines: list[str] = []
        for key, inner in value.items():
            if key == "id":
                continue  # a line's id says nothing to a reader
            name = field_name(key, lang)
            lines += flatten(inner, lang, f"{prefix} · {name}" if prefix else name)
        return lines
    if isinstance(value, list):
        if not value:
            return [f"{prefix}: -"] if prefix else []
        lines = []
        for n, inner in enumerate(value, start=1):
            lines += flatten(inner, lang, f"{prefix} {n}")
        return lines
    shown = "-" if value in (None, "") else str(value)
    return [f"{prefix}: {shown}" if prefix else shown]


def section_diff(old: Any, new: Any, lang: str) -> list[dict[str, str]]:
    """Rows of (old line, new line, how): same, changed, added, removed."""
    a, b = flatten(old, lang), flatten(new, lang)
    rows: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [{"old": a[i], "new": b[j1 + n], "how": "same"} for n, i in enumerate(range(i1, i2))]
        elif tag == "replace":
            for n in range(max(i2 - i1, j2 - j1)):
                old_line = a[i1 + n] if i1 + n < i2 else ""
                new_line = b[j1 + n] if j1 + n < j2 else ""
                how = "changed" if old_line and new_line else "removed" if old_line else "added"
                rows.append({"old": old_line, "new": new_line, "how": how})
        elif tag == "delete":
            rows += [{"old": a[i], "new": "", "how": "removed"} for i in range(i1, i2)]
        else:
            rows += [{"old": "", "new": b[j], "how": "added"} for j in range(j1, j2)]
    return rows


def as_number(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


async def review_context(request: Request, who: WebSession, plan_id: str) -> dict[str, Any]:
    client = pages.api(request, who)
    lang = pages.lang_of(request, who)
    plan = await client.get(f"/intake/v1/plans/{plan_id}")
    person = await client.get(f"/intake/v1/clients/{plan['client_id']}")
    versions = await get_all(client, f"/intake/v1/plans/{plan_id}/versions")
    numbers = [v["number"] for v in versions]
    new = as_number(request.query_params.get("new"))
    new = new if new in numbers else plan["latest_version_number"]
    by_number = {v["number"]: v for v in versions}
    old = as_number(request.query_params.get("old"))
    if old not in numbers or old == new:
        # The last version before `new` with other content; none for a plan never changed.
        sha = by_number[new]["sha256"] if new in by_number else ""
        earlier = [n for n in numbers if n < (new or 0) and by_number[n]["sha256"] != sha]
        old = max(earlier) if earlier else None
    new_content = (await client.get(f"/intake/v1/plans/{plan_id}/versions/{new}")).get("content") or {}
    old_content = (await client.get(f"/intake/v1/plans/{plan_id}/versions/{old}")).get("content") or {} if old else {}
    sections = []
    for name in SECTIONS:
        rows = section_diff(old_content.get(name) if old else None, new_content.get(name), lang)
        if old is None:
            rows = [{"old": "", "new": r["new"], "how": "same"} for r in rows]
        sections.append({"name": name, "rows": rows, "changed": any(r["how"] != "same" for r in rows)})
    checks = await client.get(f"/intake/v1/plans/{plan_id}/checks")
    decisions = await get_all(client, f"/intake/v1/plans/{plan_id}/decisions")
    policy = await client.get("/intake/v1/policy")
    threshold = policy.get("four_eyes_threshold")
    above = threshold is not None and Decimal(plan["requested"]) > Decimal(str(threshold))
    first = next(
        (d for d in reversed(decisions) if d["kind"] == "approve"), None
    )  # the first approval of a four-eyes review
    return {
        "plan": plan,
        "person": person,
        "versions": versions,
        "old": old,
        "new": new,
        "sections": sections,
        "checks": checks,
        "decisions": decisions,
        "threshold": threshold,
        "above_threshold": above,
        "review_model": policy.get("review_model", "marginal"),
        "first_approval": first,
    }


async def show_review(
    request: Request, who: WebSession, plan_id: str, *, status: int = 200, problem: str = "", **form: Any
) -> HTMLResponse:
    context = await review_context(request, who, plan_id)
    page = render(
        request,
        who,
        "review.html",
        "review",
        done=request.query_params.get("done", ""),
        problem=problem,
        **{**form_context(), **form},
        **context,
    )
    page.status_code = status
    return page


@router.get("/caseload/plans/{plan_id}/review", response_class=HTMLResponse)
async def review(request: Request, plan_id: str, who: Staff) -> Response:
    """Plan versions side by side with the changes marked, the checks, the decisions so far and the
    decision form (approve, return with comments per section, reject with a reason)."""
    return await show_review(request, who, plan_id)


def lines_of(form: FormData, name: str) -> list[str]:
    value = form.get(name)
    return [line.strip() for line in value.splitlines() if line.strip()] if isinstance(value, str) else []


@router.post("/caseload/plans/{plan_id}/decision")
async def decide(request: Request, plan_id: str, who: Staff) -> Response:
    """Approve, return (comments per section), reject (a reason) or confirm (the second reviewer)."""
    form = await pages.checked_form(request, who)
    client = pages.api(request, who)
    kind = form.get("kind")
    body: dict[str, Any] = {"kind": kind, "plan_version": as_number(form.get("plan_version"))}
    per_section = {s: v for s in SECTIONS if isinstance(v := form.get(f"comment_{s}"), str) and v.strip()}
    policy = await client.get("/intake/v1/policy")
    if kind == "return":
        body["comments"] = per_section
    elif kind in ("approve", "reject"):
        if policy.get("review_model") != "marginal" and per_section:
            body["assessments"] = per_section
        body["reasons"] = lines_of(form, "reasons")
        if kind == "approve":
            body["conditions"] = lines_of(form, "conditions")
    note = form.get("note")
    if isinstance(note, str) and note.strip():
        body["note"] = note.strip()
    try:
        await client.post(f"/intake/v1/plans/{plan_id}/decisions", body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        errors = exc.field_errors()
        if kind == "return" and "comments" in errors:
            errors["comment_foreword"] = errors.pop("comments")
        for s in SECTIONS:
            if s in errors:
                errors[f"comment_{s}"] = errors.pop(s)
        return await show_review(
            request, who, plan_id, status=exc.status, problem=exc.detail, **form_context("decision", errors, form)
        )
    return pages.redirect(f"/caseload/plans/{plan_id}/review?done={kind}")


# --- Candidates ---------------------------------------------------------------------------------


@router.get("/caseload/candidates", response_class=HTMLResponse)
async def candidates(request: Request, who: Staff, all: bool = False) -> Response:
    """Clients who meet the hard criteria (intake's candidates), with the last contact; `all`: also
    those who do not, with the criteria they fail."""
    client = pages.api(request, who)
    names = {c["id"]: c for c in await get_all(client, "/intake/v1/clients")}
    rows = await get_all(client, "/intake/v1/candidates", eligible_only="false" if all else "true")
    return render(request, who, "candidates.html", "candidates", rows=rows, names=names, show_all=all)


# --- The team lead's four-eyes queue ------------------------------------------------------------


async def show_four_eyes(request: Request, who: WebSession, *, status: int = 200, problem: str = "") -> HTMLResponse:
    client = pages.api(request, who)
    names = {c["id"]: c for c in await get_all(client, "/intake/v1/clients")}
    reviews = await get_all(client, "/intake/v1/reviews")
    plans = [r for r in reviews if r["status"] == "pending_second_approval" or r.get("first_reviewer")]
    invoices = [
        i for i in await get_all(client, "/budget/v1/approval-queue") if i["status"] == "awaiting_second_approval"
    ]
    page = render(
        request,
        who,
        "four_eyes.html",
        "four_eyes",
        plans=plans,
        invoices=invoices,
        names=names,
        done=request.query_params.get("done", ""),
        problem=problem,
    )
    page.status_code = status
    return page


@router.get("/team/four-eyes", response_class=HTMLResponse)
async def four_eyes(request: Request, who: TeamLead) -> Response:
    """Plans and invoices above the four-eyes threshold waiting for a second approval."""
    return await show_four_eyes(request, who)


@router.post("/team/four-eyes/plans/{plan_id}/confirm")
async def confirm_plan(request: Request, plan_id: str, who: TeamLead) -> Response:
    """The second approval of a plan (intake's `confirm`, by someone other than the first reviewer)."""
    await pages.checked_form(request, who)
    client = pages.api(request, who)
    plan = await client.get(f"/intake/v1/plans/{plan_id}")
    try:
        await client.post(f"/intake/v1/plans/{plan_id}/decisions", {"kind": "confirm", "plan_version": plan["version"]})
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await show_four_eyes(request, who, status=exc.status, problem=exc.detail)
    return pages.redirect("/team/four-eyes?done=plan")


@router.post("/team/four-eyes/invoices/{invoice_id}/approve")
async def approve_invoice(request: Request, invoice_id: str, who: TeamLead) -> Response:
    """The second approval of an invoice above the threshold (budget's approve, by another person)."""
    await pages.checked_form(request, who)
    try:
        await pages.api(request, who).post(f"/budget/v1/invoices/{invoice_id}/approve")
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await show_four_eyes(request, who, status=exc.status, problem=exc.detail)
    return pages.redirect("/team/four-eyes?done=invoice")


# --- Words --------------------------------------------------------------------------------------


def _t(nl: str, en: str) -> dict[str, str]:
    return {"nl": nl, "en": en}


i18n.register(
    {
        "case_manager.nav.caseload": _t("Mijn klanten", "My caseload"),
        "case_manager.nav.candidates": _t("Kandidaten", "Candidates"),
        "case_manager.nav.four_eyes": _t("Tweede akkoord", "Second approval"),
        "case_manager.title.caseload": _t("Mijn klanten: wat moet eerst", "My caseload: what comes first"),
        "case_manager.title.file": _t("Dossier van de klant", "The client's file"),
        "case_manager.title.review": _t("Plan beoordelen", "Review a plan"),
        "case_manager.title.candidates": _t("Kandidaten", "Candidates"),
        "case_manager.title.four_eyes": _t("Tweede akkoord (vier ogen)", "Second approval (four eyes)"),
        "case_manager.caseload.intro": _t(
            "Bovenaan staat wat het eerst aandacht nodig heeft. Daarna volgt de rest.",
            "What needs attention first is at the top. The rest follows.",
        ),
        "case_manager.col.client": _t("Klant", "Client"),
        "case_manager.col.why": _t("Waarom", "Why"),
        "case_manager.col.date": _t("Datum", "Date"),
        "case_manager.col.action": _t("Actie", "Action"),
        "case_manager.col.number": _t("Klantnummer", "Client number"),
        "case_manager.col.scheme": _t("Regeling", "Scheme"),
        "case_manager.col.eligible": _t("Voldoet aan de eisen", "Meets the criteria"),
        "case_manager.col.failed": _t("Voldoet niet aan", "Does not meet"),
        "case_manager.col.unknown": _t("Nog onbekend", "Still unknown"),
        "case_manager.col.last_contact": _t("Laatste contact", "Last contact"),
        "case_manager.col.amount": _t("Bedrag", "Amount"),
        "case_manager.col.deadline": _t("Beslissen voor", "Decide by"),
        "case_manager.col.first": _t("Eerste akkoord door", "First approval by"),
        "case_manager.col.provider": _t("Aanbieder", "Provider"),
        "case_manager.col.invoice": _t("Factuur", "Invoice"),
        "case_manager.col.status": _t("Status", "Status"),
        "case_manager.col.line": _t("Onderdeel", "Line"),
        "case_manager.col.granted": _t("Toegekend", "Granted"),
        "case_manager.col.spent": _t("Uitgegeven", "Spent"),
        "case_manager.col.remaining": _t("Over", "Remaining"),
        "case_manager.col.version": _t("Versie", "Version"),
        "case_manager.col.kind": _t("Soort", "Kind"),
        "case_manager.col.made_by": _t("Door", "By"),
        "case_manager.col.on": _t("Op", "On"),
        "case_manager.col.minutes": _t("Minuten", "Minutes"),
        "case_manager.col.note": _t("Notitie", "Note"),
        "case_manager.col.title": _t("Onderwerp", "Subject"),
        "case_manager.col.on_track": _t("Gaat het goed?", "On track?"),
        "case_manager.col.summary": _t("Samenvatting", "Summary"),
        "case_manager.col.outcome": _t("Resultaat", "Outcome"),
        "case_manager.col.decision": _t("Besluit", "Decision"),
        "case_manager.col.finding": _t("Melding", "Finding"),
        "case_manager.col.severity": _t("Ernst", "Severity"),
        "case_manager.why.review_due": _t(
            "Plan wacht op uw besluit. Beslis voor {on}.", "Plan awaits your decision. Decide by {on}."
        ),
        "case_manager.why.review_overdue": _t(
            "Plan wacht op uw besluit. De termijn is voorbij ({on}).",
            "Plan awaits your decision. The deadline has passed ({on}).",
        ),
        "case_manager.why.overdue_progress_report": _t(
            "Voortgangsrapportage te laat: {title}, sinds {on}.", "Progress report overdue: {title}, since {on}."
        ),
        "case_manager.why.overdue_conversation": _t(
            "Gesprek te laat: {title}, gepland op {on}.", "Conversation overdue: {title}, planned on {on}."
        ),
        "case_manager.why.overdue_other": _t("Te laat: {title}, sinds {on}.", "Overdue: {title}, since {on}."),
        "case_manager.why.budget": _t(
            "Budget bijna op: {percent}% gebruikt, nog {remaining}.",
            "Budget nearly used: {percent}% used, {remaining} left.",
        ),
        "case_manager.why.ending": _t("Traject eindigt op {on}.", "Trajectory ends on {on}."),
        "case_manager.action.review": _t("Plan beoordelen", "Review the plan"),
        "case_manager.action.file": _t("Dossier openen", "Open the file"),
        "case_manager.caseload.empty": _t("Er is nu niets dat aandacht nodig heeft.", "Nothing needs attention now."),
        "case_manager.caseload.clients": _t("Alle klanten", "All clients"),
        "case_manager.candidates.intro": _t(
            "Deze klanten voldoen aan de harde eisen van de gemeente.",
            "These clients meet the municipality's hard criteria.",
        ),
        "case_manager.candidates.all_intro": _t(
            "Alle klanten, met de eisen waar ze niet aan voldoen.", "All clients, with the criteria they fail."
        ),
        "case_manager.candidates.show_all": _t("Toon alle klanten", "Show all clients"),
        "case_manager.candidates.show_eligible": _t("Toon alleen kandidaten", "Show candidates only"),
        "case_manager.yes": _t("Ja", "Yes"),
        "case_manager.no": _t("Nee", "No"),
        "case_manager.none": _t("Geen", "None"),
        "case_manager.file.details": _t("Gegevens", "Details"),
        "case_manager.file.name": _t("Naam", "Name"),
        "case_manager.file.bsn": _t("BSN (verkort)", "BSN (shortened)"),
        "case_manager.file.email": _t("E-mail", "E-mail"),
        "case_manager.file.born": _t("Geboren", "Born"),
        "case_manager.file.benefit": _t("Uitkering", "Benefit"),
        "case_manager.file.case_manager": _t("Klantmanager", "Case manager"),
        "case_manager.file.plans": _t("Plannen", "Plans"),
        "case_manager.file.no_plans": _t("Deze klant heeft nog geen plan.", "This client has no plan yet."),
        "case_manager.file.plan": _t("Plan: {title}", "Plan: {title}"),
        "case_manager.file.requested": _t("Gevraagd bedrag", "Amount asked"),
        "case_manager.file.versions": _t("Versies van het plan", "Versions of the plan"),
        "case_manager.file.compare": _t("Vergelijk en beoordeel", "Compare and review"),
        "case_manager.file.budget": _t("Budget", "Budget"),
        "case_manager.file.no_budget": _t("Er is nog geen budget.", "There is no budget yet."),
        "case_manager.file.trajectory": _t("Traject", "Trajectory"),
        "case_manager.file.trajectory_facts": _t(
            "Gestart op {start}. Loopt tot {end}. Status: {status}.",
            "Started on {start}. Runs until {end}. Status: {status}.",
        ),
        "case_manager.file.no_trajectory": _t(
            "Het traject start als het plan is goedgekeurd.", "The trajectory starts once the plan is approved."
        ),
        "case_manager.file.reports": _t("Voortgangsrapportages", "Progress reports"),
        "case_manager.file.conversations": _t("Gesprekken", "Conversations"),
        "case_manager.file.minutes_total": _t(
            "Totaal aan gesprekken: {minutes} minuten.", "Total time in conversations: {minutes} minutes."
        ),
        "case_manager.file.outcomes": _t("Resultaten", "Outcomes"),
        "case_manager.file.outcome_now": _t("Resultaat nu: {outcome}.", "Outcome now: {outcome}."),
        "case_manager.file.durable": _t("Duurzaam aan het werk.", "Durably in work."),
        "case_manager.file.held_form": _t("Gesprek gehouden", "Conversation held"),
        "case_manager.file.mark_held": _t("Vastleggen als gehouden", "Record as held"),
        "case_manager.form.plan_conversation": _t("Gesprek plannen of vastleggen", "Plan or record a conversation"),
        "case_manager.form.plan_conversation_hint": _t(
            "Vult u minuten in? Dan leggen we het gesprek vast als gehouden op die dag.",
            "Fill in minutes and the conversation is recorded as held on that day.",
        ),
        "case_manager.form.planned_on": _t("Datum", "Date"),
        "case_manager.form.kind": _t("Soort gesprek", "Kind of conversation"),
        "case_manager.form.title": _t("Onderwerp", "Subject"),
        "case_manager.form.minutes": _t("Minuten besteed (1 tot 600)", "Minutes spent (1 to 600)"),
        "case_manager.form.note": _t("Korte notitie (alleen voor medewerkers)", "Short note (staff only)"),
        "case_manager.form.held_on": _t("Gehouden op", "Held on"),
        "case_manager.form.outcome": _t("Resultaat registreren", "Register an outcome"),
        "case_manager.form.outcome_kind": _t("Resultaat", "Outcome"),
        "case_manager.form.on": _t("Datum (niet bij werk)", "Date (not for work)"),
        "case_manager.form.working_since": _t("Aan het werk sinds (bij werk)", "Working since (for work)"),
        "case_manager.form.kind_of_work": _t("Soort werk (bij werk)", "Kind of work (for work)"),
        "case_manager.form.hours_per_week": _t("Uren per week (bij werk)", "Hours per week (for work)"),
        "case_manager.form.choose": _t("Kies", "Choose"),
        "case_manager.form.report": _t("Voortgangsrapportage invullen", "File a progress report"),
        "case_manager.form.on_track": _t("Gaat het volgens plan?", "Is it going to plan?"),
        "case_manager.form.summary": _t("Samenvatting", "Summary"),
        "case_manager.form.next_steps": _t("Volgende stappen", "Next steps"),
        "case_manager.form.problems": _t("Problemen", "Problems"),
        "case_manager.done.conversation": _t("Het gesprek is opgeslagen.", "The conversation was saved."),
        "case_manager.done.held": _t(
            "Het gesprek is vastgelegd als gehouden.", "The conversation was recorded as held."
        ),
        "case_manager.done.outcome": _t("Het resultaat is geregistreerd.", "The outcome was registered."),
        "case_manager.done.report": _t("De rapportage is opgeslagen.", "The report was saved."),
        "case_manager.done.approve": _t("Uw besluit is opgeslagen: goedgekeurd.", "Your decision was saved: approved."),
        "case_manager.done.return": _t(
            "Het plan is teruggestuurd naar de klant met uw opmerkingen.",
            "The plan was returned to the client with your comments.",
        ),
        "case_manager.done.reject": _t("Uw besluit is opgeslagen: afgewezen.", "Your decision was saved: rejected."),
        "case_manager.done.confirm": _t("Uw tweede akkoord is opgeslagen.", "Your second approval was saved."),
        "case_manager.done.plan": _t("Het plan heeft nu ook uw akkoord.", "The plan now has your approval too."),
        "case_manager.done.invoice": _t(
            "De factuur heeft nu ook uw akkoord.", "The invoice now has your approval too."
        ),
        "case_manager.problem": _t("Dit lukte niet:", "This did not work:"),
        "case_manager.review.client": _t("Klant: {name}", "Client: {name}"),
        "case_manager.review.status": _t("Status van het plan: {status}.", "Status of the plan: {status}."),
        "case_manager.review.compare": _t("Versies vergelijken", "Compare versions"),
        "case_manager.review.old": _t("Oude versie", "Old version"),
        "case_manager.review.new": _t("Nieuwe versie", "New version"),
        "case_manager.review.show": _t("Vergelijk", "Compare"),
        "case_manager.review.version": _t("Versie {n}", "Version {n}"),
        "case_manager.review.first_version": _t(
            "Dit is de eerste versie. Er is niets om mee te vergelijken.",
            "This is the first version. There is nothing to compare with.",
        ),
        "case_manager.review.changed_sections": _t(
            "Delen met wijzigingen zijn gemarkeerd met het woord 'gewijzigd'.",
            "Sections with changes are marked with the word 'changed'.",
        ),
        "case_manager.review.section_changed": _t("gewijzigd", "changed"),
        "case_manager.review.no_change": _t("Geen wijzigingen in dit deel.", "No changes in this section."),
        "case_manager.how.same": _t("gelijk", "same"),
        "case_manager.how.changed": _t("gewijzigd", "changed"),
        "case_manager.how.added": _t("nieuw", "added"),
        "case_manager.how.removed": _t("weggehaald", "removed"),
        "case_manager.review.checks": _t("Controles", "Checks"),
        "case_manager.review.no_findings": _t("De controles vonden niets.", "The checks found nothing."),
        "case_manager.review.totals": _t("Totaal {total}. Maximum {maximum}.", "Total {total}. Maximum {maximum}."),
        "case_manager.severity.block": _t("blokkeert", "blocks"),
        "case_manager.severity.warning": _t("waarschuwing", "warning"),
        "case_manager.severity.signal": _t("signaal", "signal"),
        "case_manager.review.four_eyes": _t(
            "Dit plan is hoger dan {threshold}. Na uw akkoord moet ook een teamleider het plan goedkeuren (vier ogen).",
            "This plan is above {threshold}. After your approval a team lead must approve it too (four eyes).",
        ),
        "case_manager.review.waiting_second": _t(
            "Dit plan wacht op het tweede akkoord van een teamleider.",
            "This plan is waiting for a team lead's second approval.",
        ),
        "case_manager.review.decisions": _t("Besluiten tot nu toe", "Decisions so far"),
        "case_manager.review.decide": _t("Besluit nemen", "Decide"),
        "case_manager.review.not_open": _t(
            "Over dit plan kunt u nu geen besluit nemen.", "You cannot decide on this plan now."
        ),
        "case_manager.review.kind": _t("Uw besluit", "Your decision"),
        "case_manager.kind.approve": _t("Goedkeuren", "Approve"),
        "case_manager.kind.return": _t("Terugsturen met opmerkingen", "Return with comments"),
        "case_manager.kind.reject": _t("Afwijzen", "Reject"),
        "case_manager.kind.confirm": _t("Tweede akkoord", "Second approval"),
        "case_manager.review.comments": _t("Opmerkingen per deel", "Comments per section"),
        "case_manager.review.comments_hint": _t(
            "Bij terugsturen ziet de klant deze opmerkingen."
            " Bij een inhoudelijke toets is dit uw beoordeling per deel.",
            "When you return the plan, the client sees these comments."
            " Under a content review it is your assessment per section.",
        ),
        "case_manager.review.comment_for": _t("Opmerking bij: {section}", "Comment on: {section}"),
        "case_manager.review.reasons": _t(
            "Reden (bij afwijzen, één per regel)", "Reason (when rejecting, one per line)"
        ),
        "case_manager.review.conditions": _t(
            "Voorwaarden (bij goedkeuren, één per regel)", "Conditions (when approving, one per line)"
        ),
        "case_manager.review.note": _t("Interne notitie (niet voor de klant)", "Internal note (not for the client)"),
        "case_manager.review.submit": _t("Besluit opslaan", "Save the decision"),
        "case_manager.review.confirm": _t("Tweede akkoord geven", "Give the second approval"),
        "case_manager.section.foreword": _t("Voorwoord", "Foreword"),
        "case_manager.section.introduction": _t("Inleiding", "Introduction"),
        "case_manager.section.labour_market": _t("Arbeidsmarkt", "Labour market"),
        "case_manager.section.preconditions": _t("Voorwaarden", "Preconditions"),
        "case_manager.section.structure": _t("Opbouw en activiteiten", "Structure and activities"),
        "case_manager.section.budget": _t("Begroting", "Budget"),
        "case_manager.section.attachments": _t("Bijlagen", "Attachments"),
        "case_manager.four_eyes.intro": _t(
            "Plannen en facturen boven de grens van vier ogen. Een andere medewerker gaf al het eerste akkoord.",
            "Plans and invoices above the four-eyes threshold. Another person gave the first approval.",
        ),
        "case_manager.four_eyes.plans": _t("Plannen", "Plans"),
        "case_manager.four_eyes.invoices": _t("Facturen", "Invoices"),
        "case_manager.four_eyes.approve_plan": _t("Akkoord voor plan van {name}", "Approve the plan of {name}"),
        "case_manager.four_eyes.approve_invoice": _t("Akkoord voor factuur {number}", "Approve invoice {number}"),
        "case_manager.four_eyes.look": _t("Bekijk het plan", "Look at the plan"),
        "case_manager.four_eyes.approve": _t("Akkoord", "Approve"),
        "case_manager.reporter.coach": _t("Coach", "Coach"),
        "case_manager.reporter.client": _t("Klant", "Client"),
        "case_manager.reporter.provider": _t("Aanbieder", "Provider"),
        "case_manager.form.reporter": _t("Van wie is de rapportage?", "Who is the report from?"),
    }
)


def _words(prefix: str, values: dict[str, tuple[str, str]]) -> None:
    i18n.register({f"case_manager.{prefix}.{k}": _t(nl, en) for k, (nl, en) in values.items()})


_words(
    "field",
    {
        "situation": ("Situatie", "Situation"),
        "steps_so_far": ("Stappen tot nu toe", "Steps so far"),
        "why_this_budget": ("Waarom dit budget", "Why this budget"),
        "work_goal": ("Doel: werk", "Work goal"),
        "other_goals": ("Andere doelen", "Other goals"),
        "what_is_needed": ("Wat is nodig", "What is needed"),
        "occupation": ("Beroep", "Occupation"),
        "regional_demand": ("Vraag in de regio", "Regional demand"),
        "why_suited": ("Waarom geschikt", "Why suited"),
        "to_arrange": ("Te regelen", "To arrange"),
        "obstacles": ("Belemmeringen", "Obstacles"),
        "activities": ("Activiteit", "Activity"),
        "ref": ("Code", "Code"),
        "description": ("Omschrijving", "Description"),
        "start": ("Begin", "Start"),
        "end": ("Einde", "End"),
        "expected_result": ("Verwacht resultaat", "Expected result"),
        "elements": ("Onderdelen", "Elements"),
        "lines": ("Begrotingsregel", "Budget line"),
        "activity_ref": ("Bij activiteit", "For activity"),
        "provider_name": ("Aanbieder", "Provider"),
        "provider_kvk": ("KvK-nummer aanbieder", "Provider's KvK number"),
        "category": ("Soort kosten", "Kind of cost"),
        "amount": ("Bedrag", "Amount"),
        "vat_rate": ("Btw-tarief", "VAT rate"),
        "quote_attachment_ids": ("Offertes", "Quotes"),
        "business_investment": ("Investering in eigen bedrijf", "Business investment"),
        "material_tied_to_course_or_job": ("Materiaal bij cursus of baan", "Material tied to a course or job"),
        "holdback_percent": ("Inhouding (%)", "Holdback (%)"),
    },
)
_words(
    "plan_status",
    {
        "draft": ("concept", "draft"),
        "submitted": ("ingediend", "submitted"),
        "awaiting_second_approval": ("wacht op tweede akkoord", "awaiting second approval"),
        "returned": ("teruggestuurd", "returned"),
        "approved": ("goedgekeurd", "approved"),
        "rejected": ("afgewezen", "rejected"),
        "closed": ("afgesloten", "closed"),
    },
)
_words(
    "conversation_kind",
    {
        "progress": ("voortgangsgesprek", "progress talk"),
        "six_month_presentation": ("presentatie na zes maanden", "six-month presentation"),
        "closing": ("eindgesprek", "closing talk"),
        "other": ("ander gesprek", "other talk"),
    },
)
_words(
    "conversation_status",
    {"planned": ("gepland", "planned"), "held": ("gehouden", "held"), "cancelled": ("geannuleerd", "cancelled")},
)
_words(
    "outcome",
    {
        "work_during": ("werk gevonden tijdens het traject", "work found during the trajectory"),
        "work_after": ("werk gevonden na het traject", "work found after the trajectory"),
        "work_ended": ("werk gevonden, maar weer gestopt", "work found, but it ended"),
        "no_work_running": ("nog geen werk, traject loopt", "no work yet, trajectory running"),
        "no_work_ended": ("geen werk, traject gestopt", "no work, trajectory ended"),
        "unknown": ("onbekend", "unknown"),
    },
)
_words(
    "work",
    {
        "permanent_job": ("vaste baan", "permanent job"),
        "temporary_job": ("tijdelijke baan", "temporary job"),
        "temp_agency": ("uitzendwerk", "temp-agency work"),
        "own_business": ("eigen bedrijf", "own business"),
        "work_experience": ("werkervaringsplaats", "work-experience place"),
        "secondment": ("detachering", "secondment"),
        "trial_placement": ("proefplaatsing", "trial placement"),
    },
)
_words(
    "trajectory_status",
    {"running": ("loopt", "running"), "closed": ("afgesloten", "closed")},
)
_words(
    "budget_status",
    {"open": ("open", "open"), "closed": ("afgesloten", "closed"), "frozen": ("bevroren", "frozen")},
)
_words(
    "invoice_status",
    {"awaiting_second_approval": ("wacht op tweede akkoord", "awaiting second approval")},
)
_words(
    "category",
    {
        "coaching": ("coaching", "coaching"),
        "training_knowledge": ("opleiding (kennis)", "training (knowledge)"),
        "training_skills": ("opleiding (vaardigheden)", "training (skills)"),
        "study_material": ("lesmateriaal", "study material"),
        "job_mediation": ("bemiddeling naar werk", "job mediation"),
        "driving_lessons": ("rijlessen", "driving lessons"),
        "computer": ("computer", "computer"),
        "business_start_support": ("hulp bij eigen bedrijf", "business start support"),
        "other": ("anders", "other"),
        "wage_cost_subsidy": ("loonkostensubsidie", "wage cost subsidy"),
        "job_coaching": ("jobcoaching", "job coaching"),
        "workplace_adaptation": ("aanpassing werkplek", "workplace adaptation"),
    },
)
_words(
    "version_kind",
    {"draft": ("concept", "draft"), "submitted": ("ingediend", "submitted")},
)
_words(
    "decision_kind",
    {
        "approve": ("goedgekeurd", "approved"),
        "return": ("teruggestuurd", "returned"),
        "reject": ("afgewezen", "rejected"),
        "confirm": ("tweede akkoord", "second approval"),
    },
)
