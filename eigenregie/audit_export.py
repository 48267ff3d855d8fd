"""The art. 15 export of the audit trail: one client's records from every service, gathered here
in the composition root (no service reads another's tables). `prb audit export --client ID`.
The export is itself a read of the client's data: `record_export` notes it in each trail that had
records of the client (endpoint `internal`, purpose `gdpr.access`, the operator as actor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel import Session

from shared.audit import append, has_records, list_records, read_entries, verify
from shared.audit_http import AuditRecordPublic, public_record
from shared.auth import Principal, Role
from shared.runtime import Runtime


def client_trail(runtime: Runtime, municipality: str, client_id: str) -> Iterator[dict[str, Any]]:
    """Every audit record about the client in every service that keeps a trail, oldest first,
    as JSON-ready dicts (each names its `service`)."""
    records: list[AuditRecordPublic] = []
    with Session(runtime.engine) as session:
        for spec in runtime.specs:
            if spec.audit is None:
                continue
            for record in list_records(session, spec.name, municipality, client_id=client_id):
                records.append(public_record(spec.name, record))
    records.sort(key=lambda r: (r.at, r.service, r.seq))
    for public in records:
        yield public.model_dump(mode="json")


EXPORT_PURPOSE = "gdpr.access"


def record_export(runtime: Runtime, municipality: str, client_id: str, operator: str) -> list[str]:
    """A read record of the export in each service's trail that has records of the client (after
    the export, so the next one shows it); the services it was recorded in."""
    who = Principal(subject=operator[:80] or "cli", role=Role.OPS, municipality=municipality)
    recorded: list[str] = []
    for spec in runtime.specs:
        if spec.audit is None:
            continue
        with runtime.uow(spec.name) as uow:
            if not has_records(uow.session, spec.name, municipality, client_id):
                continue
            entries = read_entries(who, [client_id], purpose=EXPORT_PURPOSE, at=uow.clock.now())
            append(uow.session, spec.name, entries)
            uow.commit()
            recorded.append(spec.name)
    return recorded


def verify_all(runtime: Runtime, municipality: str) -> dict[str, Any]:
    """Each service's chain of the municipality: ok, how many records, the first broken one."""
    answer: dict[str, Any] = {}
    with Session(runtime.engine) as session:
        for spec in runtime.specs:
            if spec.audit is None:
                continue
            result = verify(session, spec.name, municipality)
            broken = result.first_broken
            answer[spec.name] = {
                "ok": result.ok,
                "checked": result.checked,
                "last_hash": result.last_hash,
                "first_broken": None
                if broken is None
                else {"id": broken.id, "seq": broken.seq, "reason": broken.reason},
            }
    return answer
