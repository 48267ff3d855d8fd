"""The demo users (embedded mode, dev and test only), one click each on the local OpenID Connect
issuer's page (eigenregie/web/oidc_issuer.py); a real issuer (a DigiD and eHerkenning broker)
takes its place where the configuration names one, and always in acceptance and production."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from eigenregie.web.api_client import ApiClient, ApiError
from shared.auth import Principal, Role
from shared.config import Settings

MUNICIPALITIES = ("0014", "0344")  # the demo data's Groningen and Utrecht
STAFF_ROLES = (Role.CASE_MANAGER, Role.TEAM_LEAD, Role.FINANCE, Role.POLICY, Role.OPS)
PREFIX = {
    Role.CASE_MANAGER: "km",
    Role.TEAM_LEAD: "tl",
    Role.FINANCE: "fin",
    Role.POLICY: "pol",
    Role.OPS: "ops",
}
PROVIDERS = (
    Principal(
        subject="opleidingscentrum-noord",
        role=Role.PROVIDER,
        municipality="0014",
        provider_id="opleidingscentrum-noord",
    ),
)


@dataclass(frozen=True)
class DemoUser:
    key: str  # what the log-in form posts: never a BSN
    principal: Principal
    label: str  # a demo client's name, or empty for staff (the role names them)


def allowed(settings: Settings) -> bool:
    return settings.environment in ("dev", "test")


async def user(request: Request, key: str) -> DemoUser | None:
    """The demo user of the list with this key, or None: nothing off the list logs in."""
    return next((u for u in [*staff(), *await partners(request), *await clients(request)] if u.key == key), None)


def staff() -> list[DemoUser]:
    return [
        DemoUser(f"{role.value}|{m}|", Principal(subject=f"{PREFIX[role]}-{m}", role=role, municipality=m), "")
        for m in MUNICIPALITIES
        for role in STAFF_ROLES
    ]


async def partners(request: Request) -> list[DemoUser]:
    """The demo provider, and each municipality's registered partner applications (demo data: UWV's
    werkplein application in Groningen), logging in as the application with its scopes."""
    found = [DemoUser(f"{p.role.value}|{p.municipality}|{p.subject}", p, p.subject) for p in PROVIDERS]
    for m in MUNICIPALITIES:
        ops = Principal(subject=f"ops-{m}", role=Role.OPS, municipality=m)
        try:
            apps = await ApiClient(request, ops, "nl").get("/intake/v1/partner-apps", page_size=50)
        except ApiError:
            continue
        for app in apps:
            if app.get("revoked_at"):
                continue
            principal = Principal(
                subject=app["id"],
                role=Role.PARTNER,
                municipality=m,
                scopes=tuple(app["allowed_scopes"]),
                organisation_kvk=app["organisation_kvk"],
            )
            found.append(DemoUser(f"partner|{m}|{app['id']}", principal, str(app["name"])))
    return found


async def clients(request: Request) -> list[DemoUser]:
    """The demo clients, as each municipality's case manager sees them in intake's API."""
    found: list[DemoUser] = []
    for m in MUNICIPALITIES:
        km = Principal(subject=f"km-{m}", role=Role.CASE_MANAGER, municipality=m)
        try:
            rows = await ApiClient(request, km, "nl").get("/intake/v1/clients", page_size=50)
        except ApiError:
            continue
        for row in rows:
            principal = Principal(
                subject=f"client-{row['id'][:8]}", role=Role.CLIENT, municipality=m, client_id=row["id"]
            )
            found.append(DemoUser(f"client|{m}|{row['id']}", principal, str(row.get("name") or "")))
            found.extend(await _representatives(request, km, row))
    return found


async def _representatives(request: Request, km: Principal, client: dict[str, str]) -> list[DemoUser]:
    """The client's active representatives: each logs in as themselves, acting for that client."""
    rows = await ApiClient(request, km, "nl").get(f"/intake/v1/clients/{client['id']}/representatives")
    return [
        DemoUser(
            f"representative|{km.municipality}|{client['id']}|{rep['subject']}",
            Principal(
                subject=rep["subject"], role=Role.REPRESENTATIVE, municipality=km.municipality, client_id=client["id"]
            ),
            f"{rep['name']} ({client.get('name') or ''})",
        )
        for rep in rows
        if rep["active"]
    ]
