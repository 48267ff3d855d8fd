"""The client pages (issue 12), for the client and their representative (whose token carries the
client's id): the overview, the plan written step by step in the Groningen format, the decision
letter, invoices (confirm), receipts (declare), progress reports, the inbox and preferences.
Routes call the public APIs through pages.api(); the APIs decide who may see and do what."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from eigenregie.web import formats, i18n, pages
from eigenregie.web.api_client import ApiClient, ApiError
from eigenregie.web.session import WebSession

router = APIRouter(include_in_schema=False)
ROLES = ("client", "representative")
Who = Annotated[WebSession, Depends(pages.role_in(*ROLES))]

for _path, _key in (
    ("/client", "client.nav.overview"),
    ("/client/plan", "client.nav.plan"),
    ("/client/decision", "client.nav.decision"),
    ("/client/invoices", "client.nav.invoices"),
    ("/client/receipts", "client.nav.receipts"),
    ("/client/progress", "client.nav.progress"),
    ("/client/inbox", "client.nav.inbox"),
    ("/client/preferences", "client.nav.preferences"),
):
    pages.add_nav(ROLES, _path, _key)

EDITABLE = ("draft", "returned")
SECTIONS = ("foreword", "introduction", "labour_market", "preconditions", "structure", "budget", "attachments")
DECIDED = ("approved", "rejected", "closed")
STEPS = (1, 2, 3, 4, 5)
STEP_OF = {"foreword": 1, "introduction": 1, "labour_market": 2, "preconditions": 3, "structure": 4, "budget": 5}
STEP_SECTIONS = {
    1: ("foreword", "introduction"),
    2: ("labour_market",),
    3: ("preconditions",),
    4: ("structure",),
    5: ("budget", "attachments"),
}
TEXT_FIELDS: dict[int, dict[str, tuple[str, ...]]] = {
    1: {
        "foreword": ("situation", "steps_so_far", "why_this_budget"),
        "introduction": ("work_goal", "other_goals", "what_is_needed"),
    },
    2: {"labour_market": ("occupation", "regional_demand", "why_suited")},
    3: {"preconditions": ("to_arrange", "obstacles")},
}
CATEGORIES = (
    "coaching",
    "training_knowledge",
    "training_skills",
    "study_material",
    "job_mediation",
    "driving_lessons",
    "computer",
    "business_start_support",
    "other",
    "wage_cost_subsidy",
    "job_coaching",
    "workplace_adaptation",
)
INVOICE_STATUSES = (
    "received",
    "awaiting_client",
    "awaiting_second_approval",
    "review",
    "approved",
    "scheduled",
    "paid",
    "rejected",
)
PLAN_STATUSES = ("draft", "submitted", "awaiting_second_approval", "returned", "approved", "rejected", "closed")


def view(request: Request, who: WebSession, template: str, title_key: str, **context: Any) -> Response:
    return pages.render(request, who, template, title_key=title_key, **context)


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# --- what several pages need ------------------------------------------------------------------


async def plans_of(client: ApiClient) -> list[dict[str, Any]]:
    plans: list[dict[str, Any]] = await client.get("/intake/v1/plans")
    return sorted(plans, key=lambda p: str(p.get("created_at") or ""))


async def current_plan(client: ApiClient) -> dict[str, Any] | None:
    """The client's plan: the open one if there is one, else the latest."""
    plans = await plans_of(client)
    open_ones = [p for p in plans if p["status"] not in DECIDED]
    chosen = open_ones or plans
    return chosen[-1] if chosen else None


async def budgets_of(client: ApiClient) -> list[dict[str, Any]]:
    budgets: list[dict[str, Any]] = await client.get("/budget/v1/budgets")
    return budgets


async def return_comments(client: ApiClient, plan: dict[str, Any]) -> dict[str, str]:
    """The comments per section of the last time the plan was returned (only while it is returned)."""
    if plan["status"] != "returned":
        return {}
    decisions = await client.get(f"/intake/v1/plans/{plan['id']}/decisions")
    returned = [d for d in decisions if d["kind"] == "return"]
    if not returned:
        return {}
    comments = returned[-1].get("details", {}).get("comments") or {}
    return {str(k): str(v) for k, v in comments.items() if v}


def finding_field(raw: str) -> str:
    """The form field a check or API error is about: budget.lines[0].amount -> line-0-amount."""
    parts = [p for p in re.split(r"[.\[\]]+", raw) if p]
    if len(parts) >= 3 and parts[:2] == ["structure", "activities"]:
        return f"act-{parts[2]}-{parts[3] if len(parts) > 3 else 'end'}"
    if len(parts) >= 3 and parts[:2] == ["budget", "lines"]:
        name = parts[3] if len(parts) > 3 else "amount"
        return f"line-{parts[2]}-{'quotes' if name == 'quote_attachment_ids' else name}"
    return parts[-1] if parts else ""


def section_of(raw: str) -> str:
    return raw.split(".")[0].split("[")[0]


def plan_errors(exc: ApiError) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.problem.get("errors") or []:
        found.setdefault(finding_field(str(error.get("field") or "")), str(error.get("message") or exc.detail))
    return found or {"form": exc.detail}


# --- overview --------------------------------------------------------------------------------


@router.get("/client")
async def overview(request: Request, who: Who) -> Response:
    client = pages.api(request, who)
    plan = await current_plan(client)
    budgets = await budgets_of(client)
    to_confirm = await client.get("/budget/v1/invoices", status="awaiting_client")
    unread = (await client.call("GET", "/notifications/v1/messages", params={"unread": "true", "page_size": 1})).total
    return view(
        request,
        who,
        "client/overview.html",
        "client.title.overview",
        plan=plan,
        budgets=budgets,
        to_confirm=to_confirm,
        unread=unread or 0,
        categories=CATEGORIES,
    )


# --- the plan ------------------------------------------------------------------------------


