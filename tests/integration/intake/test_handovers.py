"""The warm hand-over between UWV and the municipality (iro, issue 13), on SQLite and PostgreSQL:
UWV's application hands a client to the municipality, whose case manager accepts (registering or
linking the client, recording the consent) or declines; the municipality hands a client to UWV only
with the client's consent, and a withdrawal ends UWV's access at once. Two partner applications
(UWV, a reintegration company) and two municipalities (Groningen, Utrecht): nobody sees another's
hand-over (404). Every change and read of a client's hand-over is in the audit trail; the events
carry no personal data; bad input is a 422 naming the field and writes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from eigenregie.initial_data import test_bsn as bsn_for
from services.intake.data_keys import rotate_handover_keys
from services.intake.models_handovers import Handover
from shared import audit, field_crypto
from shared.config import Settings
from shared.field_crypto import FieldCrypto, new_data_key
from tests.integration.intake.support import TODAY, events, frozen_clock, refused, register
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

GRONINGEN, UTRECHT = "0014", "0344"
UWV_KVK, COMPANY_KVK = "34367415", "12345678"
KM = auth("case_manager", GRONINGEN, subject="km-0014")
KM_UTRECHT = auth("case_manager", UTRECHT, subject="km-0344")
MINE = "/intake/v1/partner/handovers"
STAFF = "/intake/v1/handovers"


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, environment="test")
    else:
        settings = Settings(database_url=request.getfixturevalue("fresh_pg_url"), environment="test")
    runtime = migrated_runtime(settings, clock=frozen_clock())
    try:
        yield runtime, api_client(runtime)
    finally:
        runtime.engine.dispose()


def partner(
    http,
    kvk: str = UWV_KVK,
    municipality: str = GRONINGEN,
    kind: str = "uwv",
    scopes: tuple[str, ...] = ("handovers:write", "clients:read-own"),
) -> dict[str, str]:
    """A registered application's token, from its client credentials."""
    r = http.post(
        "/intake/v1/partner-apps",
        headers=auth("ops", municipality),
        json={"name": f"Partner {kvk}", "organisation_kvk": kvk, "kind": kind, "allowed_scopes": list(scopes)},
    )
    assert r.status_code == 201, r.text
    app = r.json()
    answer = http.post(
        "/intake/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": app["client_id"], "client_secret": app["client_secret"]},
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def handover_body(bsn: str, **changes: Any) -> dict[str, Any]:
    return {
        "bsn": bsn,
        "reason_code": "uwv_benefit_ending",
        "trajectory": {
            "benefit_type": "WW",
            "benefit_ends_on": (TODAY + timedelta(days=30)).isoformat(),
            "months_unemployed": 20,
            "iro": True,
            "activities": [
                {
                    "category": "coaching",
                    "provider_name": "Werkfit BV",
                    "provider_kvk": COMPANY_KVK,
                    "started_on": (TODAY - timedelta(days=200)).isoformat(),
                    "ended_on": (TODAY - timedelta(days=20)).isoformat(),
                    "result": "completed",
                }
            ],
        },
        "chosen_company": {"name": "Werkfit BV", "kvk": COMPANY_KVK},
        "consent": {"given_on": (TODAY - timedelta(days=2)).isoformat(), "reference": "UWV-TOE-2026-0042"},
        **changes,
    }


def ok(r, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def records(runtime, client_id: str) -> list[audit.AuditRecord]:
    with Session(runtime.engine) as session:
        return audit.list_records(session, "intake", GRONINGEN, client_id=client_id)


def handover_rows(runtime) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(Handover.__table__)).scalar_one()


