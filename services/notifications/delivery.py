"""Delivering messages to people: queueing a delivery per channel when a message is made, the job
that sends queued e-mail, the in-app inbox's read state, the delivery log and the municipality's
own settings. Time from `uow.clock`; addresses from the directory at send time, never stored."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from jinja2 import TemplateError
from sqlmodel import Session, col, select

from services.notifications import repository
from services.notifications.channels import (
    MailboxEntry,
    MailSender,
    PermanentFailure,
    SmsSender,
    TemporaryFailure,
    mail_sender,
    read_mailbox,
    sms_sender,
)
from services.notifications.directory import Contact, ContactDirectory, DirectoryUnavailable, ServiceDirectory
from services.notifications.domain import channels as texts
from services.notifications.domain.delivery import (
    WAITING,
    Backoff,
    Channel,
    DeliveryStatus,
    cause_key,
    recipient_key,
    truncate_error,
)
from services.notifications.domain.messages import Message, MessageStatus, RecipientKind
from services.notifications.domain.preferences import Preferences
from services.notifications.domain.reminders import too_late
from services.notifications.models import Message as MessageRow
from services.notifications.models_delivery import (
    ClosedItem,
    Delivery,
    DeliveryPublic,
    MessageRead,
    MunicipalitySettings,
    MunicipalitySettingsChange,
    MunicipalitySettingsPublic,
)
from services.notifications.permissions import Action, authorize, visible_messages
from services.notifications.preferences import preferences_of
from shared import audit
from shared.auth import Principal
from shared.config import Settings, get_settings
from shared.db import insert_ignoring_duplicates, transaction_memo
from shared.errors import NotFound, RuleBroken
from shared.metrics import count_message
from shared.pagination import Page, PageRequest, page_of, page_of_list
from shared.uow import UnitOfWork

log = structlog.get_logger("notifications.delivery")

# A claimed delivery is not picked again for this long: a sender that dies mid-send is retried after it.
LEASE = timedelta(minutes=10)
BATCH = 100
# One address: no second one, no display name, no control character (PostgreSQL refuses a NUL).
_MAILBOX = re.compile(r"[^@\s,;<>\x00-\x1f\x7f-\x9f]+@[^@\s,;<>\x00-\x1f\x7f-\x9f]+\.[^@\s,;<>\x00-\x1f\x7f-\x9f]+")


def mailbox_for(session: Session, kind: RecipientKind, municipality: str, settings: Settings) -> str | None:
    """The shared mailbox a message of this kind goes to by e-mail (staff kinds); None: app only."""
    known = transaction_memo(session, "municipality_settings")  # a batch's events share one read
    if municipality not in known:
        known[municipality] = session.get(MunicipalitySettings, municipality)
    row = known[municipality]
    if kind == RecipientKind.CASE_TEAM:
        return row.team_mailbox if row else None
    if kind == RecipientKind.FINANCE:
        return row.finance_mailbox if row else None
    if kind == RecipientKind.OPS:
        return (row.ops_mailbox if row else None) or settings.ops_alert_email
    return None


# Staff kinds read in the app and, where the municipality names a shared mailbox, by e-mail.
STAFF_KINDS = (RecipientKind.CASE_TEAM, RecipientKind.FINANCE, RecipientKind.OPS)


def _recipient_and_channels(uow: UnitOfWork, message: Message) -> tuple[str, list[Channel], Preferences] | None:
    """Who gets the message (a key, never an address) and on which channels; None: nobody to tell."""
    kind = message.recipient_kind
    if kind == RecipientKind.CLIENT:
        if not message.client_id:
            return None
        prefs = preferences_of(uow.session, message.client_id)
        channels = [c for c in (Channel.IN_APP, Channel.EMAIL, Channel.SMS) if prefs.wants(c)]
        return recipient_key("client", message.client_id), channels, prefs
    if kind in STAFF_KINDS:
        channels = [Channel.IN_APP]
        if mailbox_for(uow.session, kind, message.municipality, get_settings()):
            channels.append(Channel.EMAIL)
        prefix = "team" if kind == RecipientKind.CASE_TEAM else kind.value  # team:<municipality> as before
        return recipient_key(prefix, message.municipality), channels, Preferences()
    if not message.recipient_ref:
        return None
    # A provider reads in the app and by e-mail to the invoice's supplier address; a partner's
    # owner in the app (and ops is told beside it).
    channels = [Channel.IN_APP, Channel.EMAIL] if kind == RecipientKind.PROVIDER else [Channel.IN_APP]
    return recipient_key(kind.value, message.recipient_ref), channels, Preferences()


def add_and_queue(uow: UnitOfWork, message: Message) -> bool:
    """Add a new message unless its cause made it before (False then), with its deliveries: in the app
    at once (so the message is sent as it is written), by e-mail or SMS queued for the sender job
    (quiet hours decide when)."""
    now = uow.clock.now()
    who = _recipient_and_channels(uow, message)
    if who is not None:
        message.status, message.sent_at = MessageStatus.SENT, now
    if not repository.add_once(uow.session, message):
        return False
    if who is None:
        return True
    recipient, channels, prefs = who
    rows = []
    for channel in channels:
        in_app = channel == Channel.IN_APP
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "message_id": message.id,
                "municipality": message.municipality,
                "recipient": recipient,
                "cause": cause_key(message.cause_event_id, message.template),
                "channel": channel.value,
                "status": (DeliveryStatus.SENT if in_app else DeliveryStatus.QUEUED).value,
                "attempts": 1 if in_app else 0,
                "next_attempt_at": None if in_app else prefs.send_at(channel, now),  # quiet hours
                "created_at": now,
                "sent_at": now if in_app else None,
            }
        )
    insert_ignoring_duplicates(uow.session, Delivery, rows)
    return True


def cancel_waiting(
    uow: UnitOfWork,
    municipality: str,
    item: str,
    *,
    closed_at: datetime | None = None,
    templates: Sequence[str] = (),
    except_cause: str | None = None,
) -> int:
    """Deliveries about the item that have not gone out (queued, deferred) are cancelled. With
    `closed_at` the item is done (at that moment, as its owner said) and remembered as closed, so a
    reminder said before then but handled after is not made (closed_before); None: a reminder was
    only superseded (a new date). With `templates`, only those messages' (a decided invoice cancels
    its confirmation reminder, not the news that it was paid); with `except_cause`, not that cause's
    (a reminder of a new date cancels the one of the old date, not itself). How many were cancelled."""
    if closed_at is not None:
        _remember_closed(uow, municipality, item, closed_at)
    messages = sa.select(col(MessageRow.id)).where(
        col(MessageRow.municipality) == municipality, col(MessageRow.item) == item
    )
    if templates:
        messages = messages.where(col(MessageRow.template).in_(list(templates)))
    if except_cause is not None:
        messages = messages.where(col(MessageRow.cause_event_id) != except_cause)
    result = uow.session.execute(
        sa.update(Delivery)
        .where(col(Delivery.message_id).in_(messages), col(Delivery.status).in_([s.value for s in WAITING]))
        .values(status=DeliveryStatus.CANCELLED.value, next_attempt_at=None, last_error="the item was done")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _remember_closed(uow: UnitOfWork, municipality: str, item: str, closed_at: datetime) -> None:
    row = {"item": item, "municipality": municipality, "closed_at": closed_at}
    if not insert_ignoring_duplicates(uow.session, ClosedItem, [row]):  # closed again: the latest moment counts
        uow.session.execute(
            sa.update(ClosedItem)
            .where(
                col(ClosedItem.item) == item,
                col(ClosedItem.municipality) == municipality,
                col(ClosedItem.closed_at) < closed_at,
            )
            .values(closed_at=closed_at)
        )


def closed_before(session: Session, municipality: str, item: str, said_at: datetime) -> bool:
    """The item was closed before a reminder about it could go out (domain/reminders.too_late)."""
    row = session.get(ClosedItem, (item, municipality))
    return row is not None and too_late(item, _aware(row.closed_at), _aware(said_at))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Outlets:
    """What the sender job sends with; built from Settings in service.py, by hand in tests."""

    mail: MailSender
    directory: ContactDirectory
    login_url: str
    sms: SmsSender
    backoff: Backoff = field(default_factory=Backoff)
    jitter: Callable[[], float] = random.random
    settings: Settings = field(default_factory=Settings)  # the ops alert address


def outlets_from(settings: Settings) -> Outlets:
    return Outlets(
        mail=mail_sender(settings),
        directory=ServiceDirectory(settings),
        sms=sms_sender(settings),
        login_url=settings.public_base_url.rstrip("/") + "/",
        backoff=Backoff(
            settings.delivery_retry_base_seconds, settings.delivery_retry_cap_seconds, settings.delivery_max_attempts
        ),
        settings=settings,
    )


def _claim(uow: UnitOfWork, row: Delivery, now: datetime) -> bool:
    """Take a due delivery for this run: compare-and-set on its next attempt, so of two senders
    racing only one wins; the lease brings it back if this one dies."""
    result = uow.session.execute(
        sa.update(Delivery)
        .where(
            col(Delivery.id) == row.id,
            col(Delivery.status).in_([s.value for s in WAITING]),
            col(Delivery.next_attempt_at) == row.next_attempt_at,
            col(Delivery.attempts) == row.attempts,
        )
        .values(attempts=row.attempts + 1, next_attempt_at=now + LEASE)
    )
    uow.commit()
    return bool(getattr(result, "rowcount", 0) == 1)


def _finish(
    uow: UnitOfWork,
    row: Delivery,
    status: DeliveryStatus,
    *,
    error: str | None,
    next_at: datetime | None,
    attempts: int | None = None,
    reads: Sequence[audit.AuditEntry] = (),
) -> None:
    """The delivery's outcome, and the audit records of the addresses read for it, in one commit."""
    values: dict[str, Any] = {"status": status.value, "last_error": error, "next_attempt_at": next_at}
    if attempts is not None:
        values["attempts"] = attempts  # a delivery held for quiet hours was not tried
    update = sa.update(Delivery).where(col(Delivery.id) == row.id)
    if status == DeliveryStatus.SENT:
        values["sent_at"] = uow.clock.now()  # it went out: that is what happened, cancelled meanwhile or not
    else:  # one cancelled during the try is not brought back to wait again
        update = update.where(col(Delivery.status).in_([s.value for s in WAITING]))
    uow.session.execute(update.values(**values))
    if reads:
        audit.append(uow.session, uow.service, reads)
    uow.commit()
    count_message(row.channel, status.value)


