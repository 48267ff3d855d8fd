"""Fields encrypted at rest (shared/field_crypto.py): Fernet tokens under the first data key, any
configured key decrypts, rotation, a clear error for a key that is not there, the keyed hash, and
the settings that refuse to start without keys outside dev."""

from __future__ import annotations

import hashlib

import pytest

from shared import field_crypto
from shared.config import DEV_SECRET, Settings
from shared.field_crypto import (
    DEV_BSN_HASH_KEY,
    DEV_DATA_KEY,
    EncryptedJSON,
    EncryptedText,
    FieldCrypto,
    UnreadableField,
    new_data_key,
    parse_data_keys,
)

BSN = "111222333"
HASH_KEY = "a-hash-key-of-at-least-thirty-two-characters"
OLD, NEW = new_data_key(), new_data_key()


def _production(**fields) -> Settings:
    values = dict(environment="production", jwt_secret="j" * 40, database_url="postgresql://x/y", broker_url="redis://x")
    return Settings(**{**values, **fields})


def test_a_value_comes_back_and_its_token_does_not_show_it():
    keys = FieldCrypto([NEW], HASH_KEY)
    token = keys.encrypt(BSN)
    assert BSN not in token and keys.decrypt(token) == BSN
    assert keys.encrypt(BSN) != token, "the same value encrypts differently each time (a fresh IV)"
    assert keys.decrypt(keys.encrypt("Straat 1, 9711 AA Groningen · é")) == "Straat 1, 9711 AA Groningen · é"


def test_the_first_key_encrypts_and_every_listed_key_decrypts():
    old_token = FieldCrypto([OLD], HASH_KEY).encrypt(BSN)
    both = FieldCrypto([NEW, OLD], HASH_KEY)
    assert both.decrypt(old_token) == BSN
    assert not both.is_current(old_token)
    new_token = both.encrypt(BSN)
    assert both.is_current(new_token)
    assert FieldCrypto([NEW], HASH_KEY).decrypt(new_token) == BSN


def test_rotation_moves_a_token_to_the_first_key_so_the_old_key_can_go():
    old_token = FieldCrypto([OLD], HASH_KEY).encrypt(BSN)
    rotated = FieldCrypto([NEW, OLD], HASH_KEY).rotate(old_token)
    assert FieldCrypto([NEW], HASH_KEY).decrypt(rotated) == BSN
    with pytest.raises(UnreadableField):
        FieldCrypto([OLD], HASH_KEY).decrypt(rotated)


def test_a_token_without_its_key_is_a_clear_error_that_names_the_setting_not_the_value():
    token = FieldCrypto([OLD], HASH_KEY).encrypt(BSN)
    with pytest.raises(UnreadableField, match="PRB_DATA_KEYS") as caught:
        FieldCrypto([NEW], HASH_KEY).decrypt(token)
    assert BSN not in str(caught.value) and OLD not in str(caught.value)
    with pytest.raises(UnreadableField, match="cannot be rotated"):
        FieldCrypto([NEW], HASH_KEY).rotate(token)
    with pytest.raises(UnreadableField):
        FieldCrypto([NEW], HASH_KEY).decrypt("not a token")


def test_the_keyed_hash_is_stable_and_depends_on_its_key():
    one, again = FieldCrypto([NEW], HASH_KEY), FieldCrypto([OLD], HASH_KEY)
    assert one.keyed_hash(BSN) == again.keyed_hash(BSN), "the data keys do not change the hash"
    assert len(one.keyed_hash(BSN)) == 64 and one.keyed_hash(BSN) != one.keyed_hash("111222334")
    assert FieldCrypto([NEW], HASH_KEY + "x").keyed_hash(BSN) != one.keyed_hash(BSN)
    assert one.keyed_hash(BSN) != hashlib.sha256(BSN.encode()).hexdigest(), "not a plain hash anyone can compute"


