#!/usr/bin/env python
"""The broker's limit for bench/event_bus.py: what a team would build instead of the outbox.

Plain Celery: producers call `send_task` for a task that inserts one row with the same driver
(SQLAlchemy + psycopg 3) in its own transaction; no outbox, no inbox, no relay, Celery's default
acknowledgement (early: a message is gone once a worker took it, and lost on a broker restart
without persistence). The worker runs with the same pool and concurrency as the bus benchmark's
consumer. Not part of the product.

    .venv/bin/python bench/plain_celery.py worker --db URL --broker URL [--pool threads --concurrency 4]

bench/event_bus.py starts the worker as a process and drives the producers (`produce`).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from typing import Any

TASK = "plain.insert_row"
QUEUE = "plain"
TABLE = "plain_celery_row"


def make_app(broker_url: str) -> Any:
    from celery import Celery

    app = Celery("plain", broker=broker_url, set_as_current=False)
    app.conf.update(task_serializer="json", accept_content=["json"], task_ignore_result=True,
                    task_default_queue=QUEUE, worker_hijack_root_logger=False, broker_connection_retry_on_startup=True)
    return app


def create_table(engine: Any) -> None:
    import sqlalchemy as sa

    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        conn.execute(sa.text(f"CREATE TABLE {TABLE} (event_id text PRIMARY KEY, payload text NOT NULL, "
                             "handled_at timestamptz NOT NULL DEFAULT clock_timestamp())"))


def worker_main(argv: list[str]) -> None:
    import sqlalchemy as sa

    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--broker", required=True)
    p.add_argument("--pool", default="threads")
    p.add_argument("--concurrency", default="4")
    a = p.parse_args(argv)
    engine = sa.create_engine(a.db, pool_size=int(a.concurrency), connect_args={"connect_timeout": 5})
    app = make_app(a.broker)
    insert = sa.text(f"INSERT INTO {TABLE} (event_id, payload) VALUES (:event_id, :payload)")

    @app.task(name=TASK)
    def insert_row(event_id: str, payload: str) -> None:
        with engine.begin() as conn:
            conn.execute(insert, {"event_id": event_id, "payload": payload})

    app.worker_main(["worker", "--queues", QUEUE, "--pool", a.pool, "--concurrency", str(a.concurrency),
                     "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--hostname", "plain@%h"])


def producer_main(broker_url: str, count: int, threads: int, ready: Any, go: Any, out: Any) -> None:
    """Send `count` tasks from `threads` threads; report (event id, time sent) per task."""
    import json

    app = make_app(broker_url)
    payload = json.dumps({"report_id": str(uuid.uuid4()), "on_track": True})
    app.send_task(TASK, args=[f"warm-{uuid.uuid4()}", payload], queue=QUEUE)  # as the bus producers warm up
    ready.set()
    go.wait()
    cpu0 = os.times()
    counter, lock, results = iter(range(count)), threading.Lock(), []

    def work() -> None:
        mine = []
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            event_id = str(uuid.uuid4())
            app.send_task(TASK, args=[event_id, payload], queue=QUEUE)
            mine.append((event_id, time.time()))
        with lock:
            results.extend(mine)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    cpu1 = os.times()
    out.put({"events": results, "cpu": cpu1.user + cpu1.system - cpu0.user - cpu0.system})


if __name__ == "__main__":
    if sys.argv[1:2] != ["worker"]:
        sys.exit(__doc__)
    worker_main(sys.argv[2:])
