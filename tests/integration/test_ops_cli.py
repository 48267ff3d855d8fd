"""The deploy scripts for ops, run as ops run them (`prb ...` as a process): a municipality made
from a preset and a partner application registered are what the API then reads and accepts; bad
input names the argument and writes nothing; a PostgreSQL backup restored into a fresh database
(and an embedded backup into a fresh directory) has the data, the BSN still decrypts and the audit
chains still verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from eigenregie.initial_data import test_bsn as bsn_of
from shared.config import Settings
from tests.support.auth import auth
from tests.support.databases import scratch_database
from tests.support.environment import REPO
from tests.support.runtime import migrated_runtime
from tests.support.world import api_client, make_case, migrated_app

TOKEN = "/intake/v1/oauth/token"


def prb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eigenregie.entrypoints.cli", *args],
        cwd=REPO, env={**os.environ, "PRB_ENVIRONMENT": "test", **env}, capture_output=True, text=True, timeout=120,
    )


def prb_here(monkeypatch, capsys, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """The same command in this process (quicker, for the many bad-input cases): exit code, out, err."""
    from eigenregie.entrypoints.cli import main
    from shared.config import get_settings

    for name, value in {"PRB_ENVIRONMENT": "test", **env}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    return code, out, err


def _sqlite_world(tmp_path: Path):
    runtime = migrated_runtime(Settings(data_dir=tmp_path / "data", environment="test"))
    return runtime, api_client(runtime), {"PRB_DATA_DIR": str(tmp_path / "data")}


# --- municipality create ---------------------------------------------------------------------------


def test_a_municipality_made_from_a_preset_has_that_policy_for_its_own_code_in_the_api(tmp_path):
    runtime, http, env = _sqlite_world(tmp_path)
    done = prb(env, "municipality", "create", "--code", "0363", "--name", "Amsterdam", "--preset", "groningen",
               "--maximum", "6000", "--iban", "NL91ABNA0417164300", "--by", "ops-piet")
    assert done.returncode == 0, done.stderr
    assert "municipality 0363 Amsterdam: policy from preset Groningen" in done.stdout

    with http:
        policy = http.get("/intake/v1/policy", headers=auth("policy", "0363")).json()
        changes = http.get("/intake/v1/policy/changes", headers=auth("policy", "0363")).json()
        finance = http.get("/budget/v1/finance-policy", headers=auth("finance", "0363")).json()
    assert (policy["municipality_code"], policy["municipality_name"]) == ("0363", "Amsterdam")
    assert policy["schemes"][0] == {"scheme": "prb", "maximum_budget": "6000.00", "per_year": False,
                                    "indication_maximums": {}}
    assert [s["scheme"] for s in policy["schemes"]] == ["prb", "pgb_bw"]
    assert policy["review_model"] == "marginal"
    # Groningen's residence rule names Groningen; Amsterdam's must name Amsterdam.
    resident = [r for r in policy["admission_rules"] if r["kind"] == "resident"]
    assert resident == [{"kind": "resident", "municipality_codes": ["0363"]}]
    assert {"kind": "min_months_unemployed", "months": 6} in policy["admission_rules"]
    items = changes["items"] if isinstance(changes, dict) else changes
    assert items[0]["changed_by"] == "ops-piet"
    assert finance["name"] == "Amsterdam" and finance["debtor_iban"] == "NL91ABNA0417164300"
    assert finance["client_confirms_provider_invoices"] is True  # as the preset's client_confirms_invoices

    again = prb(env, "municipality", "create", "--code", "0363", "--name", "Amsterdam", "--preset", "utrecht")
    assert again.returncode == 2 and "--code" in again.stderr and "--replace" in again.stderr
    with http:
        assert http.get("/intake/v1/policy", headers=auth("policy", "0363")).json()["review_model"] == "marginal"

    replaced = prb(env, "municipality", "create", "--code", "0363", "--name", "Amsterdam", "--preset", "utrecht",
                   "--replace")
    assert replaced.returncode == 0, replaced.stderr
    with http:
        assert http.get("/intake/v1/policy", headers=auth("policy", "0363")).json()["review_model"] == "reciprocal"


def test_municipality_create_names_the_bad_argument_and_writes_nothing(tmp_path, monkeypatch, capsys):
    runtime, http, env = _sqlite_world(tmp_path)
    base = {"--code": "0362", "--name": "Alkmaar", "--preset": "utrecht"}
    cases = [
        ({"--code": "362"}, "--code"),
        ({"--preset": "leiden"}, "--preset"),
        ({"--maximum": "vijfduizend"}, "--maximum"),
        ({"--maximum": "0"}, "--maximum"),
        ({"--maximum": "12.345"}, "--maximum"),
        ({"--iban": "NL00BANK0000000000"}, "--iban"),
        ({"--name": " "}, "--name"),
    ]
    for change, argument in cases:
        args = {**base, **change}
        code, out, err = prb_here(monkeypatch, capsys, env, "municipality", "create",
                                  *[x for pair in args.items() for x in pair])
        assert code == 2, (change, out, err)
        assert f"prb municipality create: {argument}:" in err, (change, err)
    with http:
        policy = http.get("/intake/v1/policy", headers=auth("policy", "0362")).json()
        changes = http.get("/intake/v1/policy/changes", headers=auth("policy", "0362")).json()
        finance = http.get("/budget/v1/finance-policy", headers=auth("finance", "0362")).json()
    assert policy["municipality_name"] == "Gemeente 0362"  # still the neutral default: nothing stored
    assert (changes["items"] if isinstance(changes, dict) else changes) == []
    assert finance["name"] != "Alkmaar"


# --- partner applications -------------------------------------------------------------------------


def _credentials(stdout: str) -> tuple[str, str, str]:
    lines = dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)
    app_id = stdout.split("partner application ", 1)[1].split()[0]
    return app_id, lines["client_id"], lines["client_secret"]


def _token(http, client_id: str, secret: str) -> int:
    return int(http.post(TOKEN, data={"grant_type": "client_credentials", "client_id": client_id,
                                      "client_secret": secret}).status_code)


def test_a_registered_partner_gets_its_secret_once_and_signs_in_with_it_until_rotated_or_revoked(tmp_path):
    runtime, http, env = _sqlite_world(tmp_path)
    done = prb(env, "partners", "register", "--municipality", "0014", "--name", "Coach BV", "--kvk", "12345678",
               "--kind", "coach", "--scope", "progress:write", "--scope", "clients:read-own")
    assert done.returncode == 0, done.stderr
    app_id, client_id, secret = _credentials(done.stdout)
    assert secret not in done.stderr  # the log line names the application, never the secret
    with http:
        assert _token(http, client_id, secret) == 200
        listed = http.get("/intake/v1/partner-apps", headers=auth("ops", "0014")).json()
    assert [a["client_id"] for a in (listed["items"] if isinstance(listed, dict) else listed)] == [client_id]
    shown = prb(env, "partners", "list", "--municipality", "0014")
    assert client_id in shown.stdout and secret not in shown.stdout

    rotated = prb(env, "partners", "rotate", app_id, "--municipality", "0014")
    assert rotated.returncode == 0, rotated.stderr
    _, same_client, new_secret = _credentials(rotated.stdout)
    with http:
        assert same_client == client_id and _token(http, client_id, secret) != 200
        assert _token(http, client_id, new_secret) == 200

    other = prb(env, "partners", "revoke", app_id, "--municipality", "0344")
    assert other.returncode == 2 and "id:" in other.stderr  # another municipality's application: not found
    revoked = prb(env, "partners", "revoke", app_id, "--municipality", "0014")
    assert revoked.returncode == 0, revoked.stderr
    with http:
        assert _token(http, client_id, new_secret) != 200


def test_partner_register_names_the_bad_argument(tmp_path, monkeypatch, capsys):
    _runtime, http, env = _sqlite_world(tmp_path)
    good = {"--municipality": "0014", "--name": "Coach BV", "--kvk": "12345678", "--kind": "coach",
            "--scope": "progress:write"}
    for change, argument in (({"--kvk": "1234"}, "--kvk"), ({"--kind": "koch"}, "--kind"),
                             ({"--scope": "everything"}, "--scope"), ({"--municipality": "14"}, "--municipality")):
        args = {**good, **change}
        code, _out, err = prb_here(monkeypatch, capsys, env, "partners", "register",
                                   *[x for pair in args.items() for x in pair])
        assert code == 2 and f"prb partners register: {argument}:" in err, (change, err)
    with http:
        listed = http.get("/intake/v1/partner-apps", headers=auth("ops", "0014")).json()
    assert (listed["items"] if isinstance(listed, dict) else listed) == []


# --- backup and restore ---------------------------------------------------------------------------


def _read_back(runtime, case, bsn: str) -> None:
    km = auth("case_manager", "0014")
    with api_client(runtime) as http:
        client = http.get(f"/intake/v1/clients/{case.client_id}", headers=km)
        plan = http.get(f"/intake/v1/plans/{case.plan_id}", headers=km)
        budget = http.get(f"/budget/v1/budgets/{case.budget_id}", headers=auth("finance", "0014"))
    assert client.status_code == 200, client.text
    assert client.json()["bsn"] == bsn  # decrypted with the same keys
    assert plan.status_code == 200 and plan.json()["status"] == "approved"
    assert budget.status_code == 200, budget.text


def test_a_postgresql_backup_restored_into_a_fresh_database_has_the_data_and_a_verifying_audit_chain(
    request, tmp_path, pg_admin_url
):
    runtime, http = migrated_app(request, tmp_path, "postgresql")
    with http:
        case = make_case(http, runtime, "0014", 81)
    source_url = runtime.settings.database_url
    assert source_url
    dump = tmp_path / "prb.dump"
    done = prb({"DATABASE_URL": source_url}, "db", "backup", "--to", str(dump))
    assert done.returncode == 0, done.stderr
    assert dump.read_bytes()[:5] == b"PGDMP"
    again = prb({"DATABASE_URL": source_url}, "db", "backup", "--to", str(dump))
    assert again.returncode == 2 and "--to:" in again.stderr

    with scratch_database(pg_admin_url, prefix="prb_restore") as target:
        env = {"DATABASE_URL": target}
        restored = prb(env, "db", "restore", "--from", str(dump), "--to-url", target)
        assert restored.returncode == 0, restored.stderr
        migrated = prb(env, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        restored_runtime = build_restored(target)
        _read_back(restored_runtime, case, bsn_of(81))
        with restored_runtime.engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT bsn_encrypted FROM intake.client WHERE id = :id"),
                                  {"id": case.client_id})
            assert bsn_of(81) not in str(stored.scalar_one())  # at rest it is still ciphertext
        restored_runtime.engine.dispose()
        verified = prb(env, "audit", "verify", "--municipality", "0014")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert all(result["ok"] for result in json.loads(verified.stdout).values())

        refused = prb(env, "db", "restore", "--from", str(dump), "--to-url", target)
        assert refused.returncode == 2 and "--to-url:" in refused.stderr and "not empty" in refused.stderr
        forced = prb(env, "db", "restore", "--from", str(dump), "--to-url", target, "--force")
        assert forced.returncode == 0, forced.stderr


def build_restored(url: str):
    from eigenregie.bootstrap import build_runtime

    return build_runtime(Settings(database_url=url, environment="test"))


def test_restore_refuses_what_is_not_a_backup_and_backup_says_when_pg_dump_is_missing(tmp_path, fresh_pg_url):
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello")
    done = prb({}, "db", "restore", "--from", str(not_a_dump), "--to-url", fresh_pg_url)
    assert done.returncode == 2 and "--from:" in done.stderr and "pg_dump custom-format" in done.stderr
    done = prb({}, "db", "restore", "--from", str(tmp_path / "missing.dump"), "--to-url", fresh_pg_url)
    assert done.returncode == 2 and "--from:" in done.stderr

    no_tools = {"DATABASE_URL": fresh_pg_url, "PATH": str(tmp_path / "empty-bin")}
    done = prb(no_tools, "db", "backup", "--to", str(tmp_path / "x.dump"))
    assert done.returncode == 1 and "pg_dump not found on PATH" in done.stderr
    assert not (tmp_path / "x.dump").exists()


def test_an_embedded_backup_restored_into_a_fresh_directory_has_the_data(tmp_path):
    runtime, http, env = _sqlite_world(tmp_path)
    with http:
        case = make_case(http, runtime, "0014", 82)
    done = prb(env, "db", "backup", "--to", str(tmp_path / "backup"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == [
        "eigenregie.db", "eigenregie_budget.db", "eigenregie_intake.db", "eigenregie_monitoring.db",
        "eigenregie_notifications.db"]

    target = tmp_path / "restored" / "eigenregie.db"
    done = prb(env, "db", "restore", "--from", str(tmp_path / "backup"), "--to-url", f"sqlite:///{target}")
    assert done.returncode == 0, done.stderr
    restored_env = {"PRB_DATA_DIR": str(target.parent)}
    assert prb(restored_env, "migrate").returncode == 0
    restored = migrated_runtime(Settings(data_dir=target.parent, environment="test"))
    _read_back(restored, case, bsn_of(82))
    refused = prb(env, "db", "restore", "--from", str(tmp_path / "backup"), "--to-url", f"sqlite:///{target}")
    assert refused.returncode == 2 and "--to-url:" in refused.stderr