def _contact_read(uow: UnitOfWork, message: MessageRow, channel: Channel) -> list[audit.AuditEntry]:
    """The record that the sender read a client's address (from intake) to send this message: no
    request is running, so the endpoint is `internal`; the purpose says the channel."""
    if message.recipient_kind != RecipientKind.CLIENT or not message.client_id:
        return []
    who = audit.system_principal("notifications", message.municipality)
    purpose = f"notification.{channel.value}"
    return audit.read_entries(
        who, [message.client_id], purpose=purpose, at=uow.clock.now(), correlation_id=uow.correlation_id
    )


def _address(
    outlets: Outlets, message: MessageRow, channel: Channel, mailbox: str | None
) -> tuple[str | None, tuple[str, ...], str | None]:
    """(to, cc, language) for a message on a channel, looked up now: a staff mailbox, the invoice's
    supplier address from budget, or the client's e-mail (representatives in cc) or phone from intake."""
    kind = RecipientKind(message.recipient_kind)
    if kind in STAFF_KINDS:
        return (mailbox if channel == Channel.EMAIL else None), (), "nl"
    if kind == RecipientKind.PROVIDER:
        invoice_id = str(message.params.get("invoice_id") or "")
        found = outlets.directory.supplier_contact(message.municipality, invoice_id) if invoice_id else None
        return ((found.email if found and channel == Channel.EMAIL else None), (), found.language if found else None)
    if kind != RecipientKind.CLIENT:
        return None, (), None
    contact = outlets.directory.client_contact(message.municipality, message.client_id or "") or Contact()
    if channel == Channel.SMS:
        return contact.phone, (), contact.language
    cc = tuple(a for a in contact.representative_emails if a and a != contact.email)
    return contact.email or (cc[0] if cc else None), cc if contact.email else cc[1:], contact.language


