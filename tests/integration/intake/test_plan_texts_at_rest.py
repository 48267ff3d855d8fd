"""A plan's texts encrypted at rest (issue 13), on SQLite and PostgreSQL: the raw plan and
plan-version rows hold tokens, the API shows the texts, `prb keys rotate-data` moves them to a new
key, and migration intake_0014 converts plain rows and goes back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from eigenregie.bootstrap import load_service
from eigenregie.initial_data import ELIGIBLE_FACTS, example_plan
from eigenregie.initial_data import test_bsn as bsn_of
from services.intake.data_keys import rotate_other_keys
from shared import field_crypto
from shared.config import Settings
from shared.db import create_db_engine
from shared.field_crypto import FieldCrypto, new_data_key
from shared.migrations import downgrade, upgrade
from tests.support.auth import auth
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client

KM = auth("case_manager", "0014")
SITUATION = "Ik heb schulden en een burn-out gehad."
HASH_KEY = "a-test-bsn-hash-key-of-at-least-32-characters"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> dict:
    if request.param == "sqlite":
        return {"data_dir": tmp_path / "data"}
    return {"database_url": request.getfixturevalue("fresh_pg_url"), "data_dir": tmp_path / "data"}


@pytest.fixture(autouse=True)
def default_keys_afterwards():
    yield
    field_crypto.configure(Settings(environment="test"))


def _raw(engine, table: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(f"SELECT id, content FROM intake.{table}")).mappings()]


def test_the_raw_plan_rows_hold_no_plan_text_but_the_api_shows_it_and_rotation_moves_them(database):
    old, new = new_data_key(), new_data_key()
    runtime = migrated_runtime(Settings(environment="test", data_keys=old, bsn_hash_key=HASH_KEY, **database))
    http = api_client(runtime)
    r = http.post("/intake/v1/clients", headers=KM, json={
        "bsn": bsn_of(951), "client_number": "K951", "name": "Klant 951", "facts": ELIGIBLE_FACTS})
    assert r.status_code == 201, r.text
    plan = example_plan("Heftruck", [("Cursus", "training_skills", "Opleider BV", "900.00")])
    plan["foreword"]["situation"] = SITUATION
    r = http.post("/intake/v1/plans", headers=KM, json={"client_id": r.json()["id"], **plan})
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]
    assert http.get(f"/intake/v1/plans/{plan_id}", headers=KM).json()["content"]["foreword"]["situation"] == SITUATION
    for table in ("plan", "plan_version"):
        [row] = _raw(runtime.engine, table)
        assert SITUATION not in row["content"] and "foreword" not in row["content"]
        assert json.loads(field_crypto.current().decrypt(row["content"]))["foreword"]["situation"] == SITUATION

    keys = FieldCrypto([new, old], HASH_KEY)
    assert [str(r) for r in rotate_other_keys(runtime.engine, keys, batch_size=1)] == [
        "intake.plan: 1 rows, 1 rewritten", "intake.plan_version: 1 rows, 1 rewritten"]
    assert [r.rewritten for r in rotate_other_keys(runtime.engine, keys)] == [0, 0], "a second run writes nothing"
    runtime.engine.dispose()
    after = migrated_runtime(Settings(environment="test", data_keys=new, bsn_hash_key=HASH_KEY, **database))
    shown = api_client(after).get(f"/intake/v1/plans/{plan_id}", headers=KM).json()
    assert shown["content"]["foreword"]["situation"] == SITUATION
    after.engine.dispose()


@pytest.fixture
def engine(empty_database_url):
    engine = create_db_engine(empty_database_url, schemas=["intake"])
    yield engine
    engine.dispose()


def test_intake_0014_encrypts_the_plan_versions_texts_and_goes_back(engine):
    field_crypto.configure(Settings(environment="test"))
    keys = field_crypto.current()
    migrations = load_service("intake").migrations
    upgrade(engine, "intake", migrations, "intake_0013")
    content = {"foreword": {"situation": SITUATION}, "budget": {"lines": []}}
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO intake.plan_version (id, plan_id, number, kind, content, sha256, created_by, created_at) "
                "VALUES ('v1', 'p1', 1, 'draft', :content, 'x', 'km', :at)"
            ),
            {"content": json.dumps(content), "at": datetime(2026, 3, 2, 8, tzinfo=UTC)},
        )
    upgrade(engine, "intake", migrations, "intake_0014")
    [row] = _raw(engine, "plan_version")
    assert SITUATION not in row["content"] and json.loads(keys.decrypt(row["content"])) == content
    downgrade(engine, "intake", migrations, "intake_0013")
    [row] = _raw(engine, "plan_version")
    assert (json.loads(row["content"]) if isinstance(row["content"], str) else row["content"]) == content
