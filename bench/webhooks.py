#!/usr/bin/env python
"""Webhook fan-out benchmark: 100 subscribers on loopback, 10 of them slow or failing.

    .venv/bin/python bench/webhooks.py [--subscribers 100] [--bad 10] [--events 20] [--json out.json]

In one run, on SQLite in a scratch folder (embedded mode):

1. `--subscribers` loopback receivers (http.server in threads), each a partner subscription to
   PlanApproved; `--bad` of them are bad: half answer 503, half answer only after the timeout;
2. `--events` PlanApproved events, fanned out (one delivery per subscriber and event), timed;
3. passes of the sending job (`send_due`, the periodic job's body) until every good subscriber has
   every delivery: deliveries per second over all passes, and the same with no bad subscribers
   (a second scratch run), so the effect of the bad ones on the good ones' rate is visible.

Target: the good subscribers' rate with bad ones at least half of their rate without (one slow
subscriber must not lower the others'). Exit 0 if met, 2 if not. Not a test (pytest does not
collect bench/).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contracts.events import PlanApprovedV1
from services.notifications.webhook_delivery import send_due
from shared.auth import Principal, Role
from shared.config import Settings
from tests.support.runtime import drain, migrated_runtime

TIMEOUT = 0.5


def receiver(mode: str, counts: dict[str, int], key: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            if mode == "slow":
                time.sleep(TIMEOUT * 3)
            status = 503 if mode == "failing" else 200
            counts[key] = counts.get(key, 0) + (status == 200)
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run(subscribers: int, bad: int, events: int) -> dict[str, Any]:
    from services.notifications import webhooks
    from services.notifications.models_webhooks import WebhookSubscriptionCreate

    folder = Path(tempfile.mkdtemp(prefix="prb-bench-webhooks-"))
    settings = Settings(
        data_dir=folder,
        environment="test",
        webhook_timeout_seconds=TIMEOUT,
        webhook_per_subscription_per_pass=events,
        webhook_retry_base_seconds=3600,
    )
    runtime = migrated_runtime(settings)
    counts: dict[str, int] = {}
    servers = []
    good = []
    for n in range(subscribers):
        mode = "ok" if n >= bad else ("failing" if n % 2 else "slow")
        key = f"s{n}"
        server = receiver(mode, counts, key)
        servers.append(server)
        who = Principal(subject=f"partner-{n}", role=Role.PARTNER, municipality="0014")
        with runtime.uow("notifications") as uow:
            webhooks.create_subscription(
                uow,
                who,
                WebhookSubscriptionCreate(
                    callback_url=f"http://127.0.0.1:{server.server_address[1]}/hook", event_types=["PlanApproved"]
                ),
                settings,
            )
        if mode == "ok":
            good.append(key)
    started = time.perf_counter()
    for _ in range(events):
        with runtime.uow("intake") as uow:
            plan = PlanApprovedV1(
                plan_id=str(uuid.uuid4()),
                client_id=str(uuid.uuid4()),
                plan_version=1,
                scheme="ipb",
                granted_cents=1,
                lines=(),
                execution_deadline=date(2027, 1, 1),
            )
            uow.emit(plan, tenant="0014", subject=plan.plan_id)
            uow.commit()
    drain(runtime)
    fan_out_s = time.perf_counter() - started
    started, passes, attempts = time.perf_counter(), 0, 0
    while sum(counts.get(k, 0) for k in good) < len(good) * events and passes < 20:
        with runtime.uow("notifications") as uow:
            attempts += send_due(uow, settings)
        passes += 1
    send_s = time.perf_counter() - started
    delivered = sum(counts.get(k, 0) for k in good)
    for server in servers:
        server.shutdown()
    runtime.engine.dispose()
    return {
        "subscribers": subscribers,
        "bad": bad,
        "events": events,
        "fan_out_seconds": round(fan_out_s, 3),
        "deliveries_made": subscribers * events,
        "passes": passes,
        "attempts": attempts,
        "good_delivered": delivered,
        "send_seconds": round(send_s, 3),
        "good_deliveries_per_second": round(delivered / send_s, 1) if send_s else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--bad", type=int, default=10)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    with_bad = run(args.subscribers, args.bad, args.events)
    without = run(args.subscribers - args.bad, 0, args.events)
    result = {"with_bad": with_bad, "without_bad": without}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    ok = (with_bad["good_deliveries_per_second"] or 0) >= 0.5 * (without["good_deliveries_per_second"] or 0)
    print("target met" if ok else "target missed: bad subscribers lower the good ones' rate")
    return 0 if ok else 2


if __name__ == "__main__":
    raise SystemExit(main())
