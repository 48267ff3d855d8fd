"""The states of a budget, its lines and its orders (an invoice's and a payment run's are their
aggregates': invoice.py, payment_run.py)."""

from __future__ import annotations

from enum import StrEnum


class BudgetStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class BudgetKind(StrEnum):
    PLAN = "plan"
    ORIENTATION = "orientation"


class LineStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class OrderStatus(StrEnum):
    OPEN = "open"
    USED = "used"  # its whole amount was invoiced and approved
    CLOSED = "closed"  # its budget closed
