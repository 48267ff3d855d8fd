"""The stored plan (JSON in the Groningen format) as domain objects, and back.

Pure functions: handlers store `content` dicts; checks and reviews work on
`ReintegrationPlan`. Line ids are stable across drafts, so a reviewer's grant, the budget
line and a later change request all name the same line.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from services.intake.domain.errors import RuleBroken
from services.intake.domain.policy import Scheme
from services.intake.domain.price_catalogue import CatalogueProduct
from services.intake.domain.reintegration_plan import (
    Activity,
    Attachment,
    BudgetLine,
    Foreword,
    Introduction,
    LabourMarketPerspective,
    Preconditions,
    ReintegrationPlan,
)
from services.intake.domain.review import LineGrant
from shared.money import Money


def assign_line_ids(content: dict[str, Any], known_ids: Iterable[str]) -> dict[str, Any]:
    """Give new budget lines an id; an id that was never part of this plan is refused."""
    known = set(known_ids)
    seen: set[str] = set()
    for i, line in enumerate(content.get("budget", {}).get("lines", [])):
        line_id = line.get("id")
        if line_id is None:
            line["id"] = line_id = str(uuid.uuid4())
        elif line_id not in known:
            raise RuleBroken(
                "plan.unknown_line_id",
                f"Budget line id {line_id!r} is not part of this plan; leave the id out for a new line.",
                f"budget.lines[{i}].id",
            )
        if line_id in seen:
            raise RuleBroken("plan.duplicate_line_id", "Two budget lines have the same id.", f"budget.lines[{i}].id")
        seen.add(line_id)
    return content


def line_ids(content: Mapping[str, Any]) -> list[str]:
    return [line["id"] for line in content.get("budget", {}).get("lines", [])]


def content_sha256(content: Mapping[str, Any]) -> str:
    """A fingerprint of a version's content, so anyone can show it never changed."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def to_domain_plan(
    content: Mapping[str, Any], scheme: str, attachments: Iterable[Attachment] = ()
) -> ReintegrationPlan:
    structure = content.get("structure", {})
    activities = tuple(
        Activity(
            ref=a["ref"],
            description=a["description"],
            start=date.fromisoformat(a["start"]),
            end=date.fromisoformat(a["end"]),
            expected_result=a.get("expected_result", ""),
            elements=frozenset(a.get("elements", ())),
        )
        for a in structure.get("activities", [])
    )
    lines = tuple(
        BudgetLine(
            activity_ref=line["activity_ref"],
            provider_name=line.get("provider_name", ""),
            category=line.get("category"),
            amount_excl_vat=Money.euros(line["amount"]),
            vat_rate=Decimal(str(line.get("vat_rate", "21"))),
            quote_attachment_ids=tuple(line.get("quote_attachment_ids", ())),
            provider_kvk=line.get("provider_kvk"),
            business_investment=line.get("business_investment", False),
            material_tied_to_course_or_job=line.get("material_tied_to_course_or_job"),
            description=line.get("description", ""),
            line_id=line["id"],
            product_code=line.get("product_code"),
            quantity=None if line.get("quantity") is None else Decimal(str(line["quantity"])),
        )
        for line in content.get("budget", {}).get("lines", [])
    )
    return ReintegrationPlan(
        scheme=Scheme(scheme),
        foreword=Foreword(**content.get("foreword", {})),
        introduction=Introduction(**content.get("introduction", {})),
        labour_market=LabourMarketPerspective(**content.get("labour_market", {})),
        preconditions=Preconditions(**content.get("preconditions", {})),
        activities=activities,
        budget_lines=lines,
        attachments=tuple(attachments),
        indication=content.get("indication"),
    )


def requested_total(plan: ReintegrationPlan, excl_vat: bool) -> Money:
    return plan.total(excl_vat)


def granted_lines(
    content: Mapping[str, Any],
    grants: Iterable[LineGrant],
    holdback_override: Mapping[str, int] | None = None,
    catalogue: Callable[[str], CatalogueProduct | None] | None = None,
) -> list[dict[str, Any]]:
    """What the budget service needs per granted line: amount, provider, the activity's dates, holdback,
    and the price catalogue's product where the line names one (`catalogue` finds it by code), so
    the budget checks invoices against its maximum unit price."""
    lines = {line["id"]: line for line in content.get("budget", {}).get("lines", [])}
    activities = {a["ref"]: a for a in content.get("structure", {}).get("activities", [])}
    override = dict(holdback_override or {})
    unknown = sorted(set(override) - set(lines))
    if unknown:
        raise RuleBroken(
            "review.unknown_line",
            f"There is no budget line {unknown[0]!r} in this plan.",
            f"holdback_percent.{unknown[0]}",
        )
    out = []
    for grant in grants:
        line = lines[grant.line_id]
        activity = activities.get(line["activity_ref"], {})
        holdback = override.get(grant.line_id, line.get("holdback_percent", 0))
        if not 0 <= holdback <= 100:
            raise RuleBroken(
                "review.holdback_percent",
                "A holdback is a percentage from 0 to 100.",
                f"holdback_percent.{grant.line_id}",
            )
        out.append(
            {
                "line_id": grant.line_id,
                "category": line.get("category") or "other",
                "provider_name": line.get("provider_name", ""),
                "provider_kvk": line.get("provider_kvk"),
                "asked_cents": grant.asked.cents,
                "granted_cents": grant.granted.cents,
                "starts_on": activity.get("start"),
                "ends_on": activity.get("end"),
                "holdback_percent": holdback,
                **_catalogue_part(line.get("product_code"), catalogue),
            }
        )
    return out


def _catalogue_part(code: str | None, catalogue: Callable[[str], CatalogueProduct | None] | None) -> dict[str, Any]:
    product = catalogue(code) if code and catalogue else None
    if product is None:
        return {}
    return {
        "product_code": product.code,
        "product_unit": product.unit.value,
        "max_unit_price_cents": product.maximum_price.cents,
    }
