"""What a check says about a plan: a `Finding` with a stable code, a severity and a message.

A finding is a `block` (the plan cannot be approved like this), a `warning` (the reviewer
should look) or a `signal` (worth knowing, not wrong in itself). Codes are stable strings for
programs; messages are for the client, in plain Dutch (B1) and English. Field paths follow
the plan's shape, e.g. "budget.lines[2].amount".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    BLOCK = "block"
    WARNING = "warning"
    SIGNAL = "signal"


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    field: str
    message_nl: str
    message_en: str


def has_blocks(findings: Iterable[Finding]) -> bool:
    return any(f.severity is Severity.BLOCK for f in findings)
