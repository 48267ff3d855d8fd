"""The provider register: finance registers who the municipality pays, changes it and its
contract status (each change in the history); staff read it. The rules are in
domain/provider_register.py; invoices_in.py asks the register about each invoice."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.budget.domain.provider_register import (
    ProviderStatus,
    RegisteredProvider,
    check_transition,
    mask_iban,
)
from services.budget.models_providers import (
    Provider,
    ProviderHistory,
    ProviderHistoryPublic,
    ProviderIn,
    ProviderPatch,
    ProviderPublic,
)
from services.budget.permissions import Action, authorize
from shared.auth import Principal, Role
from shared.errors import Conflict, DomainError, NotFound
from shared.identifiers import IdentifierError, validate_iban, validate_kvk, validate_vat
from shared.pagination import Page, PageRequest, page_of
from shared.uow import UnitOfWork


def _kvk(value: str) -> str:
    try:
        return validate_kvk(value)
    except IdentifierError as exc:
        raise DomainError(
            "provider.kvk", f"kvk: {exc}.", "kvk", message_nl="kvk: een KvK-nummer heeft 8 cijfers."
        ) from exc


def _vat(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return validate_vat(value)
    except IdentifierError as exc:
        raise DomainError(
            "provider.vat_number",
            f"vat_number: {exc}.",
            "vat_number",
            message_nl="vat_number: geen geldig btw-nummer.",
        ) from exc


def _iban(value: str) -> str:
    try:
        return validate_iban(value)
    except IdentifierError as exc:  # IBANStr checked it already; kept so it is never a 500
        raise DomainError("provider.iban", f"iban: {exc}.", "iban", message_nl="iban: geen geldig IBAN.") from exc


def _not_found() -> NotFound:
    return NotFound("provider", "aanbieder")


def provider_public(session: Session, who: Principal, row: Provider, *, history: bool = False) -> ProviderPublic:
    shown = row.iban if who.role == Role.FINANCE else (mask_iban(row.iban) or "")
    entries = None
    if history:
        entries = [
            ProviderHistoryPublic(
                status=h.status, changes=h.changes, reason=h.reason, changed_by=h.changed_by, changed_at=h.changed_at
            )
            for h in session.exec(
                select(ProviderHistory).where(ProviderHistory.provider_id == row.id).order_by(col(ProviderHistory.id))
            )
        ]
    return ProviderPublic(
        id=row.id,
        kvk=row.kvk,
        name=row.name,
        vat_number=row.vat_number,
        iban=shown,
        status=row.status,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        history=entries,
    )


def _history_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Which fields changed, from what to what; an IBAN masked (the register's own row has it whole)."""
    out: dict[str, Any] = {}
    for name in after:
        if before.get(name) != after[name]:
            old, new = before.get(name), after[name]
            if name == "iban":
                old, new = mask_iban(old), mask_iban(new)
            out[name] = {"old": old, "new": new}
    return out


def _fields(row: Provider) -> dict[str, Any]:
    return {"name": row.name, "vat_number": row.vat_number, "iban": row.iban, "status": row.status}


def register_provider(uow: UnitOfWork, who: Principal, data: ProviderIn) -> ProviderPublic:
    """201 with the provider; 409 `provider.kvk_taken` when this municipality has the KvK already."""
    authorize(who, Action.MANAGE_PROVIDERS)
    now = uow.clock.now()
    row = Provider(
        municipality=who.municipality,
        kvk=_kvk(data.kvk),
        name=data.name,
        vat_number=_vat(data.vat_number),
        iban=_iban(data.iban),
        status=ProviderStatus(data.status).value,
        created_by=who.subject,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "provider.kvk_taken",
            "A provider with this KvK number is already registered; change that one.",
            "kvk",
            message_nl="Er staat al een aanbieder met dit KvK-nummer in het register; wijzig die.",
        ) from exc
    uow.session.add(
        ProviderHistory(
            provider_id=row.id,
            status=row.status,
            changes=_history_changes({}, _fields(row)),
            reason=data.reason,
            changed_by=who.subject,
            changed_at=now,
        )
    )
    uow.commit()
    return provider_public(uow.session, who, row, history=True)


def change_provider(uow: UnitOfWork, who: Principal, provider_id: str, data: ProviderPatch) -> ProviderPublic:
    """Change the name, VAT number, IBAN or contract status; `version` must be the one read (409 otherwise)."""
    authorize(who, Action.MANAGE_PROVIDERS)
    row = uow.session.exec(
        select(Provider).where(Provider.id == provider_id, Provider.municipality == who.municipality).with_for_update()
    ).first()
    if row is None:
        raise _not_found()
    if row.version != data.version:
        raise Conflict(
            "provider.changed_meanwhile",
            f"The provider changed meanwhile (now version {row.version}, you sent {data.version}); reload it.",
            "version",
            message_nl=f"De aanbieder is intussen gewijzigd (nu versie {row.version}, u stuurde {data.version}); "
            "laad opnieuw.",
        )
    before = _fields(row)
    if data.status is not None:
        check_transition(row.status, data.status)
        row.status = data.status
    if data.name is not None:
        row.name = data.name
    if "vat_number" in data.model_fields_set:
        row.vat_number = _vat(data.vat_number)
    if data.iban is not None:
        row.iban = _iban(data.iban)
    changes = _history_changes(before, _fields(row))
    if changes:
        now = uow.clock.now()
        row.version += 1
        row.updated_at = now
        uow.session.add(row)
        uow.session.add(
            ProviderHistory(
                provider_id=row.id,
                status=row.status,
                changes=changes,
                reason=data.reason,
                changed_by=who.subject,
                changed_at=now,
            )
        )
    uow.commit()
    return provider_public(uow.session, who, row, history=True)


def list_providers(
    session: Session, who: Principal, page: PageRequest, status: str | None = None, kvk: str | None = None
) -> Page[ProviderPublic]:
    authorize(who, Action.READ_PROVIDERS)
    query = select(Provider).where(Provider.municipality == who.municipality)
    if status:
        query = query.where(Provider.status == ProviderStatus(status).value)
    if kvk:
        query = query.where(Provider.kvk == _kvk(kvk))
    query = query.order_by(col(Provider.name), col(Provider.id))
    return page_of(session, query, page).map(lambda row: provider_public(session, who, row))


def get_provider(session: Session, who: Principal, provider_id: str) -> ProviderPublic:
    authorize(who, Action.READ_PROVIDERS)
    row = session.exec(
        select(Provider).where(Provider.id == provider_id, Provider.municipality == who.municipality)
    ).first()
    if row is None:
        raise _not_found()
    return provider_public(session, who, row, history=True)


def registered(session: Session, municipality: str, kvk: str) -> RegisteredProvider | None:
    """The register's entry for `kvk` in `municipality`, as the invoice checks see it."""
    row = session.exec(select(Provider).where(Provider.municipality == municipality, Provider.kvk == kvk)).first()
    return RegisteredProvider(kvk=row.kvk, status=row.status, iban=row.iban) if row else None