def _deliver(
    outlets: Outlets, channel: Channel, message: MessageRow, to: str, cc: tuple[str, ...], lang: str | None
) -> str | None:
    """Send it; None when it went out, else why it was withheld (the sender raises on a failed try)."""
    params = dict(message.params)
    if channel == Channel.SMS:
        sms = texts.sms(message.template, params, lang, outlets.login_url)
        if texts.looks_personal(sms.text):
            return "withheld: the text looks like personal data"
        outlets.sms.send(to, sms)
        return None
    mail = texts.email(message.template, params, lang, outlets.login_url)
    if texts.looks_personal(mail.subject, mail.text, mail.html):
        return "withheld: the text looks like personal data"
    outlets.mail.send(to, cc, mail)
    return None


def send_one(uow: UnitOfWork, outlets: Outlets, row: Delivery) -> bool:
    """Try one claimed delivery (e-mail or SMS) and record how it went; True when it went out. No
    transaction is open while the directory, the mail server or the gateway is asked."""
    message = uow.session.get(MessageRow, row.message_id)
    attempts, now, channel = row.attempts + 1, uow.clock.now(), Channel(row.channel)
    status = uow.session.scalar(sa.select(col(Delivery.status)).where(col(Delivery.id) == row.id))
    if status not in {s.value for s in WAITING}:  # cancelled (its item was done) after the claim
        uow.session.rollback()
        return False
    if message is None:
        _finish(uow, row, DeliveryStatus.FAILED, error="the message is gone", next_at=None)
        return False
    uow.session.expunge(message)
    mailbox = mailbox_for(uow.session, RecipientKind(message.recipient_kind), message.municipality, outlets.settings)
    client_side = message.recipient_kind == RecipientKind.CLIENT
    prefs = preferences_of(uow.session, message.client_id) if client_side else Preferences()
    uow.session.rollback()
    if not prefs.wants(channel):
        _finish(uow, row, DeliveryStatus.FAILED, error=f"the person turned {channel.value} off", next_at=None)
        return False
    if (held_until := prefs.send_at(channel, now)) > now:
        _finish(uow, row, DeliveryStatus.DEFERRED, error=None, next_at=held_until, attempts=row.attempts)
        return False
    reads: list[audit.AuditEntry] = []  # recorded with the outcome: no commit of their own
    try:
        to, cc, language = _address(outlets, message, channel, mailbox)
        if not to:
            what = "phone number" if channel == Channel.SMS else "e-mail address"
            _finish(uow, row, DeliveryStatus.FAILED, error=f"no {what} known for the recipient", next_at=None)
            return False
        reads = _contact_read(uow, message, channel)
        withheld = _deliver(outlets, channel, message, to, cc, prefs.language or language)
    except (DirectoryUnavailable, TemporaryFailure) as exc:
        status, next_at = outlets.backoff.after_failure(attempts, now, outlets.jitter())
        _finish(uow, row, status, error=truncate_error(str(exc)), next_at=next_at, reads=reads)
        return False
    except PermanentFailure as exc:
        _finish(uow, row, DeliveryStatus.BOUNCED, error=truncate_error(str(exc)), next_at=None, reads=reads)
        return False
    except (TemplateError, KeyError) as exc:  # a broken template is never sent, and not tried again
        error = f"the template failed: {type(exc).__name__}"
        _finish(uow, row, DeliveryStatus.FAILED, error=error, next_at=None, reads=reads)
        return False
    if withheld:
        _finish(uow, row, DeliveryStatus.FAILED, error=withheld, next_at=None, reads=reads)
        return False
    _finish(uow, row, DeliveryStatus.SENT, error=None, next_at=None, reads=reads)
    return True