def test_uwv_hands_over_a_new_person_and_the_case_manager_registers_them_and_accepts(env):
    runtime, http = env
    uwv, company = partner(http), partner(http, COMPANY_KVK, kind="reintegration_company")
    uwv_utrecht = partner(http, UWV_KVK, UTRECHT)
    bsn = bsn_for(7001)

    sent = ok(http.post(MINE, headers=uwv, json=handover_body(bsn)), 201)
    assert sent["status"] == "pending" and sent["direction"] == "to_municipality" and sent["client_id"] is None
    assert bsn not in json.dumps(sent)  # never echoed back
    assert [h["id"] for h in ok(http.get(MINE, headers=uwv))] == [sent["id"]]

    # Another partner, the same partner in another municipality, another municipality's staff: 404.
    assert ok(http.get(MINE, headers=company)) == [] and ok(http.get(MINE, headers=uwv_utrecht)) == []
    for headers, url in (
        (company, f"{MINE}/{sent['id']}"),
        (uwv_utrecht, f"{MINE}/{sent['id']}"),
        (KM_UTRECHT, f"{STAFF}/{sent['id']}"),
    ):
        assert http.get(url, headers=headers).status_code == 404
    assert ok(http.get(STAFF, headers=KM_UTRECHT)) == []
    refused(
        http.post(f"{STAFF}/{sent['id']}/decline", headers=KM_UTRECHT, json={"reason_code": "other"}),
        404,
        "handover.not_found",
    )

    # The case manager sees it pending (the BSN only in the single read) and must say who the client is.
    [pending] = ok(http.get(STAFF, headers=KM, params={"status": "pending"}))
    assert pending["id"] == sent["id"] and pending["bsn"] is None and pending["chosen_company"]["kvk"] == COMPANY_KVK
    one = ok(http.get(f"{STAFF}/{sent['id']}", headers=KM))
    assert one["bsn"] == bsn and one["consent_reference"] == "UWV-TOE-2026-0042"
    assert one["trajectory"]["activities"][0]["result"] == "completed"
    refused(http.post(f"{STAFF}/{sent['id']}/accept", headers=KM, json={}), 422, "handover.client_required")

    accepted = ok(
        http.post(
            f"{STAFF}/{sent['id']}/accept",
            headers=KM,
            json={
                "new_client": {
                    "client_number": "K-7001",
                    "name": "Fatima Bakker",
                    "benefit_type": "WWB",
                    "facts": {"months_unemployed": 20, "other_running_trajectory": False},
                }
            },
        )
    )
    client_id = accepted["client_id"]
    assert accepted["status"] == "accepted" and accepted["decided_by"] == "km-0014" and accepted["consent_id"]
    client = ok(http.get(f"/intake/v1/clients/{client_id}", headers=KM))
    assert client["bsn"] == bsn and client["name"] == "Fatima Bakker"
    [consent] = ok(http.get(f"/intake/v1/clients/{client_id}/consents", headers=KM))
    assert (consent["partner_kvk"], consent["purpose"], consent["on_paper"], consent["active"]) == (
        UWV_KVK,
        "warm_handover",
        True,
        True,
    )
    refused(http.post(f"{STAFF}/{sent['id']}/accept", headers=KM, json={}), 409, "handover.already_decided")

    # UWV reads the outcome (and now the municipality's client id); the consent lets it see the client.
    status = ok(http.get(f"{MINE}/{sent['id']}", headers=uwv))
    assert status["status"] == "accepted" and status["client_id"] == client_id and status["client"] is None
    assert [c["id"] for c in ok(http.get("/intake/v1/partner/clients", headers=uwv))] == [client_id]

    [event] = events(runtime, "HandoverAccepted", sent["id"])
    assert event["payload"] == {
        "handover_id": sent["id"],
        "client_id": client_id,
        "partner_kvk": UWV_KVK,
        "reason_code": "uwv_benefit_ending",
    }
    assert bsn not in json.dumps(event) and "Fatima" not in json.dumps(event)
    trail = records(runtime, client_id)
    changed = [(r.action, r.endpoint) for r in trail if r.action != "read"]
    assert ("create", "POST /intake/v1/handovers/{handover_id}/accept") in changed  # client and consent
    assert ("update", "POST /intake/v1/handovers/{handover_id}/accept") in changed
    assert any(
        r.action == "read" and r.actor_role == "partner" and r.endpoint.startswith("GET /intake/v1/partner/handovers")
        for r in trail
    )


