"""The BSN (and the client's name, e-mail, phone, address and facts) encrypted at rest, the BSN found and kept
unique by its keyed hash, on SQLite and PostgreSQL: the raw row shows no BSN digits, a second client
with the same BSN is refused, search by BSN finds the client in its own municipality only, the
migration converts plain rows (and goes back), and `prb keys rotate-data` moves every row to a
new key so the old one can go."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from eigenregie.bootstrap import load_service
from eigenregie.initial_data import ELIGIBLE_FACTS
from eigenregie.initial_data import test_bsn as bsn_of
from services.intake.data_keys import rotate_client_keys
from shared import field_crypto
from shared.config import Settings
from shared.db import create_db_engine
from shared.field_crypto import FieldCrypto, new_data_key
from shared.migrations import downgrade, upgrade
from tests.support.auth import auth
from tests.support.environment import REPO
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

KM, KM_UTRECHT = auth("case_manager", "0014"), auth("case_manager", "0344")
_seeds = itertools.count(900)
HASH_KEY = "a-test-bsn-hash-key-of-at-least-32-characters"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> dict[str, Any]:
    """Settings fields for one database: a SQLite folder, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return {"data_dir": tmp_path / "data"}
    return {"database_url": request.getfixturevalue("fresh_pg_url"), "data_dir": tmp_path / "data"}


@pytest.fixture(autouse=True)
def default_keys_afterwards():
    yield
    field_crypto.configure(Settings(environment="test"))


def _runtime(database: dict[str, Any], **keys: str):
    return migrated_runtime(Settings(environment="test", **database, **keys))


def _fresh_bsn() -> str:
    seed = next(_seeds)
    while bsn_of(seed) == bsn_of(seed - 1):
        seed = next(_seeds)
    return bsn_of(seed)


def _register(http, bsn: str, headers=KM, **fields: Any):
    number = f"K{next(_seeds)}"
    body = {"bsn": bsn, "client_number": number, "name": "Anna de Vries", "facts": ELIGIBLE_FACTS, **fields}
    return http.post("/intake/v1/clients", headers=headers, json=body)


def _raw_rows(engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text("SELECT * FROM intake.client ORDER BY id")).mappings()]


def test_the_raw_row_holds_no_bsn_digits_and_no_contact_details_but_the_api_shows_them(database):
    runtime = _runtime(database)
    http = api_client(runtime)
    bsn = _fresh_bsn()
    contact = {"email": "anna@example.org", "phone": "0612345678", "address": "Grote Markt 1, Groningen"}
    r = _register(http, bsn, **contact)
    assert r.status_code == 201, r.text
    shown = http.get(f"/intake/v1/clients/{r.json()['id']}", headers=KM).json()
    assert shown["bsn"] == bsn and {k: shown[k] for k in contact} == contact
    [row] = _raw_rows(runtime.engine)
    assert "bsn" not in row, "the plain column is gone"
    stored = " ".join(str(v) for v in row.values())
    for secret in (bsn, "Anna de Vries", *contact.values()):
        assert secret not in stored
    assert row["bsn_hash"] == field_crypto.current().keyed_hash(bsn)
    assert field_crypto.current().decrypt(row["bsn_encrypted"]) == bsn
    assert field_crypto.current().decrypt(row["name"]) == "Anna de Vries" and shown["name"] == "Anna de Vries"
    assert "months_unemployed" not in row["facts"] and field_crypto.current().decrypt(row["facts"]).startswith("{")
    assert shown["facts"]["months_unemployed"] == ELIGIBLE_FACTS["months_unemployed"]


def test_a_second_client_with_the_same_bsn_is_refused_by_its_hash_in_the_same_municipality_only(database):
    runtime = _runtime(database)
    http = api_client(runtime)
    bsn = _fresh_bsn()
    assert _register(http, bsn).status_code == 201
    again = _register(http, bsn)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "client.exists" and again.json()["errors"][0]["field"] == "bsn"
    assert len(_raw_rows(runtime.engine)) == 1, "nothing half-written"
    assert _register(http, bsn, headers=KM_UTRECHT).status_code == 201, "another municipality has its own clients"