def send_due_mail(uow: UnitOfWork, outlets: Outlets, *, limit: int = BATCH) -> int:
    """The sender job: every e-mail and SMS delivery that is due, tried once; answers how many went out."""
    now = uow.clock.now()
    due = uow.session.exec(
        select(Delivery)
        .where(
            col(Delivery.channel).in_([Channel.EMAIL.value, Channel.SMS.value]),
            col(Delivery.status).in_([s.value for s in WAITING]),
            col(Delivery.next_attempt_at) <= now,
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit)
    ).all()
    for row in due:
        uow.session.expunge(row)
    uow.session.rollback()  # end the read; each claim is its own short transaction
    sent = 0
    for row in due:
        if not _claim(uow, row, now):
            continue
        try:
            sent += send_one(uow, outlets, row)
        except Exception as exc:  # noqa: BLE001 - a bug for one delivery must not stop the others, nor retry it for ever
            uow.session.rollback()
            log.error("delivery.send_failed", delivery_id=row.id, error=type(exc).__name__)
            status, next_at = outlets.backoff.after_failure(row.attempts + 1, now, outlets.jitter())
            _finish(uow, row, status, error=f"unexpected error: {type(exc).__name__}", next_at=next_at)
    return sent


def send_mail_job(uow: UnitOfWork) -> int:
    return send_due_mail(uow, outlets_from(get_settings()))


# The in-app inbox and the log.


def _visible_message(session: Session, who: Principal, message_id: str) -> MessageRow:
    row = session.exec(select(MessageRow).where(col(MessageRow.id) == message_id, visible_messages(who))).first()
    if row is None:
        raise NotFound("message", "bericht")
    return row


