#!/usr/bin/env python
"""Reminders benchmark: the daily reminder scans over 1,000,000 trajectories, mail into a loopback
SMTP server, and webhook fan-out to 100 loopback subscribers with 10 bad ones.

    .venv/bin/python bench/reminders.py [--trajectories 1000000] [--mails 2000] [--json out.json]

In one run, on this machine:

1. the same scratch PostgreSQL database and the same load as bench/monitoring.py (its
   `MonitoringBench.start` and `load`: `--trajectories` plan trajectories with their follow-ups, two
   done and one open per plan; `--due-per-mille` of the open ones overdue on the first scan day, the
   others due over the coming year), then VACUUM ANALYZE;
2. each daily reminder scan of services/monitoring/follow_ups.py that exists (`flag_overdue`;
   `flag_due_soon` and `flag_ending_soon` when present) on two days with different amounts due: time,
   rows read (the scan's own count and PostgreSQL's counters for follow_up and trajectory), rows read
   and time per due item; beside it the raw limit in the same run: a plain `SELECT count(*)` of the
   table and a read of the same due rows through the same index;
3. mail: `--mails` e-mail deliveries queued (set-up), then passes of the sender job
   (`services.notifications.delivery.send_due_mail`, an SmtpSender into an aiosmtpd server on
   loopback in a thread) until all are out: messages per second, against a raw smtplib loop sending
   the same multipart messages to the same server (a connection per message, as the sender does; and
   one connection for all, for reference). The addresses come from an in-process directory (no intake);
4. webhooks: bench/webhooks.py's `run` (SQLite, embedded): `--subscribers` loopback receivers, `--bad` of
   them slow or failing, `--events` events fanned out; good deliveries per second with and without the
   bad ones, and the raw limit: the same number of plain POSTs from as many threads as the sender uses.

Targets: each scan's rows read per due item do not grow with what is due (the larger day at most twice
the smaller's) and no sequential scan of the table; the good subscribers' rate with bad ones at least
half of it without them. Exit 0 if the targets are met, 2 if one is missed, 1 on an error, 130 when
interrupted. Not a test: pytest does not collect bench/.
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from _common import add_common_args, log, run_guarded, wait_for_quiet
from monitoring import SCAN_DAY, MonitoringBench

MAIL_TEMPLATE = "follow_up_overdue"
SENDER = "Eigen Regie <noreply@eigenregie.test>"
LOGIN = "http://eigenregie.test/"


@dataclass(frozen=True)
class Scan:
    """One daily reminder scan: the function of follow_ups.py, the table it reads, and the SQL of
    what is due on a day (the same rows, read the way the scan's index holds them)."""

    name: str
    function: str
    table: str
    due_sql: str
    days: tuple[date, ...]


SCANS = (
    Scan(
        "overdue",
        "flag_overdue",
        "follow_up",
        "SELECT id, plan_id, due_on FROM monitoring.follow_up WHERE status = 'open' AND overdue_flagged_at IS NULL "
        "AND due_on < :day",
        (SCAN_DAY, SCAN_DAY + timedelta(days=4)),
    ),
)


class StaticDirectory:
    """Every client's address at once, in process: the benchmark measures the sender and SMTP, not intake."""

    def client_contact(self, municipality: str, client_id: str) -> Any:
        from services.notifications.directory import Contact

        return Contact(email=f"klant-{client_id[-6:]}@example.nl", language="nl")

    def supplier_contact(self, municipality: str, invoice_id: str) -> Any:
        return None  # the benchmark's mail goes to clients only


class RemindersBench(MonitoringBench):
    # --- the scans -----------------------------------------------------------------------------

    def scan_once(self, scan: Scan, day: date, run: Callable[[Any], Any]) -> dict[str, Any]:
        import sqlalchemy as sa

        from eigenregie.bootstrap import build_runtime
        from shared.clock import FrozenClock
        from shared.config import Settings
        from shared.db import create_db_engine

        count_sql = f"SELECT count(*) FROM ({scan.due_sql}) AS due"
        with self.engine.connect() as conn:
            due = conn.execute(sa.text(count_sql), {"day": day}).scalar_one()
            total = conn.execute(sa.text(f"SELECT count(*) FROM monitoring.{scan.table}")).scalar_one()
            raw = {
                "read_due_rows": self.timed(lambda: conn.execute(sa.text(scan.due_sql), {"day": day}).all())["best"],
                "count_all": self.timed(
                    lambda: conn.execute(sa.text(f"SELECT count(*) FROM monitoring.{scan.table}")).all()
                )["best"],
            }
            plan = [r[0] for r in conn.execute(sa.text(f"EXPLAIN {scan.due_sql}"), {"day": day})]
        self.engine.dispose()  # the backends that ran the reads above exit and flush their counters
        time.sleep(1.0)
        before = {t: self.table_counters(t) for t in ("follow_up", "trajectory")}
        self.engine.dispose()
        time.sleep(0.5)
        engine = create_db_engine(self.db["url"], pool_size=1)  # its own backend: its counters flush on close
        runtime = build_runtime(
            Settings(database_url=self.db["url"], broker_url=None, environment="test"),
            engine_override=engine,
            clock=FrozenClock.on(day),
        )
        wait_for_quiet(self.args.quiet_below, self.args.quiet_timeout, f"the {scan.name} scan")
        started = time.perf_counter()
        with runtime.uow("monitoring") as uow:
            result = run(uow)
        seconds = time.perf_counter() - started
        engine.dispose()
        time.sleep(1.0)
        after = {t: self.table_counters(t) for t in ("follow_up", "trajectory")}
        pg = {t: {k: after[t][k] - before[t][k] for k in after[t]} for t in after}
        fetched = sum(pg[t]["idx_tup_fetch"] + pg[t]["seq_tup_read"] for t in pg)
        flagged = int(getattr(result, "flagged", result if isinstance(result, int) else 0))
        rows_read = int(getattr(result, "rows_read", 0))
        return {
            "scan": scan.name,
            "day": day.isoformat(),
            "due": due,
            "rows_in_table": total,
            "seconds": seconds,
            "flagged": flagged,
            "rows_read": rows_read,
            "pg": pg,
            "pg_rows_fetched": fetched,
            "rows_per_due": fetched / max(1, due),
            "ms_per_due": 1000 * seconds / max(1, due),
            "seq_tup_read": pg[scan.table]["seq_tup_read"],
            "raw": raw,
            "ratio_to_raw_read": seconds / max(1e-9, raw["read_due_rows"]),
            "plan": plan,
        }

    def scans(self) -> bool:
        from services.monitoring import follow_ups

        ok = True
        self.results["scans"] = {}
        for scan in SCANS:
            function = getattr(follow_ups, scan.function, None)
            if function is None:
                log(f"{scan.name} scan: NOT MEASURED, services/monitoring/follow_ups.py has no {scan.function} yet")
                self.results["scans"][scan.name] = {"measured": False}
                continue
            runs = [self.scan_once(scan, day, function) for day in scan.days]
            for s in runs:
                log(
                    f"{scan.name} scan on {s['day']}: {s['due']:,} due of {s['rows_in_table']:,}; flagged "
                    f"{s['flagged']:,} in {s['seconds']:.2f} s ({s['ms_per_due']:.3f} ms per due item); rows read "
                    f"{s['rows_read']:,} (its count), PostgreSQL fetched {s['pg_rows_fetched']:,} "
                    f"= {s['rows_per_due']:.2f} per due item, seq_tup_read {s['seq_tup_read']}; raw: read of the "
                    f"due rows {s['raw']['read_due_rows']:.3f} s (scan/raw {s['ratio_to_raw_read']:.0f}x), "
                    f"count(*) of the table {s['raw']['count_all']:.3f} s"
                )
                for line in s["plan"]:
                    log(f"    | {line}")
            ratios = [s["rows_per_due"] for s in runs if s["due"]]
            proportional = (
                len(ratios) == len(runs)
                and max(ratios) <= 2 * min(ratios)
                and all(s["seq_tup_read"] == 0 for s in runs)
            )
            self.results["scans"][scan.name] = {"measured": True, "runs": runs, "proportional": proportional}
            log(
                f"{scan.name} scan: rows read per due item {', '.join(f'{r:.2f}' for r in ratios)} "
                f"(target: proportional to what is due: {'met' if proportional else 'NOT met'})"
            )
            ok = ok and proportional
        return ok

    # --- mail ----------------------------------------------------------------------------------

    def queue_mail(self, count: int, day: date) -> list[tuple[str, str]]:
        """`count` client messages with a queued e-mail delivery each (set-up): [(message id, client id)]."""
        from sqlmodel import Session

        from services.notifications.domain.delivery import Channel, DeliveryStatus, cause_key, recipient_key
        from services.notifications.domain.messages import MessageStatus, RecipientKind
        from services.notifications.models import Message
        from services.notifications.models_delivery import Delivery
        from shared.clock import FrozenClock

        now = FrozenClock.on(day, 12).now()
        made = []
        with Session(self.engine) as session:
            for i in range(count):
                message_id, client_id, event_id = (str(uuid.uuid4()) for _ in range(3))
                session.add(
                    Message(
                        id=message_id,
                        municipality="0001",
                        recipient_kind=RecipientKind.CLIENT,
                        client_id=client_id,
                        template=MAIL_TEMPLATE,
                        params={"kind": "progress_report", "due_on": (day - timedelta(days=1 + i % 30)).isoformat()},
                        cause_event_id=event_id,
                        status=MessageStatus.SENT,
                        created_at=now,
                        sent_at=now,
                    )
                )
                session.add(
                    Delivery(
                        id=str(uuid.uuid4()),
                        message_id=message_id,
                        municipality="0001",
                        recipient=recipient_key("client", client_id),
                        cause=cause_key(event_id, MAIL_TEMPLATE),
                        channel=Channel.EMAIL,
                        status=DeliveryStatus.QUEUED,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                made.append((message_id, client_id))
            session.commit()
        return made

    def mail(self) -> dict[str, Any]:
        import sqlalchemy as sa

        from eigenregie.bootstrap import build_runtime
        from services.notifications.channels import SmsSink, SmtpSender, mime
        from services.notifications.delivery import Outlets, send_due_mail
        from services.notifications.domain import channels as texts
        from shared.clock import FrozenClock
        from shared.config import Settings
        from shared.db import create_db_engine
        from tests.integration.notifications.delivery_support import LoopbackSmtp

        a = self.args
        day = SCAN_DAY
        made = self.queue_mail(a.mails, day)
        smtp = LoopbackSmtp()
        smtp.start()
        try:
            engine = create_db_engine(self.db["url"], pool_size=2)
            runtime = build_runtime(
                Settings(database_url=self.db["url"], broker_url=None, environment="test"),
                engine_override=engine,
                clock=FrozenClock.on(day, 12),
            )
            directory = StaticDirectory()
            outlets = Outlets(
                mail=SmtpSender("127.0.0.1", smtp.port, SENDER, timeout=5),
                directory=directory,
                sms=SmsSink(Path(tempfile.mkdtemp(prefix="prb-bench-sms-")) / "sms.jsonl"),
                login_url=LOGIN,
                jitter=lambda: 0.5,
            )
            wait_for_quiet(a.quiet_below, a.quiet_timeout, "the mail sender")
            started, passes, sent = time.perf_counter(), 0, 0
            while sent < len(made) and passes < 10 * (len(made) // 100 + 1):
                with runtime.uow("notifications") as uow:
                    out = send_due_mail(uow, outlets)
                passes += 1
                sent += out
                if out == 0:
                    break
            sender_s = time.perf_counter() - started
            arrived = len(smtp.catcher.raw)
            with engine.connect() as conn:
                statuses: dict[str, int] = dict(
                    conn.execute(
                        sa.text(
                            "SELECT status, count(*) FROM notifications.delivery WHERE channel = 'email' GROUP BY 1"
                        )
                    ).all()
                )
            engine.dispose()
            # The raw limit: the same multipart messages (rendered before the clock starts) by plain smtplib.
            messages, started = [], time.perf_counter()
            for i, (_message_id, client_id) in enumerate(made):
                params = {"kind": "progress_report", "due_on": (day - timedelta(days=1 + i % 30)).isoformat()}
                to = directory.client_contact("0001", client_id).email
                messages.append(mime(SENDER, to, (), texts.email(MAIL_TEMPLATE, params, "nl", LOGIN)))
            render_s = (
                time.perf_counter() - started
            )  # rendering and MIME: part of the sender's time, not the raw loop's
            wait_for_quiet(a.quiet_below, a.quiet_timeout, "the raw smtplib loop")
            started = time.perf_counter()
            for message in messages:
                with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
                    client.send_message(message)
            raw_s = time.perf_counter() - started
            started = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", smtp.port, timeout=5) as client:
                for message in messages:
                    client.send_message(message)
            raw_one_s = time.perf_counter() - started
        finally:
            smtp.stop()
        rate, raw_rate, raw_one_rate = sent / sender_s, len(messages) / raw_s, len(messages) / raw_one_s
        result = {
            "queued": len(made),
            "sent": sent,
            "arrived": arrived,
            "statuses": statuses,
            "passes": passes,
            "sender_seconds": round(sender_s, 3),
            "sender_per_second": round(rate, 1),
            "raw_connection_per_message_per_second": round(raw_rate, 1),
            "raw_one_connection_per_second": round(raw_one_rate, 1),
            "ratio_to_raw": round(rate / raw_rate, 3),
            "ratio_to_raw_one_connection": round(rate / raw_one_rate, 3),
            "render_and_mime_ms_per_message": round(1000 * render_s / len(messages), 3),
        }
        log(
            f"mail: {sent:,} of {len(made):,} queued sent by send_due_mail in {passes} passes, {sender_s:.2f} s = "
            f"{rate:.0f} messages/s ({arrived:,} arrived; delivery statuses {statuses}); raw smtplib, same messages, "
            f"same server: a connection per message {raw_rate:.0f}/s (sender/raw {rate / raw_rate:.2f}), "
            f"one connection {raw_one_rate:.0f}/s ({rate / raw_one_rate:.2f}); rendering and MIME alone "
            f"{result['render_and_mime_ms_per_message']:.2f} ms per message"
        )
        return result

    # --- webhooks ------------------------------------------------------------------------------

    def webhooks(self) -> dict[str, Any]:
        import httpx
        import webhooks

        from services.notifications.webhook_delivery import WORKERS

        a = self.args
        wait_for_quiet(a.quiet_below, a.quiet_timeout, "the webhook fan-out")
        with_bad = webhooks.run(a.subscribers, a.bad, a.events)
        without = webhooks.run(a.subscribers - a.bad, 0, a.events)
        # The raw limit: the same number of plain POSTs to as many good receivers, from WORKERS threads.
        counts: dict[str, int] = {}
        good = a.subscribers - a.bad
        servers = [webhooks.receiver("ok", counts, f"s{n}") for n in range(good)]
        body = json.dumps(
            {
                "specversion": "1.0",
                "type": "nl.eigenregie.PlanApproved",
                "id": str(uuid.uuid4()),
                "source": "bench",
                "subject": str(uuid.uuid4()),
                "data": {"plan_id": str(uuid.uuid4())},
            }
        )
        urls = [f"http://127.0.0.1:{s.server_address[1]}/hook" for s in servers]

        def post_all(client: httpx.Client, url: str) -> None:
            for _ in range(a.events):
                client.post(url, content=body, headers={"content-type": "application/json"})

        started = time.perf_counter()
        with httpx.Client(timeout=5) as client, ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(lambda url: post_all(client, url), urls))
        raw_s = time.perf_counter() - started
        for server in servers:
            server.shutdown()
        raw_rate = sum(counts.values()) / raw_s
        bad_rate = with_bad["good_deliveries_per_second"] or 0.0
        clean_rate = without["good_deliveries_per_second"] or 0.0
        met = bad_rate >= 0.5 * clean_rate
        result = {
            "with_bad": with_bad,
            "without_bad": without,
            "raw_posts_per_second": round(raw_rate, 1),
            "raw_threads": WORKERS,
            "ratio_with_to_without": round(bad_rate / clean_rate, 3) if clean_rate else None,
            "ratio_to_raw": round(clean_rate / raw_rate, 3) if raw_rate else None,
            "target_met": met,
        }
        log(
            f"webhooks: {a.subscribers} subscribers ({a.bad} slow or failing), {a.events} events: good deliveries "
            f"{with_bad['good_delivered']:,} in {with_bad['send_seconds']:.2f} s = {bad_rate:.0f}/s in "
            f"{with_bad['passes']} passes; without the bad ones {clean_rate:.0f}/s (ratio "
            f"{result['ratio_with_to_without']}; target >= 0.5: {'met' if met else 'NOT met'}); raw: plain POSTs "
            f"from {WORKERS} threads to {good} receivers {raw_rate:.0f}/s (sender without bad ones / raw "
            f"{result['ratio_to_raw']})"
        )
        return result

    # --- the run -------------------------------------------------------------------------------

    def body(self) -> bool:
        a = self.args
        self.start()
        if a.reuse_db:
            self.municipalities = [f"{i:04d}" for i in range(1, a.municipalities + 1)]
        else:
            self.load()
        ok = self.scans()
        self.results["mail"] = self.mail()
        hooks = self.webhooks()
        self.results["webhooks"] = hooks
        ok = ok and hooks["target_met"]
        self.print_table()
        self.results["targets_met"] = ok
        if a.json:
            with open(a.json, "w") as f:
                json.dump(self.results, f, indent=2, default=str)
        return ok

    def print_table(self) -> None:
        r = self.results
        lines = ["", "| measure | figure | raw limit, same run | ratio |", "|---|---|---|---|"]
        for name, scan in r["scans"].items():
            if not scan["measured"]:
                lines.append(f"| {name} scan | not measured (no function yet) | | |")
                continue
            for s in scan["runs"]:
                lines.append(
                    f"| {name} scan {s['day']}: {s['due']:,} due of {s['rows_in_table']:,} | {s['seconds']:.2f} s, "
                    f"{s['ms_per_due']:.3f} ms and {s['rows_per_due']:.2f} rows read per due item | read of the due "
                    f"rows {s['raw']['read_due_rows']:.3f} s; count(*) {s['raw']['count_all']:.3f} s | "
                    f"{s['ratio_to_raw_read']:.0f}x |"
                )
        m = r["mail"]
        lines.append(
            f"| mail, {m['sent']:,} via send_due_mail | {m['sender_per_second']:.0f} messages/s | smtplib, a "
            f"connection per message {m['raw_connection_per_message_per_second']:.0f}/s (one connection "
            f"{m['raw_one_connection_per_second']:.0f}/s) | {m['ratio_to_raw']:.2f} "
            f"({m['ratio_to_raw_one_connection']:.2f}) |"
        )
        w = r["webhooks"]
        lines.append(
            f"| webhooks, good deliveries/s with {w['with_bad']['bad']} bad of {w['with_bad']['subscribers']} | "
            f"{w['with_bad']['good_deliveries_per_second']:.0f}/s | without the bad ones "
            f"{w['without_bad']['good_deliveries_per_second']:.0f}/s; plain POSTs {w['raw_posts_per_second']:.0f}/s | "
            f"{w['ratio_with_to_without']} (to raw {w['ratio_to_raw']}) |"
        )
        print("\n".join(lines), flush=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--trajectories", type=int, default=1_000_000)
    p.add_argument("--municipalities", type=int, default=100)
    p.add_argument("--due-per-mille", type=int, default=1, help="open follow-ups already overdue on the scan day")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--mails", type=int, default=2000)
    p.add_argument("--subscribers", type=int, default=100)
    p.add_argument("--bad", type=int, default=10)
    p.add_argument("--events", type=int, default=20)
    p.add_argument("--reuse-db", help="measure on a database an earlier --keep-db run left (no load, not dropped)")
    add_common_args(p, log_level="WARNING")
    args = p.parse_args()
    os.environ.setdefault("PRB_LOG_LEVEL", args.log_level)  # the webhook sender logs every attempt at INFO
    bench = RemindersBench(args)
    return run_guarded(bench, bench.body)


if __name__ == "__main__":
    raise SystemExit(main())
