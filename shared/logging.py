"""structlog JSON logs with the correlation id on every line, and personal data kept out."""

from __future__ import annotations

import logging
import re
import sys
import uuid
from contextvars import ContextVar
from typing import Any

import structlog
from stdnum.nl import bsn as nl_bsn

from shared.tracing import add_trace_ids

correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# Keys whose values are personal data: never written, whatever a caller passes.
_PERSONAL_KEYS = {"bsn", "name", "first_name", "last_name", "email", "phone", "address", "iban", "date_of_birth"}
_NINE_DIGITS = re.compile(r"(?<!\d)\d{9}(?!\d)")


def _mask_bsns(text: str) -> str:
    return _NINE_DIGITS.sub(lambda m: "[BSN]" if nl_bsn.is_valid(m.group()) else m.group(), text)


def redact_personal_data(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Last line of defence: drop personal keys and mask anything that passes the BSN 11-test."""
    for key in list(event_dict):
        if key.lower() in _PERSONAL_KEYS:
            event_dict[key] = "[redacted]"
        elif isinstance(event_dict[key], str):
            event_dict[key] = _mask_bsns(event_dict[key])
    return event_dict


def add_correlation_id(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    cid = correlation_id_var.get()
    if cid and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = cid
    return event_dict


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def configure_logging(level: str = "INFO", json: bool = True, service: str | None = None) -> None:
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_correlation_id,
        add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_personal_data,
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared_processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        # Resolve sys.stderr per logger, not once: a replaced stream (tests, daemons) keeps working.
        logger_factory=lambda *_args: structlog.PrintLogger(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    if service:
        structlog.contextvars.bind_contextvars(service=service)
    # Route stdlib loggers (uvicorn, celery, alembic) through the same redaction and format.
    handler = _CurrentStderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared_processors,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request and per-task lines: Celery's per task, and httpx's per API call the pages make
    # (5-15 a page). At INFO, through the redaction chain, they cost the workers about half their CPU
    # per event and the pages a share of theirs (docs/performance.md); the metrics count them.
    for noisy in ("uvicorn.access", "celery.app.trace", "celery.worker.strategy", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
