"""The art. 15 export of the audit trail: one client's records from every service, gathered here
in the composition root (no service reads another's tables). `prb audit export --client ID`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel import Session

from shared.audit import list_records, verify
from shared.audit_http import AuditRecordPublic, public_record
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