def mark_read(uow: UnitOfWork, who: Principal, message_id: str) -> datetime:
    """The reader has read the message (again: the first time stands). Two clicks at once add one
    row: the UNIQUE (message, reader) decides, and both answer the time that was kept."""
    authorize(who, Action.READ_MESSAGES)
    _visible_message(uow.session, who, message_id)
    first = sa.select(col(MessageRead.read_at)).where(
        col(MessageRead.message_id) == message_id, col(MessageRead.reader) == who.subject
    )
    existing = uow.session.scalar(first)
    if existing is not None:
        return existing
    now = uow.clock.now()
    row = {"id": str(uuid.uuid4()), "message_id": message_id, "reader": who.subject, "read_at": now}
    if insert_ignoring_duplicates(uow.session, MessageRead, [row]):
        uow.commit()
        return now
    uow.session.rollback()  # another click was first: its time stands
    kept = uow.session.scalar(first)
    return kept if kept is not None else now


def read_by(session: Session, reader: str, message_ids: Sequence[str]) -> set[str]:
    if not message_ids:
        return set()
    return set(
        session.exec(
            select(MessageRead.message_id).where(
                MessageRead.reader == reader, col(MessageRead.message_id).in_(list(message_ids))
            )
        ).all()
    )


def unread_filter(reader: str) -> Any:
    """A WHERE clause for messages this reader has not read."""
    return ~sa.exists().where(col(MessageRead.message_id) == col(MessageRow.id), col(MessageRead.reader) == reader)


def _public(row: Delivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(row, from_attributes=True)


def deliveries_of(session: Session, message_ids: Sequence[str]) -> dict[str, list[DeliveryPublic]]:
    found: dict[str, list[DeliveryPublic]] = {m: [] for m in message_ids}
    if not message_ids:
        return found
    rows = session.exec(
        select(Delivery).where(col(Delivery.message_id).in_(list(message_ids))).order_by(col(Delivery.channel))
    ).all()
    for row in rows:
        found[row.message_id].append(_public(row))
    return found


def list_deliveries(
    session: Session, who: Principal, page: PageRequest, *, status: DeliveryStatus | None, channel: Channel | None
) -> Page[DeliveryPublic]:
    """The delivery log of the caller's municipality, newest first (staff)."""
    authorize(who, Action.READ_DELIVERIES)
    query = select(Delivery).where(Delivery.municipality == who.municipality)
    if status is not None:
        query = query.where(Delivery.status == status.value)
    if channel is not None:
        query = query.where(Delivery.channel == channel.value)
    query = query.order_by(col(Delivery.created_at).desc(), col(Delivery.id))
    return page_of(session, query, page).map(_public)


def list_mailbox(who: Principal, folder: Path, page: PageRequest) -> Page[MailboxEntry]:
    """Staff: embedded mode's local mailbox, newest first."""
    authorize(who, Action.READ_DELIVERIES)
    return page_of_list(read_mailbox(folder), page)


def _settings_public(municipality: str, row: MunicipalitySettings | None) -> MunicipalitySettingsPublic:
    return MunicipalitySettingsPublic(
        municipality=municipality,
        team_mailbox=row.team_mailbox if row else None,
        finance_mailbox=row.finance_mailbox if row else None,
        ops_mailbox=row.ops_mailbox if row else None,
    )


def get_settings_of(session: Session, who: Principal) -> MunicipalitySettingsPublic:
    authorize(who, Action.MANAGE_SETTINGS)
    return _settings_public(who.municipality, session.get(MunicipalitySettings, who.municipality))


def _one_mailbox(value: str | None, field_name: str) -> str | None:
    mailbox = value.strip() if value else None
    if mailbox and not _MAILBOX.fullmatch(mailbox):
        raise RuleBroken(
            "settings.mailbox_invalid",
            f"{field_name} must be one e-mail address, such as team@gemeente.nl.",
            field_name,
            message_nl=f"{field_name} moet één e-mailadres zijn, zoals team@gemeente.nl.",
        )
    return mailbox or None


def change_settings(uow: UnitOfWork, who: Principal, change: MunicipalitySettingsChange) -> MunicipalitySettingsPublic:
    authorize(who, Action.MANAGE_SETTINGS)
    mailboxes = {
        name: _one_mailbox(getattr(change, name), name) for name in ("team_mailbox", "finance_mailbox", "ops_mailbox")
    }
    row = uow.session.get(MunicipalitySettings, who.municipality)
    if row is None:  # the first save; two at once make one row (ON CONFLICT DO NOTHING), then both change it
        first = {"municipality": who.municipality, "updated_at": uow.clock.now()}
        insert_ignoring_duplicates(uow.session, MunicipalitySettings, [first])
        row = uow.session.get_one(MunicipalitySettings, who.municipality)
    for name, mailbox in mailboxes.items():
        setattr(row, name, mailbox)
    row.updated_at = uow.clock.now()
    uow.session.add(row)
    uow.commit()
    return _settings_public(who.municipality, row)