def test_a_handover_of_a_known_client_is_matched_by_bsn_and_declined_with_a_reason(env):
    runtime, http = env
    uwv = partner(http)
    anna = register(http, GRONINGEN)
    bsn = ok(http.get(f"/intake/v1/clients/{anna.client_id}", headers=anna.km))["bsn"]
    sent = ok(http.post(MINE, headers=uwv, json=handover_body(bsn, reason_code="iro_ended_without_work")), 201)
    assert sent["client_id"] is None  # the match is the municipality's to know
    [pending] = ok(http.get(STAFF, headers=KM, params={"status": "pending", "direction": "to_municipality"}))
    assert pending["client_id"] == anna.client_id
    refused(
        http.post(f"{STAFF}/{sent['id']}/accept", headers=KM, json={"client_id": "someone-else"}),
        422,
        "handover.client_known",
    )

    declined = ok(
        http.post(
            f"{STAFF}/{sent['id']}/decline",
            headers=KM,
            json={"reason_code": "duplicate", "note": "Loopt al via het werkplein."},
        )
    )
    assert declined["status"] == "declined" and declined["decline_note"] == "Loopt al via het werkplein."
    seen = ok(http.get(f"{MINE}/{sent['id']}", headers=uwv))
    assert seen["status"] == "declined" and seen["decline_reason"] == "duplicate" and seen["client_id"] is None
    assert "Loopt al" not in json.dumps(seen)
    [event] = events(runtime, "HandoverDeclined", sent["id"])
    assert event["payload"] == {"handover_id": sent["id"], "partner_kvk": UWV_KVK, "decline_reason": "duplicate"}
    assert [r.action for r in records(runtime, anna.client_id) if r.endpoint.endswith("/decline")] == ["update"]
    refused(http.post(f"{STAFF}/{sent['id']}/accept", headers=KM, json={}), 409, "handover.already_decided")


def test_linking_a_named_client_needs_the_same_bsn(env):
    _, http = env
    uwv = partner(http)
    bram = register(http, GRONINGEN)
    sent = ok(http.post(MINE, headers=uwv, json=handover_body(bsn_for(7011))), 201)
    refused(
        http.post(f"{STAFF}/{sent['id']}/accept", headers=KM, json={"client_id": bram.client_id}),
        422,
        "handover.bsn_mismatch",
    )
    assert ok(http.get(f"{STAFF}/{sent['id']}", headers=KM))["status"] == "pending"
    assert ok(http.get(f"/intake/v1/clients/{bram.client_id}/consents", headers=KM)) == []


