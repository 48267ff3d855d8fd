"""A real SMTP server on loopback (aiosmtpd) that keeps what arrives, and the sender's outlets
wired to it and to intake's contact route in process."""

from __future__ import annotations

import json
import tempfile
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.notifications.channels import SmsSender, SmsSink, SmtpSender
from services.notifications.delivery import Outlets
from services.notifications.directory import ServiceDirectory
from services.notifications.models import Message
from services.notifications.models_delivery import Delivery
from shared.runtime import Runtime
from tests.support.environment import free_port

LOGIN = "http://eigenregie.test/"


class Catcher:
    """aiosmtpd's handler: every mail that arrives, raw."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.refuse: set[str] = set()  # these recipients get a 550: the address does not exist

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(bytes(envelope.content))
        return "250 OK"

    def mails(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for raw in self.raw]  # type: ignore[misc]


class LoopbackSmtp:
    """Start, stop and start again on the same port: a mail server that is down for a while."""

    def __init__(self) -> None:
        self.port = free_port()
        self.catcher = Catcher()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.catcher, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def outlets(runtime: Runtime, http: TestClient, smtp: LoopbackSmtp, sms: SmsSender | None = None) -> Outlets:
    directory = ServiceDirectory(runtime.settings, transport=http._transport)  # the app, in process
    return Outlets(
        mail=SmtpSender("127.0.0.1", smtp.port, "Eigen Regie <noreply@eigenregie.test>", timeout=5),
        directory=directory,
        sms=sms or SmsSink(Path(tempfile.mkdtemp(prefix="prb-sms-")) / "sms.jsonl"),
        login_url=LOGIN,
        jitter=lambda: 0.5,
    )


def deliveries_of_client(
    runtime: Runtime, client_id: str, channel: str | None = None, *, template: str | None = None
) -> list[Delivery]:
    """A client's deliveries (to them and about them), of one channel and one message template if named."""
    with Session(runtime.engine) as session:
        query = select(Delivery).join(Message, Message.id == Delivery.message_id).where(Message.client_id == client_id)
        if channel:
            query = query.where(Delivery.channel == channel)
        if template:
            query = query.where(Message.template == template)
        return list(session.exec(query).all())


class FlakyGateway:
    """An SMS gateway on loopback (a real HTTP server) that answers 503 `failures` times, then 201,
    and keeps each request's headers and JSON body."""

    def __init__(self, failures: int) -> None:
        self.failures, self.requests = failures, []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.requests.append((dict(self.headers), body))
                status = 503 if len(gateway.requests) <= gateway.failures else 201
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FlakyGateway:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
