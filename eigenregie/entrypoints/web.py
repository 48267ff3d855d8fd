"""The HTTP app of a process: the services it runs, mounted by shared.web, the published signing
keys (/.well-known/jwks.json) and the web pages (with the local OpenID Connect issuer in dev and test)."""

from __future__ import annotations

from fastapi import FastAPI

from eigenregie.web.app import install as install_web_pages
from shared.runtime import Runtime
from shared.web import create_app as create_root_app
from shared.well_known import router as well_known_router


def create_app(runtime: Runtime, *, embedded: bool) -> FastAPI:
    app = create_root_app(runtime.specs, runtime, embedded=embedded)
    app.include_router(well_known_router)  # /.well-known/jwks.json
    install_web_pages(app)
    return app
