import json
from datetime import timedelta

import pytest
import structlog

from shared.auth import Principal, Role, decode_token, issue_token
from shared.config import DEV_SECRET, Settings
from shared.field_crypto import new_data_key
from shared.logging import configure_logging
from shared.problems import Problem


def test_embedded_is_the_default_and_uses_sqlite_under_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.embedded and settings.effective_database_url.startswith("sqlite:///")


def test_production_refuses_the_default_secret():
    with pytest.raises(ValueError, match="PRB_JWT_SECRET"):
        Settings(environment="production", jwt_secret=DEV_SECRET, database_url="postgresql://x/y",
                 broker_url="redis://x")


def test_production_refuses_a_short_secret():
    with pytest.raises(ValueError, match="32 characters"):
        Settings(environment="production", jwt_secret="short", database_url="postgresql://x/y", broker_url="redis://x")


def test_production_accepts_a_real_secret():
    s = Settings(environment="production", jwt_secret="x" * 40, database_url="postgresql://x/y", broker_url="redis://x",
                 data_keys=new_data_key(), bsn_hash_key="h" * 40)
    assert not s.embedded


def test_distributed_mode_refuses_sqlite():
    with pytest.raises(ValueError, match="PostgreSQL"):
        Settings(database_url="sqlite:///x.db", broker_url="redis://x")


def test_token_round_trip_keeps_role_municipality_and_client():
    settings = Settings()
    principal = Principal(subject="c-1", role=Role.CLIENT, municipality="0344", client_id="abc")
    assert decode_token(issue_token(principal, settings), settings) == principal


def test_expired_token_is_refused():
    settings = Settings()
    token = issue_token(Principal(subject="s", role=Role.FINANCE, municipality="0014"), settings, timedelta(seconds=-1))
    with pytest.raises(Problem) as err:
        decode_token(token, settings)
    assert err.value.status == 401


def test_token_signed_with_another_secret_is_refused():
    token = issue_token(Principal(subject="s", role=Role.OPS, municipality="0014"), Settings(jwt_secret="y" * 40))
    with pytest.raises(Problem):
        decode_token(token, Settings())


def test_client_token_without_client_id_is_refused():
    settings = Settings()
    token = issue_token(Principal(subject="s", role=Role.CLIENT, municipality="0014"), settings)
    with pytest.raises(Problem):
        decode_token(token, settings)


def test_logs_never_show_a_bsn_or_personal_fields(capsys):
    configure_logging("INFO", json=True)
    structlog.get_logger("t").info("client.registered", note="bsn 111222333 given", name="Jan", client_id="c-1")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert "111222333" not in line["note"] and line["name"] == "[redacted]" and line["client_id"] == "c-1"
