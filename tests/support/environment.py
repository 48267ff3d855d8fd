"""Where the tests run: the repository, the services they use, free ports, and skipping."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("PRB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("PRB_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("PRB_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip for want of PostgreSQL, Redis or a browser; in CI (PRB_REQUIRE_SERVICES=1) fail instead."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PRB_REQUIRE_SERVICES=1 makes this a failure, not a skip)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
