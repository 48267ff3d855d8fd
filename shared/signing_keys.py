"""The keys that sign our tokens (the API's bearer tokens and the local issuer's ID tokens), and the
JWKS that publishes their public halves.

`PRB_SIGNING_KEYS` holds private keys as PEM (RSA: RS256, EC P-256: ES256), the PEM text itself or
paths of PEM files (separated by commas), several keys one after another. The first signs; every
one is published in the JWKS and validates, so a token signed with the previous key stays valid
while that key is still listed (docs/operations.md "Keys: signing keys and rotation"). A public key
(BEGIN PUBLIC KEY) may be listed too: it only validates, for a key on its way out. Each key's `kid`
is its RFC 7638 thumbprint, so a key keeps its kid wherever it is configured.

Not set in dev and test: one development ES256 key derived from `jwt_secret` (nothing to set up, the
same key after a restart, another secret gives another key). Refused in acceptance and production
(`require_configured`, called when an app or the CLI starts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from shared.config import Settings

PEM_BEGIN = "-----BEGIN"
_DEV_KEY_LABEL = b"eigen-regie dev-only signing key"
# The order of the group of P-256: a derived private value must lie in [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class SigningKeyError(ValueError):
    """PRB_SIGNING_KEYS is malformed, or missing where development keys are refused."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str  # RS256 or ES256
    public: PublicKey
    private: PrivateKey | None  # None: a published key that only validates

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = _jwk(self.public)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


@dataclass(frozen=True)
class KeySet:
    keys: tuple[SigningKey, ...]
    development: bool = False

    @property
    def signing(self) -> SigningKey:
        return self.keys[0]

    def by_kid(self, kid: str | None) -> SigningKey | None:
        return next((k for k in self.keys if k.kid == kid), None)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk() for k in self.keys]}


def key_set(settings: Settings) -> KeySet:
    """The configured keys (cached per configuration): a malformed one is refused."""
    return _key_set(settings.signing_keys, settings.jwt_secret, settings.environment)


def require_configured(settings: Settings) -> None:
    """Refuses the development key where it must not be used; a malformed key anywhere."""
    keys = key_set(settings)
    if keys.development and settings.environment in ("acceptance", "production") and not settings.jwks_url:
        raise SigningKeyError(
            f"PRB_SIGNING_KEYS must be set in {settings.environment} (a PEM private key, RSA or EC P-256; "
            "`prb keys new-signing-key` makes one), or PRB_JWKS_URL for a process that only validates"
        )


@lru_cache(maxsize=16)
def _key_set(configured: str, jwt_secret: str, environment: str) -> KeySet:
    if not configured.strip():
        return KeySet((_from_private(_development_key(jwt_secret)),), development=True)
    keys = tuple(_from_pem(pem) for pem in _pems(configured))
    if not keys:
        raise SigningKeyError("PRB_SIGNING_KEYS holds no PEM key")
    if keys[0].private is None:
        raise SigningKeyError("PRB_SIGNING_KEYS: the first key signs, so it must be a private key")
    return KeySet(keys)


def _pems(configured: str) -> list[str]:
    text = configured.strip()
    if not text.startswith(PEM_BEGIN):
        parts = []
        for path in (p.strip() for p in text.split(",") if p.strip()):
            try:
                parts.append(Path(path).read_text(encoding="ascii"))
            except OSError as exc:
                raise SigningKeyError(f"PRB_SIGNING_KEYS: cannot read the key file ({type(exc).__name__})") from None
        text = "\n".join(parts)
    blocks, current = [], []
    for line in text.replace("\\n", "\n").splitlines():
        line = line.strip()
        if line.startswith(PEM_BEGIN):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith("-----END"):
                blocks.append("\n".join(current) + "\n")
                current = []
    return blocks


def _from_pem(pem: str) -> SigningKey:
    data = pem.encode("ascii")
    try:
        if "PUBLIC KEY" in pem.splitlines()[0]:
            public = serialization.load_pem_public_key(data)
            if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
                raise SigningKeyError("PRB_SIGNING_KEYS: only RSA and EC P-256 keys")
            return _key(public, None)
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise SigningKeyError("PRB_SIGNING_KEYS: a key is not a readable unencrypted PEM key") from None
    if not isinstance(private, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise SigningKeyError("PRB_SIGNING_KEYS: only RSA and EC P-256 keys")
    return _from_private(private)


def _from_private(private: PrivateKey) -> SigningKey:
    return _key(private.public_key(), private)


def _key(public: PublicKey, private: PrivateKey | None) -> SigningKey:
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < 2048:
            raise SigningKeyError("PRB_SIGNING_KEYS: an RSA key needs at least 2048 bits")
        algorithm = "RS256"
    elif isinstance(public.curve, ec.SECP256R1):
        algorithm = "ES256"
    else:
        raise SigningKeyError("PRB_SIGNING_KEYS: an EC key must be on P-256 (ES256)")
    return SigningKey(kid=thumbprint(_jwk(public)), algorithm=algorithm, public=public, private=private)


def _jwk(public: PublicKey) -> dict[str, Any]:
    if isinstance(public, rsa.RSAPublicKey):
        return RSAAlgorithm.to_jwk(public, as_dict=True)
    return ECAlgorithm.to_jwk(public, as_dict=True)


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the key's required members, sorted, without spaces; base64url."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _development_key(jwt_secret: str) -> ec.EllipticCurvePrivateKey:
    digest = hmac.new(jwt_secret.encode(), _DEV_KEY_LABEL, hashlib.sha512).digest()
    value = int.from_bytes(digest, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(value, ec.SECP256R1())


def new_private_key_pem(kind: str = "rsa") -> str:
    """A new private key as PEM, for PRB_SIGNING_KEYS (`prb keys new-signing-key`)."""
    key: PrivateKey = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 3072)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