def test_a_short_hash_key_and_no_data_key_are_refused():
    with pytest.raises(ValueError, match="32"):
        FieldCrypto([NEW], "short")
    with pytest.raises(ValueError, match="data key"):
        FieldCrypto([], HASH_KEY)


def test_the_key_list_is_read_first_to_last_and_a_bad_key_is_named_by_its_place_only():
    assert parse_data_keys(f" {NEW} , {OLD},") == [NEW, OLD]
    assert parse_data_keys("") == []
    with pytest.raises(ValueError, match="key 2 of 2") as caught:
        parse_data_keys(f"{NEW},not-a-fernet-key")
    assert "not-a-fernet-key" not in str(caught.value)


def test_dev_and_test_use_derived_keys_without_set_up():
    keys = field_crypto.from_settings(Settings(environment="test"))
    assert keys.decrypt(FieldCrypto([DEV_DATA_KEY], DEV_BSN_HASH_KEY).encrypt(BSN)) == BSN
    assert keys.keyed_hash(BSN) == FieldCrypto([DEV_DATA_KEY], DEV_BSN_HASH_KEY).keyed_hash(BSN)


def test_production_refuses_to_start_without_its_own_keys():
    with pytest.raises(ValueError, match="PRB_DATA_KEYS"):
        _production(bsn_hash_key=HASH_KEY)
    with pytest.raises(ValueError, match="PRB_DATA_KEYS"):
        _production(data_keys=DEV_DATA_KEY, bsn_hash_key=HASH_KEY)
    with pytest.raises(ValueError, match="PRB_BSN_HASH_KEY"):
        _production(data_keys=NEW)
    with pytest.raises(ValueError, match="PRB_BSN_HASH_KEY"):
        _production(data_keys=NEW, bsn_hash_key=DEV_BSN_HASH_KEY)
    with pytest.raises(ValueError, match="PRB_BSN_HASH_KEY"):
        Settings(environment="acceptance", jwt_secret=DEV_SECRET + "x", database_url="postgresql://x/y",
                 broker_url="redis://x", data_keys=NEW, bsn_hash_key="short")
    settings = _production(data_keys=f"{NEW},{OLD}", bsn_hash_key=HASH_KEY)
    assert field_crypto.from_settings(settings).key_count == 2
    assert NEW not in repr(settings) and HASH_KEY not in repr(settings)


def test_a_malformed_key_is_refused_in_dev_too():
    with pytest.raises(ValueError, match="key 1 of 1"):
        Settings(environment="dev", data_keys="nonsense")


def test_the_column_type_stores_tokens_and_reads_values_under_the_configured_keys():
    column = EncryptedText()
    field_crypto.configure(Settings(environment="test", data_keys=f"{NEW},{OLD}", bsn_hash_key=HASH_KEY))
    try:
        token = column.process_bind_param(BSN, None)
        assert token is not None and BSN not in token
        assert FieldCrypto([NEW], HASH_KEY).decrypt(token) == BSN
        assert column.process_result_value(FieldCrypto([OLD], HASH_KEY).encrypt(BSN), None) == BSN
        assert column.process_bind_param(None, None) is None and column.process_result_value(None, None) is None
        document = EncryptedJSON()
        facts = {"long_term_partially_disabled": True, "indication": "severe", "months_unemployed": 7}
        token = document.process_bind_param(facts, None)
        assert token is not None and "indication" not in token
        assert document.process_result_value(token, None) == facts
    finally:
        field_crypto.configure(Settings(environment="test"))


def test_a_refused_configuration_never_echoes_a_key_or_secret():
    data_key, secret = new_data_key(), "a-jwt-secret-that-is-long-enough-0123456789"
    with pytest.raises(ValueError) as caught:
        _production(jwt_secret=secret, data_keys=data_key, bsn_hash_key="short-hash-key")
    assert "PRB_BSN_HASH_KEY" in str(caught.value)
    for value in (data_key, secret, "short-hash-key"):
        assert value not in str(caught.value)
