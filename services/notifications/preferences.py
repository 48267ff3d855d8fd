"""A client's message preferences: the client side sets its own, staff may read them. The sender
and the queueing of deliveries ask `preferences_of` (the defaults when none are stored)."""

from __future__ import annotations

from sqlmodel import Session

from services.notifications.domain.preferences import Preferences
from services.notifications.models_delivery import Preference, PreferencesChange, PreferencesPublic
from services.notifications.permissions import Action, authorize
from shared import audit
from shared.auth import Principal
from shared.db import insert_ignoring_duplicates
from shared.errors import RuleBroken
from shared.uow import UnitOfWork


def preferences_of(session: Session, client_id: str | None) -> Preferences:
    row = session.get(Preference, client_id) if client_id else None
    if row is None:
        return Preferences()
    return Preferences(
        email=row.email,
        sms=row.sms,
        language=row.language,
        quiet_from=row.quiet_from,
        quiet_until=row.quiet_until,
        hold_mail=row.hold_mail,
    )


def _public(client_id: str, prefs: Preferences) -> PreferencesPublic:
    return PreferencesPublic(
        client_id=client_id,
        email=prefs.email,
        sms=prefs.sms,
        language="en" if prefs.language == "en" else ("nl" if prefs.language == "nl" else None),
        quiet_from=prefs.quiet_from,
        quiet_until=prefs.quiet_until,
        hold_mail=prefs.hold_mail,
    )


def _whose(who: Principal, client_id: str | None) -> str:
    if who.is_client_side():
        return who.client_id or ""
    if not client_id:
        raise RuleBroken(
            "preferences.client_id_required",
            "Staff name the client: ?client_id=.",
            "client_id",
            message_nl="Noem de klant: ?client_id=.",
        )
    return client_id


def get_preferences(session: Session, who: Principal, client_id: str | None) -> PreferencesPublic:
    authorize(who, Action.READ_PREFERENCES)
    whose = _whose(who, client_id)
    row = session.get(Preference, whose)
    if row is not None and row.municipality != who.municipality:
        return _public(whose, Preferences())  # another municipality's client: nothing of theirs shows
    return _public(whose, preferences_of(session, whose))


def set_preferences(uow: UnitOfWork, who: Principal, change: PreferencesChange) -> PreferencesPublic:
    authorize(who, Action.SET_PREFERENCES)
    if (change.quiet_from is None) != (change.quiet_until is None):
        raise RuleBroken(
            "preferences.quiet_hours_incomplete",
            "Quiet hours need both a start and an end.",
            "quiet_until" if change.quiet_until is None else "quiet_from",
            message_nl="Rustige uren hebben een begin en een eind nodig.",
        )
    client_id = who.client_id or ""
    now = uow.clock.now()
    row = uow.session.get(Preference, client_id)
    before = _audited(row) if row is not None else None
    if row is None:  # the first save; two at once make one row (ON CONFLICT DO NOTHING), then both change it
        first = {"client_id": client_id, "municipality": who.municipality, "email": True, "sms": False}
        first |= {"hold_mail": False, "updated_by": who.subject, "updated_at": now}
        insert_ignoring_duplicates(uow.session, Preference, [first])
        row = uow.session.get_one(Preference, client_id)
    row.email, row.sms, row.language, row.hold_mail = change.email, change.sms, change.language, change.hold_mail
    row.quiet_from, row.quiet_until = change.quiet_from, change.quiet_until
    row.updated_by, row.updated_at = who.subject, now
    uow.session.add(row)
    action = audit.AuditAction.CREATE if before is None else audit.AuditAction.UPDATE
    audit.record_change(uow, who, client_id, action, old=before, new=_audited(row))
    uow.commit()
    return _public(client_id, preferences_of(uow.session, client_id))


# Record names: `by_email` (a yes or no), so the trail does not mask it as an address would be.
_AUDITED = {"by_email": "email", "by_sms": "sms", "language": "language", "quiet_from": "quiet_from"}
_AUDITED |= {"quiet_until": "quiet_until", "hold_mail": "hold_mail"}


def _audited(row: Preference) -> dict[str, object]:
    """The preferences as their audit record compares them: channels and hours (no address is kept here)."""
    return {f"preferences.{name}": getattr(row, column) for name, column in _AUDITED.items()}
