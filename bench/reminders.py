#!/usr/bin/env python
"""Reminders benchmark: the daily reminder scans over 1,000,000 trajectories, mail into a loopback
SMTP server, and webhook fan-out to 100 loopback subscribers with 10 bad ones.

    .venv/bin/python bench/reminders.py [--trajectories 1000000] [--mails 2000] [--json out.json]

In one run, on this machine:

1. the same scratch PostgreSQL database and the same load as bench/monitoring.py (its
   `MonitoringBench.start` and `load`: `--trajectories` plan trajectories with their follow-ups, two
   done and one open per plan; `--due-per-mille` of the open ones overdue on the first scan day, the
   others due over the coming year), then VACUUM ANALYZE;
2. the daily reminder scans, day by day as the jobs run: `follow_ups.flag_overdue`,
   `follow_ups.flag_due_soon` and `ending_soon.flag_ending_soon` of services/monitoring (one not in
   the tree is reported as not measured), each on two days with different amounts due: time, rows
   read (the scan's own count; PostgreSQL's counters for follow_up and trajectory: heap rows fetched,
   index entries read, sequential reads), time and rows per due item; beside it the raw limit in the
   same run: a plain `SELECT count(*)` of the table and a read of the same due rows (the scan's own
   query builder) through the same partial index as a bitmap scan, which marks no index entry dead;
3. mail: `--mails` e-mail deliveries queued (set-up), then passes of the sender job
   (`services.notifications.delivery.send_due_mail`, an SmtpSender into an aiosmtpd server on
   loopback in a thread) until all are out: messages per second, against a raw smtplib loop sending
   the same multipart messages to the same server (a connection per message, as the sender does; and
   one connection for all, for reference). The addresses come from an in-process directory (no intake);
4. webhooks: bench/webhooks.py's `run` (SQLite, embedded): `--subscribers` loopback receivers, `--bad` of
   them slow or failing, `--events` events fanned out; good deliveries per second with and without the
   bad ones, and the raw limit: the same number of plain POSTs from as many threads as the sender uses.

Targets: each scan's heap rows fetched per due item do not grow with what is due (the larger day at most twice
the smaller's) and no sequential scan of the table; the good subscribers' rate with bad ones at least
half of it without them. Exit 0 if the targets are met, 2 if one is missed, 1 on an error, 130 when
interrupted. Not a test: pytest does not collect bench/.
"""

from __future__ import annotations

import argparse
import json
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

from _common import add_common_args, log, pg_conninfo, run_guarded, wait_for_quiet
from monitoring import SCAN_DAY, MonitoringBench

MAIL_TEMPLATE = "follow_up_overdue"
SENDER = "Eigen Regie <noreply@eigenregie.test>"
LOGIN = "http://eigenregie.test/"


@dataclass(frozen=True)
class Scan:
    """One daily reminder scan: where its function lives, the table it reads, and what is due on a
    day, written with the scan's own query builder (so the raw read is of exactly the same rows,
    through the same partial index)."""

    name: str
    module: str
    function: str
    table: str
    days: tuple[date, ...]
    due: Callable[[Any, date], Any]  # (the scan's module, day) -> a SELECT of what is due, candidates' columns


def _overdue(m: Any, day: date) -> Any:
    f = m.FollowUp
    return m._due(day, f.id, f.plan_id, f.due_on)


def _due_soon(m: Any, day: date) -> Any:
    f = m.FollowUp
    return m._due_soon(day, m.lead_days(), f.id, f.plan_id, f.due_on)


def _ending_soon(m: Any, day: date) -> Any:
    from shared.config import get_settings

    t = m.Trajectory
    return m._ending(day, get_settings().reminder_trajectory_end_days, t.execution_deadline, t.plan_id)


