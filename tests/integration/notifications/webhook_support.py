"""A webhook receiver on loopback (http.server in a thread) that fails N times and then succeeds,
and a migrated runtime with a frozen clock and webhook settings small enough to walk through."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from shared.clock import SYSTEM_CLOCK, FrozenClock
from shared.config import Settings
from shared.events import Payload
from shared.runtime import Runtime
from tests.support.databases import scratch_database
from tests.support.runtime import drain, migrated_runtime
from tests.support.world import api_client


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers `fail_status` to the first `failures` requests, then 200; `delay` seconds before each."""

    failures: int = 0
    fail_status: int = 503
    delay: float = 0.0
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if receiver.delay:
                    time.sleep(receiver.delay)
                failing = len(receiver.requests) <= receiver.failures
                answer = b"busy, try later" if failing else b"thanks"
                try:
                    self.send_response(receiver.fail_status if failing else 200)
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def receivers(*made: Receiver) -> Iterator[tuple[Receiver, ...]]:
    started = tuple(r.start() for r in made)
    try:
        yield started
    finally:
        for r in started:
            r.stop()


WEBHOOK_SETTINGS: dict[str, Any] = {
    "webhook_max_attempts": 4,
    "webhook_retry_base_seconds": 60.0,
    "webhook_retry_horizon_seconds": 86400.0,
    "webhook_pause_after_failed_deliveries": 2,
    "webhook_timeout_seconds": 5.0,
}


@contextmanager
def webhook_world(
    request: Any, folder: Path, database: str, **overrides: Any
) -> Iterator[tuple[Runtime, TestClient, FrozenClock]]:
    clock = FrozenClock(SYSTEM_CLOCK.now())
    options = {**WEBHOOK_SETTINGS, **overrides, "environment": "test"}
    if database == "sqlite":
        runtime = migrated_runtime(Settings(data_dir=folder, **options), clock=clock)
        yield runtime, api_client(runtime), clock
        return
    with scratch_database(request.getfixturevalue("pg_admin_url"), "prb_webhooks") as url:
        runtime = migrated_runtime(Settings(database_url=url, **options), clock=clock)
        try:
            yield runtime, api_client(runtime), clock
        finally:
            runtime.engine.dispose()


def say(runtime: Runtime, producer: str, payload: Payload, tenant: str = "0014", subject: str = "x") -> None:
    """An event as its producing service would publish it, handled by every subscriber."""
    with runtime.uow(producer) as uow:
        uow.emit(payload, tenant=tenant, subject=subject)
        uow.commit()
    drain(runtime)
