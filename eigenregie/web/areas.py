"""Every area's router, in menu order; importing an area registers its menu items and texts."""

from __future__ import annotations

from fastapi import APIRouter

from eigenregie.web import (
    audit_pages,
    case_manager,
    client,
    consent_pages,
    finance,
    ops,
    partner,
    policy,
    policy_catalogue,
    provider,
)

ROUTERS: tuple[APIRouter, ...] = (
    client.router,
    consent_pages.router,
    case_manager.router,
    finance.router,
    policy.router,
    policy_catalogue.router,
    ops.router,
    provider.router,
    partner.router,
    audit_pages.router,
)

audit_pages.add_menu_items()  # who saw what: the last item of the team lead's and the client's menus