# Days: the first holds a backlog (1,000 overdue with --due-per-mille 1; a lead time's worth due
# soon; 30 days' worth of deadlines), the second the items due since (about 11,000 overdue; one
# day's worth due soon; a week's worth of deadlines): different amounts due, the same per item.
SCANS = (
    Scan(
        "overdue",
        "services.monitoring.follow_ups",
        "flag_overdue",
        "follow_up",
        (SCAN_DAY, SCAN_DAY + timedelta(days=4)),
        _overdue,
    ),
    Scan(
        "due-soon",
        "services.monitoring.follow_ups",
        "flag_due_soon",
        "follow_up",
        (SCAN_DAY, SCAN_DAY + timedelta(days=1)),
        _due_soon,
    ),
    Scan(
        "ending-soon",
        "services.monitoring.ending_soon",
        "flag_ending_soon",
        "trajectory",
        (SCAN_DAY, SCAN_DAY + timedelta(days=7)),
        _ending_soon,
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
    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.dbname = f"prb_bench_reminders_{self.tag}"  # its own name: dropped at the end, also on Ctrl-C
        self.db = pg_conninfo(self.admin_url, self.dbname)

    # --- the scans -----------------------------------------------------------------------------

    def scan_once(self, scan: Scan, module: Any, day: date) -> dict[str, Any]:
        import sqlalchemy as sa
        from sqlalchemy.dialects import postgresql

        from eigenregie.bootstrap import build_runtime
        from shared.clock import FrozenClock
        from shared.config import Settings
        from shared.db import create_db_engine

        due_query = scan.due(module, day)
        count_query = sa.select(sa.func.count()).select_from(due_query.subquery())
        table = sa.text(f"SELECT count(*) FROM monitoring.{scan.table}")
        with self.engine.connect() as conn:

            def bitmap() -> None:
                # Reads before the scan go through the index as a bitmap: the planner, not knowing how few
                # open items are due, would pick a sequential scan for a query without the scan's LIMIT;
                # and a bitmap scan marks no index entry dead, so the scan finds the index as the day left it.
                conn.rollback()
                for setting in ("enable_seqscan", "enable_indexscan", "enable_indexonlyscan"):
                    conn.execute(sa.text(f"SET LOCAL {setting} = off"))

            def read_due() -> Any:
                bitmap()
                return conn.execute(due_query).all()

            bitmap()
            due = conn.execute(count_query).scalar_one()
            conn.rollback()
            total = conn.execute(table).scalar_one()
            raw = {
                "read_due_rows": self.timed(read_due)["best"],
                "count_all": self.timed(lambda: conn.execute(table).all())["best"],
            }
            sql = str(due_query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            bitmap()
            plan = [r[0] for r in conn.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + sql))]
            conn.rollback()
        self.engine.dispose()  # the backends that ran the reads above exit and flush their counters
        time.sleep(1.0)
        before = self.counters()
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
            result = getattr(module, scan.function)(uow)
        seconds = time.perf_counter() - started
        engine.dispose()
        time.sleep(1.0)
        after = self.counters()
        pg = {t: {k: after[t][k] - before[t][k] for k in after[t]} for t in after}
        # Rows PostgreSQL handed out: heap rows fetched through an index, rows of sequential scans, and
        # index entries read (an index-only scan reads those without fetching the heap row).
        fetched = sum(pg[t]["idx_tup_fetch"] + pg[t]["seq_tup_read"] for t in pg)
        index_read = sum(pg[t]["idx_tup_read"] for t in pg)
        flagged = result if isinstance(result, int) else int(result.flagged)
        rows_read = None if isinstance(result, int) else int(result.rows_read)
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
            "pg_index_entries_read": index_read,
            "rows_per_due": fetched / max(1, due),
            "index_entries_per_due": index_read / max(1, due),
            "ms_per_due": 1000 * seconds / max(1, due),
            "seq_tup_read": pg[scan.table]["seq_tup_read"],
            "raw": raw,
            "ratio_to_raw_read": seconds / max(1e-9, raw["read_due_rows"]),
            "plan": plan,
        }

    def counters(self) -> dict[str, dict[str, int]]:
        """PostgreSQL's counters of the two tables the scans read, with the entries read from their indexes."""
        import sqlalchemy as sa

        out = {t: self.table_counters(t) for t in ("follow_up", "trajectory")}
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
            for relname, read in conn.execute(
                sa.text(
                    "SELECT relname, sum(idx_tup_read) FROM pg_stat_user_indexes WHERE schemaname = 'monitoring' "
                    "AND relname IN ('follow_up', 'trajectory') GROUP BY relname"
                )
            ):
                out[relname]["idx_tup_read"] = int(read)
        return out

    def scans(self) -> bool:
        import importlib
        import importlib.util

        ok = True
        self.results["scans"] = {}
        modules: dict[str, Any] = {}
        for scan in SCANS:
            module = importlib.import_module(scan.module) if importlib.util.find_spec(scan.module) else None
            if module is None or not hasattr(module, scan.function):
                log(f"{scan.name} scan: NOT MEASURED, {scan.module} has no {scan.function} in this tree")
                self.results["scans"][scan.name] = {"measured": False}
            else:
                modules[scan.name] = module
        # Day by day, as the daily jobs run: a scan never sees what a later day's scan changed.
        order = sorted(((day, i) for i, scan in enumerate(SCANS) if scan.name in modules for day in scan.days))
        done: dict[str, list[dict[str, Any]]] = {}
        for day, i in order:
            scan = SCANS[i]
            s = self.scan_once(scan, modules[scan.name], day)
            done.setdefault(scan.name, []).append(s)
            counted = f"{s['rows_read']:,}" if s["rows_read"] is not None else "not counted"
            log(
                f"{scan.name} scan on {s['day']}: {s['due']:,} due of {s['rows_in_table']:,} {scan.table} rows; "
                f"flagged {s['flagged']:,} in {s['seconds']:.2f} s ({s['ms_per_due']:.3f} ms per due item); "
                f"rows read {counted} (its own count); PostgreSQL: {s['pg_rows_fetched']:,} rows fetched = "
                f"{s['rows_per_due']:.2f} per due item, {s['pg_index_entries_read']:,} index entries read = "
                f"{s['index_entries_per_due']:.2f} per due item, seq_tup_read {s['seq_tup_read']}; raw: a read of "
                f"the due rows {s['raw']['read_due_rows']:.3f} s (scan/raw {s['ratio_to_raw_read']:.0f}x), "
                f"count(*) of the table {s['raw']['count_all']:.3f} s"
            )
            for line in s["plan"]:
                log(f"    | {line}")
        for scan in SCANS:
            if scan.name not in done:
                continue
            runs = done[scan.name]
            ratios = [s["rows_per_due"] for s in runs if s["due"]]
            index_ratios = [s["index_entries_per_due"] for s in runs if s["due"]]
            # As bench/monitoring.py: heap rows fetched per due item (index entries are shown: they also
            # count dead entries of yesterday's updates, read once until vacuum or the scan marks them dead).
            proportional = (
                len(ratios) == len(runs)
                and max(ratios) <= 2 * min(ratios)
                and all(s["seq_tup_read"] == 0 for s in runs)
            )
            self.results["scans"][scan.name] = {"measured": True, "runs": runs, "proportional": proportional}
            log(
                f"{scan.name} scan: rows fetched per due item {', '.join(f'{r:.2f}' for r in ratios)}, index entries "
                f"{', '.join(f'{r:.2f}' for r in index_ratios)} (target: proportional to what is due: "
                f"{'met' if proportional else 'NOT met'})"
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
                    f"{s['ms_per_due']:.3f} ms and {s['rows_per_due']:.2f} rows fetched per due item | read of the due "
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
    from shared.logging import configure_logging

    configure_logging(args.log_level, json=False)  # the webhook sender logs every attempt at INFO
    bench = RemindersBench(args)
    return run_guarded(bench, bench.body)


if __name__ == "__main__":
    raise SystemExit(main())
