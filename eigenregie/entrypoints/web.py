"""The HTTP app of a process: the services it runs, mounted by shared.web, and the web pages."""

from __future__ import annotations

from fastapi import FastAPI

from eigenregie.web.app import install as install_web_pages
from shared.runtime import Runtime
from shared.web import create_app as create_root_app


def create_app(runtime: Runtime, *, embedded: bool) -> FastAPI:
    app = create_root_app(runtime.specs, runtime, embedded=embedded)
    install_web_pages(app)
    return app
