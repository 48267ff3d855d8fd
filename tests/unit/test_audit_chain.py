"""The audit trail's hash chain (shared.audit): each record linked to the one before, any change,
removal or reordering found by verify; personal values masked; purpose and endpoint of a request."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.audit import (
    GENESIS,
    MASK,
    AuditAction,
    AuditEntry,
    AuditRecord,
    RequestContext,
    canonical_json,
    chain,
    entry_for,
    masked_changes,
    purpose_for,
    record_hash,
    request_context,
    verify_records,
)
from shared.auth import Principal, Role

AT = datetime(2026, 12, 3, 9, 30, 0, 123456, tzinfo=UTC)


def _entry(client: str = "c-1", action: AuditAction = AuditAction.READ, **changes: object) -> AuditEntry:
    return AuditEntry(
        municipality="0014",
        actor_subject="km-1",
        actor_role="case_manager",
        client_id=client,
        action=action,
        endpoint="GET /intake/v1/clients/{client_id}",
        purpose="casework",
        correlation_id="corr-1",
        at=AT,
        changes=changes or None,
    )


def _records(n: int = 5) -> list[AuditRecord]:
    return chain([_entry(f"c-{i}") for i in range(n)], last_seq=0, last_hash=GENESIS)


def test_each_record_links_to_the_one_before_from_the_genesis_hash():
    records = _records()
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:], strict=False))
    assert all(r.hash == record_hash(r.content(), r.prev_hash) for r in records)
    assert verify_records(records).ok and verify_records(records).checked == 5


def test_the_chain_goes_on_after_its_last_record():
    first = _records(3)
    more = chain([_entry("c-9")], last_seq=first[-1].seq, last_hash=first[-1].hash)
    assert more[0].seq == 4 and more[0].prev_hash == first[-1].hash
    assert verify_records([*first, *more]).ok


@pytest.mark.parametrize(
    "field, value",
    [("client_id", "c-other"), ("actor_subject", "someone-else"), ("purpose", "curiosity"), ("action", "update"),
     ("endpoint", "GET /elsewhere"), ("at", AT + timedelta(seconds=1)), ("changes", '{"x":1}')],
)
def test_a_changed_field_breaks_that_records_hash(field, value):
    records = _records()
    records[2] = replace(records[2], **{field: value})
    result = verify_records(records)
    assert not result.ok
    assert (result.first_broken.seq, result.first_broken.reason) == (3, "hash_mismatch")
    assert result.first_broken.id == records[2].id


def test_a_record_rehashed_after_its_change_breaks_the_link_of_the_next():
    records = _records()
    forged = replace(records[1], client_id="c-other")
    records[1] = replace(forged, hash=forged.expected_hash())
    result = verify_records(records)
    assert (result.first_broken.seq, result.first_broken.reason) == (3, "prev_hash_mismatch")


def test_a_removed_or_reordered_record_is_found():
    records = _records()
    assert verify_records([*records[:2], *records[3:]]).first_broken.reason == "seq_gap"
    swapped = [records[0], records[2], records[1], *records[3:]]
    assert verify_records(swapped).first_broken.seq == 3


def test_the_hash_does_not_depend_on_how_the_database_hands_back_the_instant():
    record = _records(1)[0]
    naive_utc = replace(record, at=record.at.replace(tzinfo=None))  # SQLite gives it back without a zone
    amsterdam = replace(record, at=record.at.astimezone(datetime.now().astimezone().tzinfo))
    assert naive_utc.expected_hash() == amsterdam.expected_hash() == record.hash


def test_canonical_json_is_the_same_whatever_the_key_order():
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1}) == '{"a":[1,"é"],"b":1}'


def test_personal_values_are_masked_and_only_what_differs_is_kept():
    changes = masked_changes(
        {"bsn": "111222333", "name": "Jan Jansen", "language": "nl", "scheme": "prb", "phone": None},
        {"bsn": "111222333", "name": "Jan de Vries", "language": "en", "scheme": "prb", "phone": "0612345678"},
    )
    assert changes == {
        "name": {"old": MASK, "new": MASK},
        "language": {"old": "nl", "new": "en"},
        "phone": {"old": None, "new": MASK},
    }
    record = chain([_entry(action=AuditAction.UPDATE, **changes)], last_seq=0, last_hash=GENESIS)[0]
    text = json.dumps(asdict(record), default=str)
    for secret in ("111222333", "Jan", "Jansen", "0612345678"):
        assert secret not in text


def test_a_record_takes_the_purpose_header_else_the_roles_default():
    who = Principal(subject="tl-1", role=Role.TEAM_LEAD, municipality="0014")
    assert purpose_for(who) == "casework"
    client = Principal(subject="c", role=Role.CLIENT, municipality="0014", client_id="c-1")
    assert purpose_for(client) == "own_data"

    class Route:
        path = "/clients/{client_id}"

    scope = {"method": "GET", "path": "/intake/v1/clients/abc", "root_path": "/intake", "route": Route()}
    token = request_context.set(RequestContext(scope, "objection"))
    try:
        entry = entry_for(who, "abc", AuditAction.READ, at=AT)
    finally:
        request_context.reset(token)
    assert (entry.purpose, entry.endpoint) == ("objection", "GET /intake/v1/clients/{client_id}")
    assert RequestContext(scope).route() == "/v1/clients/{client_id}"
    outside = entry_for(who, "abc", AuditAction.READ, at=AT)
    assert outside.endpoint == "internal" and outside.purpose == "casework"


def test_a_dotted_secret_is_masked_by_its_last_part_and_ids_are_kept_to_say_which_record():
    changes = masked_changes(
        {"representative_id": "r-1", "representative.email": "a@b.nl", "representative.active": True},
        {"representative_id": "r-1", "representative.email": "c@d.nl", "representative.active": False},
    )
    assert changes == {
        "representative.active": {"old": True, "new": False},
        "representative.email": {"old": MASK, "new": MASK},
        "representative_id": {"old": "r-1", "new": "r-1"},
    }
