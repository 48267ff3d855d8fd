"""The ways out: e-mail over SMTP or into a local mailbox (embedded mode: .eml files under
data_dir/mailbox that a page can show). A sender says how a try went by what it raises:
`TemporaryFailure` (try again later) or `PermanentFailure` (the address is refused: bounced).
No address or text is logged."""

from __future__ import annotations

import json
import smtplib
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

import httpx

from services.notifications.domain.channels import Email, Sms
from shared.config import Settings


class TemporaryFailure(Exception):
    """The other side is away or busy: the delivery is deferred."""


class PermanentFailure(Exception):
    """The other side refuses this for good: the delivery is bounced."""


class MailSender(Protocol):
    def send(self, to: str, cc: tuple[str, ...], mail: Email) -> None: ...


def mime(sender: str, to: str, cc: tuple[str, ...], mail: Email) -> EmailMessage:
    """A multipart/alternative mail: the plain text first, then the simple HTML."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="eigenregie.local")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    message["Content-Language"] = mail.language  # after the parts: set_content drops Content-* headers
    return message


class SmtpSender:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        timeout: float = 10.0,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout
        self.starttls, self.username, self.password = starttls, username, password

    def send(self, to: str, cc: tuple[str, ...], mail: Email) -> None:
        message = mime(self.sender, to, cc, mail)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username and self.password:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            if all(code >= 500 for code in codes):
                raise PermanentFailure(f"SMTP refused the recipient ({', '.join(map(str, sorted(codes)))})") from exc
            raise TemporaryFailure(f"SMTP deferred the recipient ({', '.join(map(str, sorted(codes)))})") from exc
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"SMTP answered {exc.smtp_code}") from exc
            raise TemporaryFailure(f"SMTP answered {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"SMTP server not reachable: {type(exc).__name__}") from exc
        if to in refused:
            raise PermanentFailure("SMTP refused the recipient")


class MailboxSender:
    """Embedded mode's post: each mail an .eml file in a folder (written whole, then renamed)."""

    def __init__(self, folder: Path, sender: str) -> None:
        self.folder, self.sender = folder, sender

    def send(self, to: str, cc: tuple[str, ...], mail: Email) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            name = uuid.uuid4().hex
            part = self.folder / f".{name}.tmp"
            part.write_bytes(bytes(mime(self.sender, to, cc, mail)))
            part.rename(self.folder / f"{name}.eml")
        except OSError as exc:
            raise TemporaryFailure(f"mailbox not writable: {type(exc).__name__}") from exc


@dataclass(frozen=True)
class MailboxEntry:
    name: str
    to: str
    subject: str
    language: str | None
    date: str
    text: str


def read_mailbox(folder: Path) -> list[MailboxEntry]:
    """The local mailbox's mails, newest first (embedded mode's post, for a page to show)."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), key=lambda f: (f.stat().st_mtime_ns, f.name), reverse=True)
    entries = []
    for path in files:
        mail = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = mail.get_body(("plain",)) if isinstance(mail, EmailMessage) else None
        entries.append(
            MailboxEntry(
                name=path.stem,
                to=str(mail["To"] or ""),
                subject=str(mail["Subject"] or ""),
                language=mail["Content-Language"],
                date=str(mail["Date"] or ""),
                text=body.get_content() if isinstance(body, EmailMessage) else "",
            )
        )
    return entries


def mail_sender(settings: Settings) -> MailSender:
    """SMTP when a host is configured (always in distributed mode), else the local mailbox."""
    if settings.smtp_host:
        return SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            timeout=settings.smtp_timeout_seconds,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    if not settings.embedded:
        return SmtpSender("localhost", settings.smtp_port, settings.smtp_from, timeout=settings.smtp_timeout_seconds)
    return MailboxSender(settings.data_dir / "mailbox", settings.smtp_from)


class SmsSender(Protocol):
    def send(self, to: str, sms: Sms) -> None: ...


class SmsSink:
    """Embedded mode's and the tests' SMS: one JSON line per message in a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, to: str, sms: Sms) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as sink:
                sink.write(json.dumps({"to": to, "language": sms.language, "text": sms.text}) + "\n")
        except OSError as exc:
            raise TemporaryFailure(f"SMS sink not writable: {type(exc).__name__}") from exc


class MessageBirdSender:
    """MessageBird's REST API (POST /messages, `Authorization: AccessKey ...`). Off by default."""

    def __init__(
        self,
        url: str,
        access_key: str,
        originator: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url, self.access_key, self.originator, self.timeout = url, access_key, originator, timeout
        self.transport = transport

    def send(self, to: str, sms: Sms) -> None:
        body = {"recipients": [to], "originator": self.originator, "body": sms.text}
        try:
            with httpx.Client(transport=self.transport, timeout=self.timeout) as http:
                r = http.post(self.url, json=body, headers={"Authorization": f"AccessKey {self.access_key}"})
        except httpx.HTTPError as exc:
            raise TemporaryFailure(f"SMS gateway not reachable: {type(exc).__name__}") from exc
        if r.status_code in (408, 429) or r.status_code >= 500:
            raise TemporaryFailure(f"SMS gateway answered {r.status_code}")
        if r.status_code >= 400:
            raise PermanentFailure(f"SMS gateway refused the message ({r.status_code})")


def sms_sender(settings: Settings) -> SmsSender:
    if settings.sms_provider == "messagebird" and settings.sms_access_key:
        return MessageBirdSender(
            settings.sms_gateway_url,
            settings.sms_access_key,
            settings.sms_originator,
            timeout=settings.smtp_timeout_seconds,
        )
    return SmsSink(settings.data_dir / "sms_sink.jsonl")
