#!/usr/bin/env python
"""What recording the sender's read of a client's address costs (issue 13): the notifications
sender job (`send_due_mail`) over `--deliveries` queued e-mails, once with the audit record of each
read (written in the delivery's own `_finish` commit) and once without (`_contact_read` returning
nothing), alternating `--rounds` times; time per delivery for each.

    .venv/bin/python bench/audit_sender_reads.py [--database sqlite|postgresql] [--deliveries 300] [--rounds 3]

The directory answers in process and the mail sender drops the mail, so what is left is the job's
own database work: claim, read preferences, finish (and the audit insert with its chain lock).
Not a test: pytest does not collect bench/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from _common import ADMIN_URL  # noqa: E402

from eigenregie.bootstrap import build_runtime  # noqa: E402
from services.notifications import delivery  # noqa: E402
from services.notifications.channels import SmsSink  # noqa: E402
from services.notifications.directory import Contact  # noqa: E402
from services.notifications.models import Message  # noqa: E402
from services.notifications.models_delivery import Delivery  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.migrations import upgrade  # noqa: E402


class Directory:
    def client_contact(self, municipality: str, client_id: str) -> Contact:
        return Contact(email=f"{client_id[:8]}@example.nl", language="nl")

    def supplier_contact(self, municipality: str, invoice_id: str) -> Contact | None:
        return None


class DropMail:
    def send(self, to: str, cc: Any, mail: Any) -> None:
        return None


def queue(runtime: Any, count: int) -> None:
    now = runtime.clock.now() - timedelta(minutes=1)
    messages, deliveries = [], []
    for _ in range(count):
        message_id, client_id = str(uuid.uuid4()), str(uuid.uuid4())
        messages.append(
            {
                "id": message_id,
                "municipality": "0014",
                "recipient_kind": "client",
                "client_id": client_id,
                "template": "plan_received",
                "params": {"plan_id": str(uuid.uuid4()), "plan_version": 1},
                "cause_event_id": str(uuid.uuid4()),
                "status": "sent",
                "created_at": now,
            }
        )
        deliveries.append(
            {
                "id": str(uuid.uuid4()),
                "message_id": message_id,
                "municipality": "0014",
                "recipient": f"client:{client_id}",
                "cause": f"{uuid.uuid4()}:plan_received",
                "channel": "email",
                "status": "queued",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    with runtime.engine.begin() as conn:
        conn.execute(sa.insert(Message.__table__), messages)
        conn.execute(sa.insert(Delivery.__table__), deliveries)


def run(runtime: Any, outlets: delivery.Outlets, count: int, *, record: bool) -> float:
    queue(runtime, count)
    original = delivery._contact_read
    if not record:
        delivery._contact_read = lambda *args: []  # type: ignore[assignment]
    try:
        start, sent = time.perf_counter(), 0
        while sent < count:
            with runtime.uow("notifications") as uow:
                done = delivery.send_due_mail(uow, outlets, limit=count)
            if not done:
                raise SystemExit("nothing went out: check the set-up")
            sent += done
        return (time.perf_counter() - start) / count
    finally:
        delivery._contact_read = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    name = None
    if args.database == "sqlite":
        settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="prb-bench-audit-")), environment="test")
    else:
        name = f"prb_bench_audit_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        settings = Settings(database_url=ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", environment="test")
    runtime = build_runtime(settings)
    try:
        for spec in runtime.specs:
            upgrade(runtime.engine, spec.name, spec.migrations)
        outlets = delivery.Outlets(
            mail=DropMail(),
            directory=Directory(),
            login_url="http://x/",  # type: ignore[arg-type]
            sms=SmsSink(Path(tempfile.mkdtemp()) / "sms.jsonl"),
            jitter=lambda: 0.5,
        )
        run(runtime, outlets, 20, record=True)  # warm up
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.rounds):
            for record in (False, True):
                times[record].append(run(runtime, outlets, args.deliveries, record=record))
        for record in (False, True):
            ms = [t * 1000 for t in times[record]]
            print(
                f"{args.database}: {'with' if record else 'without'} the read's record: "
                f"median {statistics.median(ms):.2f} ms per delivery (rounds: {', '.join(f'{m:.2f}' for m in ms)})"
            )
        extra = statistics.median(times[True]) / statistics.median(times[False]) - 1
        print(f"{args.database}: the record adds {extra * 100:.0f}% to a delivery")
    finally:
        runtime.engine.dispose()
        if name is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
