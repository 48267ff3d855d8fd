"""What intake's audit trail compares of a plan and a change request (shared.audit.record_change
masks personal fields and free text by name: the title, the content's sections, notes, reasons)."""

from __future__ import annotations

from typing import Any

from services.intake.models import ChangeRequest, Plan

# Plan fields an audit record compares as they are: statuses, amounts, dates, version numbers.
_AUDITED_PLAN_FIELDS = (
    "status",
    "version",
    "scheme",
    "latest_version_number",
    "submitted_version_number",
    "requested_cents",
    "granted_cents",
    "execution_deadline",
    "closed_on",
    "closure_reason",
    "closure_note",
)


def audited_plan(plan: Plan) -> dict[str, Any]:
    """A plan as its audit record compares it (shared.audit.record_change): the title, each section
    of the content and the closing note are free text, so the record says that they changed
    (`plan.content.foreword`: `***`), never what they say."""
    fields: dict[str, Any] = {"plan_id": plan.id, "plan.title": plan.title}
    fields |= {f"plan.{name}": getattr(plan, name) for name in _AUDITED_PLAN_FIELDS}
    fields |= {f"plan.content.{section}": value for section, value in (plan.content or {}).items()}
    return fields


# What a change request's record shows of its lines: no provider name (it may be a person's own firm).
_AUDITED_LINE_FIELDS = ("id", "category", "provider_kvk", "starts_on", "ends_on", "amount", "holdback_percent")


def audited_change(change: ChangeRequest) -> dict[str, Any]:
    """A change request as its audit record compares it; the reason and the decision's note are free text."""
    lines = [{k: line.get(k) for k in _AUDITED_LINE_FIELDS} for line in change.lines]
    return {
        "change_id": change.id,
        "change.status": change.status,
        "change.lines": lines,
        "change.reason": change.reason,
        "change.decision_note": change.decision_note,
        "change.refusal_reason_code": change.refusal_reason,
    }