def test_the_municipality_hands_a_client_to_uwv_only_with_consent_and_a_withdrawal_ends_access_at_once(env):
    runtime, http = env
    uwv, company = partner(http), partner(http, COMPANY_KVK, kind="reintegration_company")
    anna = register(http, GRONINGEN)
    body = {
        "partner_kvk": UWV_KVK,
        "reason_code": "uwv_benefit_starting",
        "trajectory": {"benefit_type": "WWB", "months_unemployed": 7},
    }
    url = f"/intake/v1/clients/{anna.client_id}/handovers"
    refused(http.post(url, headers=KM, json=body), 422, "handover.no_consent")
    # A consent for another purpose does not count.
    ok(
        http.post(
            f"/intake/v1/clients/{anna.client_id}/consents",
            headers=anna.me,
            json={"partner_kvk": UWV_KVK, "purpose": "progress_reporting"},
        ),
        201,
    )
    r = refused(http.post(url, headers=KM, json=body), 422, "handover.no_consent")
    assert r["errors"][0]["field"] == "partner_kvk"
    consent = ok(
        http.post(
            f"/intake/v1/clients/{anna.client_id}/consents",
            headers=anna.me,
            json={"partner_kvk": UWV_KVK, "purpose": "warm_handover"},
        ),
        201,
    )
    sent = ok(http.post(url, headers=KM, json=body), 201)
    assert sent["status"] == "sent" and sent["direction"] == "to_partner" and sent["consent_id"] == consent["id"]
    [event] = events(runtime, "HandoverSent", sent["id"])
    assert set(event["payload"]) == {"handover_id", "client_id", "partner_kvk", "reason_code"}

    [mine] = ok(http.get(MINE, headers=uwv))
    assert mine["id"] == sent["id"] and mine["client"]["bsn"] and mine["client_id"] == anna.client_id
    assert mine["trajectory"]["months_unemployed"] == 7
    assert ok(http.get(MINE, headers=company)) == []
    assert http.get(f"{MINE}/{sent['id']}", headers=company).status_code == 404
    read = [r for r in records(runtime, anna.client_id) if r.action == "read" and r.actor_role == "partner"]
    assert read and {r.endpoint for r in read} >= {"GET /intake/v1/partner/handovers"}

    ok(http.post(f"/intake/v1/clients/{anna.client_id}/consents/{consent['id']}/withdraw", headers=anna.me))
    assert http.get(f"{MINE}/{sent['id']}", headers=uwv).status_code == 404
    assert ok(http.get(MINE, headers=uwv)) == []
    # The staff still see what they sent; the partner no longer.
    assert ok(http.get(f"{STAFF}/{sent['id']}", headers=KM))["status"] == "sent"
    refused(http.post(url, headers=KM, json=body), 422, "handover.no_consent")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bsn": "123456789"}, "bsn"),
        ({"reason_code": "horoscope"}, "reason_code"),
        ({"consent": None}, "consent"),
        ({"consent": {"given_on": (TODAY + timedelta(days=1)).isoformat(), "reference": "X"}}, "consent.given_on"),
        ({"chosen_company": {"name": "Werkfit BV", "kvk": "1234"}}, "chosen_company.kvk"),
        ({"trajectory": {"months_unemployed": 99999}}, "trajectory.months_unemployed"),
        (
            {
                "trajectory": {
                    "activities": [
                        {
                            "category": "coaching",
                            "provider_name": "X",
                            "result": "completed",
                            "started_on": (TODAY + timedelta(days=3)).isoformat(),
                        }
                    ]
                }
            },
            "trajectory.activities[0].started_on",
        ),
        ({"note": "free text about the person"}, "note"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_writes_nothing(env, change, field):
    runtime, http = env
    uwv = partner(http)
    body = {k: v for k, v in {**handover_body(bsn_for(7021)), **change}.items() if v is not None}
    r = http.post(MINE, headers=uwv, json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert field in r.text, r.text
    assert bsn_for(7021) not in r.text
    assert handover_rows(runtime) == 0


def test_a_partner_without_the_scope_or_staff_cannot_send_a_handover(env):
    runtime, http = env
    reader = partner(http, scopes=("clients:read-own",))
    refused(http.post(MINE, headers=reader, json=handover_body(bsn_for(7031))), 403, "auth.scope_missing")
    assert http.get(MINE, headers=reader).status_code == 403
    for role in ("case_manager", "team_lead", "policy", "finance"):
        assert http.post(MINE, headers=auth(role, GRONINGEN), json=handover_body(bsn_for(7031))).status_code == 403
    for role in ("policy", "finance", "ops"):
        assert http.get(STAFF, headers=auth(role, GRONINGEN)).status_code == 403
    assert handover_rows(runtime) == 0


def test_the_bsn_and_trajectory_a_partner_sends_are_encrypted_at_rest_and_move_to_a_new_key(tmp_path):
    old, new, hash_key = new_data_key(), new_data_key(), "a-test-bsn-hash-key-of-at-least-32-characters"
    runtime = migrated_runtime(
        Settings(data_dir=tmp_path, environment="test", data_keys=old, bsn_hash_key=hash_key), clock=frozen_clock()
    )
    try:
        http = api_client(runtime)
        bsn = bsn_for(7041)
        ok(http.post(MINE, headers=partner(http), json=handover_body(bsn)), 201)
        with runtime.engine.connect() as conn:
            [row] = conn.execute(sa.text("SELECT * FROM intake.handover")).mappings().all()
        assert bsn not in json.dumps({k: str(v) for k, v in row.items()})
        assert "Werkfit" not in row["trajectory"] and row["bsn_hash"]

        rotated = rotate_handover_keys(runtime.engine, FieldCrypto([new, old], hash_key))
        assert (rotated.rows, rotated.rewritten, rotated.tokens) == (1, 1, 2) and "intake.handover" in str(rotated)
        with runtime.engine.connect() as conn:
            [row] = conn.execute(sa.text("SELECT * FROM intake.handover")).mappings().all()
        only_new = FieldCrypto([new], hash_key)
        assert only_new.is_current(row["bsn_encrypted"]) and only_new.is_current(row["trajectory"])
        assert only_new.decrypt(row["bsn_encrypted"]) == bsn
        assert rotate_handover_keys(runtime.engine, FieldCrypto([new, old], hash_key)).rewritten == 0
    finally:
        runtime.engine.dispose()
        field_crypto.configure(Settings(environment="test"))
