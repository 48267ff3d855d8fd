"""The logic of the ops commands (`prb municipality|partners|workers|health all`; backups are in
ops_backup.py): the CLI parses the arguments and calls these, which call the services' own
commands, so a municipality or a partner application made here is made as the API makes it.

Bad input raises `OpsError` naming the argument; the CLI prints it and exits 2.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from shared.auth import Principal, Role
from shared.config import Settings
from shared.errors import DomainError
from shared.runtime import Runtime

# Who did it, in the policy change log and the partner application's `created_by`.
DEFAULT_ACTOR = "prb-cli"


class OpsError(Exception):
    """Bad input for an ops command: `argument` names what to fix (`--code`, `--preset`, ...)."""

    def __init__(self, argument: str, message: str) -> None:
        super().__init__(f"{argument}: {message}")
        self.argument = argument


def _principal(role: Role, municipality: str, by: str) -> Principal:
    if not (len(municipality) == 4 and municipality.isdigit()):
        raise OpsError("--municipality" if role != Role.POLICY else "--code", "a CBS code is 4 digits, e.g. 0014")
    try:
        return Principal(subject=by, role=role, municipality=municipality)
    except ValidationError:
        raise OpsError("--by", "who does it: 1 to 80 characters") from None


# --- municipalities --------------------------------------------------------------------------


def _field_argument(field_name: str | None) -> str:
    """The CLI argument behind a policy field, else the field under the preset."""
    if field_name and field_name.startswith("schemes[0].maximum"):
        return "--maximum"
    if field_name in ("municipality_name", "name", "debtor_name"):
        return "--name"
    if field_name == "debtor_iban":
        return "--iban"
    if field_name == "debtor_bic":
        return "--bic"
    return f"--preset ({field_name})" if field_name else "--preset"


def list_presets() -> list[str]:
    from services.intake.domain.policy_presets import PRESETS

    lines = []
    for code, preset in PRESETS.items():
        schemes = ", ".join(f"{s.scheme.value} max EUR {s.maximum_budget}" for s in preset.schemes)
        lines.append(f"{preset.municipality_name.lower():11} {code}  review {preset.review_model.value:16} {schemes}")
    return lines


def create_municipality(
    runtime: Runtime,
    *,
    code: str,
    name: str,
    preset: str,
    maximum: str | None = None,
    iban: str | None = None,
    bic: str | None = None,
    by: str = DEFAULT_ACTOR,
    replace_existing: bool = False,
) -> list[str]:
    """Store a new municipality's intake policy (through intake's `put_policy`, as
    `PUT /intake/v1/policy` does, so it is in the change log) and its finance policy (budget's
    `put_finance_policy`), both from a preset. Returns the lines to print."""
    from services.budget import commands as budget_commands
    from services.budget.domain.finance_policy import finance_policy_for
    from services.budget.domain.finance_policy import policy_from_dict as finance_from_dict
    from services.budget.domain.finance_policy import policy_to_dict as finance_to_dict
    from services.budget.models import FinancePolicyRecord
    from services.intake import commands as intake_commands
    from services.intake.domain.policy import policy_to_dict
    from services.intake.domain.policy_parsing import policy_from_dict as intake_policy_from_dict
    from services.intake.domain.policy_presets import PRESETS, find_preset, policy_from_preset
    from services.intake.models import PolicyRecord
    from shared.money import Money

    who = _principal(Role.POLICY, code, by)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise OpsError("--name", "the municipality's name: 1 to 100 characters")
    chosen = find_preset(preset)
    if chosen is None:
        names = ", ".join(p.municipality_name.lower() for p in PRESETS.values())
        raise OpsError("--preset", f"no preset {preset!r}; choose from {names} (or their CBS codes)")
    document = policy_to_dict(policy_from_preset(chosen, code, name))
    if maximum is not None:
        try:
            amount = Money.euros(maximum)
        except (ValueError, ArithmeticError):
            raise OpsError("--maximum", f"euros, e.g. 5000 or 4500.50, not {maximum!r}") from None
        if not 0 < amount.cents <= 100_000_000:
            raise OpsError("--maximum", "more than 0 and at most 1000000 euros")
        document["schemes"][0]["maximum_budget"] = str(amount)

    finance = finance_policy_for(chosen.municipality_code)
    finance = replace(
        finance,
        municipality=code,
        name=name,
        debtor_name=f"Gemeente {name}",
        # One rule, said once by the preset: the client confirms the provider's invoices or not.
        client_confirms_provider_invoices=chosen.client_confirms_invoices,
    )
    finance_document = finance_to_dict(finance)
    if iban is not None:
        finance_document["debtor_iban"] = iban
    if bic is not None:
        finance_document["debtor_bic"] = bic

    # Both documents are checked, and neither municipality may have one yet, before either is
    # stored: a bad --iban must not leave the intake policy written without the finance policy.
    try:
        intake_policy_from_dict(document)
    except (DomainError, ValueError) as exc:
        raise OpsError(_field_argument(getattr(exc, "field", None)), str(exc)) from None
    try:
        finance_from_dict(finance_document)
    except (DomainError, ValueError) as exc:
        raise OpsError(_field_argument(getattr(exc, "field", None)), str(exc)) from None
    if not replace_existing:
        with runtime.uow("intake") as uow:
            has_policy = uow.session.get(PolicyRecord, code) is not None
        with runtime.uow("budget") as uow:
            has_policy = has_policy or uow.session.get(FinancePolicyRecord, code) is not None
        if has_policy:
            raise OpsError("--code", f"municipality {code} already has a policy; --replace overwrites it")
    with runtime.uow("intake") as uow:
        stored = intake_commands.put_policy(uow, who, document)
    with runtime.uow("budget") as uow:
        stored_finance = budget_commands.put_finance_policy(uow, who, finance_document)

    schemes = ", ".join(f"{s['scheme']} max EUR {s['maximum_budget']}" for s in stored["schemes"])
    lines = [
        f"municipality {code} {name}: policy from preset {chosen.municipality_name} ({schemes}; "
        f"review {stored['review_model']}; client confirms invoices: {stored['client_confirms_invoices']})",
        f"finance policy: bank account {stored_finance['debtor_iban']}, four eyes above EUR "
        f"{stored_finance['invoice_four_eyes_threshold']}",
    ]
    if iban is None:
        lines.append(
            "note: the bank account is the preset's; set it (--iban, or PUT /budget/v1/finance-policy) "
            "before a payment run"
        )
    return lines


# --- partner applications --------------------------------------------------------------------

_PARTNER_ARGUMENTS = {"name": "--name", "organisation_kvk": "--kvk", "kind": "--kind", "allowed_scopes": "--scope"}


def register_partner(
    runtime: Runtime,
    *,
    municipality: str,
    name: str,
    kvk: str,
    kind: str,
    scopes: Sequence[str],
    by: str = DEFAULT_ACTOR,
) -> list[str]:
    """Register through intake's `register_partner_app`, as ops would over the API: the secret
    is printed here, once, and stored only as a hash."""
    from services.intake import partners
    from services.intake.models_partners import PartnerAppCreate

    who = _principal(Role.OPS, municipality, by)
    try:
        data = PartnerAppCreate.model_validate(
            {"name": name, "organisation_kvk": kvk, "kind": kind, "allowed_scopes": list(scopes)}
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = str(error["loc"][0]) if error["loc"] else ""
        raise OpsError(_PARTNER_ARGUMENTS.get(loc, f"--{loc}"), error["msg"]) from None
    with runtime.uow("intake") as uow:
        try:
            credentials = partners.register_partner_app(uow, who, data)
        except DomainError as exc:
            raise OpsError(_PARTNER_ARGUMENTS.get(exc.field or "", "--scope"), str(exc)) from None
    return [
        f"registered partner application {credentials.id} ({credentials.name}, {credentials.kind}, "
        f"scopes {' '.join(credentials.allowed_scopes)})",
        f"client_id: {credentials.client_id}",
        f"client_secret: {credentials.client_secret}",
        "The secret is shown this once; only its hash is stored. Give both to the partner over a safe channel.",
    ]


def rotate_partner(runtime: Runtime, *, municipality: str, app_id: str, by: str = DEFAULT_ACTOR) -> list[str]:
    from services.intake import partners

    who = _principal(Role.OPS, municipality, by)
    with runtime.uow("intake") as uow:
        try:
            credentials = partners.rotate_secret(uow, who, app_id)
        except DomainError as exc:
            raise OpsError("id", str(exc)) from None
    return [
        f"new secret for partner application {credentials.id}; the old one no longer works",
        f"client_id: {credentials.client_id}",
        f"client_secret: {credentials.client_secret}",
    ]


def revoke_partner(runtime: Runtime, *, municipality: str, app_id: str, by: str = DEFAULT_ACTOR) -> list[str]:
    from services.intake import partners

    who = _principal(Role.OPS, municipality, by)
    with runtime.uow("intake") as uow:
        try:
            app = partners.revoke_partner_app(uow, who, app_id)
        except DomainError as exc:
            raise OpsError("id", str(exc)) from None
    return [f"revoked partner application {app.id} ({app.name}): it can no longer sign in, its tokens stop working"]


def list_partners(runtime: Runtime, *, municipality: str) -> list[str]:
    from services.intake import partners
    from shared.pagination import PageRequest

    who = _principal(Role.OPS, municipality, DEFAULT_ACTOR)
    lines: list[str] = []
    number = 1
    with runtime.uow("intake") as uow:
        while True:
            page = partners.list_partner_apps(uow.session, who, PageRequest(page=number, page_size=100))
            for app in page.items:
                state = f"revoked {app.revoked_at:%Y-%m-%d}" if app.revoked_at else "active"
                scopes = " ".join(app.allowed_scopes)
                lines.append(f"{app.id}  {app.client_id}  {app.kind:21}  {state:18}  {app.name}  ({scopes})")
            if number >= page.last_page:
                break
            number += 1
    return lines or [f"no partner applications in {municipality}"]


# --- health of everything --------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    healthy: bool
    line: str


def api_health(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    """`/readyz` of one API; the standard library, so a probe in a slim image needs no HTTP client."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/readyz", timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:  # 503 "not ready" arrives as an HTTPError with a body
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, f"api {url}: unreachable: {type(exc).__name__}"
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    checks = body.get("checks", {}) if isinstance(body, dict) else {}
    failing = {k: v for k, v in checks.items() if v != "ok"}
    if status == 200:
        return True, f"api {url}: ready"
    detail = "; ".join(f"{k}: {v}" for k, v in failing.items()) or f"HTTP {status}"
    return False, f"api {url}: not ready: {detail}"


