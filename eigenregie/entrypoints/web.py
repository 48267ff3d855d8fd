"""The HTTP app of a process: the services it runs, mounted by shared.web, and the home page."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from fastapi import FastAPI

from shared.runtime import Runtime, ServiceSpec
from shared.web import API_MAJOR
from shared.web import create_app as create_root_app


def create_app(runtime: Runtime, *, embedded: bool) -> FastAPI:
    return create_root_app(
        runtime.specs, runtime, embedded=embedded, home_page=lambda: home_page(runtime.specs, embedded)
    )


def home_page(specs: Sequence[ServiceSpec], embedded: bool) -> str:
    links = "\n".join(
        f'<li><a href="/{s.name}/{API_MAJOR}/docs">{escape(s.title)}</a>: {escape(s.description)}</li>' for s in specs
    )
    mode = "embedded (SQLite, events in-process)" if embedded else "distributed"
    return f"""<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Eigen Regie</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}</style>
</head><body><main>
<h1>Eigen Regie</h1>
<p>Persoonlijk re-integratiebudget: u maakt zelf een plan naar werk, de gemeente beheert het budget.</p>
<p lang="en">Personal reintegration budgets: you write your own plan back to work;
the municipality keeps the budget.</p>
<h2>API</h2>
<ul>
{links}
</ul>
<p>Mode: {mode}. Health: <a href="/healthz">/healthz</a>, readiness: <a href="/readyz">/readyz</a>.</p>
</main></body></html>"""
