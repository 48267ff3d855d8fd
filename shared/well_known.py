"""/.well-known/jwks.json: the public halves of the signing keys (shared/signing_keys.py), for
whoever validates our tokens (a service with `jwks_url`, a gateway). Every key listed is
published, the signing one first; a key removed from PRB_SIGNING_KEYS is gone from here, and the
tokens it signed are refused. Served once by the root app of every process
(eigenregie/entrypoints/web.py); the local issuer adds its discovery document beside it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from shared.signing_keys import key_set

router = APIRouter(include_in_schema=False)
JWKS_PATH = "/.well-known/jwks.json"


@router.get(JWKS_PATH)
def jwks(request: Request) -> JSONResponse:
    """The JWKS (RFC 7517): every configured key's public JWK with its kid, alg and use."""
    document: dict[str, Any] = key_set(request.app.state.runtime.settings).jwks()
    # Cached briefly: a rotated-in key shows within five minutes (PyJWKClient's default lifespan too).
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})