def worker_health(settings: Settings, service: str, hostname: str, timeout: float) -> tuple[bool, str]:
    """Ask one worker itself, through the broker (Celery's remote-control ping)."""
    from shared.bus.celery_app import make_celery

    if settings.embedded:
        return False, "worker: no BROKER_URL (embedded mode has no workers)"
    name = f"{service}@{hostname}"
    try:
        replies = make_celery(settings).control.ping(destination=[name], timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - the broker is unreachable: the worker cannot work either
        return False, f"worker {name}: broker unreachable: {type(exc).__name__}: {str(exc)[:160]}"
    if any(name in reply for reply in replies):
        return True, f"worker {name}: ok, answered ping"
    return False, f"worker {name}: no answer to ping within {timeout:.0f} s"


def heartbeat_health(settings: Settings, component: str) -> tuple[bool, str]:
    from shared.health import check_heartbeat, heartbeat_path

    return check_heartbeat(heartbeat_path(settings.data_dir, component), component, settings.heartbeat_max_age_seconds)


def _workers_by_service(replies: Iterable[dict[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for reply in replies:
        for name in reply:
            found.setdefault(name.split("@", 1)[0], []).append(name)
    return found


def health_all(
    settings: Settings,
    services: Sequence[str],
    api_urls: Sequence[str],
    *,
    skip: Iterable[str] = (),
    timeout: float = 3.0,
) -> tuple[bool, list[str]]:
    """Every API's /readyz, a ping to every service's workers (one broadcast; each service needs
    at least one answer), the relay's and beat's heartbeats: one line each, then a summary."""
    skipped = set(skip)
    checks: list[Check] = []
    if "api" not in skipped:
        for url in api_urls:
            healthy, line = api_health(url)
            checks.append(Check("api", healthy, line))
    embedded = settings.embedded
    if "workers" not in skipped:
        if embedded:
            checks.append(Check("workers", True, "workers: none in embedded mode (events are handled in-process)"))
        else:
            checks.extend(_worker_checks(settings, services, timeout))
    for component in ("relay", "beat"):
        if component in skipped:
            continue
        if embedded:
            checks.append(Check(component, True, f"{component}: none in embedded mode"))
        else:
            healthy, line = heartbeat_health(settings, component)
            checks.append(Check(component, healthy, line))
    failed = [c for c in checks if not c.healthy]
    lines = [f"{'ok  ' if c.healthy else 'FAIL'}  {c.line}" for c in checks]
    if not checks:
        lines.append("nothing checked: everything skipped")
    elif failed:
        lines.append(f"{len(failed)} of {len(checks)} checks failed: {', '.join(sorted({c.name for c in failed}))}")
    else:
        lines.append(f"all {len(checks)} checks healthy")
    return not failed and bool(checks), lines


def _worker_checks(settings: Settings, services: Sequence[str], timeout: float) -> list[Check]:
    from shared.bus.celery_app import make_celery

    try:
        replies = make_celery(settings).control.ping(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - the broker is down: no worker can work
        reason = f"broker unreachable: {type(exc).__name__}: {str(exc)[:160]}"
        return [Check("workers", False, f"worker {service}: {reason}") for service in services]
    found = _workers_by_service(replies)
    checks = []
    for service in services:
        names = sorted(found.get(service, []))
        if names:
            checks.append(Check("workers", True, f"worker {service}: {len(names)} answered ping ({', '.join(names)})"))
        else:
            checks.append(Check("workers", False, f"worker {service}: no worker answered ping within {timeout:.0f} s"))
    return checks


# --- draining and resuming workers -----------------------------------------------------------


@dataclass
class DrainResult:
    workers: list[str]
    drained: bool
    lines: list[str] = field(default_factory=list)


def _service_workers(control: Any, service: str, timeout: float) -> list[str]:
    names = sorted(_workers_by_service(control.ping(timeout=timeout)).get(service, []))
    if not names:
        raise OpsError("service", f"no {service} worker answered ping within {timeout:.0f} s (is one running?)")
    return names


def _count(replies: dict[str, list[Any]] | None) -> int:
    return sum(len(tasks) for tasks in (replies or {}).values())


def drain_workers(
    control: Any,
    service: str,
    *,
    timeout: float,
    ping_timeout: float = 3.0,
    poll_seconds: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> DrainResult:
    """Every worker of the service stops taking messages from its queue (Celery's
    `cancel_consumer`); then wait until none runs a task or holds one it took before (inspect
    `active` and `reserved`), or until `timeout`. What stays queued waits in Redis for
    `resume_workers` or another worker. `control` is a Celery app's `control`."""
    names = _service_workers(control, service, ping_timeout)
    control.cancel_consumer(service, destination=names, reply=True, timeout=ping_timeout)
    lines = [f"{len(names)} {service} worker(s) stopped taking tasks from queue {service}: {', '.join(names)}"]
    deadline = monotonic() + timeout
    while True:
        inspect = control.inspect(destination=names, timeout=ping_timeout)
        active, reserved = _count(inspect.active()), _count(inspect.reserved())
        if active == 0 and reserved == 0:
            scheduled = _count(inspect.scheduled())
            lines.append(f"drained: no task running or waiting in the workers of {service}")
            if scheduled:
                lines.append(
                    f"{scheduled} retry(s) wait for their time in the workers; they go back to the queue "
                    "when the worker stops"
                )
            return DrainResult(names, True, lines)
        if monotonic() >= deadline:
            lines.append(
                f"not drained within {timeout:.0f} s: {active} task(s) running, {reserved} taken and waiting; "
                "they finish by themselves, or stop the worker (SIGTERM) to give them back to the queue"
            )
            return DrainResult(names, False, lines)
        sleep(poll_seconds)


def resume_workers(control: Any, service: str, *, ping_timeout: float = 3.0) -> list[str]:
    """Every worker of the service takes tasks from its queue again (Celery's `add_consumer`)."""
    names = _service_workers(control, service, ping_timeout)
    control.add_consumer(service, destination=names, reply=True, timeout=ping_timeout)
    return [f"{len(names)} {service} worker(s) take tasks from queue {service} again: {', '.join(names)}"]


def worker_status(control: Any, services: Sequence[str], *, ping_timeout: float = 3.0) -> list[str]:
    """Per service: its workers, whether each consumes its queue, and the tasks it runs."""
    found = _workers_by_service(control.ping(timeout=ping_timeout))
    lines = []
    for service in services:
        names = sorted(found.get(service, []))
        if not names:
            lines.append(f"{service}: no worker answered")
            continue
        inspect = control.inspect(destination=names, timeout=ping_timeout)
        queues = inspect.active_queues() or {}
        active = inspect.active() or {}
        for name in names:
            consuming = any(q.get("name") == service for q in queues.get(name, []))
            state = "taking tasks" if consuming else "drained (not taking tasks)"
            lines.append(f"{service}: {name}: {state}, {len(active.get(name, []))} running")
    return lines
