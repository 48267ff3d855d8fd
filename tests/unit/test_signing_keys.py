"""Signing keys: PEMs from PRB_SIGNING_KEYS, a kid per key (its RFC 7638 thumbprint), the
first signs and every one validates while listed; the development key; refusals."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.auth import Principal, Role, decode_token, issue_token
from shared.config import Settings
from shared.field_crypto import new_data_key
from shared.problems import Problem
from shared.signing_keys import SigningKeyError, key_set, new_private_key_pem, require_configured, thumbprint

RSA_OLD, RSA_NEW, EC = new_private_key_pem("rsa"), new_private_key_pem("rsa"), new_private_key_pem("ec")
WHO = Principal(subject="km-0014", role=Role.CASE_MANAGER, municipality="0014")


def _settings(keys: str = "", **fields) -> Settings:
    return Settings(signing_keys=keys, **fields)


def test_the_first_key_signs_every_key_is_published_and_each_has_its_thumbprint_as_kid():
    keys = key_set(_settings(RSA_NEW + RSA_OLD + EC))
    assert [k.algorithm for k in keys.keys] == ["RS256", "RS256", "ES256"] and keys.signing is keys.keys[0]
    published = keys.jwks()["keys"]
    assert [k["kid"] for k in published] == [k.kid for k in keys.keys] and len({k.kid for k in keys.keys}) == 3
    assert all("d" not in k and k["use"] == "sig" for k in published), "only public halves are published"
    # RFC 7638's own example (section 3.1) gives its documented thumbprint.
    example = {
        "kty": "RSA",
        "e": "AQAB",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB"
            "ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8"
            "KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_"
            "xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
    }
    assert thumbprint(example) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert key_set(_settings(EC + RSA_OLD)).keys[1].kid == keys.keys[1].kid, "a key keeps its kid wherever it is"


def test_a_token_names_its_key_and_stays_valid_while_that_key_is_listed():
    old = _settings(RSA_OLD)
    token = issue_token(WHO, old)
    assert jwt.get_unverified_header(token)["kid"] == key_set(old).signing.kid
    rotated = _settings(RSA_NEW + RSA_OLD)
    assert decode_token(token, rotated) == WHO
    assert jwt.get_unverified_header(issue_token(WHO, rotated))["kid"] == key_set(_settings(RSA_NEW)).signing.kid
    with pytest.raises(Problem) as refused:
        decode_token(token, _settings(RSA_NEW))  # the old key removed
    assert refused.value.status == 401
    # A retiring key listed by its public half only validates.
    retiring = _settings(RSA_NEW + _public_pem(old))
    assert decode_token(token, retiring) == WHO and key_set(retiring).keys[1].private is None


def test_hs256_tokens_and_tokens_without_a_known_kid_are_refused():
    settings = _settings(RSA_OLD)
    claims = {"sub": "x", "role": "ops", "municipality": "0014", "iss": settings.jwt_issuer, "exp": 4102444800}
    forged = [
        jwt.encode(claims, settings.jwt_secret, algorithm="HS256"),  # the old scheme, with the shared secret
        jwt.encode(claims, key_set(_settings(RSA_NEW)).signing.private, algorithm="RS256"),  # no kid
        jwt.encode(claims, key_set(_settings(RSA_NEW)).signing.private, algorithm="RS256", headers={"kid": "made-up"}),
        jwt.encode(
            claims,
            key_set(_settings(RSA_NEW)).signing.private,
            algorithm="RS256",
            headers={"kid": key_set(settings).signing.kid},  # our kid, another key
        ),
    ]
    for token in forged:
        with pytest.raises(Problem) as refused:
            decode_token(token, settings)
        assert refused.value.status == 401


def test_the_development_key_needs_no_set_up_and_follows_the_jwt_secret():
    dev = key_set(Settings())
    assert dev.development and dev.signing.algorithm == "ES256"
    assert key_set(Settings()).signing.kid == dev.signing.kid, "the same key after a restart"
    assert key_set(Settings(jwt_secret="y" * 40)).signing.kid != dev.signing.kid
    require_configured(Settings())  # fine in dev


def test_production_refuses_the_development_key_and_malformed_keys_anywhere():
    production = {
        "environment": "production",
        "jwt_secret": "j" * 40,
        "database_url": "postgresql://x/y",
        "broker_url": "redis://x",
        "data_keys": new_data_key(),
        "bsn_hash_key": "h" * 40,
    }
    with pytest.raises(SigningKeyError, match="PRB_SIGNING_KEYS must be set in production"):
        require_configured(Settings(**production))
    require_configured(Settings(**production, signing_keys=EC))
    require_configured(Settings(**production, jwks_url="http://web/.well-known/jwks.json"))
    for bad, why in (
        ("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----", "readable"),
        (_public_pem(_settings(EC)), "first key signs"),
        ("/nonexistent/key.pem", "cannot read"),
    ):
        with pytest.raises(SigningKeyError, match=why) as refused:
            key_set(_settings(bad))
        assert "not a key" not in str(refused.value), "the error never echoes the value"
    assert "PRIVATE" not in repr(_settings(RSA_OLD)), "the keys are not in the settings' repr"


def _public_pem(settings: Settings) -> str:
    public = key_set(settings).signing.public
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
