#!/usr/bin/env python
"""The framework's own limit for bench/invoices.py: a minimal FastAPI app, served the way
`prb serve budget` serves the budget API (one uvicorn process, the same `uvicorn.run` settings),
whose routes take the same invoice JSON and insert one row per invoice into a scratch table with
the same driver and pool (SQLAlchemy + psycopg 3, `shared.db.create_db_engine`'s defaults).

    .venv/bin/python bench/minimal_app.py --port 18101     # DATABASE_URL names the database

No checks, no authentication, no middleware, no audit, no outbox: what is left is HTTP, JSON,
pydantic validation, the thread pool and one short transaction. Not part of the product.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, TypeAdapter

from shared.db import create_db_engine

TABLE = "bench_minimal_invoice"
CREATE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS public.{TABLE} (id varchar(36) PRIMARY KEY, budget_line_id varchar(36) NOT NULL, "
    "invoice_number varchar(80) NOT NULL, amount_cents bigint NOT NULL, issue_date date, "
    "created_at timestamptz NOT NULL DEFAULT now())"
)
INSERT = sa.text(
    f"INSERT INTO public.{TABLE} (id, budget_line_id, invoice_number, amount_cents, issue_date) "
    "VALUES (:id, :budget_line_id, :invoice_number, :amount_cents, :issue_date)"
)


class MinimalInvoice(BaseModel):
    budget_line_id: str
    invoice_number: str
    issue_date: date
    provider_name: str
    provider_iban: str
    amount_excl_vat: str
    vat: str = "0"
    service_from: date | None = None
    service_to: date | None = None


_many = TypeAdapter(list[MinimalInvoice])


def _row(item: MinimalInvoice) -> dict[str, Any]:
    euros, _, cents = item.amount_excl_vat.partition(".")
    return {"id": str(uuid.uuid4()), "budget_line_id": item.budget_line_id, "invoice_number": item.invoice_number,
            "amount_cents": int(euros) * 100 + int((cents or "0").ljust(2, "0")[:2]), "issue_date": item.issue_date}


def create_app(url: str) -> FastAPI:
    engine = create_db_engine(url)  # the pool the API gets (shared.runtime uses the same defaults)
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/invoices", status_code=201)
    def one(item: MinimalInvoice) -> dict[str, str]:
        row = _row(item)
        with engine.begin() as conn:
            conn.execute(INSERT, row)
        return {"id": row["id"], "status": "received"}

    @app.post("/invoices/bulk")
    async def many(request: Request) -> JSONResponse:
        # Read raw like the product's bulk route; one transaction, one executemany.
        items = _many.validate_json(await request.body())
        rows = [_row(item) for item in items]

        def insert() -> None:
            with engine.begin() as conn:
                conn.execute(INSERT, rows)

        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(insert)
        return JSONResponse({"results": [{"index": i, "status": "accepted", "invoice_id": r["id"]}
                                         for i, r in enumerate(rows)]})

    return app


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    url = os.environ["DATABASE_URL"]  # bench/invoices.py has created TABLE (CREATE_TABLE) in it
    # As cmd_serve (eigenregie/entrypoints/cli.py) runs the API.
    uvicorn.run(create_app(url), host=args.host, port=args.port, log_config=None, access_log=False, workers=None)


if __name__ == "__main__":
    main()
