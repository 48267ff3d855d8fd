"""Delivering messages to people: queueing a delivery per channel when a message is made, the job
that sends queued e-mail, the in-app inbox's read state, the delivery log and the municipality's
own settings. Time from `uow.clock`; addresses from the directory at send time, never stored."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from jinja2 import TemplateError
from sqlmodel import Session, col, select

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
from services.notifications.directory import Contact, ContactDirectory, DirectoryUnavailable, IntakeDirectory
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
from services.notifications.models import Message as MessageRow
from services.notifications.models_delivery import (
    Delivery,
    DeliveryPublic,
    MessageRead,
    MunicipalitySettings,
    MunicipalitySettingsChange,
    MunicipalitySettingsPublic,
)
from services.notifications.permissions import Action, authorize
from services.notifications.preferences import preferences_of
from shared.auth import Principal
from shared.config import Settings, get_settings
from shared.errors import NotFound, RuleBroken
from shared.pagination import Page, PageRequest, page_of, page_of_list
from shared.uow import UnitOfWork

# A claimed delivery is not picked again for this long: a sender that dies mid-send is retried after it.
LEASE = timedelta(minutes=10)
BATCH = 100
_MAILBOX = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert deliveries; one that is already there (same recipient x cause x channel) is left as it is.
    The UNIQUE constraint decides, so two workers racing make one row."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(Delivery).values(rows).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(Delivery).values(rows).on_conflict_do_nothing())


def team_mailbox(session: Session, municipality: str) -> str | None:
    row = session.get(MunicipalitySettings, municipality)
    return row.team_mailbox if row else None


def queue_for(uow: UnitOfWork, message: Message) -> None:
    """A new message's deliveries: in the app at once (sent), by e-mail queued for the sender job
    (the case team's only where the municipality has a team mailbox)."""
    now = uow.clock.now()
    prefs = Preferences()
    if message.recipient_kind == RecipientKind.CLIENT:
        if not message.client_id:
            return
        recipient = recipient_key("client", message.client_id)
        prefs = preferences_of(uow.session, message.client_id)
        channels = [c for c in (Channel.IN_APP, Channel.EMAIL, Channel.SMS) if prefs.wants(c)]
    else:
        recipient = recipient_key("team", message.municipality)
        channels = [Channel.IN_APP]
        if team_mailbox(uow.session, message.municipality):
            channels.append(Channel.EMAIL)
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
    uow.session.flush()
    _insert_ignoring_duplicates(uow.session, rows)
    uow.session.execute(
        sa.update(MessageRow)
        .where(col(MessageRow.id) == message.id)
        .values(status=MessageStatus.SENT.value, sent_at=now)
    )


@dataclass
class Outlets:
    """What the sender job sends with; built from Settings in service.py, by hand in tests."""

    mail: MailSender
    directory: ContactDirectory
    login_url: str
    sms: SmsSender
    backoff: Backoff = field(default_factory=Backoff)
    jitter: Callable[[], float] = random.random


def outlets_from(settings: Settings) -> Outlets:
    return Outlets(
        mail=mail_sender(settings),
        directory=IntakeDirectory(settings),
        sms=sms_sender(settings),
        login_url=settings.public_base_url.rstrip("/") + "/",
        backoff=Backoff(
            settings.delivery_retry_base_seconds, settings.delivery_retry_cap_seconds, settings.delivery_max_attempts
        ),
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
    delivery_id: str,
    status: DeliveryStatus,
    *,
    error: str | None,
    next_at: datetime | None,
    attempts: int | None = None,
) -> None:
    values: dict[str, Any] = {"status": status.value, "last_error": error, "next_attempt_at": next_at}
    if attempts is not None:
        values["attempts"] = attempts  # a delivery held for quiet hours was not tried
    if status == DeliveryStatus.SENT:
        values["sent_at"] = uow.clock.now()
    uow.session.execute(sa.update(Delivery).where(col(Delivery.id) == delivery_id).values(**values))
    uow.commit()


def _address(
    outlets: Outlets, message: MessageRow, channel: Channel, mailbox: str | None
) -> tuple[str | None, tuple[str, ...], str | None]:
    """(to, cc, language) for a message on a channel, looked up now: the team mailbox, or the
    client's e-mail (representatives in cc) or phone from the owning service."""
    if message.recipient_kind == RecipientKind.CASE_TEAM:
        return (mailbox if channel == Channel.EMAIL else None), (), "nl"
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
    if message is None:
        _finish(uow, row.id, DeliveryStatus.FAILED, error="the message is gone", next_at=None)
        return False
    uow.session.expunge(message)
    mailbox = team_mailbox(uow.session, message.municipality)
    client_side = message.recipient_kind == RecipientKind.CLIENT
    prefs = preferences_of(uow.session, message.client_id) if client_side else Preferences()
    uow.session.rollback()
    if not prefs.wants(channel):
        _finish(uow, row.id, DeliveryStatus.FAILED, error=f"the person turned {channel.value} off", next_at=None)
        return False
    if (held_until := prefs.send_at(channel, now)) > now:
        _finish(uow, row.id, DeliveryStatus.DEFERRED, error=None, next_at=held_until, attempts=row.attempts)
        return False
    try:
        to, cc, language = _address(outlets, message, channel, mailbox)
        if not to:
            what = "phone number" if channel == Channel.SMS else "e-mail address"
            _finish(uow, row.id, DeliveryStatus.FAILED, error=f"no {what} known for the recipient", next_at=None)
            return False
        withheld = _deliver(outlets, channel, message, to, cc, prefs.language or language)
    except (DirectoryUnavailable, TemporaryFailure) as exc:
        status, next_at = outlets.backoff.after_failure(attempts, now, outlets.jitter())
        _finish(uow, row.id, status, error=truncate_error(str(exc)), next_at=next_at)
        return False
    except PermanentFailure as exc:
        _finish(uow, row.id, DeliveryStatus.BOUNCED, error=truncate_error(str(exc)), next_at=None)
        return False
    except (TemplateError, KeyError) as exc:  # a broken template is never sent, and not tried again
        _finish(uow, row.id, DeliveryStatus.FAILED, error=f"the template failed: {type(exc).__name__}", next_at=None)
        return False
    if withheld:
        _finish(uow, row.id, DeliveryStatus.FAILED, error=withheld, next_at=None)
        return False
    _finish(uow, row.id, DeliveryStatus.SENT, error=None, next_at=None)
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
        if _claim(uow, row, now) and send_one(uow, outlets, row):
            sent += 1
    return sent


def send_mail_job(uow: UnitOfWork) -> int:
    return send_due_mail(uow, outlets_from(get_settings()))


# The in-app inbox and the log.


def _visible_message(session: Session, who: Principal, message_id: str) -> MessageRow:
    row = session.get(MessageRow, message_id)
    if row is None or row.municipality != who.municipality:
        raise NotFound("message", "bericht")
    if who.is_client_side() and (row.client_id != who.client_id or row.recipient_kind != RecipientKind.CLIENT):
        raise NotFound("message", "bericht")
    return row


def mark_read(uow: UnitOfWork, who: Principal, message_id: str) -> datetime:
    """The reader has read the message (again: the first time stands)."""
    authorize(who, Action.READ_MESSAGES)
    _visible_message(uow.session, who, message_id)
    existing = uow.session.exec(
        select(MessageRead).where(MessageRead.message_id == message_id, MessageRead.reader == who.subject)
    ).first()
    if existing is not None:
        return existing.read_at
    now = uow.clock.now()
    uow.session.add(MessageRead(id=str(uuid.uuid4()), message_id=message_id, reader=who.subject, read_at=now))
    uow.commit()
    return now


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


def get_settings_of(session: Session, who: Principal) -> MunicipalitySettingsPublic:
    authorize(who, Action.MANAGE_SETTINGS)
    mailbox = team_mailbox(session, who.municipality)
    return MunicipalitySettingsPublic(municipality=who.municipality, team_mailbox=mailbox)


def change_settings(uow: UnitOfWork, who: Principal, change: MunicipalitySettingsChange) -> MunicipalitySettingsPublic:
    authorize(who, Action.MANAGE_SETTINGS)
    row = uow.session.get(MunicipalitySettings, who.municipality)
    mailbox = change.team_mailbox.strip() if change.team_mailbox else None
    if mailbox and not _MAILBOX.fullmatch(mailbox):
        raise RuleBroken(
            "settings.team_mailbox_invalid",
            "The team mailbox must be one e-mail address, such as team@gemeente.nl.",
            "team_mailbox",
            message_nl="Het teampostvak moet één e-mailadres zijn, zoals team@gemeente.nl.",
        )
    if row is None:
        row = MunicipalitySettings(municipality=who.municipality, updated_at=uow.clock.now())
    row.team_mailbox, row.updated_at = mailbox or None, uow.clock.now()
    uow.session.add(row)
    uow.commit()
    return MunicipalitySettingsPublic(municipality=who.municipality, team_mailbox=row.team_mailbox)