async def plan_page(
    request: Request, who: WebSession, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    client = pages.api(request, who)
    plan = await current_plan(client)
    checks = attachments = None
    comments: dict[str, str] = {}
    if plan is not None:
        checks = await client.get(f"/intake/v1/plans/{plan['id']}/checks")
        attachments = await client.get(f"/intake/v1/plans/{plan['id']}/attachments")
        comments = await return_comments(client, plan)
    lang = pages.lang_of(request, who)
    response = view(
        request,
        who,
        "client/plan.html",
        "client.title.plan",
        plan=plan,
        checks=checks,
        attachments=attachments,
        comments=comments,
        errors=errors or {},
        editable=bool(plan and plan["status"] in EDITABLE),
        can_start=plan is None or plan["status"] in ("rejected", "closed"),
        steps=STEPS,
        finding_text=lambda f: f["message_en"] if lang == "en" else f["message_nl"],
        step_of=lambda f: STEP_OF.get(section_of(f)),
        section_label=lambda f: i18n.text(f"client.section.{section_of(f)}", lang) if section_of(f) in SECTIONS else "",
        done=request.query_params.get("done", ""),
    )
    response.status_code = status
    return response


@router.get("/client/plan")
async def plan_overview(request: Request, who: Who) -> Response:
    return await plan_page(request, who)


@router.post("/client/plan")
async def plan_start(request: Request, who: Who) -> Response:
    """Start a new plan (empty, in draft), then write it step by step."""
    await pages.checked_form(request, who)
    client = pages.api(request, who)
    try:
        await client.post("/intake/v1/plans", {"client_id": who.client_id})
    except ApiError as exc:
        if exc.status != 409:
            raise
    return pages.redirect("/client/plan/step/1")


async def editable_plan(client: ApiClient) -> dict[str, Any]:
    plan = await current_plan(client)
    if plan is None or plan["status"] not in EDITABLE:
        raise pages.PageProblem(409, "client.plan.not_editable")
    return plan


def step_values(plan: dict[str, Any]) -> dict[str, Any]:
    content = plan["content"]
    activities = [{**a, "index": i} for i, a in enumerate(content.get("structure", {}).get("activities") or [])]
    lines = [{**line, "index": i} for i, line in enumerate(content.get("budget", {}).get("lines") or [])]
    return {"content": content, "activities": activities, "lines": lines}


async def step_page(
    request: Request,
    who: WebSession,
    n: int,
    plan: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    client = pages.api(request, who)
    attachments = await client.get(f"/intake/v1/plans/{plan['id']}/attachments") if n == 5 else []
    comments = await return_comments(client, plan)
    values = values or step_values(plan)
    rows = values["activities"] if n == 4 else values["lines"] if n == 5 else []
    response = view(
        request,
        who,
        "client/plan_text.html" if n <= 3 else f"client/plan_step{n}.html",
        f"client.title.step{n}",
        plan=plan,
        step=n,
        steps=STEPS,
        errors=errors or {},
        attachments=attachments,
        categories=CATEGORIES,
        text_fields=TEXT_FIELDS.get(n, {}),
        comments={s: comments[s] for s in STEP_SECTIONS[n] if s in comments},
        next_row=max([r["index"] for r in rows], default=-1) + 1,
        **values,
    )
    response.status_code = status
    return response


@router.get("/client/plan/step/{n}")
async def plan_step(request: Request, who: Who, n: int) -> Response:
    if n not in STEPS:
        raise pages.PageProblem(404, "error.not_found")
    plan = await current_plan(pages.api(request, who))
    if plan is None or plan["status"] not in EDITABLE:
        return pages.redirect("/client/plan")  # nothing to write now: the plan page says why
    return await step_page(request, who, n, plan)


def read_activities(form: FormData) -> list[dict[str, Any]]:
    rows = []
    for i in range(int(field(form, "act-count") or 0) + 1):
        if field(form, f"act-{i}-remove"):
            continue
        row = {k: field(form, f"act-{i}-{k}") for k in ("ref", "description", "start", "end", "expected_result")}
        if not any(row.values()):
            continue
        rows.append({**row, "elements": [str(e) for e in form.getlist(f"act-{i}-elements")], "index": i})
    return rows


def read_lines(form: FormData, old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {line.get("id"): line for line in old if line.get("id")}
    rows = []
    for i in range(int(field(form, "line-count") or 0) + 1):
        if field(form, f"line-{i}-remove"):
            continue
        row: dict[str, Any] = {
            k: field(form, f"line-{i}-{k}") for k in ("activity_ref", "description", "provider_name", "amount")
        }
        if not any(row.values()):
            continue
        line_id = field(form, f"line-{i}-id")
        kept = dict(by_id.get(line_id, {}))
        kept.update(row)
        if line_id:
            kept["id"] = line_id
        kept["amount"] = formats.parse_amount(row["amount"]) or "0"
        kept["category"] = field(form, f"line-{i}-category") or None
        kept["provider_kvk"] = field(form, f"line-{i}-provider_kvk") or None
        kept["vat_rate"] = formats.parse_amount(field(form, f"line-{i}-vat_rate")) or "0"
        kept["quote_attachment_ids"] = [str(q) for q in form.getlist(f"line-{i}-quotes")]
        kept["index"] = i
        rows.append(kept)
    return rows


@router.post("/client/plan/step/{n}")
async def plan_step_save(request: Request, who: Who, n: int) -> Response:
    """Save this step as a draft (a new version of the plan), then on to the next step."""
    if n not in STEPS:
        raise pages.PageProblem(404, "error.not_found")
    form = await pages.checked_form(request, who)
    client = pages.api(request, who)
    plan = await editable_plan(client)
    content = {k: v for k, v in plan["content"].items() if k != "scheme" or v}
    values = step_values(plan)
    if n == 1:
        content["title"] = field(form, "title")
    for section, names in TEXT_FIELDS.get(n, {}).items():
        content[section] = {**content.get(section, {}), **{name: field(form, name) for name in names}}
    if n == 4:
        activities = read_activities(form)
        content["structure"] = {"activities": [{k: v for k, v in a.items() if k != "index"} for a in activities]}
        values["activities"] = activities
    if n == 5:
        lines = read_lines(form, values["lines"])
        content["budget"] = {"lines": [{k: v for k, v in line.items() if k != "index"} for line in lines]}
        values["lines"] = lines
    values["content"] = content
    try:
        await client.put(f"/intake/v1/plans/{plan['id']}", {**content, "plan_version": plan["version"]})
    except ApiError as exc:
        if exc.status != 422:
            raise
        errors = plan_errors(exc)
        if n in (4, 5):  # the API counts the rows it got; the form numbers every row it showed
            rows = values["activities"] if n == 4 else values["lines"]
            prefix = "act" if n == 4 else "line"
            errors = {_renumber(k, prefix, rows): v for k, v in errors.items()}
        return await step_page(request, who, n, plan, errors=errors, values=values, status=422)
    return pages.redirect(f"/client/plan/step/{n + 1}?saved=1" if n < STEPS[-1] else "/client/plan?done=saved")


def _renumber(name: str, prefix: str, rows: list[dict[str, Any]]) -> str:
    match = re.fullmatch(rf"{prefix}-(\d+)-(.+)", name)
    if not match or int(match.group(1)) >= len(rows):
        return name
    return f"{prefix}-{rows[int(match.group(1))]['index']}-{match.group(2)}"


@router.post("/client/plan/attachments")
async def plan_attach(request: Request, who: Who) -> Response:
    """Attach a quote or another document to the plan (PDF, PNG, JPEG, XML or DOCX, at most 10 MiB)."""
    form = await pages.checked_form(request, who)
    client = pages.api(request, who)
    plan = await editable_plan(client)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await plan_page(
            request, who, errors={"file": pages_text(request, who, "client.plan.file_missing")}, status=422
        )
    content = await upload.read()
    try:
        await client.call(
            "POST",
            f"/intake/v1/plans/{plan['id']}/attachments",
            files={"file": (upload.filename, content, upload.content_type or "application/octet-stream")},
        )
    except ApiError as exc:
        if exc.status not in (413, 415, 422):
            raise
        key = {413: "client.plan.file_too_large", 415: "client.plan.file_type"}.get(exc.status)
        message = pages_text(request, who, key) if key else exc.detail
        return await plan_page(request, who, errors={"file": message}, status=422)
    return pages.redirect("/client/plan?done=attached")


def pages_text(request: Request, who: WebSession, key: str) -> str:
    return i18n.text(key, pages.lang_of(request, who))


@router.post("/client/plan/submit")
async def plan_submit(request: Request, who: Who) -> Response:
    """Submit the plan for review; a blocking check is shown in plain words next to its section."""
    await pages.checked_form(request, who)
    client = pages.api(request, who)
    plan = await editable_plan(client)
    try:
        await client.post(f"/intake/v1/plans/{plan['id']}/submit", {"plan_version": plan["version"]})
    except ApiError as exc:
        if exc.status != 422:
            raise
        blocks = [e.get("message") for e in exc.problem.get("errors") or [] if e.get("message")]
        return await plan_page(request, who, errors={"submit": "; ".join(blocks) or exc.detail}, status=422)
    return pages.redirect("/client/plan?done=submitted")


# --- the decision letter ------------------------------------------------------------------


async def decided_plan(client: ApiClient) -> dict[str, Any] | None:
    decided = [p for p in await plans_of(client) if p["status"] in DECIDED]
    return decided[-1] if decided else None


def letter_body(html: str) -> str:
    """The letter's own content (inside <main>), its headings one level down, without its style."""
    match = re.search(r"<main>(.*)</main>", html, re.S) or re.search(r"<body>(.*)</body>", html, re.S)
    body = match.group(1) if match else ""
    body = re.sub(r"<style.*?</style>", "", body, flags=re.S)
    body = re.sub(r"<(/?)h2>", r"<\1h3>", body)
    return re.sub(r"<(/?)h1>", r"<\1h2>", body)


@router.get("/client/decision")
async def decision(request: Request, who: Who) -> Response:
    client = pages.api(request, who)
    plan = await decided_plan(client)
    letter = ""
    if plan is not None:
        lang = pages.lang_of(request, who)
        raw = await client.call(
            "GET", f"/intake/v1/plans/{plan['id']}/decision-letter", params={"format": "html", "lang": lang}
        )
        letter = letter_body(raw.data.decode("utf-8") if isinstance(raw.data, bytes) else str(raw.data))
    return view(request, who, "client/decision.html", "client.title.decision", plan=plan, letter=letter)


@router.get("/client/decision.pdf")
async def decision_pdf(request: Request, who: Who) -> Response:
    client = pages.api(request, who)
    plan = await decided_plan(client)
    if plan is None:
        raise pages.PageProblem(404, "error.not_found")
    answer = await client.call(
        "GET",
        f"/intake/v1/plans/{plan['id']}/decision-letter",
        params={"format": "pdf", "lang": pages.lang_of(request, who)},
    )
    return Response(
        answer.data, media_type="application/pdf", headers={"Content-Disposition": 'attachment; filename="besluit.pdf"'}
    )


# --- invoices ----------------------------------------------------------------------------


@router.get("/client/invoices")
async def invoices(request: Request, who: Who) -> Response:
    client = pages.api(request, who)
    found = await client.get("/budget/v1/invoices")
    return view(
        request,
        who,
        "client/invoices.html",
        "client.title.invoices",
        invoices=list(reversed(found)),
        done=request.query_params.get("done", ""),
    )


@router.post("/client/invoices/{invoice_id}/confirm")
async def invoice_confirm(request: Request, who: Who, invoice_id: str) -> Response:
    """The client says: yes, I received this; the municipality may pay it."""
    await pages.checked_form(request, who)
    await pages.api(request, who).post(f"/budget/v1/invoices/{invoice_id}/confirm")
    return pages.redirect("/client/invoices?done=confirmed")


# --- receipts ----------------------------------------------------------------------------


def line_options(budgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"value": f"{b['id']}|{line['id']}", "line": line}
        for b in budgets
        if b.get("status") == "open"
        for line in b.get("lines") or []
    ]


async def receipts_page(
    request: Request,
    who: WebSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    client = pages.api(request, who)
    budgets = await budgets_of(client)
    declared = [i for i in await client.get("/budget/v1/invoices") if i.get("flow") == "declaration"]
    response = view(
        request,
        who,
        "client/receipts.html",
        "client.title.receipts",
        options=line_options(budgets),
        declared=list(reversed(declared)),
        errors=errors or {},
        values=values or {},
        today=date.today().isoformat(),
        done=request.query_params.get("done", ""),
        categories=CATEGORIES,
    )
    response.status_code = status
    return response


@router.get("/client/receipts")
async def receipts(request: Request, who: Who) -> Response:
    return await receipts_page(request, who)


RECEIPT_FIELDS = ("line", "description", "provider_name", "amount", "client_iban", "account_holder", "paid_on")


@router.post("/client/receipts")
async def receipt_declare(request: Request, who: Who) -> Response:
    """Declare an expense the client paid itself, with the receipt: paid back to the client's account."""
    form = await pages.checked_form(request, who)
    values = {name: field(form, name) for name in RECEIPT_FIELDS}
    budget_id, _, line_id = values["line"].partition("|")
    upload = form.get("receipt")
    errors: dict[str, str] = {}
    if not budget_id or not line_id:
        errors["line"] = pages_text(request, who, "client.receipts.choose_line")
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["receipt"] = pages_text(request, who, "client.plan.file_missing")
    if errors:
        return await receipts_page(request, who, errors=errors, values=values, status=422)
    assert isinstance(upload, UploadFile)
    content = await upload.read()
    files: list[tuple[str, tuple[str | None, Any] | tuple[str, bytes, str]]] = [
        ("receipt", (upload.filename or "receipt", content, upload.content_type or "application/octet-stream")),
        ("budget_line_id", (None, line_id)),
        ("amount", (None, formats.parse_amount(values["amount"]))),
        ("client_iban", (None, values["client_iban"].replace(" ", "").upper())),
    ]
    files += [(name, (None, values[name])) for name in ("description", "provider_name", "account_holder", "paid_on")]
    try:
        await pages.api(request, who).call("POST", f"/budget/v1/budgets/{budget_id}/declarations", files=files)
    except ApiError as exc:
        if exc.status not in (413, 415, 422):
            raise
        errors = exc.field_errors() or {"receipt": exc.detail}
        if exc.status in (413, 415):
            errors = {"receipt": exc.detail}
        errors = {
            ("line" if k == "budget_line_id" else "client_iban" if k == "provider_iban" else k): v
            for k, v in errors.items()
        }
        return await receipts_page(request, who, errors=errors, values=values, status=422)
    return pages.redirect("/client/receipts?done=1")


# --- progress reports --------------------------------------------------------------------


async def progress_page(
    request: Request,
    who: WebSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    client = pages.api(request, who)
    trajectories = list(await client.get("/monitoring/v1/trajectories", kind="plan"))
    reports: list[dict[str, Any]] = []
    for t in trajectories:
        reports += await client.get(f"/monitoring/v1/trajectories/{t['plan_id']}/progress-reports")
    reports.sort(key=lambda r: str(r.get("created_at")), reverse=True)
    running = [t for t in trajectories if t["status"] == "running"]
    response = view(
        request,
        who,
        "client/progress.html",
        "client.title.progress",
        trajectories=running,
        reports=reports,
        errors=errors or {},
        values=values or {},
        done=request.query_params.get("done", ""),
    )
    response.status_code = status
    return response


@router.get("/client/progress")
async def progress(request: Request, who: Who) -> Response:
    return await progress_page(request, who)


@router.post("/client/progress")
async def progress_file(request: Request, who: Who) -> Response:
    """File a progress report on a running trajectory."""
    form = await pages.checked_form(request, who)
    values = {n: field(form, n) for n in ("plan_id", "on_track", "summary", "done", "next_steps", "problems")}
    errors: dict[str, str] = {}
    if values["on_track"] not in ("yes", "no"):
        errors["on_track"] = pages_text(request, who, "client.progress.choose_on_track")
    if not values["plan_id"]:
        errors["plan_id"] = pages_text(request, who, "client.progress.no_trajectory")
    if errors:
        return await progress_page(request, who, errors=errors, values=values, status=422)
    body: dict[str, Any] = {"on_track": values["on_track"] == "yes", "summary": values["summary"]}
    body.update({k: values[k] for k in ("done", "next_steps", "problems") if values[k]})
    try:
        await pages.api(request, who).post(f"/monitoring/v1/trajectories/{values['plan_id']}/progress-reports", body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        return await progress_page(
            request, who, errors=exc.field_errors() or {"summary": exc.detail}, values=values, status=422
        )
    return pages.redirect("/client/progress?done=1")


# --- inbox and preferences ---------------------------------------------------------------


@router.get("/client/inbox")
async def inbox(request: Request, who: Who) -> Response:
    client = pages.api(request, who)
    messages = await client.get("/notifications/v1/messages", lang=pages.lang_of(request, who))
    return view(request, who, "client/inbox.html", "client.title.inbox", messages=list(reversed(messages)))


@router.post("/client/inbox/{message_id}/read")
async def inbox_read(request: Request, who: Who, message_id: str) -> Response:
    await pages.checked_form(request, who)
    await pages.api(request, who).post(f"/notifications/v1/messages/{message_id}/read")
    return pages.redirect(f"/client/inbox#message-{message_id}")


async def preferences_page(
    request: Request,
    who: WebSession,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    if values is None:
        values = await pages.api(request, who).get("/notifications/v1/preferences")
    response = view(
        request,
        who,
        "client/preferences.html",
        "client.title.preferences",
        prefs=values,
        errors=errors or {},
        done=request.query_params.get("done", ""),
    )
    response.status_code = status
    return response


@router.get("/client/preferences")
async def preferences(request: Request, who: Who) -> Response:
    return await preferences_page(request, who)


@router.post("/client/preferences")
async def preferences_save(request: Request, who: Who) -> Response:
    form = await pages.checked_form(request, who)
    body: dict[str, Any] = {
        "email": bool(field(form, "email")),
        "sms": bool(field(form, "sms")),
        "language": field(form, "language") or None,
        "quiet_from": field(form, "quiet_from") or None,
        "quiet_until": field(form, "quiet_until") or None,
        "hold_mail": bool(field(form, "hold_mail")),
    }
    try:
        await pages.api(request, who).put("/notifications/v1/preferences", body)
    except ApiError as exc:
        if exc.status != 422:
            raise
        return await preferences_page(
            request, who, errors=exc.field_errors() or {"quiet_from": exc.detail}, values=body, status=422
        )
    return pages.redirect("/client/preferences?done=1")


# --- the words (plain Dutch, B1; and English) --------------------------------------------------


def _both(nl: str, en: str) -> dict[str, str]:
    return {"nl": nl, "en": en}


i18n.register(
    {
        "client.nav.overview": _both("Overzicht", "Overview"),
        "client.nav.plan": _both("Mijn plan", "My plan"),
        "client.nav.decision": _both("Besluit", "Decision"),
        "client.nav.invoices": _both("Rekeningen", "Invoices"),
        "client.nav.receipts": _both("Bonnetje indienen", "Declare a receipt"),
        "client.nav.progress": _both("Voortgang", "Progress"),
        "client.nav.inbox": _both("Berichten", "Messages"),
        "client.nav.preferences": _both("Instellingen", "Preferences"),
        "client.title.overview": _both("Mijn overzicht", "My overview"),
        "client.title.plan": _both("Mijn plan", "My plan"),
        "client.title.step1": _both("Stap 1: over u", "Step 1: about you"),
        "client.title.step2": _both("Stap 2: werk dat u zoekt", "Step 2: the work you are looking for"),
        "client.title.step3": _both("Stap 3: wat u moet regelen", "Step 3: what you need to arrange"),
        "client.title.step4": _both("Stap 4: wat u gaat doen", "Step 4: what you will do"),
        "client.title.step5": _both("Stap 5: wat het kost", "Step 5: what it costs"),
        "client.title.decision": _both("Het besluit over uw plan", "The decision on your plan"),
        "client.title.invoices": _both("Mijn rekeningen", "My invoices"),
        "client.title.receipts": _both("Een bonnetje indienen", "Declare a receipt"),
        "client.title.progress": _both("Hoe gaat het?", "How is it going?"),
        "client.title.inbox": _both("Mijn berichten", "My messages"),
        "client.title.preferences": _both("Mijn instellingen", "My preferences"),
        # overview
        "client.overview.plan": _both("Uw plan", "Your plan"),
        "client.overview.to_plan": _both("Naar uw plan", "Go to your plan"),
        "client.overview.no_plan": _both("U heeft nog geen plan.", "You do not have a plan yet."),
        "client.overview.start_plan": _both("Begin met uw plan", "Start your plan"),
        "client.overview.budget": _both("Uw budget", "Your budget"),
        "client.overview.no_budget": _both(
            "U heeft nog geen budget. Dat krijgt u als uw plan is goedgekeurd.",
            "You do not have a budget yet. You get one when your plan is approved.",
        ),
        "client.overview.to_confirm": _both("Rekeningen die u moet bevestigen", "Invoices to confirm"),
        "client.overview.go_confirm": _both("Naar uw rekeningen", "Go to your invoices"),
        "client.overview.nothing_to_confirm": _both(
            "Er zijn geen rekeningen die op u wachten.", "No invoices are waiting for you."
        ),
        "client.overview.messages": _both("Berichten", "Messages"),
        "client.overview.unread": _both("Nieuwe berichten: {count}.", "New messages: {count}."),
        "client.overview.to_inbox": _both("Naar uw berichten", "Go to your messages"),
        "client.budget.caption": _both(
            "Budget: {granted}. Nog over: {remaining}.", "Budget: {granted}. Still left: {remaining}."
        ),
        "client.budget.line": _both("Waarvoor", "What for"),
        "client.budget.granted": _both("Toegekend", "Granted"),
        "client.budget.used": _both("Gebruikt", "Used"),
        "client.budget.remaining": _both("Nog over", "Left"),
        # plan statuses
        "client.plan_status.draft": _both("concept", "draft"),
        "client.plan_status.submitted": _both("ingediend", "submitted"),
        "client.plan_status.awaiting_second_approval": _both("wacht op tweede controle", "awaiting a second check"),
        "client.plan_status.returned": _both("terug voor aanpassing", "returned for changes"),
        "client.plan_status.approved": _both("goedgekeurd", "approved"),
        "client.plan_status.rejected": _both("afgewezen", "rejected"),
        "client.plan_status.closed": _both("afgesloten", "closed"),
        "client.plan_explain.draft": _both(
            "U kunt uw plan nog aanpassen. Als het klaar is, dient u het in.",
            "You can still change your plan. When it is ready, you submit it.",
        ),
        "client.plan_explain.submitted": _both(
            "Uw klantmanager bekijkt uw plan. U hoeft nu niets te doen.",
            "Your case manager is looking at your plan. You do not need to do anything now.",
        ),
        "client.plan_explain.awaiting_second_approval": _both(
            "Een tweede medewerker kijkt nog naar uw plan. U hoeft nu niets te doen.",
            "A second person is checking your plan. You do not need to do anything now.",
        ),
        "client.plan_explain.returned": _both(
            "Uw klantmanager vraagt u om iets aan te passen. Lees de opmerkingen, pas uw plan aan en dien het"
            " opnieuw in.",
            "Your case manager asks you to change something. Read the comments, change your plan and submit it again.",
        ),
        "client.plan_explain.approved": _both(
            "Uw plan is goedgekeurd. U kunt beginnen.", "Your plan is approved. You can start."
        ),
        "client.plan_explain.rejected": _both(
            "Uw plan is afgewezen. In het besluit leest u waarom.",
            "Your plan was rejected. The decision tells you why.",
        ),
        "client.plan_explain.closed": _both("Uw plan is afgesloten.", "Your plan is closed."),
        # plan
        "client.plan.intro": _both(
            "Schrijf uw plan in 5 stappen. U kunt na elke stap stoppen: wat u invult, wordt bewaard.",
            "Write your plan in 5 steps. You can stop after each step: what you fill in is saved.",
        ),
        "client.plan.untitled": _both("Plan zonder titel", "Plan without a title"),
        "client.plan.start": _both("Begin een nieuw plan", "Start a new plan"),
        "client.plan.steps": _both("De stappen", "The steps"),
        "client.plan.back": _both("Terug naar mijn plan", "Back to my plan"),
        "client.plan.to_step": _both("Naar stap {n}", "Go to step {n}"),
        "client.plan.step_of": _both("Stap {n} van {total}.", "Step {n} of {total}."),
        "client.plan.step_intro": _both(
            "Wat u invult, wordt bewaard als concept. U kunt het later nog veranderen.",
            "What you fill in is saved as a draft. You can change it later.",
        ),
        "client.plan.save_next": _both("Bewaren en verder", "Save and continue"),
        "client.plan.save_done": _both("Bewaren", "Save"),
        "client.plan.done_saved": _both("Uw plan is bewaard.", "Your plan is saved."),
        "client.plan.done_attached": _both("Het bestand is toegevoegd.", "The file was added."),
        "client.plan.done_submitted": _both(
            "Uw plan is ingediend. Uw klantmanager gaat het bekijken.",
            "Your plan was submitted. Your case manager will look at it.",
        ),
        "client.plan.not_editable": _both(
            "U kunt uw plan nu niet aanpassen. Dat kan alleen met een concept, of als het plan terug is voor"
            " aanpassing.",
            "You cannot change your plan now. That is only possible with a draft, or when the plan was returned"
            " for changes.",
        ),
        "client.plan.comments": _both("Opmerkingen van uw klantmanager", "Comments from your case manager"),
        "client.plan.comment_on": _both("Opmerking bij {section}:", "Comment on {section}:"),
        "client.plan.checks": _both("Controle van uw plan", "Checks of your plan"),
        "client.plan.total": _both(
            "U vraagt {total}. Het hoogste bedrag is {maximum}.",
            "You ask for {total}. The maximum is {maximum}.",
        ),
        "client.plan.no_findings": _both("Wij vonden geen problemen.", "We found no problems."),
        "client.plan.submittable": _both("U kunt uw plan indienen.", "You can submit your plan."),
        "client.plan.not_submittable": _both(
            "U kunt uw plan nog niet indienen. Los eerst de punten op die moeten.",
            "You cannot submit your plan yet. First fix the points that must be fixed.",
        ),
        "client.plan.not_submitted": _both(
            "Uw plan is niet ingediend. Los eerst dit op:", "Your plan was not submitted. First fix this:"
        ),
        "client.plan.attachments": _both("Offertes en andere bestanden", "Quotes and other files"),
        "client.plan.no_attachments": _both("U heeft nog geen bestanden toegevoegd.", "You have not added files yet."),
        "client.plan.file": _both("Bestand", "File"),
        "client.plan.file_hint": _both(
            "Een PDF, foto (PNG of JPEG), XML of Word-bestand (DOCX). Hoogstens 10 MB.",
            "A PDF, photo (PNG or JPEG), XML or Word file (DOCX). At most 10 MB.",
        ),
        "client.plan.file_missing": _both("Kies een bestand.", "Choose a file."),
        "client.plan.file_too_large": _both(
            "Dit bestand is te groot. Het mag hoogstens 10 MB zijn.", "This file is too big. At most 10 MB."
        ),
        "client.plan.file_type": _both(
            "Dit soort bestand kan niet. Gebruik PDF, PNG, JPEG, XML of DOCX.",
            "This kind of file is not possible. Use PDF, PNG, JPEG, XML or DOCX.",
        ),
        "client.plan.upload": _both("Bestand toevoegen", "Add file"),
        "client.plan.submit_heading": _both("Plan indienen", "Submit the plan"),
        "client.plan.submit_intro": _both(
            "Is uw plan klaar? Dien het in. Uw klantmanager bekijkt het en u krijgt bericht.",
            "Is your plan ready? Submit it. Your case manager will look at it and you will hear from us.",
        ),
        "client.plan.submit": _both("Plan indienen", "Submit plan"),
        "client.plan.activity_n": _both("Activiteit {n}", "Activity {n}"),
        "client.plan.activity_new": _both("Nieuwe activiteit (mag leeg blijven)", "New activity (may stay empty)"),
        "client.plan.remove_activity": _both("Deze activiteit weghalen", "Remove this activity"),
        "client.plan.line_n": _both("Kosten {n}", "Cost {n}"),
        "client.plan.line_new": _both("Nieuwe kosten (mag leeg blijven)", "New cost (may stay empty)"),
        "client.plan.remove_line": _both("Deze kosten weghalen", "Remove this cost"),
        "client.plan.choose": _both("Maak een keuze", "Choose one"),
        "client.plan.no_quotes_yet": _both("U heeft nog geen offertes toegevoegd.", "You have not added quotes yet."),
        "client.plan.add_quotes": _both("Offerte toevoegen", "Add a quote"),
        # sections and fields
        "client.section.foreword": _both("Voorwoord", "Foreword"),
        "client.section.introduction": _both("Inleiding", "Introduction"),
        "client.section.labour_market": _both("Arbeidsmarkt", "Labour market"),
        "client.section.preconditions": _both("Randvoorwaarden", "Preconditions"),
        "client.section.structure": _both("Opbouw en activiteiten", "Structure and activities"),
        "client.section.budget": _both("Begroting", "Budget"),
        "client.section.attachments": _both("Bijlagen", "Attachments"),
        "client.field.title": _both("Titel van uw plan", "Title of your plan"),
        "client.hint.title": _both("Bijvoorbeeld het werk dat u zoekt.", "For example the work you are looking for."),
        "client.field.situation": _both("Uw situatie nu", "Your situation now"),
        "client.hint.situation": _both("Vertel kort hoe het nu met u gaat.", "Tell us briefly how you are now."),
        "client.field.steps_so_far": _both("Wat u al heeft gedaan", "What you have done so far"),
        "client.hint.steps_so_far": _both(
            "Bijvoorbeeld sollicitaties, cursussen of vrijwilligerswerk.",
            "For example applications, courses or volunteer work.",
        ),
        "client.field.why_this_budget": _both("Waarom u dit budget vraagt", "Why you ask for this budget"),
        "client.hint.why_this_budget": _both("Wat helpt het budget u?", "How does the budget help you?"),
        "client.field.work_goal": _both("Uw doel: welk werk", "Your goal: what work"),
        "client.hint.work_goal": _both(
            "Welk werk, hoeveel uur per week, en wanneer?", "What work, how many hours a week, and when?"
        ),
        "client.field.other_goals": _both("Andere doelen", "Other goals"),
        "client.hint.other_goals": _both("Mag leeg blijven.", "May stay empty."),
        "client.field.what_is_needed": _both("Wat u daarvoor nodig heeft", "What you need for it"),
        "client.hint.what_is_needed": _both(
            "Bijvoorbeeld een opleiding of een coach.", "For example a course or a coach."
        ),
        "client.field.occupation": _both("Het beroep", "The occupation"),
        "client.hint.occupation": _both("Welk werk wilt u gaan doen?", "What work do you want to do?"),
        "client.field.regional_demand": _both("Is er werk in de regio?", "Is there work in the region?"),
        "client.hint.regional_demand": _both("Bijvoorbeeld vacatures die u zag.", "For example vacancies you saw."),
        "client.field.why_suited": _both("Waarom dit werk bij u past", "Why this work suits you"),
        "client.hint.why_suited": _both("Wat kunt u goed?", "What are you good at?"),
        "client.field.to_arrange": _both("Wat u moet regelen", "What you need to arrange"),
        "client.hint.to_arrange": _both("Bijvoorbeeld kinderopvang of vervoer.", "For example childcare or transport."),
        "client.field.obstacles": _both("Wat het moeilijk kan maken", "What could make it hard"),
        "client.hint.obstacles": _both("Schrijf 'geen' als er niets is.", "Write 'none' if there is nothing."),
        "client.field.ref": _both("Korte naam", "Short name"),
        "client.hint.ref": _both(
            "Bijvoorbeeld A1. U gebruikt deze naam in stap 5.", "For example A1. You use this name in step 5."
        ),
        "client.field.activity": _both("Wat gaat u doen?", "What will you do?"),
        "client.field.start": _both("Begint op", "Starts on"),
        "client.field.end": _both("Eindigt op", "Ends on"),
        "client.field.expected_result": _both("Wat levert het op?", "What will it bring?"),
        "client.field.activity_ref": _both("Bij welke activiteit", "For which activity"),
        "client.field.line_description": _both("Waarvoor zijn de kosten?", "What is the cost for?"),
        "client.field.provider_name": _both("Wie levert het?", "Who provides it?"),
        "client.field.provider_kvk": _both("KvK-nummer van de aanbieder", "Chamber of Commerce number"),
        "client.hint.provider_kvk": _both("Als u het weet.", "If you know it."),
        "client.field.category": _both("Soort kosten", "Kind of cost"),
        "client.field.amount": _both("Bedrag zonder btw", "Amount without VAT"),
        "client.hint.amount": _both("In euro's, bijvoorbeeld 1450,00.", "In euros, for example 1450.00."),
        "client.field.vat_rate": _both("Btw in procent", "VAT in percent"),
        "client.hint.vat_rate": _both("Meestal 21. Voor onderwijs vaak 0.", "Usually 21. For education often 0."),
        "client.field.quotes": _both("Offertes bij deze kosten", "Quotes for this cost"),
        "client.severity.block": _both("Moet anders", "Must be fixed"),
        "client.severity.warning": _both("Let op", "Please note"),
        "client.severity.signal": _both("Ter informatie", "For your information"),
        "client.category.coaching": _both("Coaching", "Coaching"),
        "client.category.training_knowledge": _both("Opleiding (kennis)", "Training (knowledge)"),
        "client.category.training_skills": _both("Opleiding (vaardigheden)", "Training (skills)"),
        "client.category.study_material": _both("Studiemateriaal", "Study material"),
        "client.category.job_mediation": _both("Hulp bij werk zoeken", "Job mediation"),
        "client.category.driving_lessons": _both("Rijlessen", "Driving lessons"),
        "client.category.computer": _both("Computer", "Computer"),
        "client.category.business_start_support": _both("Hulp bij een eigen bedrijf", "Starting a business"),
        "client.category.other": _both("Iets anders", "Something else"),
        "client.category.wage_cost_subsidy": _both("Loonkostensubsidie", "Wage cost subsidy"),
        "client.category.job_coaching": _both("Jobcoach", "Job coach"),
        "client.category.workplace_adaptation": _both("Aanpassing van de werkplek", "Workplace adaptation"),
        # decision
        "client.decision.pdf": _both("Download het besluit als PDF", "Download the decision as PDF"),
        "client.decision.none": _both(
            "Er is nog geen besluit over uw plan. U krijgt bericht als het er is.",
            "There is no decision on your plan yet. You will get a message when there is.",
        ),
        # invoices
        "client.invoices.intro": _both(
            "Hier ziet u de rekeningen uit uw budget. Soms vragen wij u eerst te bevestigen dat u de dienst heeft"
            " gekregen.",
            "Here you see the invoices paid from your budget. Sometimes we first ask you to confirm that you"
            " received the service.",
        ),
        "client.invoices.caption": _both("Alle rekeningen, de nieuwste eerst", "All invoices, newest first"),
        "client.invoices.from": _both("Van", "From"),
        "client.invoices.number": _both("nummer", "number"),
        "client.invoices.received": _both("Ontvangen", "Received"),
        "client.invoices.amount": _both("Bedrag", "Amount"),
        "client.invoices.status": _both("Status", "Status"),
        "client.invoices.action": _both("Wat u kunt doen", "What you can do"),
        "client.invoices.paid_on": _both("Betaald op {on}", "Paid on {on}"),
        "client.invoices.why": _both("Reden", "Reason"),
        "client.invoices.no_reason": _both("geen reden gegeven", "no reason given"),
        "client.invoices.confirm": _both("Ja, klopt", "Yes, correct"),
        "client.invoices.confirm_label": _both(
            "Ja, klopt: de rekening van {provider}, nummer {number}",
            "Yes, correct: the invoice of {provider}, number {number}",
        ),
        "client.invoices.confirmed": _both(
            "Dank u. U heeft de rekening bevestigd.", "Thank you. You confirmed the invoice."
        ),
        "client.invoices.none": _both("Er zijn nog geen rekeningen.", "There are no invoices yet."),
        "client.invoice_status.received": _both("ontvangen", "received"),
        "client.invoice_status.awaiting_client": _both("wacht op uw bevestiging", "waiting for your confirmation"),
        "client.invoice_status.awaiting_second_approval": _both(
            "wacht op een tweede controle", "waiting for a second check"
        ),
        "client.invoice_status.review": _both("wordt bekeken", "being checked"),
        "client.invoice_status.approved": _both("goedgekeurd", "approved"),
        "client.invoice_status.scheduled": _both("wordt betaald", "being paid"),
        "client.invoice_status.paid": _both("betaald", "paid"),
        "client.invoice_status.rejected": _both("afgewezen", "rejected"),
        # receipts
        "client.receipts.intro": _both(
            "Heeft u zelf iets betaald dat in uw plan staat? Dien het bonnetje in. Wij betalen het bedrag terug op"
            " uw rekening.",
            "Did you pay for something in your plan yourself? Send the receipt. We pay the amount back to your"
            " account.",
        ),
        "client.receipts.line": _both("Bij welke kosten uit uw plan", "For which cost in your plan"),
        "client.receipts.choose_line": _both("Kies bij welke kosten het hoort.", "Choose which cost it belongs to."),
        "client.receipts.description": _both("Wat heeft u gekocht?", "What did you buy?"),
        "client.receipts.description_hint": _both("Bijvoorbeeld: studieboek.", "For example: a study book."),
        "client.receipts.provider_name": _both("Waar heeft u het gekocht?", "Where did you buy it?"),
        "client.receipts.amount": _both("Bedrag", "Amount"),
        "client.receipts.paid_on": _both("Betaald op", "Paid on"),
        "client.receipts.iban": _both("Uw rekeningnummer (IBAN)", "Your account number (IBAN)"),
        "client.receipts.iban_hint": _both("Bijvoorbeeld NL91ABNA0417164300.", "For example NL91ABNA0417164300."),
        "client.receipts.account_holder": _both("Naam op de rekening", "Name on the account"),
        "client.receipts.receipt": _both("Het bonnetje", "The receipt"),
        "client.receipts.send": _both("Bonnetje indienen", "Send receipt"),
        "client.receipts.done": _both(
            "Uw bonnetje is ontvangen. Wij bekijken het en betalen het terug.",
            "Your receipt was received. We will check it and pay you back.",
        ),
        "client.receipts.earlier": _both("Eerder ingediend", "Sent before"),
        "client.receipts.none": _both("U heeft nog geen bonnetjes ingediend.", "You have not sent receipts yet."),
        # progress
        "client.progress.intro": _both(
            "Vertel hoe het gaat met uw plan. Uw klantmanager leest het.",
            "Tell us how your plan is going. Your case manager reads it.",
        ),
        "client.progress.trajectory": _both("Over welk plan", "About which plan"),
        "client.progress.trajectory_since": _both("Plan van {on} tot {until}", "Plan from {on} until {until}"),
        "client.progress.on_track": _both("Gaat het volgens plan?", "Is it going to plan?"),
        "client.progress.on_track_yes": _both("Ja, het gaat volgens plan", "Yes, it is going to plan"),
        "client.progress.on_track_no": _both("Nee, het gaat niet volgens plan", "No, it is not going to plan"),
        "client.progress.choose_on_track": _both("Kies ja of nee.", "Choose yes or no."),
        "client.progress.summary": _both("Hoe gaat het?", "How is it going?"),
        "client.progress.summary_hint": _both("Een paar zinnen is genoeg.", "A few sentences is enough."),
        "client.progress.done": _both(
            "Wat heeft u gedaan sinds de vorige keer?", "What have you done since last time?"
        ),
        "client.progress.next_steps": _both("Wat gaat u hierna doen?", "What will you do next?"),
        "client.progress.problems": _both("Loopt u ergens tegenaan?", "Do you have any problems?"),
        "client.progress.no_trajectory": _both(
            "U heeft nu geen lopend plan. U kunt dus nog geen voortgang doorgeven.",
            "You have no running plan now, so you cannot report progress yet.",
        ),
        "client.progress.done_msg": _both("Dank u. Uw voortgang is doorgegeven.", "Thank you. Your progress was sent."),
        "client.progress.earlier": _both("Eerdere verslagen", "Earlier reports"),
        "client.progress.none": _both("Er zijn nog geen verslagen.", "There are no reports yet."),
        "client.progress.by_client": _both("door u", "by you"),
        "client.progress.by_coach": _both("door uw coach of klantmanager", "by your coach or case manager"),
        "client.progress.by_provider": _both("door de aanbieder", "by the provider"),
        # inbox
        "client.inbox.unread": _both("Nieuw", "New"),
        "client.inbox.read": _both("Gelezen", "Read"),
        "client.inbox.mark_read": _both("Gelezen", "Mark as read"),
        "client.inbox.mark_read_label": _both("Markeer als gelezen: {subject}", "Mark as read: {subject}"),
        "client.inbox.none": _both("U heeft geen berichten.", "You have no messages."),
        # preferences
        "client.preferences.channels": _both("Hoe wilt u berichten krijgen?", "How do you want to get messages?"),
        "client.preferences.channels_intro": _both(
            "U ziet uw berichten altijd hier op de website. U kunt ze ook per e-mail of sms krijgen.",
            "You always see your messages here on the website. You can also get them by e-mail or text message.",
        ),
        "client.preferences.email": _both("Ook per e-mail", "Also by e-mail"),
        "client.preferences.sms": _both("Ook per sms", "Also by text message"),
        "client.preferences.language": _both("Taal van de berichten", "Language of the messages"),
        "client.preferences.language_default": _both(
            "De taal die de gemeente heeft", "The language the municipality has"
        ),
        "client.preferences.quiet": _both("Rustige uren", "Quiet hours"),
        "client.preferences.quiet_intro": _both(
            "In deze uren krijgt u geen sms. Vul beide tijden in, of geen van beide. Tussen 21:00 en 8:00 sturen wij"
            " nooit een sms.",
            "During these hours you get no text messages. Fill in both times, or neither. We never send a text"
            " message between 21:00 and 8:00.",
        ),
        "client.preferences.quiet_from": _both("Van", "From"),
        "client.preferences.quiet_until": _both("Tot", "Until"),
        "client.preferences.hold_mail": _both(
            "Ook e-mail bewaren tot de rustige uren voorbij zijn", "Also hold e-mail until the quiet hours end"
        ),
        "client.preferences.done": _both("Uw instellingen zijn bewaard.", "Your preferences are saved."),
    }
)