def test_search_by_bsn_finds_the_client_in_its_own_municipality_only(database):
    runtime = _runtime(database)
    http = api_client(runtime)
    bsn, other = _fresh_bsn(), _fresh_bsn()
    client = _register(http, bsn).json()
    _register(http, other, headers=KM_UTRECHT)
    found = http.post("/intake/v1/clients/search", headers=KM, json={"bsn": bsn})
    assert found.status_code == 200, found.text
    assert [c["id"] for c in found.json()] == [client["id"]] and found.json()[0]["bsn"] == bsn
    dotted = f"{bsn[:4]}.{bsn[4:6]}.{bsn[6:]}"
    assert [c["id"] for c in http.post("/intake/v1/clients/search", headers=KM, json={"bsn": dotted}).json()] == [
        client["id"]
    ]
    assert http.post("/intake/v1/clients/search", headers=KM_UTRECHT, json={"bsn": bsn}).json() == []
    assert http.post("/intake/v1/clients/search", headers=KM, json={"bsn": other}).json() == []
    bad = http.post("/intake/v1/clients/search", headers=KM, json={"bsn": "123456789"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "bsn"
    assert bsn not in bad.text
    as_client = auth("client", "0014", client_id=client["id"])
    assert http.post("/intake/v1/clients/search", headers=as_client, json={"bsn": bsn}).status_code == 403
    assert http.post("/intake/v1/clients/search", headers=auth("finance", "0014"), json={"bsn": bsn}).status_code == 403


def test_no_bsn_reaches_a_log_line_and_a_row_no_key_opens_is_a_500_that_shows_nothing(database):
    runtime = _runtime(database)
    http = api_client(runtime)
    bsn = _fresh_bsn()
    with capture_logs() as logged:  # what the code hands the logger, before any redaction
        client = _register(http, bsn, email="anna@example.org").json()
        _register(http, bsn)
        http.post("/intake/v1/clients/search", headers=KM, json={"bsn": bsn})
        http.post("/intake/v1/clients/search", headers=KM, json={"bsn": bsn[:-1] + "0"})
        with runtime.engine.begin() as conn:  # a token made with a key that is not configured
            token = FieldCrypto([new_data_key()], HASH_KEY).encrypt(bsn)
            conn.execute(
                sa.text("UPDATE intake.client SET bsn_encrypted = :t WHERE id = :id"), {"t": token, "id": client["id"]}
            )
        unreadable = http.get(f"/intake/v1/clients/{client['id']}", headers=KM)
    assert unreadable.status_code == 500 and unreadable.headers["content-type"] == "application/problem+json"
    assert bsn not in unreadable.text
    assert logged, "the requests were logged"
    assert not [entry for entry in logged if bsn in repr(entry) or "anna@example.org" in repr(entry)]
    assert any("UnreadableField" in repr(entry) for entry in logged), "the 500 says why, in the log"


def _rotate_with_the_cli(database: dict[str, Any], keys: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRB_ENVIRONMENT": "test", "PRB_DATA_DIR": str(database["data_dir"])}
    env.update({"PRB_DATA_KEYS": keys, "PRB_BSN_HASH_KEY": HASH_KEY})
    env.pop("BROKER_URL", None), env.pop("DATABASE_URL", None)
    if "database_url" in database:
        env["DATABASE_URL"] = database["database_url"]
    return subprocess.run(
        [sys.executable, "-m", "eigenregie.entrypoints.cli", "keys", "rotate-data", "--batch-size", "2"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )


def test_rotation_moves_every_row_to_the_new_key_so_the_old_one_can_go(database):
    old, new = new_data_key(), new_data_key()
    before = _runtime(database, data_keys=old, bsn_hash_key=HASH_KEY)
    http = api_client(before)
    bsns = [_fresh_bsn() for _ in range(5)]
    ids = [_register(http, b, email=f"c{i}@example.org" if i % 2 else None).json()["id"] for i, b in enumerate(bsns)]
    before.engine.dispose()

    rotated = _rotate_with_the_cli(database, f"{new},{old}")
    assert rotated.returncode == 0, rotated.stderr
    assert "5 rows, 5 rewritten (17 fields" in rotated.stdout, "5 BSNs, 5 names, 5 sets of facts, 2 e-mail addresses"
    for bsn in bsns:
        assert bsn not in rotated.stdout + rotated.stderr
    again = _rotate_with_the_cli(database, f"{new},{old}")
    assert "5 rows, 0 rewritten" in again.stdout, "a second run writes nothing"

    after = _runtime(database, data_keys=new, bsn_hash_key=HASH_KEY)
    http = api_client(after)
    assert [http.get(f"/intake/v1/clients/{i}", headers=KM).json()["bsn"] for i in ids] == bsns
    assert http.get(f"/intake/v1/clients/{ids[1]}", headers=KM).json()["email"] == "c1@example.org"
    assert [c["id"] for c in http.post("/intake/v1/clients/search", headers=KM, json={"bsn": bsns[3]}).json()] == [
        ids[3]
    ]
    only_new = FieldCrypto([new], HASH_KEY)
    assert all(only_new.is_current(row["bsn_encrypted"]) for row in _raw_rows(after.engine))
    stale = _rotate_with_the_cli(database, new_data_key())
    assert stale.returncode != 0 and "PRB_DATA_KEYS" in stale.stderr, "a key ring that opens nothing says so"


def test_a_new_hash_key_takes_effect_after_rotation(database):
    runtime = _runtime(database)
    bsn = _fresh_bsn()
    client_id = _register(api_client(runtime), bsn).json()["id"]
    settings = Settings(environment="test", **database, bsn_hash_key=HASH_KEY)
    keys = field_crypto.configure(settings)
    assert rotate_client_keys(runtime.engine, keys).rehashed == 1
    http = api_client(migrated_runtime(settings))
    assert [c["id"] for c in http.post("/intake/v1/clients/search", headers=KM, json={"bsn": bsn}).json()] == [
        client_id
    ]
    assert _register(http, bsn).status_code == 409


# --- the migration --------------------------------------------------------------------------


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["intake"])
    yield engine
    engine.dispose()


def _columns(engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("client", schema="intake")}


def _unique(engine) -> dict[str, list[str]]:
    return {u["name"]: u["column_names"] for u in sa.inspect(engine).get_unique_constraints("client", schema="intake")}


def test_intake_0008_encrypts_plain_rows_moves_uniqueness_to_the_hash_and_goes_back(engine):
    field_crypto.configure(Settings(environment="test"))
    keys = field_crypto.current()
    migrations = load_service("intake").migrations
    upgrade(engine, "intake", migrations, "intake_0007")
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    plain = [
        {"id": f"c{n}", "bsn": _fresh_bsn(), "number": f"K{n}", "email": f"c{n}@example.org" if n % 2 else None}
        for n in range(3)
    ]
    with engine.begin() as conn:
        for row in plain:
            conn.execute(
                sa.text(
                    "INSERT INTO intake.client (id, municipality, bsn, client_number, name, email, phone, address, "
                    "language, scheme, benefit_type, facts, case_manager, created_at, updated_at) VALUES (:id, "
                    "'0014', :bsn, :number, 'Klant', :email, NULL, 'Straat 1', 'nl', 'prb', 'WWB', '{}', 'km', :at, :at)"
                ),
                {**row, "at": at},
            )
    upgrade(engine, "intake", migrations, "intake_0008")
    assert "bsn" not in _columns(engine) and {"bsn_encrypted", "bsn_hash"} <= _columns(engine)
    assert _unique(engine)["uq_client_bsn_hash"] == ["municipality", "bsn_hash"] and "uq_client_bsn" not in _unique(engine)
    rows = _raw_rows(engine)
    for row, was in zip(rows, plain, strict=True):
        assert was["bsn"] not in " ".join(str(v) for v in row.values())
        assert keys.decrypt(row["bsn_encrypted"]) == was["bsn"] and row["bsn_hash"] == keys.keyed_hash(was["bsn"])
        assert (row["email"] and keys.decrypt(row["email"])) == was["email"]
        assert row["phone"] is None and keys.decrypt(row["address"]) == "Straat 1"
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE intake.client SET bsn_hash = :h WHERE id = 'c1'"), {"h": rows[0]["bsn_hash"]}
        )

    downgrade(engine, "intake", migrations, "intake_0007")
    assert "bsn" in _columns(engine) and "bsn_encrypted" not in _columns(engine) and "bsn_hash" not in _columns(engine)
    assert "uq_client_bsn" in _unique(engine)
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT id, bsn, email, address FROM intake.client ORDER BY id")).all()
    assert [(r.id, r.bsn, r.email, r.address) for r in back] == [
        (p["id"], p["bsn"], p["email"], "Straat 1") for p in plain
    ]


def test_intake_0009_encrypts_the_facts_and_goes_back(engine):
    field_crypto.configure(Settings(environment="test"))
    keys = field_crypto.current()
    migrations = load_service("intake").migrations
    upgrade(engine, "intake", migrations, "intake_0008")
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    facts = {"months_unemployed": 7, "long_term_partially_disabled": True, "indication": "severe"}
    bsn = _fresh_bsn()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO intake.client (id, municipality, bsn_encrypted, bsn_hash, client_number, name, language, "
                "scheme, benefit_type, facts, case_manager, created_at, updated_at) VALUES ('c', '0014', :token, :hash, "
                "'K1', 'Klant', 'nl', 'prb', 'WWB', :facts, 'km', :at, :at)"
            ),
            {"token": keys.encrypt(bsn), "hash": keys.keyed_hash(bsn), "facts": json.dumps(facts), "at": at},
        )
    upgrade(engine, "intake", migrations, "intake_0009")
    [row] = _raw_rows(engine)
    assert "indication" not in row["facts"] and json.loads(keys.decrypt(row["facts"])) == facts
    downgrade(engine, "intake", migrations, "intake_0008")
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT facts FROM intake.client")).scalar_one()
    assert (json.loads(back) if isinstance(back, str) else back) == facts


def test_intake_0013_encrypts_the_name_and_goes_back(engine):
    field_crypto.configure(Settings(environment="test"))
    keys = field_crypto.current()
    migrations = load_service("intake").migrations
    upgrade(engine, "intake", migrations, "intake_0012")
    at = datetime(2026, 3, 2, 8, tzinfo=UTC)
    bsn = _fresh_bsn()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO intake.client (id, municipality, bsn_encrypted, bsn_hash, client_number, name, language, "
                "scheme, benefit_type, facts, case_manager, created_at, updated_at) VALUES ('c', '0014', :token, :hash, "
                "'K1', 'Fatima el Amrani', 'nl', 'prb', 'WWB', :facts, 'km', :at, :at)"
            ),
            {"token": keys.encrypt(bsn), "hash": keys.keyed_hash(bsn), "facts": keys.encrypt("{}"), "at": at},
        )
    upgrade(engine, "intake", migrations, "intake_0013")
    [row] = _raw_rows(engine)
    assert "Fatima" not in row["name"] and keys.decrypt(row["name"]) == "Fatima el Amrani"
    downgrade(engine, "intake", migrations, "intake_0012")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM intake.client")).scalar_one() == "Fatima el Amrani"
